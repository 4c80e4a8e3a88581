package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// newClient returns a Client that asks only the given servers, with short
// timeouts, no hosts file and no search list unless conf says otherwise.
func newClient(t *testing.T, conf *Config, servers ...*dnstest.Server) *Client {
	t.Helper()
	if conf == nil {
		conf = &Config{Ndots: 1, Timeout: time.Second, Attempts: 1}
	}
	for _, s := range servers {
		conf.Servers = append(conf.Servers, s.Addr)
	}
	c := &Client{Config: conf, HostsPath: filepath.Join(t.TempDir(), "hosts")}
	t.Cleanup(func() { c.state().stopFlights() })
	return c
}

// collect reads every answer of ch, with when each arrived after start.
type got struct {
	Answer
	at time.Duration
}

func collect(t *testing.T, ch <-chan Answer, start time.Time) map[Family]got {
	t.Helper()
	m := make(map[Family]got)
	timeout := time.After(20 * time.Second)
	for {
		select {
		case a, ok := <-ch:
			if !ok {
				return m
			}
			if _, dup := m[a.Family]; dup {
				t.Errorf("two answers for %v", a.Family)
			}
			m[a.Family] = got{a, time.Since(start)}
		case <-timeout:
			t.Fatal("Resolve did not close its channel within 20s")
		}
	}
}

func resolveAll(t *testing.T, r Resolver, host string, fams ...Family) map[Family]got {
	t.Helper()
	if len(fams) == 0 {
		fams = []Family{IPv6, IPv4}
	}
	start := time.Now()
	return collect(t, r.Resolve(context.Background(), host, fams...), start)
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func wantAddrs(t *testing.T, g got, want ...string) {
	t.Helper()
	if g.Err != nil || !slices.Equal(g.Addrs, addrs(want...)) {
		t.Errorf("%v: got %v, %v; want %v", g.Family, g.Addrs, g.Err, want)
	}
}

func wantNotFound(t *testing.T, g got) {
	t.Helper()
	var de *net.DNSError
	if len(g.Addrs) != 0 || !errors.As(g.Err, &de) || !de.IsNotFound {
		t.Errorf("%v: got %v, %v; want a *net.DNSError with IsNotFound", g.Family, g.Addrs, g.Err)
	}
}

func baseZone() *dnstest.Zone {
	return dnstest.NewZone(
		"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
		"dual.test. 60 IN A 192.0.2.1",
		"dual.test. 60 IN AAAA 2001:db8::1",
		"v4.test. 60 IN A 192.0.2.4",
		"v6.test. 60 IN AAAA 2001:db8::6",
		"www.test. 30 IN CNAME alias.test.",
		"alias.test. 45 IN CNAME dual.test.",
		"loop.test. 60 IN CNAME loop.test.",
	)
}

// TestClient_Resolve: both families over real DNS on loopback: the AAAA
// query first (RFC 8305 §3), EDNS0 (RFC 6891) with our UDP size, a fresh
// ID and source port per query (RFC 5452 §9.2), NODATA and NXDOMAIN told
// apart, CNAME chains with the smallest TTL.
func TestClient_Resolve(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, baseZone())
	c := newClient(t, nil, srv)

	g := resolveAll(t, c, "dual.test")
	wantAddrs(t, g[IPv6], "2001:db8::1")
	wantAddrs(t, g[IPv4], "192.0.2.1")
	if g[IPv4].TTL != 60*time.Second {
		t.Errorf("TTL = %v; want 60s", g[IPv4].TTL)
	}
	q := srv.Queries()
	if len(q) != 2 || q[0].Type != dns.TypeAAAA || q[1].Type != dns.TypeA {
		t.Errorf("queries = %v; want AAAA then A", q)
	}
	if opt := q[0].Msg.IsEdns0(); opt == nil || opt.UDPSize() != ednsUDPSize {
		t.Errorf("query has no EDNS0 with UDP size %d: %v", ednsUDPSize, q[0].Msg)
	}
	if q[0].ID == q[1].ID || q[0].From == q[1].From {
		t.Errorf("AAAA and A share ID or source: %v %v / %v %v", q[0].ID, q[0].From, q[1].ID, q[1].From)
	}

	t.Run("NODATA and NXDOMAIN", func(t *testing.T) {
		g := resolveAll(t, c, "v4.test")
		wantAddrs(t, g[IPv4], "192.0.2.4")
		wantNotFound(t, g[IPv6])
		g = resolveAll(t, c, "v6.test")
		wantAddrs(t, g[IPv6], "2001:db8::6")
		wantNotFound(t, g[IPv4])
		if !errors.Is(g[IPv4].Err, ErrNoData) || errors.Is(g[IPv4].Err, ErrNXDomain) {
			t.Errorf("NODATA error %v does not wrap ErrNoData only", g[IPv4].Err)
		}
		g = resolveAll(t, c, "missing.test")
		wantNotFound(t, g[IPv4])
		wantNotFound(t, g[IPv6])
		if !errors.Is(g[IPv4].Err, ErrNXDomain) || errors.Is(g[IPv4].Err, ErrNoData) {
			t.Errorf("NXDOMAIN error %v does not wrap ErrNXDomain only", g[IPv4].Err)
		}
		var de *net.DNSError
		if errors.As(g[IPv4].Err, &de); de.Name != "missing.test" || de.Err != "no such host" {
			t.Errorf("error = %#v", de)
		}
	})
	t.Run("CNAME", func(t *testing.T) {
		g := resolveAll(t, c, "www.test")
		wantAddrs(t, g[IPv6], "2001:db8::1")
		wantAddrs(t, g[IPv4], "192.0.2.1")
		if g[IPv4].TTL != 30*time.Second {
			t.Errorf("TTL = %v; want the chain's smallest, 30s", g[IPv4].TTL)
		}
		g = resolveAll(t, c, "loop.test")
		for _, f := range []Family{IPv6, IPv4} {
			if g[f].Positive() || g[f].Err == nil {
				t.Errorf("CNAME loop: %v", g[f])
			}
		}
	})
	t.Run("one family", func(t *testing.T) {
		g := resolveAll(t, c, "dual.test", IPv4)
		if len(g) != 1 {
			t.Fatalf("got %d answers; want 1", len(g))
		}
		wantAddrs(t, g[IPv4], "192.0.2.1")
	})
	t.Run("no families", func(t *testing.T) {
		if g := resolveAll(t, c, "dual.test", Family(9)); len(g) != 0 {
			t.Errorf("got %v", g)
		}
	})
}

