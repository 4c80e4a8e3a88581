package dnstest

import (
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Zone is a dns.Handler that answers from a fixed set of records, like a
// recursive resolver would: CNAME chains inside the zone are followed and
// included in the answer, a name with no records at all is NXDOMAIN, a name
// with records of other types only is NODATA (NOERROR, empty answer), and
// negative answers carry the zone's SOA (if one was given) in the authority
// section so that clients can cache them (RFC 2308). Replies over UDP are
// truncated (TC set) to the size the query advertises with EDNS0, or 512
// bytes without it. Names match case-insensitively.
//
// Records may be added while the server runs (Add); a Zone is safe for
// concurrent use.
type Zone struct {
	mu    sync.RWMutex
	names map[string][]dns.RR // lower-cased FQDN → records
	soa   *dns.SOA
}

// NewZone returns a Zone holding records given in zone-file syntax, e.g.
// "example.test. 60 IN A 192.0.2.1". A record of type SOA becomes the zone's
// SOA for negative answers. It panics on a record that does not parse,
// since the records are test fixtures written by hand.
func NewZone(records ...string) *Zone {
	z := &Zone{names: make(map[string][]dns.RR)}
	for _, r := range records {
		z.Add(MustRR(r))
	}
	return z
}

// MustRR parses one record in zone-file syntax and panics if it does not
// parse (for fixtures).
func MustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil || rr == nil {
		panic(fmt.Sprintf("dnstest: bad record %q: %v", s, err))
	}
	return rr
}

// Add adds records to the zone.
func (z *Zone) Add(rrs ...dns.RR) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.names == nil {
		z.names = make(map[string][]dns.RR)
	}
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			z.soa = soa
			continue
		}
		name := strings.ToLower(dns.Fqdn(rr.Header().Name))
		z.names[name] = append(z.names[name], rr)
	}
}

// Remove deletes every record of name (of every type).
func (z *Zone) Remove(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	delete(z.names, strings.ToLower(dns.Fqdn(name)))
}

// Reply builds the reply to req without sending it. Handlers that wrap a
// Zone use it to alter the reply.
func (z *Zone) Reply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	z.mu.RLock()
	defer z.mu.RUnlock()
	name := strings.ToLower(q.Name)
	for hop := 0; ; hop++ {
		rrs, ok := z.names[name]
		if !ok {
			m.Rcode = dns.RcodeNameError // the name, or the chain's end, does not exist
			break
		}
		var cname *dns.CNAME
		matched := false
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == q.Qtype:
				m.Answer = append(m.Answer, dns.Copy(rr))
				matched = true
			case rr.Header().Rrtype == dns.TypeCNAME && q.Qtype != dns.TypeCNAME:
				cname = rr.(*dns.CNAME)
			}
		}
		// Bounded: a CNAME loop in a fixture must not hang the server.
		if matched || cname == nil || hop == 16 {
			break
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = strings.ToLower(dns.Fqdn(cname.Target))
	}
	hasType := false
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == q.Qtype {
			hasType = true
		}
	}
	if !hasType && z.soa != nil {
		m.Ns = append(m.Ns, dns.Copy(z.soa))
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	return m
}

// ServeDNS implements dns.Handler.
func (z *Zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := z.Reply(req)
	if udp(w) {
		m.Truncate(udpSize(req))
	}
	_ = w.WriteMsg(m)
}

// udp reports whether w replies over UDP.
func udp(w dns.ResponseWriter) bool {
	if ww, ok := w.(Writer); ok {
		return ww.Proto() == "udp"
	}
	return w.RemoteAddr().Network() == "udp"
}

// udpSize is the largest UDP reply the client accepts.
func udpSize(req *dns.Msg) int {
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > dns.MinMsgSize {
		return int(opt.UDPSize())
	}
	return dns.MinMsgSize
}
