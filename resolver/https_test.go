package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// httpsZone serves HTTPS records (RFC 9460) in zone-file syntax.
func httpsZone() *dnstest.Zone {
	z := baseZone()
	for _, r := range []string{
		// Every key this package reads.
		`svc.test. 60 IN HTTPS 1 . mandatory=alpn,port alpn=h2,h3 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech="AQID" ipv6hint=2001:db8::1`,
		"svc.test. 60 IN A 192.0.2.1",
		// Priority order, whatever the order on the wire.
		"prio.test. 60 IN HTTPS 3 c.test. alpn=h2",
		"prio.test. 20 IN HTTPS 1 a.test.",
		"prio.test. 60 IN HTTPS 2 b.test. port=443",
		// Skipped records: an unknown mandatory key (RFC 9460 §8), a
		// mandatory key the record lacks, no-default-alpn without alpn
		// (§7.1); unknown keys not mandatory are ignored.
		"skip.test. 60 IN HTTPS 1 . mandatory=key65000 key65000=abc alpn=h2",
		"skip.test. 60 IN HTTPS 2 . mandatory=port alpn=h2",
		"skip.test. 60 IN HTTPS 3 . no-default-alpn",
		"skip.test. 60 IN HTTPS 4 kept.test. key65001=xyz alpn=h3",
		"allskip.test. 60 IN HTTPS 1 . mandatory=key65000 key65000=abc",
		// AliasMode (RFC 9460 §2.4.2).
		"apex.test. 30 IN HTTPS 0 svc.test.",
		"apex.test. 30 IN HTTPS 1 ignored.test.", // ServiceMode beside AliasMode: ignored
		"apex.test. 60 IN A 192.0.2.9",
		"two.test. 40 IN HTTPS 0 apex.test.",
		"toaddr.test. 60 IN HTTPS 0 dual.test.",
		"tonx.test. 60 IN HTTPS 0 nx.test.",
		"gone.test. 60 IN HTTPS 0 .",
		"la.test. 60 IN HTTPS 0 lb.test.",
		"lb.test. 60 IN HTTPS 0 la.test.",
		"self.test. 60 IN HTTPS 0 self.test.",
		// A CNAME to a name with HTTPS records: "." is the CNAME target.
		"cn.test. 60 IN CNAME svc.test.",
	} {
		z.Add(dnstest.MustRR(r))
	}
	// Malformed RDATA (RFC 9460 §2.2: keys not in increasing order): the
	// reply does not parse, a failure like any malformed reply.
	z.Add(&dns.RFC3597{Hdr: dns.RR_Header{Name: "malformed.test.", Rrtype: dns.TypeHTTPS, Class: dns.ClassINET, Ttl: 60},
		Rdata: "000100" + "0003000201bb" + "00010003026832"})
	z.Add(dnstest.MustRR("malformed.test. 60 IN A 192.0.2.7"))
	// A chain one hop longer than maxAliasHops.
	for i := range maxAliasHops + 1 {
		z.Add(dnstest.MustRR(fmt.Sprintf("c%d.test. 60 IN HTTPS 0 c%d.test.", i, i+1)))
	}
	z.Add(dnstest.MustRR(fmt.Sprintf("c%d.test. 60 IN HTTPS 1 .", maxAliasHops+1)))
	// A chain of exactly maxAliasHops.
	for i := range maxAliasHops {
		z.Add(dnstest.MustRR(fmt.Sprintf("d%d.test. 60 IN HTTPS 0 d%d.test.", i, i+1)))
	}
	z.Add(dnstest.MustRR(fmt.Sprintf("d%d.test. 60 IN HTTPS 1 . alpn=h2", maxAliasHops)))
	return z
}

