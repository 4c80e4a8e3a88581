package dialer

import (
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testAlarm records when its alarm went off.
type testAlarm struct {
	a        alarm
	prepared bool // set by prepareTakeover, under the clock's lock
	fired    chan time.Time
}

func (t *testAlarm) prepareTakeover() { t.prepared = true }
func (t *testAlarm) takeOver()        { t.fired <- time.Now() }

// TestAlarmClock: alarms in one clock go off at or after their time, once,
// unless taken back first; stop says which happened, and what
// prepareTakeover made is seen by whoever stop tells that the alarm went
// off. Real time: the shared clock serves races outside synctest bubbles.
func TestAlarmClock(t *testing.T) {
	var c alarmClock
	const n = 300
	alarms := make([]*testAlarm, n)
	start := time.Now()
	for i := range alarms {
		alarms[i] = &testAlarm{fired: make(chan time.Time, 1)}
	}
	var wg sync.WaitGroup
	stopped := make([]bool, n)
	for i, ta := range alarms {
		wg.Go(func() {
			when := start.Add(time.Duration(rand.IntN(60)) * time.Millisecond)
			ta.a.when = when
			c.set(&ta.a, ta, when)
			if i%2 == 0 {
				time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
				stopped[i] = c.stop(&ta.a)
				if !stopped[i] {
					assert.True(t, ta.prepared, "alarm %d went off unprepared", i)
				}
			}
		})
	}
	wg.Wait()
	for i, ta := range alarms {
		if stopped[i] {
			continue
		}
		select {
		case at := <-ta.fired:
			assert.False(t, at.Before(ta.a.when), "alarm %d went off %v early", i, ta.a.when.Sub(at))
			assert.False(t, c.stop(&ta.a), "stop of alarm %d after it went off", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("alarm %d due at %v never went off", i, ta.a.when.Sub(start))
		}
	}
	// Every alarm was due by now: those taken back never go off.
	time.Sleep(50 * time.Millisecond)
	for i, ta := range alarms {
		if !stopped[i] {
			continue
		}
		select {
		case at := <-ta.fired:
			t.Errorf("alarm %d went off at %v although taken back", i, at.Sub(start))
		default:
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.True(t, c.at.IsZero(), "the clock is still armed with no alarm pending")
	assert.Empty(t, c.heap, "alarms left pending")
}

// TestAlarmClock_takenBackAlarmsLeaveTheTimer: a stream of alarms each
// taken back at once, as first attempts that connect are, arms the
// runtime timer once, not once per alarm (arming it sooner than the
// network poller sleeps wakes a thread).
func TestAlarmClock_takenBackAlarmsLeaveTheTimer(t *testing.T) {
	var c alarmClock
	ta := &testAlarm{fired: make(chan time.Time, 1)}
	for range 1000 {
		c.set(&ta.a, ta, time.Now().Add(time.Second))
		require.True(t, c.stop(&ta.a))
	}
	assert.Equal(t, 1, c.arms, "times the timer was armed")
	// A sooner alarm re-arms it, and goes off.
	c.set(&ta.a, ta, time.Now().Add(time.Millisecond))
	select {
	case <-ta.fired:
	case <-time.After(5 * time.Second):
		t.Fatal("the sooner alarm never went off")
	}
	// With nothing pending once it has gone off, the clock disarms.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.at.IsZero()
	}, 5*time.Second, 10*time.Millisecond)
}

// TestSharedClock: time.Now carries a monotonic reading, so races may use
// the process's alarm clock; inside a synctest bubble it does not, and a
// race there arms a timer of its own, in the bubble's fake time.
func TestSharedClock(t *testing.T) {
	assert.True(t, sharedClock(time.Now()))
	synctest.Test(t, func(t *testing.T) {
		assert.False(t, sharedClock(time.Now()))
	})
}
