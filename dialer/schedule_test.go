package dialer

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestSchedule_next checks every timing rule of the schedule on its own,
// without a clock, as net's TestDialerPartialDeadline does: a dial's
// progress and the time now in, the wait before the next attempt out.
func TestSchedule_next(t *testing.T) {
	const ms = time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	rfc := schedule{resolutionDelay: 50 * ms, attemptDelay: 250 * ms, maxParallel: 16, maxAddrs: 32}
	with := func(f func(*schedule)) schedule { s := rfc; f(&s); return s }

	tests := []struct {
		name  string
		sched schedule
		p     progress
		now   time.Duration // since t0
		wait  time.Duration
		none  bool // no attempt can start until something happens
	}{
		// Nothing to start.
		{name: "no address known", sched: rfc, p: progress{}, none: true},
		{name: "every address tried", sched: rfc, p: progress{tried: 2, running: 2, lastStart: at(0)}, now: 300 * ms, none: true},

		// RFC 8305 §3: the first attempt and the Resolution Delay.
		{name: "RFC8305/3/preferred-answer-first-starts-now", sched: rfc,
			p: progress{untried: 2, firstAnswer: at(10 * ms)}, now: 10 * ms, wait: 0},
		{name: "RFC8305/3/other-family-first-waits-resolution-delay", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(10 * ms)}, now: 10 * ms, wait: 50 * ms},
		{name: "RFC8305/3/resolution-delay-counts-from-first-answer", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(10 * ms)}, now: 40 * ms, wait: 20 * ms},
		{name: "RFC8305/3/resolution-delay-over-starts-now", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(10 * ms)}, now: 70 * ms, wait: -10 * ms},
		{name: "RFC8305/3/negative-resolution-delay-does-not-wait", sched: with(func(s *schedule) { s.resolutionDelay = 0 }),
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(10 * ms)}, now: 10 * ms, wait: 0},
		{name: "RFC8305/3/near-deadline-waits-half-the-time-left", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(0), deadline: at(60 * ms)}, wait: 30 * ms},
		{name: "RFC8305/3/far-deadline-waits-whole-delay", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, firstAnswer: at(0), deadline: at(time.Second)}, wait: 50 * ms},

		// HostMemory: nothing known to work in hand, the host remembers
		// connections over the family still to answer: wait for it, but
		// never longer than RFC 8305 §5's 10 ms minimum.
		{name: "host-memory/awaiting-known-family-waits-10ms", sched: rfc,
			p: progress{untried: 1, awaitingKnown: true, firstAnswer: at(10 * ms)}, now: 10 * ms, wait: 10 * ms},
		{name: "host-memory/awaiting-known-family-counts-from-first-answer", sched: rfc,
			p: progress{untried: 1, awaitingKnown: true, firstAnswer: at(10 * ms)}, now: 14 * ms, wait: 6 * ms},
		{name: "host-memory/resolution-delay-wins-when-both", sched: rfc,
			p: progress{untried: 1, awaitingPreferred: true, awaitingKnown: true, firstAnswer: at(0)}, wait: 50 * ms},
		{name: "host-memory/shorter-resolution-delay-bounds-the-wait", sched: with(func(s *schedule) { s.resolutionDelay = 5 * ms }),
			p: progress{untried: 1, awaitingKnown: true, firstAnswer: at(0)}, wait: 5 * ms},
		{name: "host-memory/near-deadline-waits-half-the-time-left", sched: rfc,
			p: progress{untried: 1, awaitingKnown: true, firstAnswer: at(0), deadline: at(8 * ms)}, wait: 4 * ms},

		// RFC 8305 §5: the Connection Attempt Delay between starts.
		{name: "RFC8305/5/next-after-connection-attempt-delay", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 1, lastStart: at(0)}, now: 100 * ms, wait: 150 * ms},
		{name: "RFC8305/5/configured-delay", sched: with(func(s *schedule) { s.attemptDelay = 100 * ms }),
			p: progress{untried: 1, tried: 1, running: 1, lastStart: at(0)}, wait: 100 * ms},
		{name: "RFC8305/5/failure-starts-next", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 0, lastStart: at(0), failed: true}, now: 30 * ms, wait: -20 * ms},
		{name: "RFC8305/5/failure-keeps-10ms-floor", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 0, lastStart: at(0), failed: true}, now: 2 * ms, wait: 8 * ms},
		{name: "RFC8305/5/failure-while-others-run-starts-next", sched: rfc,
			p: progress{untried: 1, tried: 2, running: 1, lastStart: at(100 * ms), failed: true}, now: 150 * ms, wait: -40 * ms},
		{name: "RFC8305/5/nothing-running-starts-next", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 0, lastStart: at(0)}, now: 100 * ms, wait: -90 * ms},
		{name: "RFC8305/5/late-answer-after-due-starts-on-arrival", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 1, lastStart: at(0)}, now: 400 * ms, wait: -150 * ms},

		// The caps.
		{name: "max-parallel-reached-waits-for-an-end", sched: with(func(s *schedule) { s.maxParallel = 2 }),
			p: progress{untried: 3, tried: 2, running: 2, lastStart: at(0)}, now: 300 * ms, none: true},
		{name: "max-addresses-reached", sched: with(func(s *schedule) { s.maxAddrs = 2 }),
			p: progress{untried: 3, tried: 2, running: 2, lastStart: at(0)}, now: 300 * ms, none: true},

		// An address known to work is not held back behind unknown ones.
		{name: "history/known-address-not-held-back", sched: rfc,
			p: progress{untried: 1, tried: 1, running: 1, nextKnown: true, lastStart: at(0)}, now: 3 * ms, wait: 7 * ms},

		// A backup attempt is timed like any attempt, only when nothing
		// else may start.
		{name: "backup/due-after-connection-attempt-delay", sched: rfc,
			p: progress{tried: 1, running: 1, backup: true, lastStart: at(0), delay: 100 * ms}, now: 30 * ms, wait: 70 * ms},
		{name: "backup/none-without-candidate", sched: rfc,
			p: progress{tried: 1, running: 1, lastStart: at(0)}, now: 300 * ms, none: true},
		{name: "backup/capped-by-max-parallel", sched: with(func(s *schedule) { s.maxParallel = 1 }),
			p: progress{tried: 1, running: 1, backup: true, lastStart: at(0)}, now: 300 * ms, none: true},

		// Near a deadline the stagger shrinks so that every address still
		// allowed gets a chance, never below 10 ms.
		{name: "deadline/stagger-shared-over-time-left", sched: rfc,
			p: progress{untried: 3, tried: 1, running: 1, lastStart: at(0), deadline: at(400 * ms)}, wait: 100 * ms},
		{name: "deadline/far-keeps-connection-attempt-delay", sched: rfc,
			p: progress{untried: 3, tried: 1, running: 1, lastStart: at(0), deadline: at(10 * time.Second)}, wait: 250 * ms},
		{name: "deadline/share-never-below-10ms", sched: rfc,
			p: progress{untried: 30, tried: 1, running: 1, lastStart: at(0), deadline: at(100 * ms)}, wait: 10 * ms},
		{name: "deadline/reached-starts-nothing", sched: rfc,
			p: progress{untried: 3, tried: 1, running: 1, lastStart: at(0), deadline: at(100 * ms)}, now: 100 * ms, none: true},
		{name: "deadline/reached-before-first-attempt-starts-nothing", sched: rfc,
			p: progress{untried: 1, firstAnswer: at(0), deadline: at(0)}, none: true},
		// A 1000-address answer with a 10 s deadline: MaxAddresses (32)
		// leaves 31 attempts, so the share is 10s/32 = 312.5 ms and the
		// 250 ms delay stands. Dividing by all 999 untried addresses gave
		// 10 ms: a SYN burst.
		{name: "deadline/share-counts-only-addresses-max-addresses-allows", sched: rfc,
			p: progress{untried: 999, tried: 1, running: 1, lastStart: at(0), deadline: at(10 * time.Second)}, wait: 250 * ms},
		{name: "deadline/share-with-max-addresses-nearly-reached", sched: with(func(s *schedule) { s.maxAddrs = 4 }),
			p: progress{untried: 100, tried: 3, running: 3, lastStart: at(0), deadline: at(300 * ms)}, wait: 150 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok := tc.sched.next(tc.p, at(tc.now))
			if tc.none {
				assert.False(t, ok, "an attempt may start in %v; want none until an event", wait)
				return
			}
			require.True(t, ok, "no attempt may start; want one in %v", tc.wait)
			assert.Equal(t, tc.wait, wait)
		})
	}
}

// With a Timeout and an answer far longer than MaxAddresses, attempts keep
// the Connection Attempt Delay between them (RFC 8305 §5) rather than
// crowding into a burst, because the time left is shared only among the
// attempts MaxAddresses still allows.
func TestDialContext_manyAddressesWithTimeoutKeepStagger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network // every address is unreachable: black holes
		addrs := make([]netip.Addr, 1000)
		for i := range addrs {
			addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
			n.Set(addrs[i], simnet.BlackHoled())
		}
		d := &Dialer{
			Resolver:    &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: addrs}},
			DialAttempt: n.Dial,
			SourceAddr:  simnet.SourceAll,
			Timeout:     10 * time.Second,
		}
		start := time.Now()
		_, err := d.DialContext(context.Background(), "tcp", "example.com:443")
		require.Error(t, err)
		attempts := n.Attempts()
		require.Len(t, attempts, DefaultMaxParallelAttempts, "attempts started before the cap")
		for i, a := range attempts {
			assert.Equal(t, time.Duration(i)*DefaultConnectionAttemptDelay, a.Start.Sub(start), fmt.Sprintf("attempt %d start", i))
		}
	})
}