func TestClient_Resolve_HTTPS(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, httpsZone())
	c := newClient(t, nil, srv)
	svc := Service{
		Priority: 1, Target: "svc.test.", ALPN: []string{"h2", "h3"}, NoDefaultALPN: true, Port: 8443,
		IPv4Hint: addrs("192.0.2.1", "192.0.2.2"), IPv6Hint: addrs("2001:db8::1"), ECH: []byte{1, 2, 3},
	}
	tests := []struct {
		host string
		want []Service
		ttl  time.Duration
		// negative answers
		cause    error // ErrNoData or ErrNXDomain for a not-found answer
		failText string
	}{
		{host: "svc.test", want: []Service{svc}, ttl: 60 * time.Second},
		{host: "SVC.test.", want: []Service{svc}, ttl: 60 * time.Second},
		{host: "prio.test", ttl: 20 * time.Second, want: []Service{
			{Priority: 1, Target: "a.test."},
			{Priority: 2, Target: "b.test.", Port: 443},
			{Priority: 3, Target: "c.test.", ALPN: []string{"h2"}},
		}},
		{host: "skip.test", ttl: 60 * time.Second, want: []Service{{Priority: 4, Target: "kept.test.", ALPN: []string{"h3"}}}},
		{host: "allskip.test", cause: ErrNoData},
		{host: "apex.test", want: []Service{svc}, ttl: 30 * time.Second},
		{host: "two.test", want: []Service{svc}, ttl: 30 * time.Second},
		{host: "cn.test", want: []Service{svc}, ttl: 60 * time.Second},
		{host: "toaddr.test", want: []Service{{Target: "dual.test."}}, ttl: 30 * time.Second},
		{host: "tonx.test", cause: ErrNXDomain},
		{host: "gone.test", cause: ErrNoData},
		{host: "la.test", failText: errTextAliasLoop},
		{host: "self.test", failText: errTextAliasLoop},
		{host: "c0.test", failText: errTextAliasLoop},
		{host: "d0.test", ttl: 60 * time.Second, want: []Service{{Priority: 1, Target: fmt.Sprintf("d%d.test.", maxAliasHops), ALPN: []string{"h2"}}}},
		{host: "malformed.test", failText: errTextMalformed},
		{host: "dual.test", cause: ErrNoData},
		{host: "nx.test", cause: ErrNXDomain},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			g := resolveAll(t, c, tt.host, HTTPS)
			if len(g) != 1 {
				t.Fatalf("answers %v; want one for HTTPS", g)
			}
			a := g[HTTPS]
			if len(a.Addrs) != 0 {
				t.Errorf("Addrs = %v; want none", a.Addrs)
			}
			if tt.want != nil {
				if a.Err != nil {
					t.Fatalf("Err = %v; want services", a.Err)
				}
				assert.Equal(t, tt.want, a.Services)
				if !a.Positive() {
					t.Error("Positive() = false")
				}
				if a.TTL > tt.ttl || a.TTL < tt.ttl-2*time.Second {
					t.Errorf("TTL = %v; want %v", a.TTL, tt.ttl)
				}
				return
			}
			if a.Positive() || len(a.Services) != 0 {
				t.Errorf("got %v; want a negative answer", a.Services)
			}
			var de *net.DNSError
			if !errors.As(a.Err, &de) {
				t.Fatalf("Err = %#v; want a *net.DNSError", a.Err)
			}
			if de.Name != tt.host {
				t.Errorf("Err.Name = %q; want %q", de.Name, tt.host)
			}
			if tt.cause != nil {
				if !de.IsNotFound || !errors.Is(a.Err, tt.cause) {
					t.Errorf("Err = %v; want not found wrapping %v", a.Err, tt.cause)
				}
				return
			}
			if de.IsNotFound || de.Err != tt.failText {
				t.Errorf("Err = %v; want %q", a.Err, tt.failText)
			}
		})
	}
}

