package resolver

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default paths of the system's resolver configuration.
const (
	DefaultConfPath  = "/etc/resolv.conf"
	DefaultHostsPath = "/etc/hosts"
)

// defaultMaxAddrs bounds the addresses kept per family from one answer.
const defaultMaxAddrs = 64

// Client is a caching DNS stub resolver that hands over each address
// family's answer the moment it arrives (RFC 8305 §3): the A answer is not
// held back while the AAAA query waits for a slow or lost reply.
//
// It follows resolv.conf(5) and hosts(5) as glibc and Go's own resolver
// apply them, except that localhost names ("localhost", "*.localhost")
// are always loopback of both families (RFC 6761 §6.3; loopback entries
// of the hosts file are honoured): /etc/hosts answers first and without DNS; then the search
// list is applied (ndots); then the servers are asked, IPv6 servers first
// (RFC 8305 §3.1). Like a Happy Eyeballs dialer, the Client asks the next
// server as soon as one fails (timeout, SERVFAIL, REFUSED, bad reply) or
// has not answered within 250 ms, while earlier queries keep waiting up to
// the timeout; the first answer wins. This repeats for attempts rounds.
// Servers that stopped answering, or were outpaced, are tried last for a
// while. (glibc instead waits out the whole timeout before the next
// server: a dead first nameserver costs every lookup 5 s there.)
// Answers are cached per (name, family) with their TTL, negative answers
// too (RFC 2308), and identical lookups in flight are shared. Both files are
// re-read when they change (checked at most every 5 s).
//
// The zero value is ready to use: it reads /etc/resolv.conf and /etc/hosts
// when first used. A Client is safe for concurrent use; its fields must not
// change after first use, and it must not be copied after first use.
//
// Search list and the two families: as in Go's resolver, a candidate name
// of the search list that has records of either family ends the search for
// both. If "app" has an A record under the first search domain but no AAAA
// there, IPv6 is answered NODATA rather than with an AAAA record of a later
// candidate: both families always describe the same name. A candidate
// that does not exist (NXDOMAIN) for one family is skipped by the other at
// once, so a lost AAAA query for a search candidate does not hold the A
// lookup back. A candidate whose lookup fails (timeout, SERVFAIL) is
// passed over like a negative one, as Go's resolver does.
type Client struct {
	// Config, if not nil, is used instead of reading ConfPath.
	Config *Config
	// ConfPath is the resolv.conf to read; "" means /etc/resolv.conf.
	ConfPath string
	// HostsPath is the hosts file to read; "" means /etc/hosts. A path
	// that does not exist means no hosts entries.
	HostsPath string

	// CacheSize bounds the cache, in (name, family) entries; the least
	// recently used entry is evicted first. Zero means 4096; negative
	// disables caching (identical lookups in flight are still shared).
	CacheSize int
	// MinTTL raises the TTL of positive answers to at least this (zero:
	// no minimum). Answers with TTL 0 are otherwise not cached.
	MinTTL time.Duration
	// MaxTTL caps the TTL of positive answers. Zero means 1 hour.
	MaxTTL time.Duration
	// NegativeTTL caps how long negative answers (NXDOMAIN, NODATA) are
	// cached; their own TTL comes from the SOA record (RFC 2308). Zero
	// means 5 minutes; negative disables negative caching.
	NegativeTTL time.Duration
	// MaxAddrs bounds the addresses kept per family from one answer. Zero
	// means 64.
	MaxAddrs int

	once sync.Once
	st   *state
}

// state is what a Client builds on first use.
type state struct {
	conf       func() *Config
	hosts      func() *hosts
	confWatch  *fileWatch[*Config] // nil with Client.Config
	hostsWatch *fileWatch[*hosts]
	cache      cache
	health     health
	rotate     atomic.Uint32
	lastConf   atomic.Pointer[Config] // the configuration last used

	maxAddrs       int
	minTTL, maxTTL time.Duration
	negTTL         time.Duration
	exchange       exchangeFunc  // the network; replaced by tests
	lateWindow     time.Duration // see lateAnswerWindow
}

