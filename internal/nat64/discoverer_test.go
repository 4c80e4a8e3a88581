package nat64

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// counting is a Resolver that counts and records the lookups it passes on.
type counting struct {
	r resolver.Resolver

	n atomic.Int32

	mu       sync.Mutex
	hosts    []string
	families [][]resolver.Family
	ctxs     []context.Context
}

func (c *counting) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	c.n.Add(1)
	c.mu.Lock()
	c.hosts = append(c.hosts, host)
	c.families = append(c.families, families)
	c.ctxs = append(c.ctxs, ctx)
	c.mu.Unlock()
	return c.r.Resolve(ctx, host, families...)
}

// fixed is a Resolver whose one answer, given after delay, carries a TTL,
// which resolver.Static cannot.
type fixed struct {
	answer resolver.Answer
	delay  time.Duration
}

func (f *fixed) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	out := make(chan resolver.Answer, 1) // room for the one answer: never blocks
	go func() {
		defer close(out)
		select {
		case <-time.After(f.delay):
			out <- f.answer
		case <-ctx.Done():
			out <- resolver.Answer{Family: resolver.IPv6, Err: ctx.Err()}
		}
	}()
	return out
}

// closing is a Resolver that breaks the contract: it closes the channel
// without an answer.
type closing struct{}

func (closing) Resolve(context.Context, string, ...resolver.Family) <-chan resolver.Answer {
	out := make(chan resolver.Answer)
	close(out)
	return out
}

// dns64 is the answer a DNS64 using the well-known prefix gives.
var dns64 = resolver.StaticAnswer{Addrs: []netip.Addr{addr("64:ff9b::c000:aa"), addr("64:ff9b::c000:ab")}}

func TestDiscoverer_Prefix(t *testing.T) {
	servfail := &net.DNSError{Err: "server misbehaving", Name: WellKnownName, IsTemporary: true}
	tests := []struct {
		name    string
		aaaa    resolver.StaticAnswer
		want    netip.Prefix
		wantOK  bool
		wantErr error
	}{
		{"DNS64 with the well-known prefix", dns64, WellKnownPrefix, true, nil},
		{"DNS64 with a network-specific /64", resolver.StaticAnswer{Addrs: []netip.Addr{
			addr("2001:db8:122:344:c0:0:aa00:0"), addr("2001:db8:122:344:c0:0:ab00:0"),
		}}, pfx("2001:db8:122:344::/64"), true, nil},
		{"first of two prefixes", resolver.StaticAnswer{Addrs: []netip.Addr{
			addr("2001:db8:122:344:c0:0:aa00:0"), addr("64:ff9b::c000:aa"),
		}}, pfx("2001:db8:122:344::/64"), true, nil},
		{"no DNS64: NODATA", resolver.StaticAnswer{}, netip.Prefix{}, false, nil},
		{"no DNS64: NXDOMAIN", resolver.StaticAnswer{Err: &net.DNSError{Err: "no such host", Name: WellKnownName, IsNotFound: true}}, netip.Prefix{}, false, nil},
		{"answer without a well-known address", resolver.StaticAnswer{Addrs: []netip.Addr{addr("2001:db8::1")}}, netip.Prefix{}, false, nil},
		{"SERVFAIL", resolver.StaticAnswer{Err: servfail}, netip.Prefix{}, false, servfail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &counting{r: &resolver.Static{AAAA: tt.aaaa, A: resolver.StaticAnswer{Addrs: []netip.Addr{addr("192.0.0.170")}}}}
				var d Discoverer
				got, ok, err := d.Prefix(t.Context(), r)
				if got != tt.want || ok != tt.wantOK || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("Prefix() = %v, %v, %v; want %v, %v, %v", got, ok, err, tt.want, tt.wantOK, tt.wantErr)
				}
				if r.n.Load() != 1 || r.hosts[0] != WellKnownName || !slices.Equal(r.families[0], []resolver.Family{resolver.IPv6}) {
					t.Errorf("lookups: %d, %q, %v; want 1 AAAA lookup of %q", r.n.Load(), r.hosts, r.families, WellKnownName)
				}
			})
		})
	}
}

