package resolver

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/miekg/dns"

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

func TestDefault(t *testing.T) {
	c, ok := Default().(*Client)
	if !ok || Default() != Resolver(c) || c.Config != nil || c.ConfPath != "" {
		t.Fatalf("Default() = %#v; want one shared zero *Client", Default())
	}
	// An IP literal needs no DNS, whatever the machine's configuration.
	g := collect(t, Default().Resolve(context.Background(), "127.0.0.1", IPv4), time.Now())
	wantAddrs(t, g[IPv4], "127.0.0.1")
}
