package dialer

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// learner connects one dial to a History; a nil *learner learns nothing.
type learner struct {
	h    *History
	src  rfc6724.SourceFunc // without the history; read through srcOf
	host string
	port uint16
	// probeAt, when set, is when the dial began, and src is
	// rfc6724.ProbeSource: srcOf asks it as of then (ProbeSourceAt).
	probeAt time.Time

	memo srcMemo
}

// srcMemo remembers, for one dial, the source addresses src gave for its
// first few destinations: planning and scheduling ask for the same ones
// many times, and each answer from the process-wide cache costs a lock
// and a clock read. The cache behind src holds its answers for seconds,
// so remembering them for one dial changes nothing.
//
// Reads take no lock (a dial reads it several times for each write): an
// entry is written, under mu, before n counts it, and never again.
type srcMemo struct {
	mu  sync.Mutex   // serializes writers
	n   atomic.Int32 // entries written
	dst [4]netip.Addr
	src [4]netip.Addr
	ok  [4]bool
}

// srcOf is src(dst), remembered for the dial.
func (l *learner) srcOf(dst netip.Addr) (netip.Addr, bool) {
	m := &l.memo
	for i := range int(m.n.Load()) {
		if m.dst[i] == dst {
			return m.src[i], m.ok[i]
		}
	}
	var s netip.Addr
	var ok bool
	if l.probeAt.IsZero() {
		s, ok = l.src(dst)
	} else {
		s, ok = rfc6724.ProbeSourceAt(dst, l.probeAt)
	}
	m.mu.Lock()
	if n := int(m.n.Load()); n < len(m.dst) {
		m.dst[n], m.src[n], m.ok[n] = dst, s, ok
		m.n.Store(int32(n + 1))
	}
	m.mu.Unlock()
	return s, ok
}

// Probe destinations whose source addresses identify the network a name
// was learned on: the root name server a.root-servers.net's addresses.
// Only a route lookup is made (no packet is sent).
var (
	networkProbe6 = netip.MustParseAddr("2001:503:ba3e::2:30")
	networkProbe4 = netip.MustParseAddr("198.41.0.4")
)

func (l *learner) nameKey() nameKey {
	k := nameKey{host: strings.ToLower(strings.TrimSuffix(l.host, ".")), port: l.port}
	k.src6, _ = l.srcOf(networkProbe6)
	k.src4, _ = l.srcOf(networkProbe4)
	return k
}

// sourceFunc is source as an rfc6724.SourceFunc.
func (l *learner) sourceFunc() rfc6724.SourceFunc { return l.source }

// source is src, but destinations marked unreachable have no usable
// source, which RFC 6724 rule 1 sorts last.
func (l *learner) source(dst netip.Addr) (netip.Addr, bool) {
	s, ok := l.srcOf(dst)
	if !ok {
		return s, ok
	}
	st, found := l.h.dest(destKey{s, netip.AddrPortFrom(dst, l.port)})
	if found && time.Now().Before(st.unreachableUntil) {
		return netip.Addr{}, false
	}
	return s, ok
}

// rank is the RFC 8305 §4 history rule for dst, for rfc6724.SortRanked:
// not recently refused first; then lower historical RTT; then used before.
func (l *learner) rank(dst netip.Addr) uint16 {
	s, ok := l.srcOf(dst)
	if !ok {
		return 0
	}
	st, _ := l.h.dest(destKey{s, netip.AddrPortFrom(dst, l.port)})
	var r uint16 = 1 << 15 // not refused
	now := time.Now()
	if now.Before(st.refusedUntil) {
		r = 0
	}
	if srtt, _, _, ok := l.rtt(s, netip.AddrPortFrom(dst, l.port), st, now); ok {
		// Used before (the low bit), and faster is better: an RTT class
		// from 1 (2 s or more) up to 14 (under 1 ms).
		r |= uint16(rttClass(srtt))<<1 | 1
	}
	return r
}

