package resolver

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// query is one question as it goes to the servers: what resolveName,
// round and exchange need to know besides the server. It is passed down by
// value; only sent is shared.
type query struct {
	name    string        // rooted, canonical
	qtype   uint16        // dns.TypeAAAA, dns.TypeA or dns.TypeHTTPS
	useTCP  bool          // TCP only (options use-vc)
	timeout time.Duration // per transport (options timeout)
	// sent, if not nil, is called once the query is on its way (over
	// TCP: before connecting), so that the A lookup can wait for the
	// AAAA query to leave first (RFC 8305 §3). It may be called more than
	// once, from several servers' exchanges at the same time.
	sent func()
}

// badServerPenalty is how long a server that failed to answer (timeout,
// unreachable) is tried after the others.
const badServerPenalty = 30 * time.Second

// health remembers servers that stopped answering.
type health struct {
	mu  sync.Mutex
	bad map[netip.AddrPort]time.Time // server → when its penalty ends
}

func (h *health) markBad(s netip.AddrPort, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad == nil {
		h.bad = make(map[netip.AddrPort]time.Time)
	}
	for k, until := range h.bad { // keep the map small: drop expired penalties
		if !now.Before(until) {
			delete(h.bad, k)
		}
	}
	h.bad[s] = now.Add(badServerPenalty)
}

func (h *health) markGood(s netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.bad, s)
}

// reset forgets every penalty (the servers changed).
func (h *health) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.bad)
}

func (h *health) isBad(s netip.AddrPort, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	until, ok := h.bad[s]
	return ok && now.Before(until)
}

// serverOrder returns the order in which to ask servers: IPv6 servers
// before IPv4 ones (RFC 8305 §3.1), each in resolv.conf order; rotated by
// offset (options rotate); then servers that recently stopped answering
// moved to the end. Pure, for table tests.
func serverOrder(servers []netip.AddrPort, offset int, bad func(netip.AddrPort) bool) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(servers))
	for _, s := range servers {
		if s.Addr().Is6() {
			out = append(out, s)
		}
	}
	for _, s := range servers {
		if !s.Addr().Is6() {
			out = append(out, s)
		}
	}
	if n := len(out); n > 1 && offset%n != 0 {
		k := offset % n
		out = append(out[k:], out[:k]...)
	}
	if bad != nil {
		slices.SortStableFunc(out, func(a, b netip.AddrPort) int {
			ba, bb := bad(a), bad(b)
			switch {
			case ba == bb:
				return 0
			case bb:
				return -1
			}
			return 1
		})
	}
	return out
}

// serverStagger is how long a query waits for one server before the same
// query also goes to the next server (RFC 8305 §3.1 applies Happy Eyeballs
// to DNS servers; 250 ms is §5's Connection Attempt Delay). The first
// server's query keeps running; the first usable reply wins.
const serverStagger = 250 * time.Millisecond

// serverReply is one server's outcome in a round of resolveName.
type serverReply struct {
	i   int // index in the round's server order
	srv netip.AddrPort
	m   *dns.Msg
	err error
}

// resolveName looks up q (one rooted name, one query type) with the
// configured servers, in Attempts rounds. In a round the servers are asked
// in serverOrder, staggered: the next server is asked when the previous
// one has failed (timeout, unreachable, SERVFAIL, REFUSED, lame referral,
// malformed reply) or has not answered within serverStagger, and every
// query waits up to Timeout. The first answer (addresses, NXDOMAIN or
// NODATA) ends the lookup; the queries still running are cancelled, and
// servers asked earlier that had not answered are tried last for a while
// (the health memory). It returns the last failure when no server gave an
// answer.
func (st *state) resolveName(ctx context.Context, conf *Config, q query) result {
	offset := 0
	if conf.Rotate {
		offset = int(st.rotate.Add(1) - 1)
	}
	stagger := min(serverStagger, conf.timeout())
	last := result{kind: failed, err: serverError(errTextNoSuchHost, q.name, netip.AddrPort{}, true)}
	for range conf.attempts() {
		// Ordered again for each round: a server that just timed out
		// goes to the back.
		now := time.Now()
		servers := serverOrder(conf.servers(), offset, func(s netip.AddrPort) bool { return st.health.isBad(s, now) })
		r, done := st.round(ctx, servers, q, stagger, &last)
		if done {
			return r
		}
		if ctx.Err() != nil {
			return result{kind: failed, err: ContextError(q.name, ctx.Err())}
		}
	}
	return last
}

// round asks each of servers once, staggered (see resolveName). It
// reports the answer and true when a server gave one; otherwise it
// records the last failure in *last. It returns only once every query it
// started has ended.
func (st *state) round(ctx context.Context, servers []netip.AddrPort, q query, stagger time.Duration, last *result) (result, bool) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	replies := make(chan serverReply, len(servers)) // one slot per server: senders never block
	launched, pending := 0, 0
	ended := make([]bool, len(servers))
	launch := func() {
		i, srv := launched, servers[launched]
		launched++
		pending++
		go func() {
			m, err := st.exchange(rctx, srv, q)
			replies <- serverReply{i, srv, m, err}
		}()
	}
	timer := time.NewTimer(stagger)
	defer timer.Stop()
	next := func() { // the next server now, and the one after it a stagger later
		if launched < len(servers) {
			launch()
			timer.Reset(stagger)
		}
	}
	next()
	var answer result
	found := false
	for pending > 0 {
		select {
		case <-timer.C:
			if rctx.Err() == nil {
				next()
			}
		case rep := <-replies:
			pending--
			ended[rep.i] = true
			if found {
				continue // draining after the answer
			}
			if rep.err != nil {
				if rctx.Err() != nil {
					continue // cancelled: not the server's fault; start nothing more
				}
				st.health.markBad(rep.srv, time.Now())
				*last = result{kind: failed, err: exchangeError(rep.err, q.name, rep.srv)}
				next()
				continue
			}
			st.health.markGood(rep.srv)
			r := extract(rep.m, q.name, q.qtype, st.maxAddrs, rep.srv)
			if r.kind == failed {
				*last = r
				next()
				continue
			}
			answer, found = r, true
			// Servers asked earlier that have not answered yet were
			// outpaced: try them last for a while.
			for i := range rep.i {
				if !ended[i] {
					st.health.markBad(servers[i], time.Now())
				}
			}
			cancel() // the others' queries end at once; wait for them
		}
	}
	return answer, found
}