// TestClient_Resolve_SlowAAAA is the reason this package exists: A is
// handed over as soon as it arrives, not when AAAA does.
func TestClient_Resolve_SlowAAAA(t *testing.T) {
	checkFDs(t)
	tests := []struct {
		name  string
		fault dnstest.Fault
	}{
		{"dropped", dnstest.Fault{Drop: true}},
		{"late", dnstest.Fault{Delay: 1500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: tt.fault}})
			c := newClient(t, &Config{Timeout: time.Second, Attempts: 2}, srv)
			start := time.Now()
			ch := c.Resolve(context.Background(), "dual.test", IPv6, IPv4)
			first := <-ch
			if first.Family != IPv4 || !first.Positive() {
				t.Fatalf("first answer %v; want A", first)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("A arrived after %v; want a few ms", d)
			}
			second := <-ch
			if second.Family != IPv6 || second.Positive() {
				t.Fatalf("second answer %+v; want a failed AAAA", second)
			}
			var de *net.DNSError
			if !errors.As(second.Err, &de) || !de.IsTimeout {
				t.Errorf("AAAA error %v; want a timeout", second.Err)
			}
			if d := time.Since(start); d < 1900*time.Millisecond {
				t.Errorf("AAAA gave up after %v; want timeout × attempts (2s)", d)
			}
		})
	}
}

