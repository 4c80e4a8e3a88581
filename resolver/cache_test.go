package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// TestCache_Expiry: answers are served from the cache for their TTL
// (RFC 1035 §3.2.1), with the remaining TTL, and asked again after.
func TestCache_Expiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone(), delay: func(netip.AddrPort, string, uint16) time.Duration { return 10 * time.Millisecond }}
		c := fakeClient(t, nil, f)
		ctx := context.Background()

		g := answersAt(ctx, c, "dual.test")
		if g[IPv6].at != 10*time.Millisecond || g[IPv4].at != 10*time.Millisecond || f.count() != 2 {
			t.Fatalf("cold: answers at %v, %v after %d queries; want 10ms, 2", g[IPv6].at, g[IPv4].at, f.count())
		}
		time.Sleep(30 * time.Second)
		g = answersAt(ctx, c, "dual.test")
		if g[IPv4].at != 0 || f.count() != 2 {
			t.Errorf("warm: answer after %v with %d queries; want 0, 2", g[IPv4].at, f.count())
		}
		if g[IPv4].TTL != 30*time.Second {
			t.Errorf("warm TTL %v; want the remaining 30s", g[IPv4].TTL)
		}
		wantAddrs(t, g[IPv6], "2001:db8::1")
		time.Sleep(30 * time.Second)
		g = answersAt(ctx, c, "dual.test")
		if g[IPv4].at != 10*time.Millisecond || f.count() != 4 {
			t.Errorf("expired: answer after %v with %d queries; want 10ms, 4", g[IPv4].at, f.count())
		}
	})
}

// TestCache_TTLClamps: MinTTL and MaxTTL bound the TTL of positive
// answers, TTL 0 included (RFC 1035 §3.2.1: 0 means not cached).
func TestCache_TTLClamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone()}
		c := fakeClient(t, &Client{MinTTL: 5 * time.Second, MaxTTL: time.Minute}, f)
		ctx := context.Background()
		tests := []struct {
			host string
			ttl  time.Duration
		}{
			{"short.test", 5 * time.Second},
			{"zero.test", 5 * time.Second},
			{"long.test", time.Minute},
		}
		for _, tt := range tests {
			if g := answersAt(ctx, c, tt.host, IPv4); g[IPv4].TTL != tt.ttl {
				t.Errorf("%s: TTL %v; want %v", tt.host, g[IPv4].TTL, tt.ttl)
			}
		}
		n := f.count()
		time.Sleep(4 * time.Second)
		answersAt(ctx, c, "zero.test", IPv4)
		if f.count() != n {
			t.Error("MinTTL: zero.test not served from the cache")
		}
		time.Sleep(2 * time.Second)
		answersAt(ctx, c, "zero.test", IPv4)
		if f.count() != n+1 {
			t.Error("zero.test still cached after MinTTL")
		}
	})
}

