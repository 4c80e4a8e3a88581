package dialer

import (
	"container/heap"
	"sync"
	"time"
)

// An alarm is a moment at which a race begun on the caller's goroutine
// (raceInline) must be taken over by a collector, because its next
// attempt is due while the first one still runs.
//
// Almost every such first attempt ends long before its alarm, which is
// then taken back. Alarms therefore share one runtime timer (see
// alarmClock) instead of each arming its own: arming a timer that is due
// sooner than the network poller's sleep makes the runtime wake a thread
// to re-arm the poller, on every dial.
type alarm struct {
	when   time.Time
	index  int         // in the clock's heap, plus one; zero when not pending
	target alarmTarget // the race to take over
}

// alarmTarget is what an alarm sets off: prepareTakeover runs as it goes
// off, with the clock's lock held, so that whoever learns from stop that
// it went off finds what prepareTakeover made; then takeOver runs on a
// goroutine of its own. A *run is one.
type alarmTarget interface {
	prepareTakeover()
	takeOver()
}

// alarmClock keeps the pending alarms, in a heap by time, and one timer,
// armed for the earliest of them. Taking an alarm back leaves the timer
// armed: when it fires with nothing due it re-arms for the earliest alarm
// left, or for none. A steady stream of dials, each arming an alarm a
// Connection Attempt Delay ahead and taking it back microseconds later,
// so touches the runtime timer about once per delay rather than once per
// dial; and thousands of races stuck on black holes at once cost each a
// heap operation, not a scan.
//
// Its times must carry monotonic clock readings (time.Now's do, except
// inside a testing/synctest bubble, whose clock is fake and not the
// process's): a race whose clock has none arms a timer of its own.
type alarmClock struct {
	mu    sync.Mutex
	timer *time.Timer // nil until first armed
	at    time.Time   // when timer is due; zero when disarmed
	heap  alarmHeap
	arms  int // times the timer was armed, for tests
}

var alarms alarmClock

// sharedClock reports whether now (time.Now's) can be compared with the
// times of the process-wide alarm clock: it carries a monotonic reading.
func sharedClock(now time.Time) bool {
	return now != now.Round(0) // Round(0) strips the monotonic reading
}

// set makes a pending alarm at when, for target.
func (c *alarmClock) set(a *alarm, target alarmTarget, when time.Time) {
	a.when, a.target = when, target
	c.mu.Lock()
	defer c.mu.Unlock()
	heap.Push(&c.heap, a)
	if c.at.IsZero() || when.Before(c.at) {
		c.arm(when, time.Now())
	}
}

// stop takes back a pending alarm. It reports false if the alarm has
// gone off: its race's collector has been, or is being, started.
func (c *alarmClock) stop(a *alarm) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.index == 0 {
		return false
	}
	heap.Remove(&c.heap, a.index-1)
	return true
}

// arm sets the timer for when; c.mu is held.
func (c *alarmClock) arm(when, now time.Time) {
	c.at = when
	c.arms++
	d := max(when.Sub(now), 0)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.fire)
	} else {
		c.timer.Reset(d)
	}
}

// fire sets off every alarm that is due, each on a goroutine of its own,
// and re-arms the timer for the earliest alarm left.
func (c *alarmClock) fire() {
	c.mu.Lock()
	now := time.Now()
	var due []alarmTarget
	for len(c.heap) > 0 && !c.heap[0].when.After(now) {
		a := heap.Pop(&c.heap).(*alarm)
		a.target.prepareTakeover()
		due = append(due, a.target)
	}
	if len(c.heap) == 0 {
		c.at = time.Time{}
	} else {
		c.arm(c.heap[0].when, now)
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.takeOver()
	}
}

// alarmHeap is a container/heap of pending alarms, earliest first.
type alarmHeap []*alarm

func (h alarmHeap) Len() int           { return len(h) }
func (h alarmHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h alarmHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i+1, j+1
}
func (h *alarmHeap) Push(x any) {
	a := x.(*alarm)
	a.index = len(*h) + 1
	*h = append(*h, a)
}
func (h *alarmHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	a.index = 0
	return a
}