// Close cancels the lookups running when it is called and waits for them
// to end: those a caller still waits for (the caller gets an error that
// wraps net.ErrClosed, not its own context's error), and those every
// caller has left that are kept for up to a second so that a late answer
// still fills the cache (RFC 8305 §5). Cached answers stay; the Client
// remains usable, and lookups started during or after Close run afresh.
// It is safe to call Close concurrently with Resolve and with itself. Use
// it at shutdown, or at the end of a test that checks for leaked
// goroutines.
func (c *Client) Close() error {
	c.state().stopFlights()
	return nil
}

// stopFlights cancels every lookup in flight and waits for them to end.
func (st *state) stopFlights() {
	st.cache.mu.Lock()
	running := make([]*flight, 0, len(st.cache.flights))
	for _, fl := range st.cache.flights {
		fl.cancel(errClientClosed)
		running = append(running, fl)
	}
	st.cache.mu.Unlock()
	for _, fl := range running {
		<-fl.exited
	}
}

func (c *Client) state() *state {
	c.once.Do(func() {
		st := &state{
			maxAddrs:   c.MaxAddrs,
			minTTL:     max(c.MinTTL, 0),
			maxTTL:     c.MaxTTL,
			negTTL:     c.NegativeTTL,
			exchange:   exchange,
			lateWindow: lateAnswerWindow,
		}
		if st.maxAddrs <= 0 {
			st.maxAddrs = defaultMaxAddrs
		}
		if st.maxTTL <= 0 {
			st.maxTTL = defaultMaxTTL
		}
		if st.negTTL == 0 {
			st.negTTL = defaultNegativeTTL
		}
		st.cache.max = c.CacheSize
		if st.cache.max == 0 {
			st.cache.max = defaultCacheSize
		}
		if conf := c.Config; conf != nil {
			st.conf = func() *Config { return conf }
		} else {
			path := c.ConfPath
			if path == "" {
				path = DefaultConfPath
			}
			w := &fileWatch[*Config]{path: path, parse: func(data []byte) *Config {
				c := ParseConfig(data)
				c.applyEnv(os.Getenv)
				return c
			}}
			st.confWatch = w
			st.conf = func() *Config { return w.get(func(c *Config) bool { return c.NoReload }) }
		}
		path := c.HostsPath
		if path == "" {
			path = DefaultHostsPath
		}
		hw := &fileWatch[*hosts]{path: path, parse: parseHosts}
		st.hostsWatch = hw
		st.hosts = func() *hosts { return hw.get(nil) }
		c.st = st
	})
	return c.st
}