// TestClient_Resolve_HTTPSWireOrder: AAAA, A, then HTTPS on the wire,
// every time; the address answers are those of a Resolve without HTTPS.
func TestClient_Resolve_HTTPSWireOrder(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, httpsZone())
	c := newClient(t, nil, srv)
	c.CacheSize = -1
	for i := range 20 {
		before := len(srv.Queries())
		g := resolveAll(t, c, "svc.test", HTTPS, IPv4, IPv6) // order asked does not matter
		if len(g) != 3 {
			t.Fatalf("answers %v; want 3", g)
		}
		wantAddrs(t, g[IPv4], "192.0.2.1")
		wantNotFound(t, g[IPv6])
		if len(g[HTTPS].Services) != 1 {
			t.Errorf("HTTPS: %v, %v; want one service", g[HTTPS].Services, g[HTTPS].Err)
		}
		q := srv.Queries()[before:]
		var types []uint16
		for _, q := range q {
			types = append(types, q.Type)
		}
		if want := []uint16{dns.TypeAAAA, dns.TypeA, dns.TypeHTTPS}; !slices.Equal(types, want) {
			t.Fatalf("run %d: queries %v; want AAAA, A, HTTPS", i, q)
		}
	}
	// Without HTTPS, no HTTPS query.
	before := len(srv.Queries())
	resolveAll(t, c, "svc.test")
	for _, q := range srv.Queries()[before:] {
		if q.Type == dns.TypeHTTPS {
			t.Errorf("HTTPS query %v without HTTPS asked", q)
		}
	}
	// HTTPS alone.
	before = len(srv.Queries())
	g := resolveAll(t, c, "svc.test", HTTPS)
	if q := srv.Queries()[before:]; len(q) != 1 || q[0].Type != dns.TypeHTTPS || len(g) != 1 {
		t.Errorf("queries %v, answers %v; want one HTTPS", q, g)
	}
}

// TestClient_Resolve_HTTPSCache: HTTPS answers are cached per name with
// their TTL, negative ones too (RFC 2308), and callers get copies.
func TestClient_Resolve_HTTPSCache(t *testing.T) {
	srv := dnstest.Start(t, httpsZone())
	c := newClient(t, nil, srv)
	for _, host := range []string{"two.test", "dual.test", "svc.test"} {
		first := resolveAll(t, c, host, IPv6, IPv4, HTTPS)
		n := len(srv.Queries())
		// The caller's copy is its own.
		if s := first[HTTPS].Services; len(s) > 0 {
			s[0].ALPN[0] = "mangled"
			s[0].IPv4Hint[0] = netip.Addr{}
		}
		// Cached: every answer in the channel when Resolve returns.
		if ch := c.Resolve(context.Background(), host, IPv6, IPv4, HTTPS); len(ch) != 3 {
			t.Errorf("%s: %d answers ready; want 3 from the cache", host, len(ch))
		}
		again := resolveAll(t, c, host, IPv6, IPv4, HTTPS)
		if q := srv.Queries()[n:]; len(q) != 0 {
			t.Errorf("%s: queries %v; want all from the cache", host, q)
		}
		if a := again[HTTPS]; a.Positive() && (a.Services[0].ALPN[0] != "h2" || !a.Services[0].IPv4Hint[0].IsValid()) {
			t.Errorf("%s: cached services changed by the caller: %+v", host, a.Services)
		}
		if (first[HTTPS].Err == nil) != (again[HTTPS].Err == nil) {
			t.Errorf("%s: %v then %v", host, first[HTTPS].Err, again[HTTPS].Err)
		}
	}
	// TTL: each name of an alias chain cached with its own TTL.
	st := c.state()
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"two.test.", 40 * time.Second}, {"apex.test.", 30 * time.Second}, {"svc.test.", 60 * time.Second}, {"dual.test.", 30 * time.Second}} {
		r, ok := st.cache.get(cacheKey{tc.name, dns.TypeHTTPS}, time.Now())
		if !ok || r.ttl > tc.ttl || r.ttl < tc.ttl-2*time.Second {
			t.Errorf("cache %s HTTPS: %v, ttl %v; want cached for %v", tc.name, ok, r.ttl, tc.ttl)
		}
	}
	// Expired: asked again.
	n := len(srv.Queries())
	if !expire(&st.cache, cacheKey{"svc.test.", dns.TypeHTTPS}) {
		t.Fatal("svc.test. HTTPS not cached")
	}
	resolveAll(t, c, "svc.test", HTTPS)
	if q := srv.Queries()[n:]; len(q) != 1 || q[0].Type != dns.TypeHTTPS {
		t.Errorf("queries %v; want one HTTPS after expiry", q)
	}
}

