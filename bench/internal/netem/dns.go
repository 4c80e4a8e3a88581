package netem

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Zone is what a DNSServer answers, with its faults. The zero Zone answers
// NXDOMAIN for every name.
type Zone struct {
	// Records maps a name (any case, with or without the final dot) to its
	// addresses: IPv6 ones answer AAAA queries, IPv4 ones answer A, in the
	// order given. A listed name without addresses of the asked family
	// answers NODATA; a name not listed answers NXDOMAIN.
	Records map[string][]netip.Addr
	// TTL is the TTL of every record, in seconds. Zero asks resolvers not
	// to cache, so that every dial resolves again.
	TTL uint32
	// Delay holds an answer back per query type (dns.TypeAAAA, dns.TypeA,
	// ...) for the given time. Like Drop, it applies only to names listed
	// in Records: other names (a client looking up its own host name, say)
	// get their NXDOMAIN at once.
	Delay map[uint16]time.Duration
	// Drop lists query types never answered: the query is read and
	// ignored, as if it or its answer were lost.
	Drop map[uint16]bool
	// HTTPS maps a name listed in Records to the RDATA of its HTTPS
	// records (RFC 9460) in zone-file syntax, e.g. "1 . alpn=h2
	// ipv6hint=2001:db8::1". A listed name without them answers HTTPS
	// queries NODATA. RDATA that does not parse is left out.
	HTTPS map[string][]string
}

// A DNSServer is an authoritative-looking DNS server (miekg/dns) whose
// zone and faults can be swapped at any time. It serves UDP and, when
// given a listener, TCP.
type DNSServer struct {
	zone    atomic.Pointer[Zone]
	servers []*dns.Server
	done    chan struct{}
	wg      sync.WaitGroup // delayed answers in flight
	queries sync.Map       // uint16 qtype → *atomic.Int64

	closeOnce sync.Once
}

// StartDNS starts a DNSServer on pc (UDP) and, if ln is not nil, on ln
// (TCP). It owns both from then on and closes them in Close.
func StartDNS(pc net.PacketConn, ln net.Listener) (*DNSServer, error) {
	if pc == nil {
		return nil, errors.New("netem: StartDNS needs a PacketConn")
	}
	s := &DNSServer{done: make(chan struct{})}
	s.zone.Store(&Zone{})
	s.servers = append(s.servers, &dns.Server{PacketConn: pc, Handler: s})
	if ln != nil {
		s.servers = append(s.servers, &dns.Server{Listener: ln, Handler: s})
	}
	for _, srv := range s.servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1) // ActivateAndServe returns after Shutdown; nobody may be waiting then
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// SetZone replaces what the server answers, from the next query on. The
// server keeps its own copy: z may be changed afterwards.
func (s *DNSServer) SetZone(z Zone) {
	z.Records = canonical(z.Records)
	z.Delay = maps.Clone(z.Delay)
	https := make(map[string][]string, len(z.HTTPS))
	for name, rdata := range z.HTTPS {
		https[dns.CanonicalName(name)] = slices.Clone(rdata)
	}
	z.HTTPS = https
	z.Drop = maps.Clone(z.Drop)
	s.zone.Store(&z)
}

// Queries returns how many queries of type qtype arrived since the server
// started.
func (s *DNSServer) Queries(qtype uint16) int64 {
	if v, ok := s.queries.Load(qtype); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Close stops the server: answers still being delayed are abandoned.
func (s *DNSServer) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		close(s.done)
		for _, srv := range s.servers {
			if err := srv.Shutdown(); err != nil {
				errs = append(errs, err)
			}
		}
		s.wg.Wait()
	})
	return errors.Join(errs...)
}

// canonical lower-cases names and makes them fully qualified.
func canonical(m map[string][]netip.Addr) map[string][]netip.Addr {
	out := make(map[string][]netip.Addr, len(m))
	for name, addrs := range m {
		out[dns.CanonicalName(name)] = append(out[dns.CanonicalName(name)], addrs...)
	}
	return out
}

// ServeDNS implements dns.Handler.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		w.WriteMsg(m.SetRcode(req, dns.RcodeFormatError))
		return
	}
	q := req.Question[0]
	v, _ := s.queries.LoadOrStore(q.Qtype, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)

	z := s.zone.Load()
	_, listed := z.Records[dns.CanonicalName(q.Name)]
	if listed && z.Drop[q.Qtype] {
		return
	}
	if d := z.Delay[q.Qtype]; listed && d > 0 {
		s.wg.Add(1)
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
			return
		}
	}
	w.WriteMsg(answer(z, req))
}

// answer builds the reply to req from z.
func answer(z *Zone, req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	addrs, ok := z.Records[name]
	if !ok {
		m.Rcode = dns.RcodeNameError
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: z.TTL}
	if q.Qtype == dns.TypeHTTPS {
		for _, rdata := range z.HTTPS[name] {
			rr, err := dns.NewRR(fmt.Sprintf("%s %d IN HTTPS %s", q.Name, z.TTL, rdata))
			if err == nil && rr != nil {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	for _, a := range addrs {
		switch {
		case q.Qtype == dns.TypeAAAA && a.Is6() && !a.Is4In6():
			hdr.Rrtype = dns.TypeAAAA
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		case q.Qtype == dns.TypeA && a.Unmap().Is4():
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.Unmap().AsSlice()})
		}
	}
	if len(m.Answer) == 0 {
		// Negative answers carry the zone's SOA so that resolvers can tell
		// NODATA from a referral; its minimum TTL is the zone's TTL.
		zoneName := name
		if labels := dns.SplitDomainName(name); len(labels) > 1 {
			zoneName = dns.Fqdn(strings.Join(labels[1:], "."))
		}
		m.Ns = append(m.Ns, &dns.SOA{
			Hdr:     dns.RR_Header{Name: zoneName, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.TTL},
			Ns:      "ns." + zoneName,
			Mbox:    "hostmaster." + zoneName,
			Serial:  1,
			Refresh: 3600, Retry: 600, Expire: 86400,
			Minttl: z.TTL,
		})
	}
	return m
}