// Resolve implements Resolver. The AAAA query goes out before the A query
// (a new A lookup waits until the AAAA query is on the wire, microseconds),
// and each family's Answer is sent the moment it is known. Answers from /etc/hosts, IP literals and
// "localhost" (RFC 6761) are immediate. Errors are *net.DNSError:
// IsNotFound for NXDOMAIN, NODATA and invalid names, IsTimeout when no
// server answered in time; when ctx ends first, the error wraps ctx.Err().
// Values carried by ctx (httptrace hooks) never reach the DNS traffic.
//
// With HTTPS among families, the HTTPS query (RFC 9460) for the same
// name goes out after the AAAA and A queries, and its Answer comes on the
// same channel when known; see resolveHTTPS for the search list and
// AliasMode records. Names answered without DNS (hosts file, IP literals,
// localhost) answer HTTPS negatively at once. A missing HTTPS RRset is
// NODATA; a lost or failed HTTPS query is an error Answer like any
// family's, and holds no address answer back.
func (c *Client) Resolve(ctx context.Context, host string, families ...Family) <-chan Answer {
	// The families asked, AAAA first (RFC 8305 §3), HTTPS last, without
	// allocating.
	var famBuf [3]Family
	fams := famBuf[:0]
	for _, f := range []Family{IPv6, IPv4, HTTPS} {
		if slices.Contains(families, f) {
			fams = append(fams, f)
		}
	}
	out := make(chan Answer, len(fams)) // holds every answer: senders never block
	if len(fams) == 0 {
		close(out)
		return out
	}
	st := c.state()
	name, done := st.immediate(host, fams, out)
	if done {
		close(out)
		return out
	}
	conf := st.conf()
	st.noteConfig(conf)
	cands := conf.nameList(name)

	// The address families that need DNS; HTTPS apart.
	var dnsBuf [2]Family
	dnsFams := dnsBuf[:0]
	https := false
	for _, f := range fams {
		switch {
		case f == HTTPS:
			https = true
			continue
		case f == IPv6 && conf.NoAAAA:
			out <- Answer{Family: f, Err: NotFoundError(host, ErrNoData)}
			continue
		}
		dnsFams = append(dnsFams, f)
	}
	if (len(dnsFams) == 0 && !https) || len(cands) == 0 {
		for _, f := range dnsFams {
			out <- Answer{Family: f, Err: NotFoundError(host, ErrNXDomain)}
		}
		if https {
			out <- Answer{Family: HTTPS, Err: NotFoundError(host, ErrNXDomain)}
		}
		close(out)
		return out
	}
	// The families still to answer: dnsFams, then HTTPS if asked (NoAAAA
	// dropped IPv6, the first of fams, if anything).
	rest := fams[len(fams)-len(dnsFams)-btoi(https):]
	if !https && st.fromCache(host, name, cands, dnsFams, out) {
		close(out)
		return out
	}
	if https {
		// fromCache sends nothing unless it answers every family.
		if ha, ok := st.httpsFromCache(host, name, cands); ok && st.fromCache(host, name, cands, dnsFams, out) {
			out <- ha
			close(out)
			return out
		}
	}
	if ctx.Err() != nil {
		// Already cancelled: start nothing.
		for _, f := range rest {
			out <- Answer{Family: f, Err: ContextError(host, ctx.Err())}
		}
		close(out)
		return out
	}
	lctx := withoutValues(ctx) // a new variable: ctx itself stays on the stack
	p := newPair(len(cands), dnsFams)
	// Join or start the first candidate's lookups here, AAAA before A
	// before HTTPS, so that the AAAA query leaves first (RFC 8305 §3): a
	// lookup started here waits until the one started here before it has
	// sent its query (microseconds), which makes the order on the wire
	// deterministic.
	var sent chan struct{} // closed when the last lookup started here has sent its query
	for i, f := range dnsFams {
		k := cacheKey{cands[0], qtypeOf(f)}
		var gateOut chan struct{}
		if i < len(dnsFams)-1 || https {
			gateOut = make(chan struct{})
		}
		j := &p.first[familyIndex(f)]
		var started bool
		j.r, j.fl, started = st.cache.join(k, time.Now(), st.startFlight(conf, k.name, k.qtype, sent, gateOut))
		if started {
			sent = gateOut
		}
	}
	if !https {
		answerEach(out, dnsFams, func(f Family) Answer {
			return st.resolveFamily(lctx, conf, host, name, cands, f, p)
		})
		return out
	}
	first := st.joinHTTPS(conf, cands[0], sent)
	answerEach(out, rest, func(f Family) Answer {
		if f == HTTPS {
			return st.resolveHTTPS(lctx, conf, host, name, cands, first)
		}
		return st.resolveFamily(lctx, conf, host, name, cands, f, p)
	})
	return out
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// immediate answers every family of fams without DNS when it can: invalid
// names, IP literals, /etc/hosts entries, localhost names and .onion names.
// HTTPS is answered negatively for all of them (NODATA; NXDOMAIN where the
// address families are): they have no DNS records to ask.
// Otherwise it returns the canonical name to look up.
func (st *state) immediate(host string, fams []Family, out chan<- Answer) (name string, done bool) {
	if !mayBeIP(host) {
		// Not an IP literal: skip ParseAddr, which allocates its error.
	} else if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		for _, f := range fams {
			if Of(ip) == f {
				out <- Answer{Family: f, Addrs: []netip.Addr{ip}}
			} else {
				out <- Answer{Family: f, Err: NotFoundError(host, ErrNoData)}
			}
		}
		return "", true
	}
	name, err := canonicalHost(host)
	if err != nil {
		for _, f := range fams {
			if host == "" {
				// As Go's resolver says of an empty name.
				out <- Answer{Family: f, Err: NotFoundError(host, ErrNXDomain)}
				continue
			}
			out <- Answer{Family: f, Err: invalidNameError(host)}
		}
		return "", true
	}
	var addrs []netip.Addr
	nx := false
	hostsAddrs := st.hosts().lookup(name)
	switch {
	case isPortPrefixedLocal(name, st.hosts().lookup):
		// The HTTPS records of a port on a host that DNS is not asked
		// about (RFC 9460 §9.1 names): none, NODATA at once.
	case isLocalhost(name):
		var buf [4]netip.Addr // read below, never kept: stays on the stack
		addrs = appendLocalhostAddrs(buf[:0], hostsAddrs)
	case len(hostsAddrs) > 0:
		addrs = hostsAddrs
	case avoidDNS(name):
		nx = true
	default:
		return name, false
	}
	// One array holds every family's addresses, each answer's capped so
	// that appending to it cannot touch the next.
	var all []netip.Addr
	if len(addrs) > 0 {
		all = make([]netip.Addr, 0, len(addrs))
	}
	for _, f := range fams {
		a := Answer{Family: f}
		start := len(all)
		for _, addr := range addrs {
			if Of(addr) == f && len(all)-start < st.maxAddrs {
				all = append(all, addr)
			}
		}
		if len(all) > start {
			a.Addrs = all[start:len(all):len(all)]
		}
		if len(a.Addrs) == 0 {
			cause := ErrNoData
			if nx {
				cause = ErrNXDomain
			}
			a.Err = NotFoundError(host, cause)
		}
		out <- a
	}
	return "", true
}