// Where a round-trip time came from.
const (
	fromHistory = "history" // measured by this History (or loaded into it)
	fromHost    = "host"    // the kernel's TCP metrics (HostMemory)
)

// rtt returns what is known of the round trip to dst from src: the
// History's own fresh sample (st), else, with HostMemory, the kernel's.
func (l *learner) rtt(src netip.Addr, dst netip.AddrPort, st destState, now time.Time) (srtt, rttvar time.Duration, from string, ok bool) {
	if st.srtt > 0 && now.Sub(st.rttAt) < rttTTL {
		return st.srtt, st.rttvar, fromHistory, true
	}
	if !l.h.HostMemory || dst.Addr().IsLoopback() {
		return 0, 0, "", false
	}
	e, ok := hostLookup(src, dst.Addr())
	if !ok || e.RTT <= 0 || e.Age >= rttTTL {
		return 0, 0, "", false
	}
	return e.RTT, e.RTTVar, fromHost, true
}

// hostUsedFamily reports whether, with HostMemory, the host's kernel
// saved a connection over family f within the round-trip lifetime, from
// the source address the host uses toward f (so on this network).
func (l *learner) hostUsedFamily(f resolver.Family) bool {
	if !l.h.HostMemory {
		return false
	}
	probe := networkProbe4
	if f == resolver.IPv6 {
		probe = networkProbe6
	}
	src, ok := l.srcOf(probe)
	if !ok {
		return false
	}
	age, ok := hostNewest(src)
	return ok && age < rttTTL
}

// known says what the History knows of dst, for the Trace: "unreachable",
// "refused", where a round trip came from ("history", "host"), or "".
func (l *learner) known(dst netip.AddrPort) string {
	if l == nil {
		return ""
	}
	s, ok := l.srcOf(dst.Addr())
	if !ok {
		return ""
	}
	st, _ := l.h.dest(destKey{s, dst})
	now := time.Now()
	switch {
	case now.Before(st.unreachableUntil):
		return "unreachable"
	case now.Before(st.refusedUntil):
		return "refused"
	}
	_, _, from, _ := l.rtt(s, dst, st, now)
	return from
}

// used reports whether dst connected recently (its round trip is known).
func (l *learner) used(dst netip.Addr) bool {
	s, ok := l.srcOf(dst)
	if !ok {
		return false
	}
	ap := netip.AddrPortFrom(dst, l.port)
	st, _ := l.h.dest(destKey{s, ap})
	_, _, _, ok = l.rtt(s, ap, st, time.Now())
	return ok
}

// rttClass buckets an RTT so that noise between similar paths does not
// reorder them (which would defeat DNS round robin): 14 for under 1 ms, 1
// for 2 s or more.
func rttClass(rtt time.Duration) int {
	bounds := [...]time.Duration{
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		300 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second, 2 * time.Second,
	}
	for i, b := range bounds {
		if rtt < b {
			return len(bounds) + 1 - i
		}
	}
	return 1
}

// attemptDelay is the Connection Attempt Delay after starting an attempt to
// dst, from its RTT history (RFC 8305 §5: like TCP's first retransmission
// timeout, SRTT + 4·RTTVAR, RFC 6298 §2), within [100 ms, 2 s]; false
// without history.
func (l *learner) attemptDelay(dst netip.AddrPort, now time.Time) (delay time.Duration, from string, ok bool) {
	if l == nil {
		return 0, "", false
	}
	s, ok := l.srcOf(dst.Addr())
	if !ok {
		return 0, "", false
	}
	st, _ := l.h.dest(destKey{s, dst})
	srtt, rttvar, from, ok := l.rtt(s, dst, st, now)
	if !ok {
		return 0, "", false
	}
	return min(max(srtt+4*rttvar, minAdaptiveDelay), maxAdaptiveDelay), from, true
}

