package dialer

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

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
//     when the Dialer's is left at its default (RFC 8305 §5). A round
//     trip is the time TCP took to connect; for a connect of 100 ms or
//     more, the kernel's own measurement where it has one (Linux TCP_INFO,
//     macOS TCP_CONNECTION_INFO), which with TCP timestamps survives a
//     retransmitted SYN; a connect of 1 s or more without one gives none
//     (Karn's rule, RFC 6298 §3);
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
	// follows that round trip. An entry's absence proves nothing. When
	// the first answer has no address known to work and the kernel
	// remembers recent connections over the family still to answer, the
	// first attempt waits up to 10 ms for that answer. A process's first
	// dials wait at most 1 ms for the kernel's table to be read.
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
	maxAdaptiveDelay = MaxConnectionAttemptDelay
)

// sharedHistory serves Dialers that have no History of their own.
var sharedHistory = History{HostMemory: true}

// hostMemory is the kernel's TCP metrics, shared by every History with
// HostMemory set; hostLookup and hostNewest read it (seams for tests).
var (
	hostMemory tcpmetrics.Cache
	hostLookup = hostMemory.Lookup
	hostNewest = hostMemory.Newest
	hostReady  = hostMemory.Wait
)

// hostMemoryWait bounds how long a dial waits, as its first answer
// arrives, for the kernel's table to be read (once per process: the
// first read, about 0.4 ms on a 2-core VM, is started as the dial
// begins): a fresh process's first dial, with a fast resolver, would
// otherwise sort its answers before the table is in.
const hostMemoryWait = time.Millisecond

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
	httpsLate   time.Time // the same for the HTTPS answer (https.go; not saved to files)
	at          time.Time // when last updated (newer wins when merging a saved History)
}

func (h *History) dest(k destKey) (destState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dests.get(k)
}

func (h *History) updateDest(k destKey, f func(*destState)) {
	h.updateDestAt(k, time.Now(), f)
}

// updateDestAt is updateDest for a caller that has read the clock: now
// is when the entry is updated.
func (h *History) updateDestAt(k destKey, now time.Time, f func(*destState)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.dests.ref(k, maxDests)
	f(s)
	s.at = now
}

func (h *History) name(k nameKey) (nameState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.names.get(k)
}

func (h *History) updateName(k nameKey, f func(*nameState)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.names.ref(k, maxNames)
	f(s)
	s.at = time.Now()
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
	*c.ref(k, bound) = v
}

// ref returns k's value, to be updated in place, as the most recently
// used; a new key gets the zero value, and may drop the least recently
// used one. The pointer is valid while the History's lock is held.
func (c *lru[K, V]) ref(k K, bound int) *V {
	if el, ok := c.index[k]; ok {
		c.order.MoveToFront(el)
		return &el.Value.(*lruEntry[K, V]).v
	}
	if c.index == nil {
		c.index = make(map[K]*list.Element)
	}
	e := &lruEntry[K, V]{k: k}
	c.index[k] = c.order.PushFront(e)
	for c.order.Len() > bound {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.index, old.Value.(*lruEntry[K, V]).k)
	}
	return &e.v
}

func (c *lru[K, V]) clear() {
	c.order.Init()
	clear(c.index)
}
