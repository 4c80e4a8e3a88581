package dialer

import (
	"container/list"
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/internal/tcpmetrics"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// History holds what Dialers learn across dials, so that a broken path
// costs its delay once rather than on every connection:
//
//   - destinations whose attempts went unanswered (a black hole) or were
//     reported unreachable are sorted after working ones for 10 minutes
//     (RFC 6724 rule 1, "avoid unusable destinations"; RFC 6555 §4.2);
//   - destinations that refused a connection are sorted after the others
//     of their family for 30 seconds;
//   - destinations that connected are preferred, the faster first, among
//     those equal up to RFC 6724 rule 8 (RFC 8305 §4: a rule on historical
//     RTT, then one for addresses used before, between rules 8 and 9), and
//     their smoothed round-trip time sets the Connection Attempt Delay
//     when the Dialer's is left at its default (RFC 8305 §5);
//   - per host name, a family whose attempts went unanswered while the
//     other family connected goes second on the next dials (it is still
//     tried, one Connection Attempt Delay later), and an AAAA answer that
//     missed the Resolution Delay is not waited for again (it is still
//     asked for, and used when it comes);
//   - when one family has destinations that connected recently and the
//     other has none, that family goes first (with HostMemory, what the
//     host's kernel remembers counts too, so a fresh process starts warm).
//
// Everything is keyed by the source address the host uses (for a name, by
// the sources toward each family), so what was learned on one network
// never applies on another (RFC 8305 §4). The marks are dropped as soon as
// a dial proves them wrong, or when they expire.
//
// The zero value is ready to use. A History is safe for concurrent use
// and bounded: it keeps the most recently used 4096 destinations and 1024
// names. A Dialer uses its own History when given one, and otherwise a
// process-wide one (see Dialer.History).
type History struct {
	// HostMemory, when set, adds what the host already knows to what the
	// History learned itself: on Linux, the kernel's per-destination TCP
	// metrics (what "ip tcp_metrics show" lists, kept across processes
	// unless net.ipv4.tcp_no_metrics_save is set), read in the background
	// and never waited for. A destination the kernel connected to in the
	// last 10 minutes counts as used before, with the kernel's round-trip
	// time, for those the History knows nothing of: the family with such
	// destinations goes first when the other has none, and the delay
	// follows that round trip. An entry's absence proves nothing.
	// Loopback destinations are left out. The process-wide History has it
	// set; elsewhere than Linux it does nothing.
	HostMemory bool

	mu    sync.Mutex
	dests lru[destKey, destState]
	names lru[nameKey, nameState]
}

// How long each kind of mark lasts.
const (
	historyTTL = 10 * time.Minute // unreachable marks and name marks (RFC 6555 §4.2)
	refusedTTL = 30 * time.Second
	rttTTL     = 10 * time.Minute
)

// Bounds on what a History keeps.
const (
	maxDests = 4096
	maxNames = 1024
)

// Bounds of a Connection Attempt Delay derived from RTT history (RFC 8305
// §5, §8).
const (
	minAdaptiveDelay = 100 * time.Millisecond
	maxAdaptiveDelay = 2 * time.Second
)

// sharedHistory serves Dialers that have no History of their own.
var sharedHistory = History{HostMemory: true}

// hostMemory is the kernel's TCP metrics, shared by every History with
// HostMemory set; hostLookup reads it (a seam for tests).
var (
	hostMemory tcpmetrics.Cache
	hostLookup = hostMemory.Lookup
)

// Reset forgets everything learned, as when the host moves to another
// network.
func (h *History) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dests.clear()
	h.names.clear()
}

type destKey struct {
	src netip.Addr
	dst netip.AddrPort
}

type destState struct {
	unreachableUntil time.Time
	refusedUntil     time.Time
	srtt, rttvar     time.Duration // RFC 6298 §2; zero srtt: no sample
	rttAt            time.Time     // when the last sample was taken
	at               time.Time     // when last updated (newer wins when merging a saved History)
}