func (l *learner) update(dst netip.AddrPort, f func(*destState)) {
	if l == nil {
		return
	}
	if s, ok := l.srcOf(dst.Addr()); ok {
		l.h.updateDest(destKey{s, dst}, f)
	}
}

// connected records a connection to dst whose TCP handshake took rtt
// (zero: not measured) and ended at now: the marks against it go, and
// rtt is a sample.
func (l *learner) connected(dst netip.AddrPort, rtt time.Duration, now time.Time) {
	if l == nil {
		return
	}
	s, ok := l.srcOf(dst.Addr())
	if !ok {
		return
	}
	l.h.updateDestAt(destKey{s, dst}, now, func(st *destState) {
		st.unreachableUntil, st.refusedUntil = time.Time{}, time.Time{}
		if rtt <= 0 || rtt >= initialRTO {
			// A handshake that took the initial retransmission timeout or
			// longer had its SYN sent again: the time says nothing of the
			// round trip (Karn's rule, RFC 6298 §3), and one such sample
			// would push the Connection Attempt Delay to its 2 s ceiling.
			return
		}
		if st.srtt == 0 || now.Sub(st.rttAt) >= rttTTL {
			st.srtt, st.rttvar = rtt, rtt/2
		} else {
			st.rttvar = (3*st.rttvar + (st.srtt - rtt).Abs()) / 4
			st.srtt = (7*st.srtt + rtt) / 8
		}
		st.rttAt = now
	})
}

// initialRTO is TCP's initial retransmission timeout (RFC 6298 §2.1, and
// Linux's for a SYN): a connect that took this long was retransmitted.
const initialRTO = time.Second

func (l *learner) unreachable(dst netip.AddrPort) {
	l.update(dst, func(st *destState) { st.unreachableUntil = time.Now().Add(historyTTL) })
}

// failed records a failed attempt: timeouts and unreachable networks mark
// the destination unreachable; a refusal (the path works, the service
// does not) sorts it after the others of its family for a while.
func (l *learner) failed(dst netip.AddrPort, err error) {
	if l == nil {
		return
	}
	switch {
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, context.DeadlineExceeded):
		l.unreachable(dst)
	case errors.Is(err, syscall.ECONNREFUSED):
		l.update(dst, func(st *destState) {
			st.unreachableUntil = time.Time{}
			st.refusedUntil = time.Now().Add(refusedTTL)
		})
	case errors.Is(err, context.Canceled):
		// Says nothing about the path.
	default:
		l.update(dst, func(st *destState) { st.unreachableUntil = time.Time{} })
	}
}

// nameState returns what was learned of the dial's host name.
func (l *learner) nameState() nameState {
	if l == nil {
		return nameState{}
	}
	st, _ := l.h.name(l.nameKey())
	return st
}

// learnName records, for the dial's host name, which family to try
// second (zero: forget it) for the next ttl, and whether the AAAA answer missed the
// Resolution Delay (late) or came in time (onTime).
func (l *learner) learnName(second resolver.Family, setSecond bool, ttl time.Duration, aaaaLate, aaaaOnTime bool) {
	if l == nil || (!setSecond && !aaaaLate && !aaaaOnTime) {
		return
	}
	now := time.Now()
	l.h.updateName(l.nameKey(), func(st *nameState) {
		if setSecond {
			st.second, st.secondUntil = second, now.Add(ttl)
		}
		switch {
		case aaaaLate:
			st.aaaaLate = now.Add(historyTTL)
		case aaaaOnTime:
			st.aaaaLate = time.Time{}
		}
	})
}

// The learned history in a dial.

// maxBackups bounds the backup attempts to one address in one dial.
const maxBackups = 2

