package dialer

// Drop-in conformance with net.Dialer, case by case: for inputs that
// net.Dialer rejects before sending a packet (malformed addresses, bad
// ports, unknown services and networks, family restrictions, LocalAddr
// mismatches, expired deadlines, cancelled contexts), this Dialer must
// return the same error: same text, same *net.OpError shape, same inner
// type, same Timeout() and errors.Is answers. The expected error is not
// written down: it is what net.Dialer returns on this machine, so the
// cases follow the Go release. Ours runs in virtual time on the in-memory
// network with a resolver that fails the test if asked.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

func TestDropInConformance_EarlyErrorsLikeNetDialer(t *testing.T) {
	v4local := &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}
	v6local := &net.TCPAddr{IP: net.ParseIP("::1")}
	for _, tc := range []struct {
		name     string
		network  string
		address  string
		local    net.Addr
		past     bool // Deadline one second ago
		timeout  time.Duration
		canceled bool // the context is done before the dial
	}{
		{name: "Go net: missing port", network: "tcp", address: "example.com"},
		{name: "Go net: missing port on a bare IPv6 literal", network: "tcp", address: "2001:db8::1"},
		{name: "Go net: port 70000 out of range", network: "tcp", address: "example.com:70000"},
		{name: "Go net: port 65536 out of range on a literal", network: "tcp", address: "192.0.2.1:65536"},
		{name: "Go net: negative port", network: "tcp", address: "example.com:-1"},
		{name: "Go net: unknown service name", network: "tcp", address: "example.com:nosuchservice"},
		{name: "Go net: hex port is a service name, unknown", network: "tcp", address: "192.0.2.1:0x50"},
		{name: "Go net: too many colons", network: "tcp", address: "a:b:c"},
		{name: "Go net: missing ']'", network: "tcp", address: "[2001:db8::1:443"},
		{name: "Go net: unexpected '['", network: "tcp", address: "a[b]:443"},
		{name: "Go net: unknown network TCP (case matters)", network: "TCP", address: "192.0.2.1:80"},
		{name: "Go net: unknown network tcp5", network: "tcp5", address: "example.com:80"},
		{name: "Go net: tcp4 with an IPv6 literal", network: "tcp4", address: "[2001:db8::1]:80"},
		{name: "Go net: tcp6 with an IPv4 literal", network: "tcp6", address: "192.0.2.1:80"},
		{name: "Go net: tcp6 with an IPv4-mapped literal", network: "tcp6", address: "[::ffff:192.0.2.1]:80"},
		{name: "Go net: LocalAddr IPv4, IPv6 literal", network: "tcp", address: "[2001:db8::1]:80", local: v4local},
		{name: "Go net: LocalAddr IPv6, IPv4 literal", network: "tcp", address: "192.0.2.1:80", local: v6local},
		{name: "Go net: LocalAddr of the wrong type (UDP)", network: "tcp", address: "192.0.2.1:80", local: &net.UDPAddr{IP: net.ParseIP("127.0.0.1")}},
		{name: "Go net: bad port and a UDP LocalAddr: the port is reported", network: "tcp", address: "example.com:70000", local: &net.UDPAddr{}},
		{name: "Go net: tcp4, IPv6 literal, a UDP LocalAddr: the literal is reported", network: "tcp4", address: "[2001:db8::1]:80", local: &net.UDPAddr{}},
		{name: "Go net: tcp6, IPv4 literal, IPv4 LocalAddr: the literal is reported", network: "tcp6", address: "192.0.2.1:80", local: v4local},
		{name: "Go net: tcp4 with an IPv6 LocalAddr, name", network: "tcp4", address: "192.0.2.1:80", local: v6local},
		{name: "Go net: Deadline in the past, IPv4 literal", network: "tcp", address: "192.0.2.1:80", past: true},
		{name: "Go net: Deadline in the past, IPv6 literal on tcp6", network: "tcp6", address: "[2001:db8::1]:80", past: true},
		{name: "Go net: negative Timeout, IPv4 literal", network: "tcp", address: "192.0.2.1:80", timeout: -1},
		{name: "Go net: context cancelled before the dial, IPv4 literal", network: "tcp", address: "192.0.2.1:80", canceled: true},
		{name: "Go net: context cancelled before the dial, IPv4-mapped literal", network: "tcp", address: "[::ffff:192.0.2.1]:80", canceled: true},
		{name: "Go net: context cancelled before the dial, zoned literal", network: "tcp", address: "[fe80::1%lo]:80", canceled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial := func(dialContext func(context.Context, string, string) (net.Conn, error)) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.canceled {
					cancel()
				}
				c, err := dialContext(ctx, tc.network, tc.address)
				if c != nil {
					c.Close()
					t.Fatalf("dial succeeded; want an error")
				}
				return err
			}
			std := net.Dialer{LocalAddr: tc.local, Timeout: tc.timeout}
			if tc.past {
				std.Deadline = time.Now().Add(-time.Second)
			}
			want := dial(std.DialContext)
			if want == nil {
				t.Fatalf("net.Dialer succeeded")
			}
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				d := simDialer(n, simFailResolver{t})
				d.LocalAddr, d.Timeout = tc.local, tc.timeout
				if tc.past {
					d.Deadline = time.Now().Add(-time.Second)
				}
				start := time.Now()
				got := dial(d.DialContext)
				if got == nil {
					t.Fatalf("dial succeeded")
				}
				if took := time.Since(start); took != 0 {
					t.Errorf("took %v; want 0", took)
				}
				compareDialErrors(t, got, want)
				synctest.Wait()
				if log := n.Attempts(); len(log) != 0 {
					t.Errorf("attempts %v; want none", log)
				}
			})
		})
	}
}