// nameKey is a host name on one network: the source addresses the host
// uses toward each family when the name was learned.
type nameKey struct {
	host string
	port uint16
	src6 netip.Addr
	src4 netip.Addr
}

type nameState struct {
	second      resolver.Family // the family to try second; zero: none learned
	secondUntil time.Time
	aaaaLate    time.Time // until when the AAAA answer is not waited for
	at          time.Time // when last updated (newer wins when merging a saved History)
}

func (h *History) dest(k destKey) (destState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dests.get(k)
}

func (h *History) updateDest(k destKey, f func(*destState)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.dests.get(k)
	f(&s)
	s.at = time.Now()
	h.dests.put(k, s, maxDests)
}

func (h *History) name(k nameKey) (nameState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.names.get(k)
}

func (h *History) updateName(k nameKey, f func(*nameState)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, _ := h.names.get(k)
	f(&s)
	s.at = time.Now()
	h.names.put(k, s, maxNames)
}

// learner connects one dial to a History; a nil *learner learns nothing.
type learner struct {
	h    *History
	src  rfc6724.SourceFunc // without the history
	host string
	port uint16
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
	k.src6, _ = l.src(networkProbe6)
	k.src4, _ = l.src(networkProbe4)
	return k
}

// sourceFunc wraps src so that destinations marked unreachable have no
// usable source, which RFC 6724 rule 1 sorts last.
func (l *learner) sourceFunc() rfc6724.SourceFunc {
	return func(dst netip.Addr) (netip.Addr, bool) {
		s, ok := l.src(dst)
		if !ok {
			return s, ok
		}
		st, found := l.h.dest(destKey{s, netip.AddrPortFrom(dst, l.port)})
		if found && time.Now().Before(st.unreachableUntil) {
			return netip.Addr{}, false
		}
		return s, ok
	}
}