// TestClient_Resolve_Cancel: when the caller's context ends, every family
// is answered at once with an error that wraps ctx.Err() (the Resolver
// contract, so that the dialer's RFC 8305 §5 racing can stop).
func TestClient_Resolve_Cancel(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
		dns.TypeAAAA: {Drop: true}, dns.TypeA: {Drop: true}}})
	c := newClient(t, &Config{Timeout: 5 * time.Second}, srv)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	ch := c.Resolve(ctx, "dual.test", IPv6, IPv4)
	time.AfterFunc(50*time.Millisecond, cancel)
	g := collect(t, ch, start)
	for _, f := range []Family{IPv6, IPv4} {
		if !errors.Is(g[f].Err, context.Canceled) {
			t.Errorf("%v: err %v; want context.Canceled", f, g[f].Err)
		}
		if g[f].at > 500*time.Millisecond {
			t.Errorf("%v answered %v after start; want right after the cancel at 50ms", f, g[f].at)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	g = collect(t, c.Resolve(ctx, "dual.test", IPv4), time.Now())
	var de *net.DNSError
	if !errors.Is(g[IPv4].Err, context.DeadlineExceeded) || !errors.As(g[IPv4].Err, &de) || !de.IsTimeout {
		t.Errorf("deadline: err %v; want DeadlineExceeded and IsTimeout", g[IPv4].Err)
	}
}

// TestClient_Resolve_Faults: server faults are survived: SERVFAIL and
// REFUSED move to the next server, a truncated reply is asked again over
// TCP (RFC 7766 §5), replies with a wrong ID, question or source are
// ignored (RFC 5452 §9.1), use-vc asks over TCP only.
func TestClient_Resolve_Faults(t *testing.T) {
	checkFDs(t)
	tests := []struct {
		name   string
		fault  dnstest.Fault
		second bool // a second, healthy server is needed for an answer
	}{
		{"SERVFAIL then next server", dnstest.Fault{Rcode: dns.RcodeServerFailure}, true},
		{"REFUSED then next server", dnstest.Fault{Rcode: dns.RcodeRefused}, true},
		{"truncated then TCP", dnstest.Fault{Truncate: true}, false},
		{"wrong ID first", dnstest.Fault{WrongID: true}, false},
		{"wrong question first", dnstest.Fault{WrongQuestion: true}, false},
		{"spoofed source first", dnstest.Fault{OtherSource: true}, false},
		{"only bogus replies then next server", dnstest.Fault{WrongID: true, WrongQuestion: true, OtherSource: true, BogusOnly: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
				dns.TypeA: tt.fault, dns.TypeAAAA: tt.fault}})
			servers := []*dnstest.Server{bad}
			if tt.second {
				servers = append(servers, dnstest.Start(t, baseZone()))
			}
			c := newClient(t, &Config{Timeout: 300 * time.Millisecond, Attempts: 1}, servers...)
			g := resolveAll(t, c, "dual.test")
			wantAddrs(t, g[IPv6], "2001:db8::1")
			wantAddrs(t, g[IPv4], "192.0.2.1")
			if tt.fault.Truncate && bad.Count(0, "tcp") != 2 {
				t.Errorf("TCP queries = %d; want 2", bad.Count(0, "tcp"))
			}
		})
	}
	t.Run("all servers fail", func(t *testing.T) {
		srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
			dns.TypeA: {Rcode: dns.RcodeServerFailure}}})
		c := newClient(t, &Config{Timeout: 300 * time.Millisecond, Attempts: 2}, srv)
		g := resolveAll(t, c, "dual.test", IPv4)
		var de *net.DNSError
		if !errors.As(g[IPv4].Err, &de) || de.IsNotFound || !de.IsTemporary {
			t.Errorf("err = %#v; want a temporary, not IsNotFound *net.DNSError", g[IPv4].Err)
		}
		if n := srv.Count(dns.TypeA, ""); n != 2 {
			t.Errorf("A queries = %d; want attempts = 2", n)
		}
		// Failures are not cached.
		resolveAll(t, c, "dual.test", IPv4)
		if n := srv.Count(dns.TypeA, ""); n != 4 {
			t.Errorf("A queries = %d after a second lookup; want 4", n)
		}
	})
	t.Run("use-vc", func(t *testing.T) {
		srv := dnstest.Start(t, baseZone())
		c := newClient(t, &Config{UseTCP: true}, srv)
		g := resolveAll(t, c, "dual.test")
		wantAddrs(t, g[IPv4], "192.0.2.1")
		if srv.Count(0, "udp") != 0 || srv.Count(0, "tcp") != 2 {
			t.Errorf("queries %v; want 2 over TCP only", srv.Queries())
		}
	})
}

// TestClient_Resolve_Failover: a dead server costs the stagger, not the
// timeout (RFC 8305 §3.1 applies Happy Eyeballs to DNS servers), and is
// tried last for a while.
func TestClient_Resolve_Failover(t *testing.T) {
	checkFDs(t)
	dead := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
		dns.TypeA: {Drop: true}, dns.TypeAAAA: {Drop: true}}})
	good := dnstest.Start(t, baseZone())
	c := newClient(t, &Config{Timeout: time.Second, Attempts: 2}, dead, good)
	start := time.Now()
	g := resolveAll(t, c, "dual.test")
	wantAddrs(t, g[IPv4], "192.0.2.1")
	if d := time.Since(start); d < serverStagger || d > 900*time.Millisecond {
		t.Errorf("first lookup took %v; want the stagger (%v), not the timeout (1s)", d, serverStagger)
	}
	// The dead server is now tried last: the next lookup does not ask it.
	g = resolveAll(t, c, "v4.test")
	wantAddrs(t, g[IPv4], "192.0.2.4")
	if n := dead.Count(0, ""); n != 2 {
		t.Errorf("dead server got %d queries; want 2 (first lookup only)", n)
	}
}