// compareDialErrors checks that got has the shape of net.Dialer's want.
func compareDialErrors(t *testing.T, got, want error) {
	t.Helper()
	if got.Error() != want.Error() {
		t.Errorf("Error():\n got %q\nwant %q (net.Dialer)", got, want)
	}
	var goe, woe *net.OpError
	if !errors.As(got, &goe) || !errors.As(want, &woe) {
		t.Fatalf("got %T, want %T: not both *net.OpError", got, want)
	}
	if goe.Op != woe.Op || goe.Net != woe.Net {
		t.Errorf("Op, Net = %q, %q; want %q, %q", goe.Op, goe.Net, woe.Op, woe.Net)
	}
	if g, w := fmt.Sprint(goe.Addr), fmt.Sprint(woe.Addr); g != w {
		t.Errorf("OpError.Addr = %s; want %s", g, w)
	}
	if g, w := fmt.Sprintf("%T", goe.Err), fmt.Sprintf("%T", woe.Err); g != w && !(g == "*dialer.DialError" || w == "*net.timeoutError" || w == "net.canceledError") {
		t.Errorf("OpError.Err is %s; want %s", g, w)
	}
	for _, target := range []error{context.DeadlineExceeded, context.Canceled} {
		if g, w := errors.Is(got, target), errors.Is(want, target); g != w {
			t.Errorf("errors.Is(err, %v) = %v; want %v", target, g, w)
		}
	}
	var gne, wne net.Error
	if g, w := errors.As(got, &gne) && gne.Timeout(), errors.As(want, &wne) && wne.Timeout(); g != w {
		t.Errorf("Timeout() = %v; want %v", g, w)
	}
	var gae, wae *net.AddrError
	if g, w := errors.As(got, &gae), errors.As(want, &wae); g != w {
		t.Errorf("has *net.AddrError = %v; want %v", g, w)
	}
	var gde, wde *net.DNSError
	if g, w := errors.As(got, &gde), errors.As(want, &wde); g != w {
		t.Errorf("has *net.DNSError = %v; want %v", g, w)
	} else if g && (gde.IsNotFound != wde.IsNotFound || gde.IsTimeout != wde.IsTimeout) {
		t.Errorf("DNSError IsNotFound, IsTimeout = %v, %v; want %v, %v", gde.IsNotFound, gde.IsTimeout, wde.IsNotFound, wde.IsTimeout)
	}
}

// TestDropInConformance_Ports: the port reaches the attempt as net.Dialer
// would dial it: a number, a service name, an empty port or port 0 (both
// dial port 0), a leading "+" or zeros.
func TestDropInConformance_Ports(t *testing.T) {
	for _, tc := range []struct {
		name, address string
		port          uint16
	}{
		{"Go net: port 0 is dialed as it is", "192.0.2.1:0", 0},
		{"Go net: empty port is port 0", "192.0.2.1:", 0},
		{"Go net: service name https is 443", "192.0.2.1:https", 443},
		{"Go net: service name http is 80", "example.com:http", 80},
		{"Go net: leading zeros", "192.0.2.1:0080", 80},
		{"Go net: leading plus sign", "192.0.2.1:+80", 80},
		{"Go net: highest port 65535", "example.com:65535", 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(v4a, simnet.Accepting(ms))
				d := simDialer(n, &resolver.Static{A: simAnswer(0, v4a)})
				c, err := d.DialContext(t.Context(), "tcp", tc.address)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Close()
				if got, want := c.RemoteAddr().String(), netip.AddrPortFrom(v4a, tc.port).String(); got != want {
					t.Errorf("RemoteAddr = %s; want %s", got, want)
				}
				synctest.Wait()
			})
		})
	}
}

