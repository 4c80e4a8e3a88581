package resolver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

func reply(rcode int, flags string, rrs ...string) *dns.Msg {
	m := new(dns.Msg).SetQuestion("q.test.", dns.TypeA)
	m.Response, m.Rcode = true, rcode
	m.Authoritative = flags == "aa" || flags == "aa ra"
	m.RecursionAvailable = flags == "ra" || flags == "aa ra"
	for _, s := range rrs {
		rr := dnstest.MustRR(s)
		if _, ok := rr.(*dns.SOA); ok {
			m.Ns = append(m.Ns, rr)
		} else {
			m.Answer = append(m.Answer, rr)
		}
	}
	return m
}

// TestExtract: reading a reply into a result: CNAME chains (RFC 1034
// §3.6.2), NXDOMAIN and NODATA (RFC 2308 §2), the negative TTL from the
// SOA (RFC 2308 §5), TTLs with the high bit set as 0 (RFC 2181 §8), lame
// referrals and server failures.
func TestExtract(t *testing.T) {
	soa := "test. 300 IN SOA ns.test. admin.test. 1 60 60 60 40"
	var chain []string
	for i := range maxCNAMEHops + 1 {
		chain = append(chain, fmt.Sprintf("c%d.test. 60 IN CNAME c%d.test.", i, i+1))
	}
	chain[0] = "q.test. 60 IN CNAME c1.test."
	tests := []struct {
		name      string
		m         *dns.Msg
		qtype     uint16
		kind      kind
		addrs     []string
		ttl       time.Duration
		temporary bool
		cause     error
	}{
		{"positive", reply(0, "ra", "q.test. 60 IN A 192.0.2.1", "Q.TEST. 30 IN A 192.0.2.2"), dns.TypeA, positive, []string{"192.0.2.1", "192.0.2.2"}, 30 * time.Second, false, nil},
		{"AAAA", reply(0, "ra", "q.test. 60 IN AAAA 2001:db8::1", "q.test. 60 IN A 192.0.2.1"), dns.TypeAAAA, positive, []string{"2001:db8::1"}, time.Minute, false, nil},
		{"CNAME chain, smallest TTL", reply(0, "ra", "q.test. 20 IN CNAME a.test.", "a.test. 60 IN CNAME b.test.", "b.test. 90 IN A 192.0.2.3"), dns.TypeA, positive, []string{"192.0.2.3"}, 20 * time.Second, false, nil},
		{"CNAME out of the reply: NODATA", reply(0, "ra", "q.test. 20 IN CNAME elsewhere.test.", soa), dns.TypeA, nodata, nil, 40 * time.Second, false, ErrNoData},
		{"records of other names, classes and types", reply(0, "ra", "other.test. 60 IN A 192.0.2.9", "q.test. 60 CH A 192.0.2.8", "q.test. 60 IN TXT \"x\""), dns.TypeA, nodata, nil, 0, false, ErrNoData},
		{"CNAME hop limit", reply(0, "ra", chain...), dns.TypeA, failed, nil, 0, false, nil},
		{"NXDOMAIN with SOA", reply(dns.RcodeNameError, "ra", soa), dns.TypeA, nxdomain, nil, 40 * time.Second, false, ErrNXDomain},
		{"NXDOMAIN without SOA", reply(dns.RcodeNameError, "ra"), dns.TypeA, nxdomain, nil, 0, false, ErrNXDomain},
		{"NODATA", reply(0, "aa", soa), dns.TypeA, nodata, nil, 40 * time.Second, false, ErrNoData},
		{"lame referral", reply(0, ""), dns.TypeA, failed, nil, 0, false, nil},
		{"SERVFAIL", reply(dns.RcodeServerFailure, "ra"), dns.TypeA, failed, nil, 0, true, nil},
		{"REFUSED", reply(dns.RcodeRefused, ""), dns.TypeA, failed, nil, 0, false, nil},
		{"TTL with the high bit set", reply(0, "ra", "q.test. 2147483648 IN A 192.0.2.1"), dns.TypeA, positive, []string{"192.0.2.1"}, 0, false, nil},
	}
	srv := netip.MustParseAddrPort("192.0.2.53:53")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := extract(tt.m, "q.test.", tt.qtype, 8, srv)
			if r.kind != tt.kind || !slices.Equal(r.addrs, addrs(tt.addrs...)) || r.ttl != tt.ttl {
				t.Fatalf("got %v %v ttl %v (%v); want %v %v ttl %v", r.kind, r.addrs, r.ttl, r.err, tt.kind, tt.addrs, tt.ttl)
			}
			if r.kind == positive {
				if r.err != nil {
					t.Errorf("positive with error %v", r.err)
				}
				return
			}
			var de *net.DNSError
			if !errors.As(r.err, &de) || de.Server != "192.0.2.53:53" || de.Name != "q.test." || de.IsTemporary != tt.temporary {
				t.Errorf("error %#v", r.err)
			}
			if tt.cause != nil && !errors.Is(r.err, tt.cause) {
				t.Errorf("error %v does not wrap %v", r.err, tt.cause)
			}
			if de != nil && de.IsNotFound != (r.kind != failed) {
				t.Errorf("IsNotFound = %v for %v", de.IsNotFound, r.kind)
			}
		})
	}
	if s := fmt.Sprint(failed, positive, nxdomain, nodata); s != "failed positive NXDOMAIN NODATA" {
		t.Errorf("kind strings: %s", s)
	}
}