// TestClient_Resolve_IPv6ServerFirst: IPv6 servers are asked before IPv4
// ones, whatever resolv.conf's order (RFC 8305 §3.1).
func TestClient_Resolve_IPv6ServerFirst(t *testing.T) {
	checkFDs(t)
	v4 := dnstest.Start(t, baseZone())
	v6 := dnstest.Start6(t, baseZone())
	c := newClient(t, nil, v4, v6) // IPv4 listed first
	g := resolveAll(t, c, "dual.test")
	wantAddrs(t, g[IPv6], "2001:db8::1")
	if v6.Count(0, "") != 2 || v4.Count(0, "") != 0 {
		t.Errorf("queries: %d to ::1, %d to 127.0.0.1; want all to ::1", v6.Count(0, ""), v4.Count(0, ""))
	}
}

// TestClient_Resolve_Rotate: options rotate spreads queries over the
// servers (resolv.conf(5)).
func TestClient_Resolve_Rotate(t *testing.T) {
	checkFDs(t)
	a := dnstest.Start(t, baseZone())
	b := dnstest.Start(t, baseZone())
	c := newClient(t, &Config{Rotate: true}, a, b)
	c.CacheSize = -1
	for range 4 {
		resolveAll(t, c, "dual.test", IPv4)
	}
	if a.Count(0, "") != 2 || b.Count(0, "") != 2 {
		t.Errorf("rotate: %d and %d queries; want 2 and 2", a.Count(0, ""), b.Count(0, ""))
	}
}

// TestClient_Resolve_Trace: the caller's httptrace hooks never fire for
// the resolver's own DNS sockets.
func TestClient_Resolve_Trace(t *testing.T) {
	srv := dnstest.Start(t, baseZone())
	c := newClient(t, nil, srv)
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { t.Error("caller's ConnectStart fired for a DNS socket") },
		DNSStart:     func(httptrace.DNSStartInfo) { t.Error("caller's DNSStart fired") },
	}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	g := collect(t, c.Resolve(ctx, "dual.test", IPv6, IPv4), time.Now())
	wantAddrs(t, g[IPv4], "192.0.2.1")
}

// TestClient_Resolve_Coalescing: ten identical lookups in flight send one
// query per type.
func TestClient_Resolve_Coalescing(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
		dns.TypeA: {Delay: 100 * time.Millisecond}, dns.TypeAAAA: {Delay: 100 * time.Millisecond}}})
	c := newClient(t, nil, srv)
	chans := make([]<-chan Answer, 10)
	for i := range chans {
		chans[i] = c.Resolve(context.Background(), "dual.test", IPv6, IPv4)
	}
	for _, ch := range chans {
		g := collect(t, ch, time.Now())
		wantAddrs(t, g[IPv4], "192.0.2.1")
	}
	if n := srv.Count(0, ""); n != 2 {
		t.Errorf("server got %d queries for 10 identical lookups; want 2", n)
	}
}