// TestDropInConformance_NameErrorsLikeNetDialer: a name whose dial is cut
// short before any answer, or whose addresses are all of the other family
// than LocalAddr, fails as net.Dialer's does. net.Dialer's error for a
// ".invalid" name cut short is the same on every machine: its lookup is
// not even started.
func TestDropInConformance_NameErrorsLikeNetDialer(t *testing.T) {
	v4local := &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}
	for _, tc := range []struct {
		name     string
		network  string
		local    net.Addr
		past     bool
		timeout  time.Duration
		canceled bool
		static   *resolver.Static // nil: no answer ever
		stdAddr  string           // what net.Dialer dials instead of the name, when not a cut-short dial
	}{
		{name: "Go net: name, context cancelled before the dial", network: "tcp", canceled: true},
		{name: "Go net: name on tcp6, context cancelled before the dial", network: "tcp6", canceled: true},
		{name: "Go net: name, Deadline in the past", network: "tcp", past: true},
		{name: "Go net: name on tcp4, negative Timeout", network: "tcp4", timeout: -1},
		{
			name: "Go net: name with IPv6 addresses only, LocalAddr IPv4", network: "tcp", local: v4local,
			static:  &resolver.Static{AAAA: simAnswer(0, v6a)},
			stdAddr: "[2001:db8::1]:80",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial := func(dialContext func(context.Context, string, string) (net.Conn, error), address string) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.canceled {
					cancel()
				}
				c, err := dialContext(ctx, tc.network, address)
				if c != nil {
					c.Close()
					t.Fatalf("dial succeeded; want an error")
				}
				return err
			}
			std := net.Dialer{LocalAddr: tc.local, Timeout: tc.timeout}
			if tc.past {
				std.Deadline = time.Now().Add(-time.Second)
			}
			want := dial(std.DialContext, cmpOr(tc.stdAddr, "example.invalid:80"))
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				r := tc.static
				if r == nil {
					r = &resolver.Static{AAAA: simNever, A: simNever}
				}
				d := simDialer(n, r)
				d.LocalAddr, d.Timeout = tc.local, tc.timeout
				if tc.past {
					d.Deadline = time.Now().Add(-time.Second)
				}
				got := dial(d.DialContext, "example.invalid:80")
				if got == nil {
					t.Fatalf("dial succeeded")
				}
				compareDialErrors(t, got, want)
				synctest.Wait()
				if log := n.Attempts(); len(log) != 0 {
					t.Errorf("attempts %v; want none", log)
				}
			})
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// nonZeroDeadlineCtx reports a non-zero deadline time with ok false, which
// means no deadline (Go net TestDialWithNonZeroDeadline).
type nonZeroDeadlineCtx struct{ context.Context }

func (nonZeroDeadlineCtx) Deadline() (time.Time, bool) { return time.Unix(0, 0), false }

func TestDropInConformance_NonZeroDeadlineNotSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(5*ms))
		d := simDialer(n, dualStatic(v6a, v4a))
		for _, address := range []string{"example.com:443", "[2001:db8::1]:443"} {
			c, err := d.DialContext(nonZeroDeadlineCtx{t.Context()}, "tcp", address)
			if err != nil {
				t.Fatalf("Go net TestDialWithNonZeroDeadline: %s: %v", address, err)
			}
			c.Close()
		}
		synctest.Wait()
	})
}

// TestDropInConformance_EmptyHostPolicy: ":P" is the local system (net.Dial's
// doc), so a Policy must see it like the literal "0.0.0.0:P": PublicOnly
// rejects it and nothing is dialed.
func TestDropInConformance_EmptyHostPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		for _, network := range []string{"tcp", "tcp4", "tcp6"} {
			for _, address := range []string{":80", "0.0.0.0:80", "[::]:80"} {
				if network == "tcp4" && address == "[::]:80" {
					continue // 0.0.0.0 on tcp4, as above
				}
				if network == "tcp6" && address == "0.0.0.0:80" {
					continue // an IPv4 literal on tcp6: no suitable address
				}
				d := simDialer(n, simFailResolver{t})
				d.Policy = PublicOnly
				_, err := d.DialContext(t.Context(), network, address)
				if !errors.Is(err, ErrAddressRejected) {
					t.Errorf("%s %s with PublicOnly: %v; want ErrAddressRejected", network, address, err)
				}
			}
		}
		synctest.Wait()
		if log := n.Attempts(); len(log) != 0 {
			t.Errorf("attempts %v; want none", log)
		}
	})
}