// mayBeIP reports whether host could be an IP literal: IPv6 ones contain a
// colon, IPv4 ones only digits and dots.
func mayBeIP(host string) bool {
	if strings.IndexByte(host, ':') >= 0 {
		return true
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return host != ""
}

// startFlight returns the function that starts a flight for (name, qtype).
// If after is not nil, the flight sends nothing before after is closed. If
// sent is not nil, it is closed once the flight has sent its first query
// (or has ended without sending one).
func (st *state) startFlight(conf *Config, name string, qtype uint16, after <-chan struct{}, sent chan struct{}) func(*flight) {
	return func(fl *flight) {
		go func() {
			defer close(fl.exited)
			q := query{name: name, qtype: qtype, useTCP: conf.UseTCP, timeout: conf.timeout()}
			if sent != nil {
				q.sent = sync.OnceFunc(func() { close(sent) })
				defer q.sent()
			}
			if after != nil {
				select {
				case <-after:
				case <-fl.ctx.Done():
				}
			}
			r := st.resolveName(fl.ctx, conf, q)
			if r.kind == failed && errors.Is(context.Cause(fl.ctx), errClientClosed) {
				r = result{kind: failed, err: closedError(name)}
			}
			st.cache.finish(cacheKey{name, qtype}, fl, st.cacheable(r), time.Now())
		}()
	}
}

// cacheable returns r with its TTL clamped for the cache.
func (st *state) cacheable(r result) result {
	switch r.kind {
	case positive:
		if r.ttl < st.minTTL {
			r.ttl = st.minTTL
		}
		r.ttl = min(r.ttl, st.maxTTL)
	case nxdomain, nodata:
		if st.negTTL < 0 {
			r.ttl = 0
		}
		r.ttl = min(r.ttl, st.negTTL)
	default:
		r.ttl = 0
	}
	return r
}

// noteConfig flushes the cache and the server health memory when the
// configuration in use changes its servers or search list (resolv.conf
// was edited): answers from the old servers, or for the old search list,
// must not outlive them, as they would not with glibc or Go, which keep no
// cache.
func (st *state) noteConfig(conf *Config) {
	old := st.lastConf.Swap(conf)
	if old == nil || old == conf {
		return
	}
	if slices.Equal(old.Servers, conf.Servers) && slices.Equal(old.Search, conf.Search) && old.Ndots == conf.Ndots {
		return
	}
	st.cache.flush()
	st.health.reset()
}
