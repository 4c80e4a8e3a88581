package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
)

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

// resolveName looks up one rooted name for one query type with the
// configured servers: Attempts rounds over all servers, each query given
// Timeout, moving on after a timeout, an unreachable server, SERVFAIL,
// REFUSED, a lame referral or a malformed reply. NXDOMAIN and NODATA from
// a server are final. It returns the last failure when no server gave an
// answer.
func (st *state) resolveName(ctx context.Context, conf *Config, name string, qtype uint16) result {
	offset := 0
	if conf.Rotate {
		offset = int(st.rotate.Add(1) - 1)
	}
	last := result{kind: failed, err: dnsError(errTextNoSuchHost, name, netip.AddrPort{}, false, true)}
	for range conf.attempts() {
		// Ordered again for each round: a server that just timed out
		// goes to the back.
		now := time.Now()
		servers := serverOrder(conf.servers(), offset, func(s netip.AddrPort) bool { return st.health.isBad(s, now) })
		for _, srv := range servers {
			if ctx.Err() != nil {
				return last
			}
			m, err := st.exchange(ctx, srv, name, qtype, conf.UseTCP, conf.timeout())
			if err != nil {
				if ctx.Err() != nil {
					// Cancelled (no waiter left): not the server's fault.
					return result{kind: failed, err: &net.DNSError{Err: ctx.Err().Error(), Name: name,
						Server: srv.String(), UnwrapErr: ctx.Err()}}
				}
				st.health.markBad(srv, time.Now())
				last = result{kind: failed, err: exchangeError(err, name, srv)}
				continue
			}
			st.health.markGood(srv)
			r := extract(m, name, qtype, st.maxAddrs, srv)
			if r.kind == failed {
				last = r
				continue
			}
			return r
		}
	}
	return last
}

// exchangeError turns a transport error into a *net.DNSError.
func exchangeError(err error, name string, srv netip.AddrPort) *net.DNSError {
	e := &net.DNSError{Err: err.Error(), Name: name, Server: srv.String(), UnwrapErr: err}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		// The per-query timeout, not the caller's deadline: an i/o
		// timeout, so errors.Is(err, context.DeadlineExceeded) stays
		// reserved for the caller's own context.
		e.Err, e.IsTimeout, e.IsTemporary, e.UnwrapErr = "i/o timeout", true, true, os.ErrDeadlineExceeded
	case errors.Is(err, errMalformed):
		e.Err = errTextMalformed
	}
	return e
}
