package dnstest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Fault describes how a server misbehaves for one query type. The zero
// Fault is a well-behaved server.
type Fault struct {
	// Delay postpones every reply (bogus ones included) by this long.
	Delay time.Duration
	// Drop sends no reply at all: the query is lost.
	Drop bool
	// Truncate replies over UDP with TC set and no records, as a server
	// does when the answer does not fit; TCP queries get the full answer.
	Truncate bool
	// Rcode, when nonzero, replies with this rcode and no records
	// (dns.RcodeServerFailure, dns.RcodeRefused, ...).
	Rcode int
	// WrongID first sends a copy of the reply whose ID differs from the
	// query's; a careful client ignores it and keeps waiting.
	WrongID bool
	// WrongQuestion first sends a copy of the reply whose question name
	// differs from the query's (and whose answer says 192.0.2.102 or
	// 2001:db8::66, for A and AAAA): a careful client ignores it.
	WrongQuestion bool
	// OtherSource first sends a copy of the reply (with addresses
	// 192.0.2.153 or 2001:db8::99) from another UDP port of the server's
	// address: a spoofed reply that a careful client never sees or
	// ignores. No effect over TCP.
	OtherSource bool
	// BogusOnly sends only the bogus copies asked for above, not the
	// genuine reply.
	BogusOnly bool
	// Times limits the fault to the first Times queries of this type (over
	// any transport); zero means every query.
	Times int
	// Proto limits the fault to "udp" or "tcp" queries; "" means both.
	Proto string
}

// Faults is a dns.Handler that injects faults per query type into the
// replies of Next. Queries of a type without a Fault are passed to Next
// unchanged. Faults is safe for concurrent use; do not change ByType while
// the server runs.
type Faults struct {
	// Next makes the genuine replies. If it is a *Zone, replies are built
	// with Zone.Reply and altered; any other handler is called as is, and
	// only Delay, Drop and Times apply to it.
	Next dns.Handler
	// ByType maps a query type (dns.TypeA, dns.TypeAAAA, ...) to its fault.
	ByType map[uint16]Fault

	mu   sync.Mutex
	seen map[uint16]int // queries seen per type
}

// ServeDNS implements dns.Handler.
func (f *Faults) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	var qtype uint16
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	fault, ok := f.ByType[qtype]
	if ok {
		f.mu.Lock()
		if f.seen == nil {
			f.seen = make(map[uint16]int)
		}
		f.seen[qtype]++
		n := f.seen[qtype]
		f.mu.Unlock()
		if fault.Times > 0 && n > fault.Times {
			ok = false
		}
		if fault.Proto != "" && fault.Proto != proto(w) {
			ok = false
		}
	}
	if !ok {
		f.Next.ServeDNS(w, req)
		return
	}
	if !sleep(w, fault.Delay) || fault.Drop {
		return
	}
	zone, isZone := f.Next.(*Zone)
	if !isZone {
		f.Next.ServeDNS(w, req)
		return
	}
	reply := zone.Reply(req)
	switch {
	case fault.Rcode != 0:
		reply.Rcode = fault.Rcode
		reply.Answer, reply.Ns, reply.Extra = nil, nil, nil
		if opt := req.IsEdns0(); opt != nil {
			reply.SetEdns0(opt.UDPSize(), false)
		}
	case fault.Truncate && proto(w) == "udp":
		reply.Truncated = true
		reply.Answer, reply.Ns = nil, nil
	}
	if fault.WrongID {
		bad := reply.Copy()
		bad.Id = reply.Id + 1 // never the query's ID
		_ = w.WriteMsg(bad)
	}
	if fault.WrongQuestion && len(reply.Question) == 1 {
		bad := reply.Copy()
		bad.Question[0].Name = "wrong-" + reply.Question[0].Name
		bad.Rcode = dns.RcodeSuccess
		bad.Answer = bogus(bad.Question[0].Name, qtype, 0x66)
		_ = w.WriteMsg(bad)
	}
	if fault.OtherSource && len(reply.Question) == 1 {
		if ww, ok := w.(Writer); ok && ww.Proto() == "udp" {
			bad := reply.Copy()
			bad.Rcode = dns.RcodeSuccess
			bad.Answer = bogus(bad.Question[0].Name, qtype, 0x99)
			_ = ww.WriteFromOtherPort(bad)
		}
	}
	if fault.BogusOnly {
		return
	}
	if proto(w) == "udp" {
		reply.Truncate(udpSize(req))
	}
	_ = w.WriteMsg(reply)
}

// bogus returns an answer for name that a careful client must never use:
// 192.0.2.<last> for A, 2001:db8::<last in hex> for AAAA (documentation
// ranges).
func bogus(name string, qtype uint16, last byte) []dns.RR {
	hdr := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: 300}
	switch qtype {
	case dns.TypeA:
		return []dns.RR{&dns.A{Hdr: hdr, A: net.IPv4(192, 0, 2, last)}}
	case dns.TypeAAAA:
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: last})
		return []dns.RR{&dns.AAAA{Hdr: hdr, AAAA: ip.AsSlice()}}
	}
	return nil
}

func proto(w dns.ResponseWriter) string {
	if ww, ok := w.(Writer); ok {
		return ww.Proto()
	}
	return strings.ToLower(w.RemoteAddr().Network())
}
