package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// fakeNet replaces the network in virtual-time tests: each query is
// answered from a zone after a delay chosen per (server, type, name).
type fakeNet struct {
	zone *dnstest.Zone
	// delay returns how long the reply takes; negative: never (the query
	// times out).
	delay func(server netip.AddrPort, name string, qtype uint16) time.Duration

	mu    sync.Mutex
	calls []string // "AAAA name" in the order queries were sent
}

func (f *fakeNet) exchange(ctx context.Context, server netip.AddrPort, q query) (*dns.Msg, error) {
	f.mu.Lock()
	f.calls = append(f.calls, dns.TypeToString[q.qtype]+" "+q.name)
	f.mu.Unlock()
	// The query is "sent": let a lookup waiting for that go on.
	if q.sent != nil {
		q.sent()
	}
	d := time.Duration(0)
	if f.delay != nil {
		d = f.delay(server, q.name, q.qtype)
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	var timer <-chan time.Time
	if d >= 0 {
		timer = time.After(d)
	}
	select {
	case <-timer:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return f.zone.Reply(new(dns.Msg).SetQuestion(q.name, q.qtype)), nil
}

func (f *fakeNet) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeNet) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeClient returns a Client whose network is f. Call it inside a
// synctest bubble.
func fakeClient(t *testing.T, c *Client, f *fakeNet) *Client {
	t.Helper()
	if c == nil {
		c = &Client{}
	}
	if c.Config == nil {
		c.Config = &Config{Servers: aps("[2001:db8::53]:53", "192.0.2.53:53"), Timeout: time.Second, Attempts: 2}
	}
	c.HostsPath = filepath.Join(t.TempDir(), "hosts")
	c.state().exchange = f.exchange
	t.Cleanup(c.state().stopFlights)
	return c
}

func fakeZone() *dnstest.Zone {
	return dnstest.NewZone(
		"test. 300 IN SOA ns.test. admin.test. 1 60 60 60 30",
		"dual.test. 60 IN A 192.0.2.1",
		"dual.test. 60 IN AAAA 2001:db8::1",
		"v4.test. 60 IN A 192.0.2.4",
		"short.test. 2 IN A 192.0.2.2",
		"zero.test. 0 IN A 192.0.2.3",
		"long.test. 864000 IN A 192.0.2.5",
	)
}

// answersAt resolves host and returns each family's answer with its
// arrival time in virtual time since the call.
func answersAt(ctx context.Context, r Resolver, host string, fams ...Family) map[Family]got {
	if len(fams) == 0 {
		fams = []Family{IPv6, IPv4}
	}
	start := time.Now()
	m := make(map[Family]got)
	for a := range r.Resolve(ctx, host, fams...) {
		m[a.Family] = got{a, time.Since(start)}
	}
	return m
}

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

// TestClient_Timing checks the RFC 8305 §3 rules to the millisecond.
func TestClient_Timing(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		host     string
		conf     *Config
		delays   map[string]time.Duration // "AAAA name." → delay; missing: 0; negative: lost
		wantAt   map[Family]time.Duration
		wantPos  map[Family]bool
		wantSent []string
	}{
		{
			name:    "A first, AAAA late",
			host:    "dual.test",
			delays:  map[string]time.Duration{"AAAA dual.test.": 900 * ms, "A dual.test.": 10 * ms},
			wantAt:  map[Family]time.Duration{IPv4: 10 * ms, IPv6: 900 * ms},
			wantPos: map[Family]bool{IPv4: true, IPv6: true},
			// AAAA also goes to the second server after 250 ms.
			wantSent: []string{"AAAA dual.test.", "A dual.test.", "AAAA dual.test."},
		},
		{
			// Two servers, two attempts, 1 s timeout, staggered by 250 ms:
			// round 1 ends at 1.25 s, round 2 at 2.5 s.
			name:     "AAAA lost: A at once, AAAA after attempts × (stagger + timeout)",
			host:     "dual.test",
			delays:   map[string]time.Duration{"AAAA dual.test.": -1, "A dual.test.": 20 * ms},
			wantAt:   map[Family]time.Duration{IPv4: 20 * ms, IPv6: 2500 * ms},
			wantPos:  map[Family]bool{IPv4: true},
			wantSent: []string{"AAAA dual.test.", "A dual.test.", "AAAA dual.test.", "AAAA dual.test.", "AAAA dual.test."},
		},
		{
			name: "search list: NODATA for AAAA waits for A on the same candidate",
			host: "v4",
			conf: &Config{Search: []string{"test."}, Ndots: 1},
			delays: map[string]time.Duration{
				"AAAA v4.test.": 10 * ms, "A v4.test.": 50 * ms,
			},
			wantAt:   map[Family]time.Duration{IPv6: 50 * ms, IPv4: 50 * ms},
			wantPos:  map[Family]bool{IPv4: true},
			wantSent: []string{"AAAA v4.test.", "A v4.test."},
		},
		{
			name: "search list: NXDOMAIN for A moves AAAA on at once",
			host: "dual",
			conf: &Config{Search: []string{"corp.", "test."}, Ndots: 1},
			delays: map[string]time.Duration{
				"AAAA dual.corp.": -1, "A dual.corp.": 5 * ms,
				"AAAA dual.test.": 10 * ms, "A dual.test.": 10 * ms,
			},
			wantAt:  map[Family]time.Duration{IPv6: 15 * ms, IPv4: 15 * ms},
			wantPos: map[Family]bool{IPv4: true, IPv6: true},
		},
		{
			name: "search list: negative on the first candidate, positive on the last",
			host: "dual.test",
			conf: &Config{Search: []string{"corp."}, Ndots: 2},
			delays: map[string]time.Duration{
				"AAAA dual.test.corp.": 30 * ms, "A dual.test.corp.": 5 * ms,
			},
			wantAt:  map[Family]time.Duration{IPv6: 5 * ms, IPv4: 5 * ms},
			wantPos: map[Family]bool{IPv4: true, IPv6: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeNet{zone: fakeZone(), delay: func(_ netip.AddrPort, name string, qtype uint16) time.Duration {
					return tt.delays[dns.TypeToString[qtype]+" "+name]
				}}
				conf := &Config{Timeout: time.Second, Attempts: 2}
				if tt.conf != nil {
					conf = tt.conf
					conf.Timeout, conf.Attempts = time.Second, 2
				}
				conf.Servers = aps("[2001:db8::53]:53", "192.0.2.53:53")
				c := fakeClient(t, &Client{Config: conf}, f)
				g := answersAt(context.Background(), c, tt.host)
				for _, fam := range []Family{IPv6, IPv4} {
					if g[fam].at != tt.wantAt[fam] || g[fam].Positive() != tt.wantPos[fam] {
						t.Errorf("%v: positive=%v at %v (%v); want positive=%v at %v", fam, g[fam].Positive(), g[fam].at, g[fam].Err, tt.wantPos[fam], tt.wantAt[fam])
					}
				}
				if tt.wantSent != nil && !slices.Equal(f.callList(), tt.wantSent) {
					t.Errorf("queries %q; want %q", f.callList(), tt.wantSent)
				}
			})
		})
	}
}

// TestClient_Timing_Order: the AAAA query is always sent before the A
// query, however the goroutines are scheduled.
func TestClient_Timing_Order(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{zone: fakeZone()}
		c := fakeClient(t, &Client{CacheSize: -1}, f)
		for range 50 {
			answersAt(context.Background(), c, "dual.test")
		}
		calls := f.callList()
		for i := 0; i+1 < len(calls); i += 2 {
			if !strings.HasPrefix(calls[i], "AAAA ") || !strings.HasPrefix(calls[i+1], "A ") {
				t.Fatalf("query %d: %q then %q; want AAAA then A", i, calls[i], calls[i+1])
			}
		}
	})
}