// TestClient_Resolve_Immediate: IP literals, /etc/hosts, "localhost"
// (RFC 6761 §6.3), ".onion" (RFC 7686 §2) and invalid names (RFC 1035
// §2.3.4 lengths) are answered at once, without DNS.
func TestClient_Resolve_Immediate(t *testing.T) {
	dir := t.TempDir()
	hostsPath := filepath.Join(dir, "hosts")
	os.WriteFile(hostsPath, []byte("192.0.2.7 Pinned.Example pin\n2001:db8::7 pinned.example\n192.0.2.8 v4pinned\n"), 0o644)
	srv := dnstest.Start(t, baseZone())
	c := &Client{Config: &Config{Servers: []netip.AddrPort{srv.Addr}, Timeout: time.Second}, HostsPath: hostsPath}
	t.Cleanup(c.state().stopFlights)

	tests := []struct {
		host     string
		v6, v4   []string
		invalid  bool // error wraps errInvalidName
		notFound bool
	}{
		{host: "pinned.example", v6: []string{"2001:db8::7"}, v4: []string{"192.0.2.7"}},
		{host: "PINNED.EXAMPLE.", v6: []string{"2001:db8::7"}, v4: []string{"192.0.2.7"}},
		{host: "pin", v4: []string{"192.0.2.7"}},
		{host: "v4pinned", v4: []string{"192.0.2.8"}},
		{host: "localhost", v6: []string{"::1"}, v4: []string{"127.0.0.1"}},
		{host: "foo.localhost.", v6: []string{"::1"}, v4: []string{"127.0.0.1"}},
		{host: "192.0.2.1", v4: []string{"192.0.2.1"}},
		{host: "::ffff:192.0.2.1", v4: []string{"192.0.2.1"}},
		{host: "fe80::1%lo", v6: []string{"fe80::1%lo"}},
		{host: "hidden.onion", notFound: true},
		{host: ""}, // "no such host", as Go's resolver says
		{host: "a..b", invalid: true},
		{host: "[::1]", invalid: true},
		{host: "bad name", invalid: true},
		{host: "-lead.test", invalid: true},
		{host: strings.Repeat("a", 64) + ".test", invalid: true},
		{host: strings.Repeat("abcdefghi.", 26) + "test", invalid: true},
		{host: strings.Repeat("x", 100000), invalid: true},
		{host: "\xff\xfe.test", invalid: true},
		{host: "nul\x00.test", invalid: true},
		{host: "12345", invalid: true},
	}
	for _, tt := range tests {
		start := time.Now()
		g := collect(t, c.Resolve(context.Background(), tt.host, IPv6, IPv4), start)
		for _, f := range []Family{IPv6, IPv4} {
			want := tt.v4
			if f == IPv6 {
				want = tt.v6
			}
			a := g[f]
			switch {
			case len(want) > 0:
				if a.Err != nil || !slices.Equal(a.Addrs, addrs(want...)) {
					t.Errorf("%q %v: got %v, %v; want %v", tt.host, f, a.Addrs, a.Err, want)
				}
			case tt.invalid:
				var de *net.DNSError
				if !errors.Is(a.Err, errInvalidName) || !errors.As(a.Err, &de) || !de.IsNotFound || len(de.Name) > 300 {
					t.Errorf("%q %v: err %v; want invalid domain name", tt.host, f, a.Err)
				}
			default:
				wantNotFound(t, a)
			}
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("%q took %v; want an immediate answer", tt.host, d)
		}
	}
	if n := srv.Count(0, ""); n != 0 {
		t.Errorf("DNS got %d queries; want none: %v", n, srv.Queries())
	}
}

