package dialer

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
)

// History: what a Dialer learns across dials.
//
// RFC 6724 rule 1 prefers a destination over one that "is known to be
// unreachable". A dial learns that a destination is unreachable when its
// attempt times out (a black hole), when the network reports it
// unreachable, or when it is still without an answer a full Connection
// Attempt Delay after it started and another address has won. The next
// dials to that service then sort it after the ones that work, so a broken
// IPv6 path costs one Connection Attempt Delay once, not on every
// connection as with net.Dialer. The address is still tried (after the
// others), and the mark is dropped as soon as an attempt to it connects, or
// after historyTTL.
//
// The history is keyed by (source address, destination address and port):
// what was learned on one network (one source address) never applies on
// another (RFC 8305 §4), and one service's black hole does not affect
// another's. It is learned only on the built-in connection path; attempts
// made by a DialAttempt hook run over routes the Dialer cannot see.

// historyTTL is how long an unreachable mark lasts. RFC 6555 §4.2 suggests
// remembering such results for no more than 10 minutes.
const historyTTL = 10 * time.Minute

// historyMax bounds the number of marks kept.
const historyMax = 4096

type historyKey struct {
	src netip.Addr
	dst netip.AddrPort
}

type history struct {
	mu    sync.Mutex
	marks map[historyKey]time.Time // when the mark expires
}

// sharedHistory is used by every Dialer whose DisableHistory is false.
var sharedHistory history

func (h *history) unreachable(src netip.Addr, dst netip.AddrPort, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	exp, ok := h.marks[historyKey{src, dst}]
	if ok && !now.Before(exp) {
		delete(h.marks, historyKey{src, dst})
		return false
	}
	return ok
}

func (h *history) markUnreachable(src netip.Addr, dst netip.AddrPort, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.marks == nil {
		h.marks = make(map[historyKey]time.Time)
	}
	if len(h.marks) >= historyMax {
		// Drop expired marks; if none are, drop an arbitrary one: the
		// history is an optimisation, never a correctness need.
		for k, exp := range h.marks {
			if !now.Before(exp) {
				delete(h.marks, k)
			}
		}
		for k := range h.marks {
			if len(h.marks) < historyMax {
				break
			}
			delete(h.marks, k)
		}
	}
	h.marks[historyKey{src, dst}] = now.Add(historyTTL)
}

func (h *history) markReachable(src netip.Addr, dst netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.marks, historyKey{src, dst})
}

// learner connects one dial to the history; a nil *learner learns nothing.
type learner struct {
	h    *history
	src  rfc6724.SourceFunc
	port uint16
}

// sourceFunc wraps src so that destinations marked unreachable have no
// usable source, which RFC 6724 rule 1 sorts last.
func (l *learner) sourceFunc() rfc6724.SourceFunc {
	return func(dst netip.Addr) (netip.Addr, bool) {
		s, ok := l.src(dst)
		if ok && l.h.unreachable(s, netip.AddrPortFrom(dst, l.port), time.Now()) {
			return netip.Addr{}, false
		}
		return s, ok
	}
}

func (l *learner) reachable(dst netip.AddrPort) {
	if l == nil {
		return
	}
	if s, ok := l.src(dst.Addr()); ok {
		l.h.markReachable(s, dst)
	}
}

func (l *learner) unreachable(dst netip.AddrPort) {
	if l == nil {
		return
	}
	if s, ok := l.src(dst.Addr()); ok {
		l.h.markUnreachable(s, dst, time.Now())
	}
}

// failed records a failed attempt: timeouts and unreachable networks mark
// the destination; refusals and other errors say the path works.
func (l *learner) failed(dst netip.AddrPort, err error) {
	if l == nil {
		return
	}
	switch {
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, context.DeadlineExceeded):
		l.unreachable(dst)
	case errors.Is(err, context.Canceled):
		// Says nothing about the path.
	default:
		l.reachable(dst)
	}
}
