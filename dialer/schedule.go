package dialer

import "time"

// The schedule: when the next connection attempt of a dial may start.
// Every timing rule of RFC 8305 lives here, as a pure function of the
// dial's progress and the current time, so that each rule can be tested
// as a table without a clock:
//
//   - §3: the first attempt waits up to the Resolution Delay for the
//     preferred family's answer when another family's addresses came
//     first; and, when nothing known to work came first while the host
//     remembers connections over the family still to answer
//     (History.HostMemory), up to the 10 ms of §5's minimum for that
//     answer: it may hold an address known to work, which then goes
//     first (§4's history rules) instead of 10 ms later;
//   - §5: later attempts start one Connection Attempt Delay after the
//     previous start, or at once when an attempt failed (the RFC is
//     silent; every implementation does this), never within 10 ms of the
//     previous start;
//   - the caps: at most MaxParallelAttempts in flight, MaxAddresses tried;
//   - a backup attempt, when one is due (see run.backupCandidate), is
//     timed like any other attempt;
//   - near a deadline, both delays shrink so that every address that may
//     still be tried gets a chance before time runs out.

// schedule is a Dialer's timing configuration, resolved once per dial.
type schedule struct {
	resolutionDelay time.Duration // RFC 8305 §3; zero: do not wait
	attemptDelay    time.Duration // RFC 8305 §5; at least MinConnectionAttemptDelay
	maxParallel     int           // attempts in flight at once
	maxAddrs        int           // attempts per dial
}

// progress is what the schedule needs to know about a dial in progress.
type progress struct {
	untried int  // addresses known and not yet tried
	tried   int  // addresses tried
	running int  // attempts in flight
	backup  bool // a backup attempt may start when nothing else may

	// lastStart is when the latest attempt started, and delay its
	// Connection Attempt Delay when it differs from the schedule's (one
	// derived from RTT history; zero: the schedule's); failed reports
	// that an attempt has failed since then.
	lastStart time.Time
	delay     time.Duration
	failed    bool

	// nextKnown reports that the next address to try is known to work (it
	// connected recently) while no attempt in flight is to such an address:
	// it is not held back behind addresses nothing is known of.
	nextKnown bool

	// awaitingPreferred reports that no usable address of the preferred
	// family is known yet and that an answer that may bring one is still
	// outstanding; firstAnswer is when the first address arrived.
	awaitingPreferred bool
	firstAnswer       time.Time

	// awaitingKnown reports that no address known so far is known to
	// work, and that an answer still outstanding is of a family the host
	// has connected over recently (see run.awaitingKnown).
	awaitingKnown bool

	// deadline is when the dial fails; zero means none.
	deadline time.Time
}

// left is how many more attempts a dial that has tried tried addresses
// and knows untried others may start: MaxAddresses bounds the attempts,
// not the addresses known.
func (s schedule) left(untried, tried int) int {
	return max(min(untried, s.maxAddrs-tried), 0)
}

// next reports whether an attempt may start, and if so how long after now;
// ok is false when none can start until something happens (an answer
// arrives or an attempt ends).
func (s schedule) next(p progress, now time.Time) (wait time.Duration, ok bool) {
	left := s.left(p.untried, p.tried)
	if left == 0 && p.backup {
		left = 1
	}
	if left == 0 || p.running >= s.maxParallel {
		return 0, false
	}
	if !p.deadline.IsZero() && !now.Before(p.deadline) {
		// The deadline has come; the context's timer, due at this same
		// instant, may not have fired yet. An attempt now could not
		// connect: wait for the context instead.
		return 0, false
	}
	if p.tried == 0 {
		var wait time.Duration
		switch {
		case p.awaitingPreferred:
			// RFC 8305 §3: the first answer is not of the preferred
			// family; give that family's answer the Resolution Delay to
			// arrive.
			wait = s.resolutionDelay
		case p.awaitingKnown:
			// The answer still out may hold an address the host knows to
			// work, which would go first. Waiting for it longer than the
			// 10 ms that would separate it from an attempt started now
			// (RFC 8305 §5) could not start it sooner.
			wait = min(s.resolutionDelay, MinConnectionAttemptDelay)
		default:
			return 0, true
		}
		// Near a deadline, wait at most half the time left, so that the
		// addresses known are still tried.
		due := p.firstAnswer.Add(wait)
		if !p.deadline.IsZero() {
			due = minNonzeroTime(due, p.firstAnswer.Add(p.deadline.Sub(p.firstAnswer)/2))
		}
		return due.Sub(now), true
	}
	gap := s.attemptDelay
	if p.delay > 0 {
		gap = p.delay
	}
	switch {
	case p.failed || p.running == 0 || p.nextKnown:
		// A failure starts the next attempt now, and so does an address
		// known to work when none in flight is; but never within 10 ms of
		// the previous start (RFC 8305 §5: MUST NOT be less than 10 ms).
		gap = MinConnectionAttemptDelay
	case !p.deadline.IsZero():
		// Near a deadline, stagger the attempts still allowed evenly over
		// the time left, so that each gets a chance.
		share := p.deadline.Sub(p.lastStart) / time.Duration(left+1)
		gap = max(min(gap, share), MinConnectionAttemptDelay)
	}
	return p.lastStart.Add(gap).Sub(now), true
}
