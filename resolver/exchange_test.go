package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
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

// TestQueryID: IDs are spread over the whole 16-bit space, as draws from
// a uniform source are (RFC 5452 §9.2); 1000 draws give about 8
// collisions, and both halves of the range are hit.
func TestQueryID(t *testing.T) {
	seen := map[uint16]bool{}
	var high int
	for range 1000 {
		id := queryID()
		seen[id] = true
		if id >= 0x8000 {
			high++
		}
	}
	if len(seen) < 970 {
		t.Errorf("%d distinct IDs in 1000 draws; want about 992", len(seen))
	}
	if high < 400 || high > 600 {
		t.Errorf("%d of 1000 IDs in the upper half; want about 500", high)
	}
}
