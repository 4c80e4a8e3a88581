package resolver

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxCNAMEHops bounds how many CNAMEs are followed inside one reply (Go's
// resolver uses 10 as well).
const maxCNAMEHops = 10

// kind classifies the outcome of looking up one name for one family.
type kind uint8

const (
	failed   kind = iota // no usable answer: timeout, SERVFAIL, REFUSED, malformed
	positive             // addresses found
	nxdomain             // the name does not exist (for any type)
	nodata               // the name exists without records of this type
)

func (k kind) String() string {
	switch k {
	case positive:
		return "positive"
	case nxdomain:
		return "NXDOMAIN"
	case nodata:
		return "NODATA"
	case pending:
		return "pending"
	case unasked:
		return "unasked"
	}
	return "failed"
}

// result is what one name lookup for one family produced.
type result struct {
	kind  kind
	addrs []netip.Addr // positive only; never modified once made
	// HTTPS records only (see extractHTTPS): the ServiceMode records, or
	// the AliasMode target ("." on a NODATA result: the service does not
	// exist); never modified once made.
	svcs  []Service
	alias string
	ttl   time.Duration // how long it may be cached; zero: not at all
	err   error         // nil for positive, else a *net.DNSError
}

// extract reads the addresses of type qtype for name out of a reply that
// has already been matched to the query (ID, question). It follows CNAME
// chains that start at name (up to maxCNAMEHops), ignores records of other
// classes, types or names, keeps at most maxAddrs distinct addresses, and
// tells NXDOMAIN, NODATA and failures apart. TTLs are the smallest along
// the chain; TTLs with the high bit set count as 0 (RFC 2181 §8). A
// negative answer's TTL comes from the SOA in the authority section (RFC
// 2308 §5); without one it is 0 (not cached).
func extract(m *dns.Msg, name string, qtype uint16, maxAddrs int, server netip.AddrPort) result {
	if qtype == dns.TypeHTTPS {
		return extractHTTPS(m, name, maxAddrs, server)
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return result{kind: nxdomain, ttl: negativeTTL(m),
			err: fromServer(NotFoundError(name, ErrNXDomain), server)}
	default: // SERVFAIL, REFUSED, FORMERR, NOTIMP, ...: ask another server
		return result{kind: failed, err: rcodeError(m.Rcode, name, server)}
	}
	cur := name
	ttl := time.Duration(-1)
	var addrs []netip.Addr
	for hop := 0; ; hop++ {
		next := ""
		var nextTTL time.Duration
		for _, rr := range m.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, cur) {
				continue
			}
			var a netip.Addr
			switch rr := rr.(type) {
			case *dns.A:
				if qtype == dns.TypeA {
					a, _ = netip.AddrFromSlice(rr.A.To4())
				}
			case *dns.AAAA:
				if qtype == dns.TypeAAAA && len(rr.AAAA) == net.IPv6len {
					a, _ = netip.AddrFromSlice(rr.AAAA)
					if a.Is4In6() {
						// Not a usable IPv6 destination: it would be
						// dialed as IPv4 under the IPv6 family's name.
						a = netip.Addr{}
					}
				}
			case *dns.CNAME:
				if next == "" && dns.IsFqdn(rr.Target) {
					next, nextTTL = rr.Target, rrTTL(h)
				}
			}
			if !a.IsValid() {
				continue
			}
			if ttl < 0 || rrTTL(h) < ttl {
				ttl = rrTTL(h)
			}
			if len(addrs) < maxAddrs && !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) > 0 {
			return result{kind: positive, addrs: addrs, ttl: ttl}
		}
		if next == "" {
			break
		}
		if hop == maxCNAMEHops {
			return result{kind: failed, err: serverError(errTextCNAMELoop, name, server, false)}
		}
		if ttl < 0 || nextTTL < ttl {
			ttl = nextTTL
		}
		cur = next
	}
	return noRecords(m, name, server)
}

// noRecords is the result of a reply for name with no record of the type
// asked: NODATA, unless it is a lame referral (no answer, no SOA, no
// EDNS0, neither authoritative nor recursive), which Go's resolver and
// glibc treat as a server failure.
func noRecords(m *dns.Msg, name string, server netip.AddrPort) result {
	if len(m.Answer) == 0 && !m.Authoritative && !m.RecursionAvailable && !hasSOA(m) && m.IsEdns0() == nil {
		return result{kind: failed, err: serverError(errTextLameReferral, name, server, false)}
	}
	return result{kind: nodata, ttl: negativeTTL(m),
		err: fromServer(NotFoundError(name, ErrNoData), server)}
}

// rrTTL is a record's TTL as a duration; RFC 2181 §8: values with the most
// significant bit set are treated as zero.
func rrTTL(h *dns.RR_Header) time.Duration {
	if h.Ttl > 1<<31-1 {
		return 0
	}
	return time.Duration(h.Ttl) * time.Second
}

func hasSOA(m *dns.Msg) bool {
	for _, rr := range m.Ns {
		if _, ok := rr.(*dns.SOA); ok {
			return true
		}
	}
	return false
}

// negativeTTL is RFC 2308 §5's negative-caching TTL: the smaller of the
// SOA record's TTL and its MINIMUM field; 0 without an SOA.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok && soa.Hdr.Class == dns.ClassINET {
			ttl := rrTTL(&soa.Hdr)
			if m := time.Duration(min(soa.Minttl, 1<<31-1)) * time.Second; m < ttl {
				ttl = m
			}
			return ttl
		}
	}
	return 0
}