// rank is the RFC 8305 §4 history rule for dst, for rfc6724.SortRanked:
// not recently refused first; then lower historical RTT; then used before.
func (l *learner) rank(dst netip.Addr) uint16 {
	s, ok := l.src(dst)
	if !ok {
		return 0
	}
	st, _ := l.h.dest(destKey{s, netip.AddrPortFrom(dst, l.port)})
	var r uint16 = 1 << 15 // not refused
	if time.Now().Before(st.refusedUntil) {
		r = 0
	}
	if srtt, _, _, ok := l.rtt(s, netip.AddrPortFrom(dst, l.port), st); ok {
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
func (l *learner) rtt(src netip.Addr, dst netip.AddrPort, st destState) (srtt, rttvar time.Duration, from string, ok bool) {
	if st.srtt > 0 && time.Since(st.rttAt) < rttTTL {
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

// known says what the History knows of dst, for the Trace: "unreachable",
// "refused", where a round trip came from ("history", "host"), or "".
func (l *learner) known(dst netip.AddrPort) string {
	if l == nil {
		return ""
	}
	s, ok := l.src(dst.Addr())
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
	_, _, from, _ := l.rtt(s, dst, st)
	return from
}

// used reports whether dst connected recently (its round trip is known).
func (l *learner) used(dst netip.Addr) bool {
	s, ok := l.src(dst)
	if !ok {
		return false
	}
	ap := netip.AddrPortFrom(dst, l.port)
	st, _ := l.h.dest(destKey{s, ap})
	_, _, _, ok = l.rtt(s, ap, st)
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
func (l *learner) attemptDelay(dst netip.AddrPort) (delay time.Duration, from string, ok bool) {
	if l == nil {
		return 0, "", false
	}
	s, ok := l.src(dst.Addr())
	if !ok {
		return 0, "", false
	}
	st, _ := l.h.dest(destKey{s, dst})
	srtt, rttvar, from, ok := l.rtt(s, dst, st)
	if !ok {
		return 0, "", false
	}
	return min(max(srtt+4*rttvar, minAdaptiveDelay), maxAdaptiveDelay), from, true
}

func (l *learner) update(dst netip.AddrPort, f func(*destState)) {
	if l == nil {
		return
	}
	if s, ok := l.src(dst.Addr()); ok {
		l.h.updateDest(destKey{s, dst}, f)
	}
}

// connected records a connection to dst whose TCP handshake took rtt
// (zero: not measured): the marks against it go, and rtt is a sample.
func (l *learner) connected(dst netip.AddrPort, rtt time.Duration) {
	l.update(dst, func(st *destState) {
		st.unreachableUntil, st.refusedUntil = time.Time{}, time.Time{}
		if rtt <= 0 {
			return
		}
		if st.srtt == 0 || time.Since(st.rttAt) >= rttTTL {
			st.srtt, st.rttvar = rtt, rtt/2
		} else {
			st.rttvar = (3*st.rttvar + (st.srtt - rtt).Abs()) / 4
			st.srtt = (7*st.srtt + rtt) / 8
		}
		st.rttAt = time.Now()
	})
}

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
// second (zero: forget it) and whether the AAAA answer missed the
// Resolution Delay (late) or came in time (onTime).
func (l *learner) learnName(second resolver.Family, setSecond bool, aaaaLate, aaaaOnTime bool) {
	if l == nil || (!setSecond && !aaaaLate && !aaaaOnTime) {
		return
	}
	now := time.Now()
	l.h.updateName(l.nameKey(), func(st *nameState) {
		if setSecond {
			st.second, st.secondUntil = second, now.Add(historyTTL)
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
	if r.learn == nil {
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
	if r.learn == nil || len(r.running) == 0 || r.sched.left(len(r.cands.untried), len(r.cands.tried)) > 0 {
		return false
	}
	_, ok := r.backupCandidate()
	return ok
}

// backupCandidate returns the address for a backup attempt (Chromium's
// backup connect job, generalised): when no other address is waiting, a
// destination known to work (it has round-trip history) whose attempt has
// not answered within its Connection Attempt Delay has more likely lost a
// SYN or SYN-ACK than gone dark, and a new socket's fresh SYN is not bound
// to the kernel's 1 s retransmission timer. At most maxBackups per address
// and dial; the first address tried that qualifies. With no history there
// are no backups: a black hole would only draw more attempts.
func (r *run) backupCandidate() (netip.Addr, bool) {
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
		if _, _, ok := r.learn.attemptDelay(a.addr); ok {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// nextKnown reports whether the next untried address is known to work
// while no attempt in flight is to such an address (see progress).
func (r *run) nextKnown() bool {
	if r.cands.used == nil || len(r.cands.untried) == 0 || len(r.running) == 0 ||
		!r.cands.used(r.cands.untried[0]) {
		return false
	}
	for _, a := range r.running {
		if r.cands.used(a.addr.Addr()) {
			return false
		}
	}
	return true
}

// attemptDelay is the Connection Attempt Delay after starting an attempt
// to ap: the Dialer's, or, when that is left at its default, one derived
// from ap's round-trip time history (RFC 8305 §5); from says which
// history ("" for the Dialer's delay).
func (r *run) attemptDelay(ap netip.AddrPort) (delay time.Duration, from string) {
	if r.d.ConnectionAttemptDelay == 0 {
		if d, from, ok := r.learn.attemptDelay(ap); ok {
			return d, from
		}
	}
	return r.sched.attemptDelay, ""
}

// lru is a map with a bound: putting a new key beyond it drops the least
// recently used one. Its methods need the History's lock.
type lru[K comparable, V any] struct {
	order list.List // of *lruEntry, most recently used first
	index map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	k K
	v V
}

func (c *lru[K, V]) get(k K) (V, bool) {
	if el, ok := c.index[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).v, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V, bound int) {
	if el, ok := c.index[k]; ok {
		el.Value.(*lruEntry[K, V]).v = v
		c.order.MoveToFront(el)
		return
	}
	if c.index == nil {
		c.index = make(map[K]*list.Element)
	}
	c.index[k] = c.order.PushFront(&lruEntry[K, V]{k, v})
	for c.order.Len() > bound {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.index, old.Value.(*lruEntry[K, V]).k)
	}
}

func (c *lru[K, V]) clear() {
	c.order.Init()
	clear(c.index)
}