// TestCache_Negative: NXDOMAIN and NODATA are cached for the SOA's
// negative TTL (RFC 2308 §5), capped by NegativeTTL; not at all without
// an SOA or with NegativeTTL < 0.
func TestCache_Negative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone()}
		c := fakeClient(t, &Client{NegativeTTL: 20 * time.Second}, f)
		ctx := context.Background()

		// NXDOMAIN and NODATA: the SOA says min(300, 30) = 30 s, capped
		// to NegativeTTL = 20 s.
		g := answersAt(ctx, c, "missing.test")
		wantNotFound(t, g[IPv6])
		wantNotFound(t, g[IPv4])
		g = answersAt(ctx, c, "v4.test", IPv6)
		wantNotFound(t, g[IPv6])
		if g[IPv6].TTL != 20*time.Second {
			t.Errorf("negative TTL %v; want 20s", g[IPv6].TTL)
		}
		synctest.Wait()
		n := f.count()
		time.Sleep(19 * time.Second)
		g = answersAt(ctx, c, "missing.test")
		wantNotFound(t, g[IPv4])
		answersAt(ctx, c, "v4.test", IPv6)
		if f.count() != n {
			t.Errorf("negative answers not cached: %d more queries", f.count()-n)
		}
		time.Sleep(2 * time.Second)
		answersAt(ctx, c, "missing.test")
		// One family's NXDOMAIN may answer the other before its own
		// query is sent; that lookup still runs (and fills the cache).
		synctest.Wait()
		if f.count() != n+2 {
			t.Errorf("after expiry: %d more queries; want 2: %q", f.count()-n, f.callList())
		}

		// Without an SOA, negative answers are not cached (RFC 2308 §5).
		f2 := &fakeNet{zone: dnstest.NewZone("v4.test. 60 IN A 192.0.2.4")}
		c2 := fakeClient(t, nil, f2)
		answersAt(ctx, c2, "missing.test", IPv4)
		answersAt(ctx, c2, "missing.test", IPv4)
		if f2.count() != 2 {
			t.Errorf("negative answer without SOA was cached")
		}

		// NegativeTTL < 0 disables negative caching.
		f3 := &fakeNet{zone: fakeZone()}
		c3 := fakeClient(t, &Client{NegativeTTL: -1}, f3)
		answersAt(ctx, c3, "missing.test", IPv4)
		answersAt(ctx, c3, "missing.test", IPv4)
		if f3.count() != 2 {
			t.Errorf("NegativeTTL -1: negative answer was cached")
		}
	})
}

// TestCache_NoFailureCaching: a timeout is not cached (RFC 2308 §7 allows
// it for a short while; we ask again at once).
func TestCache_NoFailureCaching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone(), delay: func(netip.AddrPort, string, uint16) time.Duration { return -1 }}
		c := fakeClient(t, &Client{Config: &Config{Servers: aps("192.0.2.53:53"), Timeout: time.Second, Attempts: 2}}, f)
		g := answersAt(context.Background(), c, "dual.test", IPv4)
		var de *net.DNSError
		if !errors.As(g[IPv4].Err, &de) || !de.IsTimeout || g[IPv4].at != 2*time.Second {
			t.Errorf("got %v at %v; want a timeout at 2s (timeout × attempts)", g[IPv4].Err, g[IPv4].at)
		}
		if de != nil && de.Name != "dual.test" {
			t.Errorf("error names %q; want the host as asked", de.Name)
		}
		f.delay = nil
		g = answersAt(context.Background(), c, "dual.test", IPv4)
		wantAddrs(t, g[IPv4], "192.0.2.1")
	})
}

// TestCache_Coalescing: identical lookups in flight share one query per
// type, and a caller who leaves does not cancel it for the others.
func TestCache_Coalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone(), delay: func(netip.AddrPort, string, uint16) time.Duration { return 500 * time.Millisecond }}
		c := fakeClient(t, &Client{Config: &Config{Servers: aps("192.0.2.53:53"), Timeout: time.Second}}, f)

		// Caller 1 gives up after 100 ms; caller 2 waits. One query per
		// type goes out, and caller 2 gets the answer at 500 ms.
		ctx1, cancel1 := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel1()
		var wg sync.WaitGroup
		var g1, g2 map[Family]got
		wg.Go(func() { g1 = answersAt(ctx1, c, "dual.test") })
		wg.Go(func() { g2 = answersAt(context.Background(), c, "dual.test") })
		wg.Wait()
		if !errors.Is(g1[IPv4].Err, context.DeadlineExceeded) || g1[IPv4].at != 100*time.Millisecond {
			t.Errorf("caller 1: %v at %v; want DeadlineExceeded at 100ms", g1[IPv4].Err, g1[IPv4].at)
		}
		wantAddrs(t, g2[IPv4], "192.0.2.1")
		wantAddrs(t, g2[IPv6], "2001:db8::1")
		if g2[IPv4].at != 500*time.Millisecond {
			t.Errorf("caller 2 answered at %v; want 500ms", g2[IPv4].at)
		}
		if f.count() != 2 {
			t.Errorf("%d queries; want 2 (one per type)", f.count())
		}
	})
}

