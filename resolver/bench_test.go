package resolver

import (
	"context"
	"net"
	"testing"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// drain reads every answer and fails the benchmark on a negative one.
func drain(b *testing.B, ch <-chan Answer) {
	for a := range ch {
		if !a.Positive() {
			b.Fatalf("%v: %v", a.Family, a.Err)
		}
	}
}

// BenchmarkClient_Cached: a lookup answered from the cache (both families).
func BenchmarkClient_Cached(b *testing.B) {
	srv := dnstest.Start(b, baseZone())
	c := &Client{Config: &Config{Servers: aps(srv.Addr.String())}, HostsPath: "/nonexistent"}
	b.Cleanup(c.state().stopFlights)
	ctx := context.Background()
	drain(b, c.Resolve(ctx, "dual.test", IPv6, IPv4))
	b.ReportAllocs()
	for b.Loop() {
		drain(b, c.Resolve(ctx, "dual.test", IPv6, IPv4))
	}
}

// BenchmarkUncached compares a full lookup of both families against the
// same loopback server: this package's Client (cache off) and Go's own
// resolver (net.Resolver, pure Go).
func BenchmarkUncached(b *testing.B) {
	srv := dnstest.Start(b, baseZone())
	ctx := context.Background()
	b.Run("Client", func(b *testing.B) {
		c := &Client{Config: &Config{Servers: aps(srv.Addr.String())}, HostsPath: "/nonexistent", CacheSize: -1}
		b.Cleanup(c.state().stopFlights)
		b.ReportAllocs()
		for b.Loop() {
			drain(b, c.Resolve(ctx, "dual.test.", IPv6, IPv4))
		}
	})
	b.Run("net.Resolver", func(b *testing.B) {
		r := &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, srv.Addr.String())
			},
		}
		b.ReportAllocs()
		for b.Loop() {
			addrs, err := r.LookupNetIP(ctx, "ip", "dual.test.")
			if err != nil || len(addrs) != 2 {
				b.Fatalf("%v, %v", addrs, err)
			}
		}
	})
}

// BenchmarkClient_CachedHTTPS: a lookup of both families and HTTPS
// answered from the cache.
func BenchmarkClient_CachedHTTPS(b *testing.B) {
	srv := dnstest.Start(b, httpsZone())
	c := &Client{Config: &Config{Servers: aps(srv.Addr.String())}, HostsPath: "/nonexistent"}
	b.Cleanup(c.state().stopFlights)
	ctx := context.Background()
	resolve := func() {
		for a := range c.Resolve(ctx, "dual.test", IPv6, IPv4, HTTPS) {
			if !a.Positive() && a.Family != HTTPS {
				b.Fatalf("%v: %v", a.Family, a.Err)
			}
		}
	}
	resolve()
	b.ReportAllocs()
	for b.Loop() {
		resolve()
	}
}