// TestClient_Resolve_HTTPSImmediate: names answered without DNS answer
// HTTPS negatively without a query.
func TestClient_Resolve_HTTPSImmediate(t *testing.T) {
	srv := dnstest.Start(t, httpsZone())
	c := newClient(t, nil, srv)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("192.0.2.50 inhosts.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.HostsPath = hosts
	for _, tc := range []struct {
		host  string
		cause error
	}{
		{"192.0.2.1", ErrNoData},
		{"2001:db8::1", ErrNoData},
		{"localhost", ErrNoData},
		{"inhosts.test", ErrNoData},
		{"hidden.onion", ErrNXDomain},
		{"", ErrNXDomain},
	} {
		g := resolveAll(t, c, tc.host, IPv4, HTTPS)
		if a := g[HTTPS]; a.Positive() || !errors.Is(a.Err, tc.cause) {
			t.Errorf("%q: HTTPS %v, %v; want negative wrapping %v", tc.host, a.Services, a.Err, tc.cause)
		}
		if len(g) != 2 {
			t.Errorf("%q: answers %v; want 2", tc.host, g)
		}
	}
	if q := srv.Queries(); len(q) != 0 {
		t.Errorf("queries %v; want none", q)
	}
}

// TestClient_Resolve_HTTPSFailure: a lost or failing HTTPS query gives an
// error Answer and holds the address answers back in no way.
func TestClient_Resolve_HTTPSFailure(t *testing.T) {
	checkFDs(t)
	for _, tc := range []struct {
		name  string
		fault dnstest.Fault
	}{
		{"SERVFAIL", dnstest.Fault{Rcode: dns.RcodeServerFailure}},
		{"lost", dnstest.Fault{Drop: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.Start(t, &dnstest.Faults{Next: httpsZone(), ByType: map[uint16]dnstest.Fault{dns.TypeHTTPS: tc.fault}})
			c := newClient(t, &Config{Ndots: 1, Timeout: 300 * time.Millisecond, Attempts: 1}, srv)
			start := time.Now()
			ch := c.Resolve(context.Background(), "dual.test", IPv6, IPv4, HTTPS)
			var order []Family
			g := map[Family]Answer{}
			for a := range ch {
				order = append(order, a.Family)
				g[a.Family] = a
			}
			if len(order) != 3 || (tc.fault.Drop && order[2] != HTTPS) {
				t.Errorf("answers in order %v; want 3, a lost HTTPS last", order)
			}
			if a := g[HTTPS]; a.Positive() || a.Err == nil {
				t.Errorf("HTTPS: %v, %v; want an error", a.Services, a.Err)
			}
			var de *net.DNSError
			if errors.As(g[HTTPS].Err, &de) && de.IsNotFound {
				t.Errorf("HTTPS error %v is not found; want a failure", g[HTTPS].Err)
			}
			if !g[IPv4].Positive() || !g[IPv6].Positive() {
				t.Errorf("addresses: %v %v", g[IPv4], g[IPv6])
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestClient_Resolve_HTTPSCancel: a cancelled Resolve answers HTTPS with
// the context's error at once.
func TestClient_Resolve_HTTPSCancel(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: httpsZone(), ByType: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Drop: true}}})
	c := newClient(t, nil, srv)
	ctx, cancel := context.WithCancel(context.Background())
	ch := c.Resolve(ctx, "svc.test", IPv4, HTTPS)
	a := <-ch
	if a.Family != IPv4 || !a.Positive() {
		t.Fatalf("first answer %v; want IPv4", a)
	}
	cancel()
	a = <-ch
	if a.Family != HTTPS || !errors.Is(a.Err, context.Canceled) {
		t.Errorf("HTTPS answer %v; want one wrapping context.Canceled", a)
	}
	if _, ok := <-ch; ok {
		t.Error("channel not closed")
	}
	// Already cancelled: nothing sent.
	n := len(srv.Queries())
	for a := range c.Resolve(ctx, "other.test", IPv4, HTTPS) {
		if !errors.Is(a.Err, context.Canceled) {
			t.Errorf("%v: %v; want context.Canceled", a.Family, a.Err)
		}
	}
	if q := srv.Queries()[n:]; len(q) != 0 {
		t.Errorf("queries %v after cancel", q)
	}
}

// TestStatic_HTTPS and TestSystem_HTTPS: resolvers without HTTPS lookups
// answer it NODATA at once, with the address families as before.
func TestStatic_HTTPS(t *testing.T) {
	s := &Static{A: StaticAnswer{Addrs: addrs("192.0.2.1")}}
	g := resolveAll(t, s, "x.test", IPv4, HTTPS)
	if a := g[HTTPS]; a.Positive() || !errors.Is(a.Err, ErrNoData) {
		t.Errorf("HTTPS %v; want NODATA", a)
	}
	wantAddrs(t, g[IPv4], "192.0.2.1")

	// With services, delayed like any family; Addrs ignored.
	svc := Service{Priority: 1, Target: "x.test.", ALPN: []string{"h3"}, IPv4Hint: addrs("192.0.2.9")}
	s.HTTPS = StaticAnswer{Services: []Service{svc}, Addrs: addrs("192.0.2.2"), Delay: 10 * time.Millisecond}
	start := time.Now()
	ch := s.Resolve(context.Background(), "x.test", HTTPS, IPv4)
	var order []Family
	for a := range ch {
		order = append(order, a.Family)
		if a.Family == HTTPS {
			assert.Equal(t, []Service{svc}, a.Services)
			assert.Empty(t, a.Addrs)
			a.Services[0].ALPN[0] = "mangled"
		}
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("HTTPS after %v; want 10ms", d)
	}
	if !slices.Equal(order, []Family{IPv4, HTTPS}) {
		t.Errorf("order %v; want IPv4, HTTPS", order)
	}
	if s.HTTPS.Services[0].ALPN[0] != "h3" {
		t.Error("Static's services changed by the caller")
	}
	s.HTTPS = StaticAnswer{Err: ErrServFail}
	if a := resolveAll(t, s, "x.test", HTTPS)[HTTPS]; !errors.Is(a.Err, ErrServFail) {
		t.Errorf("HTTPS %v; want the given error", a)
	}
}

func TestSystem_HTTPS(t *testing.T) {
	var s System
	g := resolveAll(t, &s, "192.0.2.1", IPv4, HTTPS)
	if a := g[HTTPS]; a.Positive() || !errors.Is(a.Err, ErrNoData) {
		t.Errorf("HTTPS %v; want NODATA", a)
	}
	wantAddrs(t, g[IPv4], "192.0.2.1")
	g = resolveAll(t, &s, "x.test", HTTPS)
	if a := g[HTTPS]; len(g) != 1 || !errors.Is(a.Err, ErrNoData) {
		t.Errorf("HTTPS alone: %v; want NODATA", g)
	}
}

func TestFamily_HTTPS(t *testing.T) {
	if HTTPS.String() != "HTTPS" || HTTPS.QType() != "HTTPS" || HTTPS.Network() != "" || qtypeOf(HTTPS) != dns.TypeHTTPS {
		t.Errorf("HTTPS: %v %v %q %v", HTTPS, HTTPS.QType(), HTTPS.Network(), qtypeOf(HTTPS))
	}
}

// FuzzExtractHTTPS feeds arbitrary replies to extractHTTPS: it must not
// panic, and what it returns must keep its promises.
func FuzzExtractHTTPS(f *testing.F) {
	z := httpsZone()
	for _, name := range []string{"svc.test.", "prio.test.", "skip.test.", "allskip.test.", "apex.test.", "cn.test.", "dual.test.", "nx.test.", "gone.test.", "malformed.test."} {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeHTTPS)
		b, err := z.Reply(q).Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, name)
	}
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			return
		}
		name = dns.Fqdn(name)
		const maxAddrs = 4
		r := extractHTTPS(m, name, maxAddrs, netip.AddrPort{})
		if r.ttl < 0 {
			t.Errorf("ttl %v", r.ttl)
		}
		switch r.kind {
		case positive:
			if (r.alias == "") == (len(r.svcs) == 0) {
				t.Fatalf("positive with alias %q and %d services", r.alias, len(r.svcs))
			}
			if r.err != nil {
				t.Errorf("positive with error %v", r.err)
			}
		case nodata, nxdomain, failed:
			if r.err == nil || len(r.svcs) != 0 {
				t.Errorf("%v with error %v and services %v", r.kind, r.err, r.svcs)
			}
		default:
			t.Errorf("kind %v", r.kind)
		}
		if len(r.svcs) > maxAddrs {
			t.Errorf("%d services; want at most %d", len(r.svcs), maxAddrs)
		}
		if !slices.IsSortedFunc(r.svcs, func(a, b Service) int { return int(a.Priority) - int(b.Priority) }) {
			t.Errorf("services not sorted: %v", r.svcs)
		}
		for _, s := range r.svcs {
			if s.Priority == 0 || s.Target == "" || !dns.IsFqdn(s.Target) {
				t.Errorf("service %+v", s)
			}
			if len(s.IPv4Hint) > maxAddrs || len(s.IPv6Hint) > maxAddrs {
				t.Errorf("too many hints: %+v", s)
			}
			for _, a := range s.IPv4Hint {
				if !a.Is4() {
					t.Errorf("ipv4hint %v", a)
				}
			}
			for _, a := range s.IPv6Hint {
				if !a.Is6() || a.Is4In6() {
					t.Errorf("ipv6hint %v", a)
				}
			}
			if s.NoDefaultALPN && len(s.ALPN) == 0 {
				t.Errorf("no-default-alpn without alpn kept: %+v", s)
			}
		}
	})
}