// TestCache_LateAnswer: a lookup whose only caller left still fills the
// cache if its answer arrives within a second (RFC 8305 §5), and is
// cancelled after that.
func TestCache_LateAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		delays := map[string]time.Duration{"dual.test.": 800 * time.Millisecond, "v4.test.": 3 * time.Second}
		f := &fakeNet{zone: fakeZone(), delay: func(_ netip.AddrPort, name string, _ uint16) time.Duration { return delays[name] }}
		c := fakeClient(t, &Client{Config: &Config{Servers: aps("192.0.2.53:53"), Timeout: 10 * time.Second, Attempts: 1}}, f)

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		answersAt(ctx, c, "dual.test", IPv4)
		answersAt(ctx, c, "v4.test", IPv4)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		n := f.count()
		g := answersAt(context.Background(), c, "dual.test", IPv4)
		if g[IPv4].at != 0 || f.count() != n {
			t.Errorf("late answer (700 ms after the caller left) not cached")
		}
		wantAddrs(t, g[IPv4], "192.0.2.1")
		g = answersAt(context.Background(), c, "v4.test", IPv4)
		if f.count() != n+1 || g[IPv4].at != 3*time.Second {
			t.Errorf("lookup abandoned for over 1 s was not cancelled: %d queries, answer at %v", f.count()-n, g[IPv4].at)
		}
	})
}

// TestCache_LRU: CacheSize bounds the entries; the least recently used
// goes first.
func TestCache_LRU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := dnstest.NewZone()
		for i := range 5 {
			zone.Add(dnstest.MustRR(fmt.Sprintf("h%d.test. 60 IN A 192.0.2.%d", i, i)))
		}
		f := &fakeNet{zone: zone}
		c := fakeClient(t, &Client{CacheSize: 3}, f)
		ctx := context.Background()
		for i := range 3 {
			answersAt(ctx, c, fmt.Sprintf("h%d.test", i), IPv4)
		}
		answersAt(ctx, c, "h0.test", IPv4) // h0 is now the most recent
		answersAt(ctx, c, "h3.test", IPv4) // evicts h1
		if n := c.st.cache.len(); n != 3 {
			t.Errorf("cache holds %d entries; want 3", n)
		}
		n := f.count()
		for _, h := range []string{"h0.test", "h2.test", "h3.test"} {
			answersAt(ctx, c, h, IPv4)
		}
		if f.count() != n {
			t.Errorf("recently used entries were evicted: %v", f.callList()[n:])
		}
		answersAt(ctx, c, "h1.test", IPv4)
		if f.count() != n+1 {
			t.Error("h1 (least recently used) was not evicted")
		}
	})
}

// TestCache_Put: a newer answer replaces the entry; one with TTL 0 (RFC
// 1035 §3.2.1: not to be cached) removes it; a disabled cache stores
// nothing.
func TestCache_Put(t *testing.T) {
	now := time.Now()
	c := &cache{max: 2}
	k := cacheKey{"a.test.", dns.TypeA}
	c.putLocked(k, result{kind: positive, addrs: addrs("192.0.2.1"), ttl: time.Minute}, now)
	c.putLocked(k, result{kind: positive, addrs: addrs("192.0.2.2"), ttl: time.Second}, now)
	if r, ok := c.get(k, now); !ok || r.addrs[0] != netip.MustParseAddr("192.0.2.2") || r.ttl != time.Second {
		t.Errorf("after update: %+v, %v", r, ok)
	}
	c.putLocked(k, result{kind: positive, addrs: addrs("192.0.2.3"), ttl: 0}, now)
	if _, ok := c.get(k, now); ok || c.len() != 0 {
		t.Error("an answer with TTL 0 left the older entry in place")
	}
	off := &cache{max: -1}
	off.putLocked(k, result{kind: positive, addrs: addrs("192.0.2.1"), ttl: time.Minute}, now)
	if off.len() != 0 {
		t.Error("disabled cache stored an entry")
	}
}