// learnSlow marks as unreachable the attempts still running that have had
// a whole Connection Attempt Delay to connect and have not, but for the
// winner's address (a backup attempt to it connected).
func (r *run) learnSlow(winner netip.AddrPort) {
	if r.learn == nil || len(r.running) == 0 {
		return
	}
	now := time.Now()
	for _, a := range r.running {
		if now.Sub(a.start) >= a.delay && a.addr != winner {
			r.learn.unreachable(a.addr)
		}
	}
}

// hasBackup reports whether a backup attempt may start when the schedule
// says (see backupCandidate).
func (r *run) hasBackup() bool {
	if len(r.running) == 0 || r.sched.left(len(r.cands.untried), len(r.cands.tried)) > 0 {
		return false
	}
	_, ok := r.backupCandidate()
	return ok
}

// backupCandidate returns the address for a backup attempt (Chromium's
// backup connect job, generalised): when no other address is waiting, an
// attempt that has not answered within its Connection Attempt Delay has
// more likely lost a SYN or SYN-ACK than gone dark, and a new socket's
// fresh SYN is not bound to the kernel's 1 s retransmission timer (RFC
// 6298 §2). At most maxBackups per address and dial; the first address
// tried that qualifies. An address qualifies when it is known to work
// (it has round-trip history), or when it is the dial's only address
// once every answer is in: a host with one address, as most database
// servers have, has nothing else to race. With no history and other
// addresses there are no backups, so that cold dials to several
// addresses behave as RFC 8305 describes and a black hole draws no more
// attempts than it did.
func (r *run) backupCandidate() (netip.Addr, bool) {
	lone := r.ans.pending == 0 && len(r.cands.tried) == 1 && len(r.cands.untried) == 0
	for _, a := range r.running {
		addr := a.addr.Addr()
		n := 0
		for _, b := range r.backups {
			if b == addr {
				n++
			}
		}
		if n >= maxBackups {
			continue
		}
		if lone {
			return addr, true
		}
		if _, _, ok := r.learn.attemptDelay(a.addr, time.Now()); ok {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// nextKnown reports whether the next untried address is known to work
// while no attempt in flight is to such an address (see progress).
func (r *run) nextKnown() bool {
	if r.cands.learn == nil || len(r.cands.untried) == 0 || len(r.running) == 0 ||
		!r.cands.learn.used(r.cands.untried[0]) {
		return false
	}
	for _, a := range r.running {
		if r.cands.learn.used(a.addr.Addr()) {
			return false
		}
	}
	return true
}

// historyEffect says, for the Trace, how the learned history shaped the
// attempt about to start now to the first untried address: reordered,
// when RFC 6724 sorting and the interleaving alone (the Dialer's
// PreferredFamily, sources without the history's marks, no history rank)
// would have picked another of the untried addresses; early, when it
// starts before the previous attempt's delay ran out only because the
// address is known to work (see nextKnown). It costs a second plan, made
// only when a Trace wants it.
func (r *run) historyEffect(now time.Time) (reordered, early bool) {
	if r.learn == nil || len(r.cands.untried) == 0 {
		return false, false
	}
	plain := plan(slices.Clone(r.cands.untried), r.cands.tried, r.cands.firstCount, r.d.preferredFamily(), r.rawSrc, nil)
	reordered = plain[0] != r.cands.untried[0]
	early = len(r.cands.tried) > 0 && !r.failed && len(r.running) > 0 &&
		now.Before(r.lastStart.Add(r.lastDelay)) && r.nextKnown()
	return reordered, early
}

// attemptDelay is the Connection Attempt Delay after starting an attempt
// to ap: the Dialer's, or, when that is left at its default, one derived
// from ap's round-trip time history (RFC 8305 §5); from says which
// history ("" for the Dialer's delay).
func (r *run) attemptDelay(ap netip.AddrPort, now time.Time) (delay time.Duration, from string) {
	if r.d.ConnectionAttemptDelay == 0 {
		if d, from, ok := r.learn.attemptDelay(ap, now); ok {
			return d, from
		}
	}
	return r.sched.attemptDelay, ""
}
