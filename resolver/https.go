package resolver

import (
	"cmp"
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// This file holds the HTTPS record lookup (RFC 9460): the parsing of one
// reply (extractHTTPS, used by round like extract), and the walk over the
// search list and the AliasMode chain (resolveHTTPS).

// maxAliasHops bounds the AliasMode records followed for one lookup: RFC
// 9460 §3 asks clients to bound alias chains (loops included); a chain
// longer than this is treated as one.
const maxAliasHops = 8

// errTextAliasLoop is the text of the error for an AliasMode chain that
// loops or is longer than maxAliasHops.
const errTextAliasLoop = "too many HTTPS AliasMode hops"

// A Service is one ServiceMode HTTPS record (RFC 9460 §2.4.3) of the name
// asked, after AliasMode records (§2.4.2) and CNAMEs were followed: an
// alternative endpoint of the service and how to connect to it.
type Service struct {
	// Priority is the record's SvcPriority: lower values are preferred.
	// Zero marks the endpoint of an AliasMode chain whose last target has
	// no HTTPS records but may have addresses (RFC 9460 §2.4.2): a plain
	// connection to Target, with no parameters.
	Priority uint16
	// Target is the name, rooted and lower-case, whose A and AAAA records
	// give the endpoint's addresses: the record's TargetName, or its owner
	// name when TargetName is "." (RFC 9460 §2.5.2). When it equals the
	// name asked, the addresses are those of the same Resolve call.
	Target string
	// ALPN is the alpn SvcParam (key 1, RFC 9460 §7.1): the application
	// protocols the endpoint supports, besides the default one (for
	// HTTPS, "http/1.1") unless NoDefaultALPN.
	ALPN []string
	// NoDefaultALPN is the no-default-alpn SvcParam (key 2, RFC 9460
	// §7.1): the default protocol is not supported.
	NoDefaultALPN bool
	// Port is the port SvcParam (key 3, RFC 9460 §7.2); zero means the
	// port being dialed.
	Port uint16
	// IPv4Hint and IPv6Hint are the ipv4hint and ipv6hint SvcParams (keys
	// 4 and 6, RFC 9460 §7.3): addresses of Target that may be used until
	// its A and AAAA answers arrive.
	IPv4Hint, IPv6Hint []netip.Addr
	// ECH is the ech SvcParam (key 5, reserved by RFC 9460 for TLS
	// Encrypted Client Hello): an ECHConfigList as on the wire.
	ECH []byte
}

// clone returns a deep copy of s: the cached services are shared, the
// caller's are its own.
func (s Service) clone() Service {
	s.ALPN = slices.Clone(s.ALPN)
	s.IPv4Hint = slices.Clone(s.IPv4Hint)
	s.IPv6Hint = slices.Clone(s.IPv6Hint)
	s.ECH = slices.Clone(s.ECH)
	return s
}

// cloneServices deep-copies svcs.
func cloneServices(svcs []Service) []Service {
	out := make([]Service, len(svcs))
	for i, s := range svcs {
		out[i] = s.clone()
	}
	return out
}

// supportedKey reports whether a SvcParamKey is one Service carries, and
// so may be listed in mandatory (RFC 9460 §8).
func supportedKey(k dns.SVCBKey) bool {
	switch k {
	case dns.SVCB_ALPN, dns.SVCB_NO_DEFAULT_ALPN, dns.SVCB_PORT,
		dns.SVCB_IPV4HINT, dns.SVCB_ECHCONFIG, dns.SVCB_IPV6HINT:
		return true
	}
	return false
}

// parseService reads one ServiceMode record whose owner is owner. It
// reports false for a record to skip: one whose mandatory SvcParam lists
// a key this package does not support (RFC 9460 §8: such records are
// ignored), or lists "mandatory" itself or a key the record lacks, or
// with no-default-alpn but no alpn (not self-consistent, §7.1). Other
// unknown keys are ignored. At most maxAddrs hints of each family are
// kept.
func parseService(rr *dns.SVCB, owner string, maxAddrs int) (Service, bool) {
	s := Service{Priority: rr.Priority, Target: dns.CanonicalName(rr.Target)}
	if rr.Target == "." || rr.Target == "" {
		s.Target = dns.CanonicalName(owner)
	}
	var mandatory []dns.SVCBKey
	var present []dns.SVCBKey
	for _, kv := range rr.Value {
		if kv == nil {
			continue
		}
		present = append(present, kv.Key())
		switch kv := kv.(type) {
		case *dns.SVCBMandatory:
			mandatory = kv.Code
		case *dns.SVCBAlpn:
			s.ALPN = slices.Clone(kv.Alpn)
		case *dns.SVCBNoDefaultAlpn:
			s.NoDefaultALPN = true
		case *dns.SVCBPort:
			s.Port = kv.Port
		case *dns.SVCBIPv4Hint:
			for _, ip := range kv.Hint {
				a, ok := netip.AddrFromSlice(ip.To4())
				if ok && len(s.IPv4Hint) < maxAddrs && !slices.Contains(s.IPv4Hint, a) {
					s.IPv4Hint = append(s.IPv4Hint, a)
				}
			}
		case *dns.SVCBIPv6Hint:
			for _, ip := range kv.Hint {
				if len(ip) != net.IPv6len {
					continue
				}
				a, _ := netip.AddrFromSlice(ip)
				if a.Is4In6() {
					continue // not an IPv6 destination, as for AAAA
				}
				if len(s.IPv6Hint) < maxAddrs && !slices.Contains(s.IPv6Hint, a) {
					s.IPv6Hint = append(s.IPv6Hint, a)
				}
			}
		case *dns.SVCBECHConfig:
			s.ECH = slices.Clone(kv.ECH)
		}
	}
	for _, k := range mandatory {
		if !supportedKey(k) || !slices.Contains(present, k) {
			return Service{}, false
		}
	}
	if s.NoDefaultALPN && len(s.ALPN) == 0 {
		return Service{}, false
	}
	return s, true
}

// extractHTTPS is extract for HTTPS records: it reads the HTTPS RRset of
// name out of a matched reply, following CNAMEs. The result is positive
// with an alias (an AliasMode record, RFC 9460 §2.4.2; ServiceMode
// records beside it are ignored) or with services (ServiceMode records,
// sorted by priority, equal priorities in the order given; records
// parseService rejects are skipped). An AliasMode record with target "."
// (the service does not exist, §2.5.1), or an RRset of only skipped
// records, is NODATA. Negative answers and failures are as for extract. A
// malformed record (RFC 9460 §2.2: truncated SvcParams, keys out of
// order or repeated, a value of the wrong form) never gets here: the
// reply does not parse (miekg/dns rejects it), which fails the lookup at
// that server, and a failed HTTPS lookup leaves the dial without
// services, the fallback §2.2 asks for.
func extractHTTPS(m *dns.Msg, name string, maxAddrs int, server netip.AddrPort) result {
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return result{kind: nxdomain, ttl: negativeTTL(m),
			err: fromServer(NotFoundError(name, ErrNXDomain), server)}
	default:
		return result{kind: failed, err: rcodeError(m.Rcode, name, server)}
	}
	cur := name
	ttl := time.Duration(-1)
	for hop := 0; ; hop++ {
		next := ""
		var nextTTL time.Duration
		found := false
		var alias *dns.SVCB
		var svcs []Service
		for _, rr := range m.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, cur) {
				continue
			}
			switch rr := rr.(type) {
			case *dns.HTTPS:
				found = true
				if ttl < 0 || rrTTL(h) < ttl {
					ttl = rrTTL(h)
				}
				if rr.Priority == 0 {
					if alias == nil {
						alias = &rr.SVCB
					}
					continue
				}
				if len(svcs) >= maxAddrs {
					continue
				}
				if s, ok := parseService(&rr.SVCB, cur, maxAddrs); ok {
					svcs = append(svcs, s)
				}
			case *dns.CNAME:
				if next == "" && dns.IsFqdn(rr.Target) {
					next, nextTTL = rr.Target, rrTTL(h)
				}
			}
		}
		if found {
			nodata := result{kind: nodata, ttl: ttl,
				err: fromServer(NotFoundError(name, ErrNoData), server)}
			if alias != nil {
				if alias.Target == "." || !dns.IsFqdn(alias.Target) {
					nodata.alias = "." // the service does not exist: nothing to fall back to
					return nodata
				}
				return result{kind: positive, alias: dns.CanonicalName(alias.Target), ttl: ttl}
			}
			if len(svcs) == 0 {
				return nodata
			}
			slices.SortStableFunc(svcs, func(a, b Service) int { return cmp.Compare(a.Priority, b.Priority) })
			return result{kind: positive, svcs: svcs, ttl: ttl}
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

// await returns the result of j, waiting for its flight if it has one,
// or false when ctx ends first.
func (st *state) await(ctx context.Context, j joined) (result, bool) {
	if j.fl == nil {
		return j.r, true
	}
	defer st.cache.leave(j.fl, st.lateWindow)
	select {
	case <-j.fl.done:
		return j.fl.res, true
	case <-ctx.Done():
		return result{}, false
	}
}

// joinHTTPS returns the cached HTTPS result of name, or the flight that
// looks it up.
func (st *state) joinHTTPS(conf *Config, name string, after <-chan struct{}) joined {
	r, fl, _ := st.cache.join(cacheKey{name, dns.TypeHTTPS}, time.Now(), st.startFlight(conf, name, dns.TypeHTTPS, after, nil))
	return joined{r, fl}
}

// resolveHTTPS answers the HTTPS pseudo-family of host over the network
// (and the cache): first is the first candidate's lookup, joined by
// Resolve. See walkHTTPS.
func (st *state) resolveHTTPS(ctx context.Context, conf *Config, host, name string, cands []string, first joined) Answer {
	usedFirst := false
	a, ok := walkHTTPS(host, name, cands, func(cand string) (result, bool) {
		if !usedFirst { // walkHTTPS asks for cands[0] first
			usedFirst = true
			return st.await(ctx, first)
		}
		return st.await(ctx, st.joinHTTPS(conf, cand, nil))
	})
	if !ok {
		return Answer{Family: HTTPS, Err: ContextError(host, ctx.Err())}
	}
	return a
}

// httpsFromCache is resolveHTTPS from the cache alone; false when a result
// it needs is not cached.
func (st *state) httpsFromCache(host, name string, cands []string) (Answer, bool) {
	now := time.Now()
	return walkHTTPS(host, name, cands, func(cand string) (result, bool) {
		return st.cache.get(cacheKey{cand, dns.TypeHTTPS}, now)
	})
}

// walkHTTPS makes host's HTTPS Answer from the HTTPS results of names that
// get gives, or reports false as soon as get does.
//
// The search list is walked on its own, not in step with the address
// families: the first candidate that exists (anything but NXDOMAIN or a
// failure) ends the search, which is the name the address families settle
// on whenever it has addresses. AliasMode records are then followed (RFC
// 9460 §2.4.2; at most maxAliasHops, loops detected), each target's result
// cached under its own name. A target without HTTPS records (NODATA) ends
// the chain with a Priority 0 Service for the target itself (RFC 9460
// §2.4.2: its A and AAAA records serve); one that does not exist ends it
// negatively. The TTL is the smallest along the chain.
func walkHTTPS(host, name string, cands []string, get func(name string) (result, bool)) (Answer, bool) {
	neg := negatives{host: host, name: name}
	for _, cand := range cands {
		r, ok := get(cand)
		if !ok {
			return Answer{}, false
		}
		if r.kind == nxdomain || r.kind == failed {
			neg.add(cand, r)
			continue
		}
		ttl := r.ttl
		seen := []string{dns.CanonicalName(cand)}
		for r.kind == positive && r.alias != "" {
			target := r.alias
			if len(seen) > maxAliasHops || slices.Contains(seen, target) {
				return Answer{Family: HTTPS, Err: serverError(errTextAliasLoop, host, netip.AddrPort{}, false)}, true
			}
			seen = append(seen, target)
			next, ok := get(target)
			if !ok {
				return Answer{}, false
			}
			ttl = min(ttl, next.ttl)
			if next.kind == nodata && next.alias != "." {
				return Answer{Family: HTTPS, Services: []Service{{Target: target}}, TTL: ttl}, true
			}
			r = next
		}
		if r.kind == positive {
			return Answer{Family: HTTPS, Services: cloneServices(r.svcs), TTL: ttl}, true
		}
		return Answer{Family: HTTPS, Err: renamed(r.err, host), TTL: ttl}, true
	}
	return neg.answer(HTTPS), true
}

// HTTPSQueryName returns the name whose HTTPS records describe the
// service at host and port (RFC 9460 §9.1): host itself for port 443, the
// default port of the https scheme, and "_PORT._https.host" (port-prefix
// naming, RFC 9460 §2.3) for any other port. Ask Resolve for the HTTPS
// family of the name returned. The Service.Target of a ServiceMode record
// whose TargetName is "." is that name (its owner, RFC 9460 §2.5.2); a
// port-prefixed name has no addresses of its own (it is an underscored
// attribute leaf, RFC 8552), so a dialer resolves the host instead.
func HTTPSQueryName(host string, port uint16) string {
	if port == 443 {
		return host
	}
	return "_" + strconv.Itoa(int(port)) + "._https." + host
}
