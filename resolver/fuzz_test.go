package resolver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// The seeds below run with every `go test`; `go test -fuzz FuzzX` explores
// further.

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
		"nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
		"nameserver fe80::1%eth0\nnameserver ::1\noptions timeout:1 attempts:3 rotate use-vc\n",
		"domain x\nsearch a b c\noptions ndots:-1 timeout:99999999999999999999 attempts:\n",
		"nameserver\noptions\nsearch\n\x00\xff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := parseConfig(data, func() (string, error) { return "h.example", nil })
		if len(c.Servers) > maxServers || len(c.Search) > maxSearch {
			t.Fatalf("unbounded: %d servers, %d search", len(c.Servers), len(c.Search))
		}
		for _, s := range c.Servers {
			if !s.IsValid() || s.Port() != 53 || s.Addr().Is4In6() {
				t.Fatalf("bad server %v", s)
			}
		}
		for _, d := range c.Search {
			if !strings.HasSuffix(d, ".") || !isDomainName(d) || d != strings.ToLower(d) {
				t.Fatalf("bad search domain %q", d)
			}
		}
		if c.Ndots < 0 || c.Ndots > maxNdots || c.Timeout < time.Second || c.Timeout > maxTimeout ||
			c.Attempts < 1 || c.Attempts > maxAttempts {
			t.Fatalf("option out of range: %+v", c)
		}
	})
}

func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
		"10.0.0.5 Web.Internal web # comment\nfe80::1%eth0 router\n::ffff:1.2.3.4 mapped\n",
		"bücher.lan 1.2.3.4\n1.2.3.4 bücher.lan\n\xff\xfe garbage\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := parseHosts(data)
		for name, addrs := range h.byName {
			if strings.HasSuffix(name, ".") || !isDomainName(name+".") || name != strings.ToLower(name) {
				t.Fatalf("bad key %q", name)
			}
			if len(addrs) == 0 || len(addrs) > maxHostsAddrs {
				t.Fatalf("%q: %d addresses", name, len(addrs))
			}
			for _, a := range addrs {
				if !a.IsValid() || a.Is4In6() {
					t.Fatalf("%q: bad address %v", name, a)
				}
			}
		}
	})
}

func FuzzCanonicalHost(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "例え。テスト", "a..b", "", "xn--", "-x", strings.Repeat("a.", 200), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		name, err := canonicalHost(host)
		if err != nil {
			if !errors.Is(err, errInvalidName) {
				t.Fatalf("error %v is not errInvalidName", err)
			}
			return
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= utf8.RuneSelf || 'A' <= name[i] && name[i] <= 'Z' {
				t.Fatalf("%q → %q: not lower-case ASCII", host, name)
			}
		}
		if !isDomainName(rooted(name)) {
			t.Fatalf("%q → %q: not a domain name", host, name)
		}
		if again, err := canonicalHost(name); err != nil || again != name {
			t.Fatalf("not idempotent: %q → %q → %q, %v", host, name, again, err)
		}
	})
}

// FuzzReply feeds arbitrary bytes to the reply matcher and the answer
// extractor, as a hostile server would.
func FuzzReply(f *testing.F) {
	zone := dnstest.NewZone(
		"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
		"example.test. 60 IN A 192.0.2.1",
		"example.test. 60 IN AAAA 2001:db8::1",
		"www.test. 60 IN CNAME example.test.",
	)
	for _, name := range []string{"example.test.", "www.test.", "missing.test."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			q := new(dns.Msg).SetQuestion(name, qt)
			q.Id = 0x1234
			b, _ := zone.Reply(q).Pack()
			f.Add(b, qt == dns.TypeAAAA)
			tc := zone.Reply(q)
			tc.Truncated = true
			b, _ = tc.Pack()
			f.Add(b[:len(b)-3], qt == dns.TypeAAAA)
		}
	}
	// A compression pointer to itself in the answer.
	q := new(dns.Msg).SetQuestion("example.test.", dns.TypeA)
	q.Id = 0x1234
	b, _ := new(dns.Msg).SetReply(q).Pack()
	b[7] = 1
	off := len(b)
	b = append(b, 0xc0|byte(off>>8), byte(off), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
	f.Add(b, false)
	f.Add([]byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false)

	f.Fuzz(func(t *testing.T, b []byte, aaaa bool) {
		qtype := dns.TypeA
		if aaaa {
			qtype = dns.TypeAAAA
		}
		id := uint16(0x1234)
		if len(b) >= 2 {
			id = binary.BigEndian.Uint16(b)
		}
		for _, name := range []string{"example.test.", "www.test."} {
			m, ok, err := parseReply(b, id, name, qtype)
			if !ok || err != nil {
				continue
			}
			if m.Truncated {
				continue
			}
			r := extract(m, name, qtype, 8, netip.MustParseAddrPort("192.0.2.53:53"))
			switch r.kind {
			case positive:
				if len(r.addrs) == 0 || len(r.addrs) > 8 || r.err != nil || r.ttl < 0 {
					t.Fatalf("bad positive result %+v", r)
				}
				seen := map[netip.Addr]bool{}
				for _, a := range r.addrs {
					if seen[a] || (qtype == dns.TypeA) != a.Is4() || a.Is4In6() {
						t.Fatalf("bad address %v in %+v", a, r)
					}
					seen[a] = true
				}
			default:
				var de *net.DNSError
				if len(r.addrs) != 0 || !errors.As(r.err, &de) || r.ttl < 0 {
					t.Fatalf("bad negative result %+v", r)
				}
				if de.IsNotFound != (r.kind == nxdomain || r.kind == nodata) {
					t.Fatalf("IsNotFound=%v for %v", de.IsNotFound, r.kind)
				}
			}
		}
	})
}