// TestClient_Resolve_IDNA: a non-ASCII name is asked in its "xn--" form
// (RFC 5891 §5).
func TestClient_Resolve_IDNA(t *testing.T) {
	srv := dnstest.Start(t, dnstest.NewZone("xn--bcher-kva.test. 60 IN A 192.0.2.9"))
	c := newClient(t, nil, srv)
	g := resolveAll(t, c, "Bücher.test", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.9")
	if q := srv.Queries(); len(q) != 1 || q[0].Name != "xn--bcher-kva.test." {
		t.Errorf("queries %v; want xn--bcher-kva.test.", q)
	}
}

// TestClient_Resolve_Hostile: hostile replies: too many addresses, records
// of other classes, names and types, IPv4-mapped AAAA, huge TTLs and TTLs
// with the high bit set (RFC 2181 §8), compression loops and oversize
// names (RFC 1035 §4.1.4, §2.3.4), garbage.
func TestClient_Resolve_Hostile(t *testing.T) {
	checkFDs(t)
	var big []string
	for i := range 300 {
		big = append(big, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String())
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		q := req.Question[0]
		m := new(dns.Msg).SetReply(req)
		m.RecursionAvailable = true
		hdr := func(name string, t uint16, class uint16, ttl uint32) dns.RR_Header {
			return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
		}
		switch strings.ToLower(q.Name) {
		case "many.test.":
			for _, a := range big {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 60), A: net.ParseIP(a)})
			}
		case "mixed.test.":
			m.Answer = []dns.RR{
				&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassCHAOS, 60), A: net.IPv4(192, 0, 2, 66)},
				&dns.A{Hdr: hdr("other.test.", dns.TypeA, dns.ClassINET, 60), A: net.IPv4(192, 0, 2, 67)},
				&dns.AAAA{Hdr: hdr(q.Name, dns.TypeAAAA, dns.ClassINET, 60), AAAA: net.ParseIP("2001:db8::68")},
				&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 60), A: net.IPv4(192, 0, 2, 1)},
				&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 60), A: net.IPv4(192, 0, 2, 1)},
			}
			if q.Qtype == dns.TypeAAAA {
				m.Answer = append(m.Answer[:2], &dns.AAAA{Hdr: hdr(q.Name, dns.TypeAAAA, dns.ClassINET, 60), AAAA: net.ParseIP("::ffff:192.0.2.1")})
			}
		case "zero.test.":
			m.Answer = []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 0), A: net.IPv4(192, 0, 2, 1)}}
		case "huge.test.":
			m.Answer = []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 1<<31-1), A: net.IPv4(192, 0, 2, 1)}}
		case "msb.test.":
			m.Answer = []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA, dns.ClassINET, 1<<31), A: net.IPv4(192, 0, 2, 1)}}
		case "loop.test.":
			// A reply whose answer name is a compression pointer to itself.
			b, _ := m.Pack()
			b[7] = 1 // ANCOUNT = 1
			off := len(b)
			b = append(b, 0xc0|byte(off>>8), byte(off), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
			w.Write(b)
			return
		case "longname.test.":
			// An answer whose owner name has 320 octets (the limit is 255).
			b, _ := m.Pack()
			b[7] = 1
			for range 5 {
				b = append(b, 63)
				b = append(b, strings.Repeat("x", 63)...)
			}
			b = append(b, 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
			w.Write(b)
			return
		case "garbage.test.":
			w.Write([]byte{0xde, 0xad})
			return
		}
		w.WriteMsg(m)
	})
	srv := dnstest.Start(t, handler)
	c := newClient(t, &Config{Timeout: time.Second, Attempts: 1}, srv)

	g := resolveAll(t, c, "many.test", IPv4)
	if len(g[IPv4].Addrs) != defaultMaxAddrs {
		t.Errorf("many: %d addresses; want the bound, %d", len(g[IPv4].Addrs), defaultMaxAddrs)
	}
	g = resolveAll(t, c, "mixed.test")
	wantAddrs(t, g[IPv4], "192.0.2.1")
	wantNotFound(t, g[IPv6]) // the IPv4-mapped AAAA is dropped
	g = resolveAll(t, c, "huge.test", IPv4)
	if g[IPv4].TTL != defaultMaxTTL {
		t.Errorf("huge TTL delivered as %v; want clamped to %v", g[IPv4].TTL, defaultMaxTTL)
	}
	for _, h := range []string{"zero.test", "msb.test"} {
		g = resolveAll(t, c, h, IPv4)
		wantAddrs(t, g[IPv4], "192.0.2.1")
		if g[IPv4].TTL != 0 {
			t.Errorf("%s: TTL %v; want 0", h, g[IPv4].TTL)
		}
	}
	before := srv.Count(0, "")
	resolveAll(t, c, "zero.test", IPv4)
	if srv.Count(0, "") != before+1 {
		t.Error("an answer with TTL 0 was cached")
	}
	start := time.Now()
	g = resolveAll(t, c, "loop.test", IPv4)
	var de *net.DNSError
	if g[IPv4].Positive() || !errors.As(g[IPv4].Err, &de) || de.Err != errTextMalformed {
		t.Errorf("compression loop: %v; want %q", g[IPv4].Err, errTextMalformed)
	}
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("compression loop took %v; want an immediate error, not a timeout", d)
	}
	g = resolveAll(t, c, "longname.test", IPv4)
	if g[IPv4].Positive() || !errors.As(g[IPv4].Err, &de) || de.Err != errTextMalformed {
		t.Errorf("oversize name: %v; want %q", g[IPv4].Err, errTextMalformed)
	}
	g = resolveAll(t, c, "garbage.test", IPv4)
	if !errors.As(g[IPv4].Err, &de) || !de.IsTimeout {
		t.Errorf("garbage: %v; want a timeout (garbage is ignored)", g[IPv4].Err)
	}
}

// TestClient_Resolve_AlreadyCancelled: a lookup whose context is already
// done sends nothing.
func TestClient_Resolve_AlreadyCancelled(t *testing.T) {
	srv := dnstest.Start(t, baseZone())
	c := newClient(t, nil, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g := collect(t, c.Resolve(ctx, "dual.test", IPv6, IPv4), time.Now())
	for _, f := range []Family{IPv6, IPv4} {
		if !errors.Is(g[f].Err, context.Canceled) {
			t.Errorf("%v: %v; want context.Canceled", f, g[f].Err)
		}
	}
	if n := srv.Count(0, ""); n != 0 {
		t.Errorf("%d queries sent for a cancelled lookup", n)
	}
}

// TestClient_Close: Close ends the lookups kept for a late answer (RFC
// 8305 §5) at once; the Client stays usable.
func TestClient_Close(t *testing.T) {
	checkFDs(t)
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Drop: true}}})
	c := newClient(t, &Config{Timeout: 10 * time.Second}, srv)
	ctx, cancel := context.WithCancel(context.Background())
	ch := c.Resolve(ctx, "dual.test", IPv6, IPv4)
	if a := <-ch; a.Family != IPv4 {
		t.Fatalf("got %+v; want A first", a)
	}
	cancel()
	<-ch // the AAAA lookup is now kept alive for a late answer
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	if n := runningFlights(c); n != 0 {
		t.Errorf("%d lookups still in flight after Close", n)
	}
	g := resolveAll(t, c, "dual.test", IPv4) // still usable (and cached)
	wantAddrs(t, g[IPv4], "192.0.2.1")
}