// TestDiscoverer_Cache checks for how long each kind of result is reused,
// to the nanosecond of virtual time.
func TestDiscoverer_Cache(t *testing.T) {
	pos := func(ttl time.Duration) resolver.Answer {
		return resolver.Answer{Family: resolver.IPv6, Addrs: dns64.Addrs, TTL: ttl}
	}
	tests := []struct {
		name   string
		answer resolver.Answer
		keep   time.Duration
	}{
		{"TTL 5 min: repeated 10 s early", pos(5 * time.Minute), 5*time.Minute - 10*time.Second},
		{"TTL unknown: 1 min", pos(0), time.Minute},
		{"TTL 30 s: raised to 1 min", pos(30 * time.Second), time.Minute},
		{"TTL 70 s: exactly 1 min", pos(70 * time.Second), time.Minute},
		{"TTL 1 day: lowered to 1 h", pos(24 * time.Hour), time.Hour},
		{"no DNS64", resolver.Answer{Family: resolver.IPv6, TTL: time.Hour, Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, 30 * time.Second},
		{"failure", resolver.Answer{Family: resolver.IPv6, Err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &counting{r: &fixed{answer: tt.answer}}
				var d Discoverer
				p1, ok1, err1 := d.Prefix(t.Context(), r)
				time.Sleep(tt.keep - time.Nanosecond)
				p2, ok2, err2 := d.Prefix(t.Context(), r)
				if n := r.n.Load(); n != 1 {
					t.Fatalf("%d lookups %v after the first; want 1", n, tt.keep-time.Nanosecond)
				}
				if p1 != p2 || ok1 != ok2 || err1 != err2 {
					t.Errorf("cached Prefix() = %v, %v, %v; first gave %v, %v, %v", p2, ok2, err2, p1, ok1, err1)
				}
				time.Sleep(time.Nanosecond)
				d.Prefix(t.Context(), r)
				if n := r.n.Load(); n != 2 {
					t.Errorf("%d lookups %v after the first; want 2", n, tt.keep)
				}
			})
		})
	}
}

// TestDiscoverer_Coalesce checks that callers who ask while a discovery is
// under way share it, and all get its answer when it arrives.
func TestDiscoverer_Coalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{r: &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: dns64.Addrs, Delay: 100 * time.Millisecond}}}
		var d Discoverer
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond) // join at 0..9 ms
				p, ok, err := d.Prefix(t.Context(), r)
				if p != WellKnownPrefix || !ok || err != nil {
					t.Errorf("caller %d: Prefix() = %v, %v, %v; want %v, true, nil", i, p, ok, err, WellKnownPrefix)
				}
				if el := time.Since(start); el != 100*time.Millisecond {
					t.Errorf("caller %d answered at %v; want 100ms", i, el)
				}
			})
		}
		wg.Wait()
		if n := r.n.Load(); n != 1 {
			t.Errorf("%d lookups for 10 concurrent callers; want 1", n)
		}
	})
}

// TestDiscoverer_CallerLeaves checks that one caller giving up neither
// stops the shared lookup nor keeps its result from being cached.
func TestDiscoverer_CallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{r: &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: dns64.Addrs, Delay: 100 * time.Millisecond}}}
		var d Discoverer
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			_, ok, err := d.Prefix(ctx, r)
			if ok || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("impatient caller: ok %v, err %v; want false, DeadlineExceeded", ok, err)
			}
			if el := time.Since(start); el != 10*time.Millisecond {
				t.Errorf("impatient caller returned at %v; want 10ms", el)
			}
		})
		wg.Go(func() {
			p, ok, err := d.Prefix(t.Context(), r)
			if p != WellKnownPrefix || !ok || err != nil {
				t.Errorf("patient caller: Prefix() = %v, %v, %v; want %v, true, nil", p, ok, err, WellKnownPrefix)
			}
		})
		wg.Wait()
		if el := time.Since(start); el != 100*time.Millisecond {
			t.Errorf("patient caller returned at %v; want 100ms", el)
		}
		if p, ok, _ := d.Prefix(t.Context(), r); p != WellKnownPrefix || !ok || r.n.Load() != 1 {
			t.Errorf("after the shared lookup: %v, %v with %d lookups; want the cached %v, 1 lookup", p, ok, r.n.Load(), WellKnownPrefix)
		}
	})
}

