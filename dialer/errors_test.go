package dialer

// The error a failed dial returns (errors.go): a *net.OpError whose
// *DialError lists every attempt with its cause, or a *net.DNSError.

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestDialError covers the error a failed dial returns: a
// *net.OpError whose cause lists every attempt, or a *net.DNSError.
func TestDialError(t *testing.T) {
	refused := simnet.Refusing(5 * ms)
	runSimCases(t, []simCase{
		{
			name: "all refused: every attempt in start order, errors.Is ECONNREFUSED",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: refused, v4a: refused, v6b: refused},
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			took:  25 * ms,
			err:   wantDialError([]simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}}, syscall.ECONNREFUSED),
		},
		{
			name: "all black-holed: the kernel's SYN timeout ends each attempt",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.BlackHoled(), v4a: simnet.BlackHoled()},
			want:  []simAt{{v6a, 0}, {v4a, 250 * ms}},
			took:  simnet.SYNTimeout + 250*ms,
			err:   wantDialError([]simAt{{v6a, 0}, {v4a, 250 * ms}}, syscall.ETIMEDOUT),
		},
		{
			name: "name not found: *net.DNSError IsNotFound when the last answer arrives",
			aaaa: simNXDomain(10 * ms), a: simNXDomain(20 * ms),
			took: 20 * ms,
			err:  wantDNSError(true, false),
		},
		{
			name: "NODATA for both families is not found",
			aaaa: resolver.StaticAnswer{}, a: resolver.StaticAnswer{Delay: 5 * ms},
			took: 5 * ms,
			err:  wantDNSError(true, false),
		},
		{
			name: "SERVFAIL beats NXDOMAIN: the DNSError is not IsNotFound",
			aaaa: simNXDomain(10 * ms), a: simServFail(20 * ms),
			took: 20 * ms,
			err: func(t *testing.T, err error) {
				wantDNSError(false, false)(t, err)
				if !strings.Contains(err.Error(), "server misbehaving") {
					t.Errorf("error %q does not carry the SERVFAIL", err)
				}
			},
		},
		{
			name: "AAAA SERVFAIL and every IPv4 refused: DialError with both causes",
			aaaa: simServFail(0), a: simAnswer(0, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{v4a: refused, v4b: refused},
			want:  []simAt{{v4a, 0}, {v4b, 10 * ms}},
			took:  15 * ms,
			err: func(t *testing.T, err error) {
				wantDialError([]simAt{{v4a, 0}, {v4b, 10 * ms}}, syscall.ECONNREFUSED)(t, err)
				// Addresses were found and tried: the error is not a DNS
				// error (errors.As must not say "no such host" for a host
				// that refused), but DialError.DNS keeps the SERVFAIL.
				var dns *net.DNSError
				if errors.As(err, &dns) {
					t.Errorf("errors.As(err, *net.DNSError) = %v; want false once addresses were tried", dns)
				}
				var de *DialError
				if !errors.As(err, &de) || len(de.DNS) != 1 || !errors.As(de.DNS[0], &dns) || dns.Err != "server misbehaving" {
					t.Errorf("DialError.DNS = %v; want the AAAA SERVFAIL", de.DNS)
				}
			},
		},
		{
			name: "unreachable IPv6 and refused IPv4: each attempt keeps its own cause",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v4a: refused}, // v6a unknown: ENETUNREACH
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}},
			took:  15 * ms,
			err: func(t *testing.T, err error) {
				var de *DialError
				if !errors.As(err, &de) || len(de.Attempts) != 2 {
					t.Fatalf("want a DialError with 2 attempts: %v", err)
				}
				if !errors.Is(de.Attempts[0], syscall.ENETUNREACH) || !errors.Is(de.Attempts[1], syscall.ECONNREFUSED) {
					t.Errorf("attempt causes = %v, %v; want ENETUNREACH then ECONNREFUSED", de.Attempts[0].Err, de.Attempts[1].Err)
				}
				if de.Err != nil || de.Timeout() {
					t.Errorf("DialError.Err = %v, Timeout() = %v; want nil, false", de.Err, de.Timeout())
				}
			},
		},
	})
}
