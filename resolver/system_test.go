package resolver

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// systemFor returns a System whose Go resolver talks only to srv. Go's
// resolver honours only the deadline of its sockets, not cancellation, so a
// cancelled lookup would keep its socket until the resolv.conf timeout; the
// Dial here closes it on cancellation so that tests can count descriptors.
func systemFor(srv *dnstest.Server) *System {
	return &System{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, srv.Addr.String())
			if err == nil {
				context.AfterFunc(ctx, func() { c.Close() })
			}
			return c, err
		},
	}}
}

// TestSystem_Resolve: Go's resolver one family at a time: A is handed
// over without waiting for a slow AAAA (RFC 8305 §3).
func TestSystem_Resolve(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
		dns.TypeAAAA: {Delay: 600 * time.Millisecond}}})
	sys := systemFor(srv)

	start := time.Now()
	g := collect(t, sys.Resolve(context.Background(), "dual.test.", IPv6, IPv4), start)
	wantAddrs(t, g[IPv6], "2001:db8::1")
	wantAddrs(t, g[IPv4], "192.0.2.1")
	if g[IPv4].at > 400*time.Millisecond || g[IPv6].at < 600*time.Millisecond {
		t.Errorf("A at %v, AAAA at %v; want A first, without waiting for AAAA", g[IPv4].at, g[IPv6].at)
	}
	if g[IPv4].TTL != 0 {
		t.Errorf("TTL %v; System cannot know TTLs", g[IPv4].TTL)
	}

	g = collect(t, sys.Resolve(context.Background(), "v4.test.", IPv6, IPv4), time.Now())
	wantAddrs(t, g[IPv4], "192.0.2.4")
	wantNotFound(t, g[IPv6])
	g = collect(t, sys.Resolve(context.Background(), "missing.test.", IPv6, IPv4), time.Now())
	wantNotFound(t, g[IPv6])
	wantNotFound(t, g[IPv4])

	// IP literals: the other family is "not found", not some other error.
	g = collect(t, sys.Resolve(context.Background(), "192.0.2.1", IPv6, IPv4), time.Now())
	wantAddrs(t, g[IPv4], "192.0.2.1")
	wantNotFound(t, g[IPv6])

	if g := collect(t, sys.Resolve(context.Background(), "dual.test.", 0), time.Now()); len(g) != 0 {
		t.Errorf("no families: %v", g)
	}
}

// TestSystem_Resolve_notFoundCause: Go's resolver says "no such host" for
// NXDOMAIN (RFC 1035 §4.1.1) and NODATA (RFC 2308 §2.2) alike; System
// wraps ErrNoData where the name is known to exist and ErrNXDomain
// otherwise, as its doc says.
func TestSystem_Resolve_notFoundCause(t *testing.T) {
	checkFDs(t)
	sys := systemFor(dnstest.Start(t, baseZone()))
	tests := []struct {
		name string
		host string
		fams []Family
		want map[Family]error // the cause of each negative answer
	}{
		{"other family positive: NODATA", "v4.test.", []Family{IPv6, IPv4}, map[Family]error{IPv6: ErrNoData}},
		{"other family positive, asked A first: NODATA", "v6.test.", []Family{IPv4, IPv6}, map[Family]error{IPv4: ErrNoData}},
		{"one family asked: NXDOMAIN", "v4.test.", []Family{IPv6}, map[Family]error{IPv6: ErrNXDomain}},
		{"both negative: NXDOMAIN", "missing.test.", []Family{IPv6, IPv4}, map[Family]error{IPv6: ErrNXDomain, IPv4: ErrNXDomain}},
		{"IPv4 literal: NODATA for IPv6", "192.0.2.1", []Family{IPv6, IPv4}, map[Family]error{IPv6: ErrNoData}},
		{"IPv6 literal: NODATA for IPv4", "2001:db8::1", []Family{IPv4}, map[Family]error{IPv4: ErrNoData}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := collect(t, sys.Resolve(context.Background(), tt.host, tt.fams...), time.Now())
			require.Len(t, g, len(tt.fams))
			for _, f := range tt.fams {
				cause, negative := tt.want[f]
				if !negative {
					assert.True(t, g[f].Positive(), "%v: %v", f, g[f].Err)
					continue
				}
				wantNotFound(t, g[f])
				assert.ErrorIs(t, g[f].Err, cause, "%v", f)
				other := ErrNXDomain
				if cause == ErrNXDomain {
					other = ErrNoData
				}
				assert.NotErrorIs(t, g[f].Err, other, "%v", f)
			}
		})
	}
}

// TestSystem_Resolve_Cancel: the caller's deadline ends both families
// promptly, and its httptrace hooks do not fire.
func TestSystem_Resolve_Cancel(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
		dns.TypeAAAA: {Drop: true}, dns.TypeA: {Drop: true}}})
	sys := systemFor(srv)
	trace := &httptrace.ClientTrace{ConnectStart: func(string, string) { t.Error("caller's ConnectStart fired") }}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 100*time.Millisecond)
	defer cancel()
	g := collect(t, sys.Resolve(ctx, "dual.test.", IPv6, IPv4), time.Now())
	for _, f := range []Family{IPv6, IPv4} {
		var de *net.DNSError
		if !errors.Is(g[f].Err, context.DeadlineExceeded) || !errors.As(g[f].Err, &de) {
			t.Errorf("%v: %v; want a *net.DNSError wrapping DeadlineExceeded", f, g[f].Err)
		}
		if g[f].at > time.Second {
			t.Errorf("%v answered after %v", f, g[f].at)
		}
	}
}

// TestSystem_Resolve_Localhost: localhost names are loopback of both
// families whatever the system's hosts file says (RFC 6761 §6.3).
func TestSystem_Resolve_Localhost(t *testing.T) {
	for _, host := range []string{"localhost", "svc.localhost"} {
		g := resolveAll(t, &System{}, host, IPv6, IPv4)
		if a := g[IPv6]; a.Err != nil || !slices.Contains(a.Addrs, netip.IPv6Loopback()) {
			t.Errorf("%s AAAA: %v, %v; want ::1 among them", host, a.Addrs, a.Err)
		}
		if a := g[IPv4]; a.Err != nil || len(a.Addrs) == 0 || !a.Addrs[0].IsLoopback() {
			t.Errorf("%s A: %v, %v; want loopback", host, a.Addrs, a.Err)
		}
	}
}