// TestDiscoverer_AllCallersLeave checks that the lookup is cancelled when
// nobody waits for it any more, and that nothing is cached.
func TestDiscoverer_AllCallersLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Delay -1: Static answers only when the lookup's context ends.
		r := &counting{r: &resolver.Static{AAAA: resolver.StaticAnswer{Delay: -1}}}
		var d Discoverer
		var wg sync.WaitGroup
		for _, timeout := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), timeout)
				defer cancel()
				if _, _, err := d.Prefix(ctx, r); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Prefix() with a %v timeout: %v; want DeadlineExceeded", timeout, err)
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		if n := r.n.Load(); n != 1 {
			t.Fatalf("%d lookups; want 1", n)
		}
		if err := r.ctxs[0].Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("lookup context: %v; want Canceled once every caller left", err)
		}
		// The abandoned lookup's error is not remembered.
		r.r = &resolver.Static{AAAA: dns64}
		if p, ok, err := d.Prefix(t.Context(), r); p != WellKnownPrefix || !ok || err != nil || r.n.Load() != 2 {
			t.Errorf("next Prefix() = %v, %v, %v after %d lookups; want %v from a second lookup", p, ok, err, r.n.Load(), WellKnownPrefix)
		}
	})
}

func TestDiscoverer_ContextDoneBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{r: &resolver.Static{AAAA: dns64}}
		var d Discoverer
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, ok, err := d.Prefix(ctx, r); ok || !errors.Is(err, context.Canceled) {
			t.Errorf("Prefix(cancelled) = %v, %v; want false, Canceled", ok, err)
		}
		if n := r.n.Load(); n != 0 {
			t.Errorf("%d lookups for a cancelled caller; want 0", n)
		}
		// A remembered result is still given to a cancelled caller.
		d.Prefix(t.Context(), r)
		if p, ok, err := d.Prefix(ctx, r); p != WellKnownPrefix || !ok || err != nil {
			t.Errorf("Prefix(cancelled) with a cached prefix = %v, %v, %v; want %v, true, nil", p, ok, err, WellKnownPrefix)
		}
	})
}

func TestDiscoverer_Known(t *testing.T) {
	tests := []struct {
		name  string
		known netip.Prefix
		want  netip.Prefix
		err   error
	}{
		{"PREF64 /96", pfx("2001:db8:64::/96"), pfx("2001:db8:64::/96"), nil},
		{"PREF64 /56", pfx("2001:db8:122:300::/56"), pfx("2001:db8:122:300::/56"), nil},
		{"host bits cleared", pfx("2001:db8:64::1/96"), pfx("2001:db8:64::/96"), nil},
		{"bad length", pfx("2001:db8:64::/80"), netip.Prefix{}, ErrPrefixLength},
		{"IPv4", pfx("192.0.2.0/24"), netip.Prefix{}, ErrNotIPv6Prefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &counting{r: &resolver.Static{AAAA: dns64}}
			d := Discoverer{Known: tt.known}
			p, ok, err := d.Prefix(t.Context(), r)
			if p != tt.want || ok != (tt.err == nil) || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Prefix() = %v, %v, %v; want %v, %v, %v", p, ok, err, tt.want, tt.err == nil, tt.err)
			}
			if n := r.n.Load(); n != 0 {
				t.Errorf("%d lookups with a Known prefix; want 0", n)
			}
			// Known needs no resolver at all.
			if p2, _, err2 := d.Prefix(t.Context(), nil); p2 != p || !errors.Is(err2, tt.err) {
				t.Errorf("Prefix(nil resolver) = %v, %v; want %v, %v", p2, err2, p, err)
			}
		})
	}
}