// expire makes the cache entry of k expire now; false if there is none.
func expire(c *cache, k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if ok {
		el.Value.(*cacheEntry).expires = time.Now()
	}
	return ok
}

// TestClient_Resolve_HTTPSSearch: the search list for HTTPS: candidates
// that do not exist are passed over; the first that does ends it.
func TestClient_Resolve_HTTPSSearch(t *testing.T) {
	srv := dnstest.Start(t, httpsZone())
	c := newClient(t, &Config{Ndots: 1, Timeout: time.Second, Attempts: 1, Search: []string{"nope.test.", "test."}}, srv)
	g := resolveAll(t, c, "svc", IPv4, HTTPS)
	wantAddrs(t, g[IPv4], "192.0.2.1")
	if s := g[HTTPS].Services; len(s) != 1 || s[0].Target != "svc.test." {
		t.Errorf("HTTPS: %v, %v; want svc.test.'s service", s, g[HTTPS].Err)
	}
	g = resolveAll(t, c, "dual", IPv4, HTTPS)
	if a := g[HTTPS]; !errors.Is(a.Err, ErrNoData) || a.Err.(*net.DNSError).Name != "dual" {
		t.Errorf("HTTPS: %v; want NODATA for dual", a.Err)
	}
	g = resolveAll(t, c, "none", IPv4, HTTPS)
	if a := g[HTTPS]; !errors.Is(a.Err, ErrNXDomain) {
		t.Errorf("HTTPS: %v; want NXDOMAIN", a.Err)
	}
}