func runningFlights(c *Client) int {
	c.st.cache.mu.Lock()
	defer c.st.cache.mu.Unlock()
	return len(c.st.cache.flights)
}

// TestClient_Concurrent: many callers, overlapping names, some giving up
// early; every answer that arrives is right, and nothing leaks.
func TestClient_Concurrent(t *testing.T) {
	checkFDs(t)
	zone := dnstest.NewZone("test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30")
	for i := range 20 {
		zone.Add(dnstest.MustRR(fmt.Sprintf("h%d.test. 1 IN A 192.0.2.%d", i, i)))
		zone.Add(dnstest.MustRR(fmt.Sprintf("h%d.test. 1 IN AAAA 2001:db8::%d", i, i)))
	}
	srv := dnstest.Start(t, &dnstest.Faults{Next: zone, ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 5 * time.Millisecond}}})
	c := newClient(t, &Config{Timeout: 2 * time.Second, Attempts: 1}, srv)
	c.CacheSize = 8
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := range 30 {
				n := (w + i) % 20
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%4)*time.Millisecond*3)
				for a := range c.Resolve(ctx, fmt.Sprintf("h%d.test", n), IPv6, IPv4) {
					if !a.Positive() {
						if !errors.Is(a.Err, context.DeadlineExceeded) {
							t.Errorf("h%d %v: %v", n, a.Family, a.Err)
						}
						continue
					}
					want := netip.AddrFrom4([4]byte{192, 0, 2, byte(n)})
					if a.Family == IPv6 {
						want = netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", n))
					}
					if len(a.Addrs) != 1 || a.Addrs[0] != want {
						t.Errorf("h%d %v: %v; want %v", n, a.Family, a.Addrs, want)
					}
				}
				cancel()
			}
		})
	}
	wg.Wait()
}

// TestClient_Resolve_ConfigChangeFlushesCache: after resolv.conf names another
// server, answers cached from the old one are not used.
func TestClient_Resolve_ConfigChangeFlushesCache(t *testing.T) {
	start := func(a string) *dnstest.Server {
		zone := dnstest.NewZone(
			"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
			"n.test. 300 IN A "+a,
		)
		return startOnPort53(t, zone)
	}
	old, fresh := start("192.0.2.1"), start("192.0.2.2")
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(s *dnstest.Server) {
		if err := os.WriteFile(conf, fmt.Appendf(nil, "nameserver %v\n", s.Addr.Addr()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(old)
	c := &Client{ConfPath: conf, HostsPath: "/nonexistent"}
	t.Cleanup(func() { c.state().stopFlights() })
	wantAddrs(t, resolveAll(t, c, "n.test", IPv4)[IPv4], "192.0.2.1")

	write(fresh)
	c.st.confWatch.expire()
	wantAddrs(t, resolveAll(t, c, "n.test", IPv4)[IPv4], "192.0.2.2")
	if fresh.Count(dns.TypeA, "") == 0 {
		t.Error("the new server was never asked")
	}
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

// TestClient_Close_Concurrent: Close while other goroutines resolve never
// panics; a lookup it cuts short fails with an error that wraps
// net.ErrClosed, never context.Canceled (the callers did not cancel), and
// the Client goes on answering. Bounded in count and time.
func TestClient_Close_Concurrent(t *testing.T) {
	checkFDs(t)
	zone := dnstest.NewZone("test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30", "dual.test. 0 IN A 192.0.2.1")
	srv := dnstest.Start(t, &dnstest.Faults{Next: zone, ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 2 * time.Millisecond}}})
	c := newClient(t, &Config{Timeout: time.Second, Attempts: 1}, srv)
	c.CacheSize = -1
	deadline := time.Now().Add(2 * time.Second)
	stop := make(chan struct{})
	var closed, lookups atomic.Int64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
				lookups.Add(1)
				for a := range c.Resolve(context.Background(), fmt.Sprintf("n%d-%d.test", w, i), IPv6, IPv4) {
					if errors.Is(a.Err, context.Canceled) {
						t.Errorf("%v: %v; Close must not look like the caller's cancellation", a.Family, a.Err)
					}
					if errors.Is(a.Err, net.ErrClosed) {
						closed.Add(1)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				c.Close()
			}
		}
	})
	for time.Now().Before(deadline) && lookups.Load() < 6000 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if closed.Load() == 0 {
		t.Errorf("no lookup of %d was cut short by Close", lookups.Load())
	}
	g := resolveAll(t, c, "dual.test", IPv4) // still usable
	wantAddrs(t, g[IPv4], "192.0.2.1")
}

