package dialer

import (
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
	when       time.Time
	prev, next *alarm      // in the clock's list while pending; nil otherwise
	target     alarmTarget // the race to take over
}

// alarmTarget is what an alarm sets off: prepare runs as it goes off,
// with the clock's lock held, so that whoever learns from stop that it
// went off finds what prepare made; then run runs on a goroutine of its
// own. A *run is one.
type alarmTarget interface {
	prepareTakeover()
	takeOver()
}

// alarmClock keeps the pending alarms and one timer, armed for the
// earliest of them. Taking an alarm back leaves the timer armed: when it
// fires with nothing due it re-arms for the earliest alarm left, or for
// none. A steady stream of dials, each arming an alarm a Connection
// Attempt Delay ahead and taking it back microseconds later, so touches
// the runtime timer about once per delay rather than once per dial.
//
// Its times must carry monotonic clock readings (time.Now's do, except
// inside a testing/synctest bubble, whose clock is fake and not the
// process's): a race whose clock has none arms a timer of its own.
type alarmClock struct {
	mu    sync.Mutex
	timer *time.Timer // nil until first armed
	at    time.Time   // when timer is due; zero when disarmed
	head  alarm       // sentinel of the pending alarms' list (unordered)
	arms  int         // times the timer was armed, for tests
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
	if c.head.next == nil {
		c.head.next, c.head.prev = &c.head, &c.head
	}
	a.prev, a.next = c.head.prev, &c.head
	a.prev.next, c.head.prev = a, a
	if c.at.IsZero() || when.Before(c.at) {
		c.arm(when, time.Now())
	}
}

// stop takes back a pending alarm. It reports false if the alarm has
// gone off: its race's collector has been, or is being, started.
func (c *alarmClock) stop(a *alarm) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.next == nil {
		return false
	}
	c.unlink(a)
	return true
}

func (c *alarmClock) unlink(a *alarm) {
	a.prev.next, a.next.prev = a.next, a.prev
	a.prev, a.next = nil, nil
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
	var next time.Time
	for a := c.head.next; a != nil && a != &c.head; {
		following := a.next
		if !a.when.After(now) {
			c.unlink(a)
			a.target.prepareTakeover()
			due = append(due, a.target)
		} else if next.IsZero() || a.when.Before(next) {
			next = a.when
		}
		a = following
	}
	if next.IsZero() {
		c.at = time.Time{}
	} else {
		c.arm(next, now)
	}
	c.mu.Unlock()
	for _, t := range due {
		go t.takeOver()
	}
}