// TestClient_Resolve_HTTPSCoalescing: concurrent lookups of one name
// share one HTTPS query per name of the alias chain.
func TestClient_Resolve_HTTPSCoalescing(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: httpsZone(), ByType: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Delay: 50 * time.Millisecond}}})
	c := newClient(t, nil, srv)
	const n = 20
	errs := make(chan error, n) // one slot per goroutine: senders never block
	for range n {
		go func() {
			var err error
			for a := range c.Resolve(context.Background(), "two.test", IPv6, IPv4, HTTPS) {
				if a.Family == HTTPS && len(a.Services) != 1 {
					err = fmt.Errorf("HTTPS: %v, %v", a.Services, a.Err)
				}
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var names []string
	for _, q := range srv.Queries() {
		if q.Type == dns.TypeHTTPS {
			names = append(names, q.Name)
		}
	}
	if want := []string{"two.test.", "apex.test.", "svc.test."}; !slices.Equal(names, want) {
		t.Errorf("HTTPS queries %v; want %v", names, want)
	}
}

// TestHTTPSQueryName covers RFC 9460 §9.1: the host for port 443, a
// port-prefixed name for any other.
func TestHTTPSQueryName(t *testing.T) {
	for _, tc := range []struct {
		host string
		port uint16
		want string
	}{
		{"example.com", 443, "example.com"},
		{"example.com", 8443, "_8443._https.example.com"},
		{"example.com.", 80, "_80._https.example.com."},
	} {
		if got := HTTPSQueryName(tc.host, tc.port); got != tc.want {
			t.Errorf("HTTPSQueryName(%q, %d) = %q; want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

// TestIsPortPrefixedLocal: a port-prefixed name of a host DNS is not
// asked about is answered without DNS (RFC 9460 §9.1 names, RFC 6761).
func TestIsPortPrefixedLocal(t *testing.T) {
	hosts := func(name string) []netip.Addr {
		if name == "myhost." {
			return []netip.Addr{netip.MustParseAddr("192.0.2.1")}
		}
		return nil
	}
	for name, want := range map[string]bool{
		"_8443._https.localhost.":   true,
		"_8443._https.myhost.":      true,
		"_8443._https.example.com.": false,
		"_x._https.myhost.":         false,
		"_8443._tcp.myhost.":        false,
		"myhost.":                   false,
	} {
		if got := isPortPrefixedLocal(name, hosts); got != want {
			t.Errorf("isPortPrefixedLocal(%q) = %v; want %v", name, got, want)
		}
	}
}

// TestClient_Resolve_PortPrefixedLocal: the HTTPS records of a port on a
// host from the hosts file or under localhost (RFC 9460 §9.1 names) are
// NODATA at once, without a query; other port-prefixed names are asked.
func TestClient_Resolve_PortPrefixedLocal(t *testing.T) {
	hostsPath := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostsPath, []byte("192.0.2.7 pinned.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, dnstest.NewZone(
		"_8443._https.svc.example. 60 IN HTTPS 1 . alpn=h2",
	))
	c := &Client{Config: &Config{Servers: []netip.AddrPort{srv.Addr}, Timeout: time.Second, Attempts: 1}, HostsPath: hostsPath}
	t.Cleanup(func() { c.Close() })
	for _, name := range []string{"_8443._https.pinned.example", "_8443._https.localhost", "_8443._https.app.localhost."} {
		a := <-c.Resolve(context.Background(), name, HTTPS)
		if a.Positive() || !errors.Is(a.Err, ErrNoData) {
			t.Errorf("%s: got %+v; want NODATA", name, a)
		}
	}
	if n := len(srv.Queries()); n != 0 {
		t.Errorf("server got %d queries; want none", n)
	}
	a := <-c.Resolve(context.Background(), "_8443._https.svc.example.", HTTPS)
	if len(a.Services) != 1 || a.Services[0].Target != "_8443._https.svc.example." {
		t.Errorf("port-prefixed DNS name: got %+v; want its service", a)
	}
}