func TestDiscoverer_Reset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{r: &resolver.Static{AAAA: dns64}}
		var d Discoverer
		d.Prefix(t.Context(), r)
		d.Reset()
		r.r = &resolver.Static{} // the new network has no DNS64
		if p, ok, err := d.Prefix(t.Context(), r); ok || p.IsValid() || err != nil || r.n.Load() != 2 {
			t.Errorf("Prefix() after Reset = %v, %v, %v with %d lookups; want none from a second lookup", p, ok, err, r.n.Load())
		}
	})
}

// TestDiscoverer_ResetDuringLookup checks that a lookup started before
// Reset still answers its callers but is not remembered.
func TestDiscoverer_ResetDuringLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &counting{r: &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: dns64.Addrs, Delay: time.Second}}}
		var d Discoverer
		var wg sync.WaitGroup
		wg.Go(func() {
			if p, ok, err := d.Prefix(t.Context(), r); p != WellKnownPrefix || !ok || err != nil {
				t.Errorf("Prefix() = %v, %v, %v; want %v, true, nil", p, ok, err, WellKnownPrefix)
			}
		})
		synctest.Wait() // the lookup is under way
		d.Reset()
		wg.Wait()
		d.Prefix(t.Context(), r)
		if n := r.n.Load(); n != 2 {
			t.Errorf("%d lookups; want 2: the one from before Reset must not be cached", n)
		}
	})
}

func TestDiscoverer_BadResolver(t *testing.T) {
	tests := []struct {
		name string
		r    resolver.Resolver
	}{
		{"nil", nil},
		{"closes without answering", closing{}},
		{"answers only IPv4", &fixed{answer: resolver.Answer{Family: resolver.IPv4, Addrs: []netip.Addr{addr("192.0.0.170")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var d Discoverer
				p, ok, err := d.Prefix(t.Context(), tt.r)
				if p.IsValid() || ok || err == nil {
					t.Errorf("Prefix() = %v, %v, %v; want an error", p, ok, err)
				}
			})
		})
	}
}

// TestDiscoverer_Cached: the remembered prefix without asking; nothing
// before a discovery, after it expires, or when the network has none.
func TestDiscoverer_Cached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d Discoverer
		if p, ok := d.Cached(); ok {
			t.Fatalf("Cached() = %v before any discovery", p)
		}
		r := &counting{r: &fixed{answer: resolver.Answer{Family: resolver.IPv6, Addrs: dns64.Addrs, TTL: 5 * time.Minute}}}
		if _, ok, err := d.Prefix(t.Context(), r); !ok || err != nil {
			t.Fatalf("Prefix: %v, %v", ok, err)
		}
		if p, ok := d.Cached(); !ok || p != WellKnownPrefix {
			t.Errorf("Cached() = %v, %v; want %v", p, ok, WellKnownPrefix)
		}
		time.Sleep(5 * time.Minute)
		if p, ok := d.Cached(); ok {
			t.Errorf("Cached() = %v after the TTL", p)
		}
		if n := r.n.Load(); n != 1 {
			t.Errorf("Cached asked the resolver: %d lookups", n)
		}
		known := Discoverer{Known: netip.MustParsePrefix("2001:db8:64::/96")}
		if p, ok := known.Cached(); !ok || p.String() != "2001:db8:64::/96" {
			t.Errorf("Known: Cached() = %v, %v", p, ok)
		}
		bad := Discoverer{Known: netip.MustParsePrefix("::/96")}
		if p, ok := bad.Cached(); ok {
			t.Errorf("Known ::/96: Cached() = %v, true", p)
		}
	})
}