// TestClient_Resolve_LingerBounded: lookups every caller abandoned keep
// running for a late answer (RFC 8305 §5), but only up to a bound: a
// burst of abandoned lookups to distinct names does not hold a socket
// each for a second.
func TestClient_Resolve_LingerBounded(t *testing.T) {
	checkFDs(t)
	drop := dnstest.Fault{Drop: true}
	srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{dns.TypeA: drop, dns.TypeAAAA: drop}})
	c := newClient(t, &Config{Timeout: 5 * time.Second, Attempts: 1}, srv)
	const burst = 3 * maxLingering
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			for range c.Resolve(ctx, fmt.Sprintf("gone%d.test", i), IPv6, IPv4) {
			}
		})
	}
	wg.Wait()
	// Those beyond the bound end at once; allow them a moment to go, well
	// inside the 1 s the others linger.
	var n int
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n = runningFlights(c); n <= maxLingering {
			break
		}
	}
	if n > maxLingering {
		t.Errorf("%d abandoned lookups still running; want at most %d", n, maxLingering)
	}
	if n == 0 {
		t.Errorf("no abandoned lookup lingers; want up to %d kept for a late answer", maxLingering)
	}
}

// TestClient_Resolve_Localhost: localhost names are loopback of both
// families without DNS (RFC 6761 §6.3), whatever the hosts file omits;
// its loopback entries are kept and its non-loopback ones ignored.
func TestClient_Resolve_Localhost(t *testing.T) {
	hostsPath := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(hostsPath, []byte("127.0.0.1 localhost\n127.0.1.1 app.localhost\n::1 six.localhost\n192.0.2.1 odd.localhost\n"), 0o644))
	srv := dnstest.Start(t, baseZone())
	c := &Client{Config: &Config{Servers: []netip.AddrPort{srv.Addr}, Timeout: time.Second}, HostsPath: hostsPath}
	t.Cleanup(c.state().stopFlights)
	for _, tc := range []struct{ host, v6, v4 string }{
		{"localhost", "::1", "127.0.0.1"},
		{"LocalHost.", "::1", "127.0.0.1"},
		{"app.localhost", "::1", "127.0.1.1"},
		{"six.localhost", "::1", "127.0.0.1"},
		{"odd.localhost", "::1", "127.0.0.1"},
		{"new.localhost", "::1", "127.0.0.1"},
	} {
		g := resolveAll(t, c, tc.host, IPv6, IPv4)
		wantAddrs(t, g[IPv6], tc.v6)
		wantAddrs(t, g[IPv4], tc.v4)
	}
	assert.Zero(t, srv.Count(0, ""), "localhost names went to DNS")
}

// TestClient_Resolve_RcodeErrors: a reply with an error response code
// reads "server misbehaving", as Go's resolver says, and wraps the code
// (RFC 1035 §4.1.1) for errors.Is; SERVFAIL is temporary.
func TestClient_Resolve_RcodeErrors(t *testing.T) {
	for _, tc := range []struct {
		rcode     int
		want      error
		temporary bool
	}{
		{dns.RcodeServerFailure, ErrServFail, true},
		{dns.RcodeRefused, ErrRefused, false},
		{dns.RcodeNotImplemented, RcodeError(dns.RcodeNotImplemented), false},
	} {
		srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{dns.TypeA: {Rcode: tc.rcode}}})
		c := newClient(t, &Config{Timeout: time.Second, Attempts: 1}, srv)
		g := resolveAll(t, c, "dual.test", IPv4)
		var de *net.DNSError
		require.ErrorAs(t, g[IPv4].Err, &de)
		assert.ErrorIs(t, g[IPv4].Err, tc.want)
		assert.Equal(t, "server misbehaving", de.Err)
		assert.Equal(t, tc.temporary, de.IsTemporary)
		assert.Equal(t, dns.RcodeToString[tc.rcode], tc.want.Error())
	}
}
