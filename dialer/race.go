package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// run is one dial: its settings, the answers and candidate addresses it
// has so far, and its race. It is owned by the goroutine running
// DialContext (the collector); attempt goroutines only read the settings
// and hooks and send their results.
type run struct {
	settings
	hooks    hooks
	start    time.Time
	deadline time.Time // zero: none

	ans   answers
	cands candidates
	svc   *httpsDial // the HTTPS records side (https.go); nil when not asked

	// A race begun on the caller's goroutine: its alarm, and what the
	// collector that takes it over needs (raceInline).
	alarm alarm
	tk    takeover
	// reusable is set when the dial is over and no goroutine but the
	// caller's ever referred to the run (raceInline won alone): it may
	// then serve another dial (see newRun).
	reusable bool
	// work is the run's own work context (see workContext), kept with
	// the run from dial to dial; ownWork is set while the dial runs
	// under it.
	work    *workContext
	ownWork bool

	// The race.
	running   []runningAttempt // attempts in flight
	failures  []*AttemptError  // attempts that failed, in the order they ended
	lastStart time.Time        // when the latest attempt started
	lastDelay time.Duration    // the Connection Attempt Delay after it
	failed    bool             // an attempt has failed since lastStart
	attempts  int              // attempts started, backups included
	backups   []netip.Addr     // one entry per backup attempt started

	// First backing arrays of running and of the candidates, so that
	// the common dial (one attempt; an IP literal or a name with an
	// address per family) grows none of them.
	runningBuf [1]runningAttempt
	triedBuf   [1]netip.Addr
	untriedBuf [2]netip.Addr
}

type runningAttempt struct {
	index int
	addr  netip.AddrPort
	start time.Time
	delay time.Duration // its Connection Attempt Delay
}

type attemptResult struct {
	index  int
	addr   netip.AddrPort
	offset time.Duration // start, since the dial began
	begun  time.Time
	rtt    time.Duration // how long TCP took to connect; zero if it did not
	tcpAt  time.Time     // when TCP connected; zero if it did not
	conn   net.Conn
	err    error
}

// runs keeps runs for reuse. A run is over a kilobyte, and a dial that
// is one attempt on the caller's goroutine (an IP literal, a hosts entry,
// a cached name) is over in tens of microseconds: reusing the run, still
// in cache, rather than allocating a new one each time is a measurable
// part of such a dial's cost.
var runs = sync.Pool{New: func() any { return new(run) }}

// newRun returns a zero run.
func newRun() *run { return runs.Get().(*run) }

// release gives r back for reuse if it is reusable: its dial has
// returned, and no goroutine but the caller's ever referred to it. It
// is zeroed first, which also drops what it referred to.
func (r *run) release() {
	if r.reusable {
		w := r.work
		*r = run{}
		if w != nil && w.reusable() {
			w.drop() // holds on to nothing of the dial
			r.work = w
		}
		runs.Put(r)
	}
}

// abortableDialer returns the net.Dialer for a first attempt made on the
// caller's goroutine under the caller's context, aborted through its
// socket by the run's own work context; nil when the attempt must run
// under the work context instead (see workContext).
func (r *run) abortableDialer() *net.Dialer {
	if !r.ownWork || r.d.DialAttempt != nil {
		return nil
	}
	return r.work.abortable(&r.nd)
}

// workContext returns the context the dial's work runs under, and the
// function that ends it: for an IP literal dialed with the built-in
// transport (or the tests' prompt one) under a context that is never
// done, the run's own workContext; otherwise one context.WithCancel makes.
func (r *run) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Done() != nil || r.d.DialAttempt != nil && !r.d.promptAttempt || !sharedClock(r.start) ||
		!socketAbort && r.d.ControlContext != nil {
		// (Inside a testing/synctest bubble, whose clock has no
		// monotonic reading, a kept channel could be another bubble's.
		// Where the first attempt is not aborted through its socket it
		// runs under the work context, which a ControlContext, user
		// code, would be handed: a kept context must not be.)
		return context.WithCancel(ctx)
	}
	if r.work == nil {
		r.work = newWorkContext()
	}
	r.work.reset(ctx)
	r.ownWork = true
	return r.work, r.work.cancelFn
}

// init readies a run whose settings are in (initSettings fills them in
// place, in a new run).
func (r *run) init(ctx context.Context, start time.Time) {
	r.start = start
	if r.learn != nil && r.d.SourceAddr == nil {
		r.learned.probeAt = start
	}
	r.hooks = newHooks(ctx, r.d.DialAttempt != nil)
	r.hooks.m = r.d.Metrics
	if dl, ok := ctx.Deadline(); ok { // a time with ok false is no deadline
		r.deadline = dl
	}
	r.cands = candidates{firstCount: r.d.firstAddressFamilyCount(), prefer: r.d.preferredFamily(), rawSrc: r.rawSrc, learn: r.learn}
	r.running = r.runningBuf[:0]
	r.cands.tried, r.cands.untried = r.triedBuf[:0], r.untriedBuf[:0]
}

// dialLiteral dials an IP literal: one attempt, no DNS.
func (r *run) dialLiteral(ctx context.Context, ip netip.Addr) (net.Conn, error) {
	workCtx, cancelWork := r.workContext(ctx)
	r.addLiteral(ip)
	if ip == netip.IPv6Unspecified() && r.network == "tcp" && r.only != resolver.IPv6 {
		// "The local system" spelled [::] on tcp (dialed here only with
		// a Policy or a Handshake): net.Dialer dials [::] and then
		// 0.0.0.0 (golang/go#18806), so that a local listener of
		// either family is reached.
		r.addLiteral(netip.IPv4Unspecified())
	}
	if len(r.cands.untried) == 0 {
		return r.race(ctx, workCtx, cancelWork, nil, time.Now())
	}
	// The attempt starts as the dial does, unless a Policy (user code) or
	// NAT64 discovery (a DNS query) took time before it.
	now := r.start
	if r.d.Policy != nil {
		now = time.Now()
	}
	if disc := r.discoverer(); disc != nil && r.needsNAT64(ip) {
		// An IPv4 literal on an IPv6-only network (RFC 8305 §7.1): try the
		// NAT64 address first, then the literal itself.
		if syn := r.synthesize(ctx, disc, r.cands.untried); len(syn.v6) > 0 {
			if err := r.vet(syn.v6[0], ip, false); err != nil {
				r.reject(syn.v6[0], err)
			} else {
				r.cands.untried = []netip.Addr{syn.v6[0], ip}
			}
		}
		now = time.Now()
	}
	return r.race(ctx, workCtx, cancelWork, nil, now)
}

// addLiteral makes an IP literal a candidate, if the Policy allows it.
func (r *run) addLiteral(ip netip.Addr) {
	if err := r.vet(ip, netip.Addr{}, false); err != nil {
		r.reject(ip, err)
		return
	}
	r.cands.untried = append(r.cands.untried, ip)
}

// dialName resolves the host and races its addresses as they arrive.
func (r *run) dialName(ctx context.Context) (net.Conn, error) {
	r.hooks.dnsStart(r.host)
	// The lookups end with the dial, like its attempts: a resolver that
	// caches keeps its own queries alive for late answers (RFC 8305 §5).
	workCtx, cancelWork := context.WithCancel(ctx)
	r.ans.named = true
	r.ans.pending = len(r.fams)
	r.ans.dnsPending = len(r.fams)
	r.applyNameHistory()
	r.startHTTPS(workCtx)
	answers := r.d.resolver().Resolve(workCtx, r.host, r.fams...)
	if answers == nil {
		r.resolverClosed()
	}
	return r.race(ctx, workCtx, cancelWork, answers, time.Now())
}

// raceChans are the channels between one race's collector and its
// attempts.
type raceChans struct {
	// results carries the attempts' results. Unbuffered: a result is
	// either taken by the collector while the dial is running, or handled
	// by its sender once done is closed; never lost.
	results chan attemptResult
	// tcpUp, with a Handshake, carries the attempts' reports (unbuffered,
	// or dropped once done is closed) that TCP has connected and the
	// handshake begins; nil without one.
	tcpUp chan tcpConnected
	// done is closed when the dial returns. An attempt that finishes after
	// that finds no receiver and closes its own connection.
	done chan struct{}
}

// race runs the connection attempts: it merges answers as they arrive,
// starts attempts when the schedule says, and returns the first
// connection. What the dial starts (lookups, attempts, NAT64 synthesis)
// runs under workCtx, which race cancels (cancelWork) before it returns.
// now is the time, read by the caller.
func (r *run) race(ctx, workCtx context.Context, cancelWork context.CancelFunc, answers <-chan resolver.Answer, now time.Time) (net.Conn, error) {
	if r.handshake == nil && (r.d.DialAttempt == nil || r.d.promptAttempt) && ctx.Err() == nil {
		// The answers that are in already (a hosts entry, a cached name, a
		// Static resolver) are taken one at a time, as the collector would
		// take them, until the first attempt is due.
		due := r.due(now)
		for answers != nil && !due {
			var ok bool
			if answers, ok = r.takeReady(workCtx, answers); !ok {
				break
			}
			due = r.due(now)
		}
		if due {
			index, ap, offset := r.begin(now)
			for answers != nil {
				var ok bool
				if answers, ok = r.takeReady(workCtx, answers); !ok {
					break
				}
			}
			if answers == nil && r.ans.pending == 0 {
				return r.raceInline(ctx, workCtx, cancelWork, index, ap, offset)
			}
			ch := newRaceChans(false)
			go r.attempt(r.attemptContext(workCtx, index, ap), ch, index, ap, offset)
			return r.collect(ctx, workCtx, cancelWork, answers, ch)
		}
	}
	return r.collect(ctx, workCtx, cancelWork, answers, newRaceChans(r.handshake != nil))
}

// newRaceChans makes a race's channels; tcpUp only for a race whose
// attempts run a Handshake.
func newRaceChans(handshake bool) raceChans {
	ch := raceChans{results: make(chan attemptResult), done: make(chan struct{})}
	if handshake {
		ch.tcpUp = make(chan tcpConnected)
	}
	return ch
}

// due reports whether the schedule would start an attempt now.
func (r *run) due(now time.Time) bool {
	wait, ok := r.sched.next(r.progress(), now)
	return ok && wait == 0
}

// takeReady takes one answer from the resolver if one is in, without
// waiting. It returns the channel (nil once the resolver has closed it)
// and whether it took anything.
func (r *run) takeReady(workCtx context.Context, answers <-chan resolver.Answer) (<-chan resolver.Answer, bool) {
	select {
	case a, ok := <-answers:
		if !ok {
			r.resolverClosed()
			return nil, true
		}
		r.takeAnswer(workCtx, a)
		return answers, true
	default:
		return answers, false
	}
}

// takeAnswer merges one answer from the resolver, and starts NAT64
// synthesis for new IPv4 addresses where it applies.
func (r *run) takeAnswer(workCtx context.Context, a resolver.Answer) {
	if added := r.merge(a, false, nil); a.Family == resolver.IPv4 && len(added) > 0 {
		r.startSynthesis(workCtx, added)
	}
}

// collect is the collector: it runs the race until a connection wins or
// the dial fails, and then ends it (ch.done closed, the work cancelled).
func (r *run) collect(ctx, workCtx context.Context, cancelWork context.CancelFunc, answers <-chan resolver.Answer, ch raceChans) (net.Conn, error) {
	defer cancelWork()
	defer close(ch.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			// Done before the dial began, or while this loop handled
			// another event (an attempt failing because of the same
			// cancellation): start nothing more.
			return nil, r.fail(err)
		}
		var timerC <-chan time.Time
		now := time.Now()
		for {
			wait, ok := r.sched.next(r.progress(), now)
			if !ok {
				break
			}
			if wait > 0 {
				timer.Reset(wait)
				timerC = timer.C
				break
			}
			r.startAttempt(workCtx, ch, now)
		}
		if r.ans.pending == 0 && len(r.running) == 0 && r.sched.left(len(r.cands.untried), len(r.cands.tried)) == 0 {
			// Attempts that hit the deadline through their sockets can all
			// end just before ctx.Done is seen: the dial still ran out of
			// time, and its error must say so.
			return nil, r.fail(r.ctxErr(ctx))
		}

		select {
		case a, ok := <-answers:
			if !ok {
				r.resolverClosed()
				answers = nil
				continue
			}
			r.takeAnswer(workCtx, a)
		case syn := <-r.ans.synth:
			r.mergeSynthesized(syn)
		case ev := <-r.svc.eventsC():
			r.httpsEvent(workCtx, ev)
		case res := <-ch.results:
			if c, won := r.result(res); won {
				return c, nil
			}
		case up := <-ch.tcpUp:
			// HEv3: the latest attempt's TCP connected and its handshake
			// (TLS) runs. The next attempt does not start blindly on the
			// timer: not before the handshake has had two of the round
			// trips TCP took (within the 2 s bound on the delay), unless
			// an attempt fails first. A TCP handshake well inside the delay
			// leaves the timer as it was.
			if up.index == r.attempts-1 && !r.failed {
				due := time.Since(r.lastStart) + 2*up.rtt
				r.lastDelay = max(r.lastDelay, min(due, maxAdaptiveDelay))
			}
		case <-timerC:
		case <-ctx.Done():
			return nil, r.fail(ctx.Err())
		}
	}
}

// raceInline makes the first attempt, begun already, from the caller's
// goroutine, as net.Dialer does with its first address, so that a
// connection that is made at once costs no goroutine and no channel
// hand-off. It is used when every answer is in (so that nothing but the
// attempt and the clock can change the race while it runs), with the
// built-in transport (which returns as soon as its context is done, so a
// winner elsewhere is never held up by it), and without a Handshake
// (whose progress the collector follows). If the schedule would start
// another attempt while this one still runs, a collector takes the race
// over at that moment (an alarm goes off), and this attempt reports to it
// like any other; if the attempt ends first, this goroutine goes on as
// the collector. The race is the same either way.
func (r *run) raceInline(ctx, workCtx context.Context, cancelWork context.CancelFunc, index int, ap netip.AddrPort, offset time.Duration) (net.Conn, error) {
	now := r.lastStart
	var own *time.Timer // the alarm's timer, where the clock is not the process's
	shared := false
	if wait, ok := r.sched.next(r.progress(), now); ok {
		r.tk = takeover{ctx: ctx, workCtx: workCtx, cancelWork: cancelWork}
		if sharedClock(now) {
			alarms.set(&r.alarm, r, now.Add(wait))
			shared = true
		} else {
			r.prepareTakeover()
			own = time.AfterFunc(wait, r.takeOver)
		}
	}
	begun := now // the attempt began as r.begin recorded
	var res attemptResult
	if nd := r.abortableDialer(); nd != nil {
		// Under the caller's context, which can never be done: the
		// work context aborts the attempt through its socket.
		res = r.connect(ctx, nd, ap, begun, nil)
		res.err = r.work.attemptEnded(ap, res.err)
	} else {
		res = r.connect(workCtx, &r.nd, ap, begun, nil)
	}
	res.index, res.offset = index, offset
	if shared && !alarms.stop(&r.alarm) || own != nil && !own.Stop() {
		// A collector took the race over.
		r.report(r.tk.ch, res)
		o := <-r.tk.out
		return o.conn, o.err
	}
	// No collector took over: this goroutine still owns the run, and no
	// attempt but this one has started.
	if c, won := r.result(res); won {
		// Nothing but this goroutine ever saw the run, unless the HTTPS
		// side or NAT64 synthesis started goroutines of their own.
		r.reusable = r.svc == nil && !r.ans.synthStarted
		if !r.reusable || !r.ownWork {
			cancelWork()
		}
		// (A run's own work context, in a run to be reused, is left
		// as it is: nothing but the attempt, which has returned, saw
		// it, and it serves the next dial.)
		return c, nil
	}
	return r.collect(ctx, workCtx, cancelWork, nil, newRaceChans(false))
}

// takeover is what the collector that takes over a race begun inline
// needs, and the way it hands the dial's outcome back.
type takeover struct {
	ctx, workCtx context.Context
	cancelWork   context.CancelFunc
	ch           raceChans
	// out carries the outcome to the caller's goroutine, which reads it
	// once its own attempt has reported.
	out chan outcome
}

type outcome struct {
	conn net.Conn
	err  error
}

// prepareTakeover makes the channels of a takeover, before its alarm
// goes off or as it does.
func (r *run) prepareTakeover() {
	r.tk.ch = newRaceChans(false)
	r.tk.out = make(chan outcome) // unbuffered: the caller always reads it
}

// takeOver is the collector of a race begun inline, from the moment its
// alarm goes off.
func (r *run) takeOver() {
	c, err := r.collect(r.tk.ctx, r.tk.workCtx, r.tk.cancelWork, nil, r.tk.ch)
	r.tk.out <- outcome{c, err}
}

// progress is the state of the dial the schedule reads.
func (r *run) progress() progress {
	p := progress{
		untried:     len(r.cands.untried),
		tried:       len(r.cands.tried),
		running:     len(r.running),
		backup:      r.hasBackup(),
		lastStart:   r.lastStart,
		delay:       r.lastDelay,
		failed:      r.failed,
		nextKnown:   r.nextKnown(),
		firstAnswer: r.ans.first,
		deadline:    r.deadline,
	}
	// Only the first attempt waits for the preferred family. HEv3 §4.2:
	// and for the HTTPS answer, when asked for. Both waits cost History
	// and route lookups, so they are worked out only where the schedule
	// reads them: with an address to start (none: no attempt can), and
	// awaitingKnown only when the dial is not waiting for the preferred
	// family already (that wait comes first).
	if p.tried == 0 && p.untried > 0 {
		p.awaitingPreferred = r.awaitingPreferred() || r.awaitingHTTPS()
		p.awaitingKnown = !p.awaitingPreferred && r.awaitingKnown()
	}
	return p
}

// ctxErr is ctx's error, or context.DeadlineExceeded once the deadline
// has passed even if ctx's own timer has not fired yet; nil otherwise.
func (r *run) ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// result takes an attempt's result: the connection and true for a
// winner; otherwise the failure is recorded.
func (r *run) result(res attemptResult) (net.Conn, bool) {
	r.running = slices.DeleteFunc(r.running, func(a runningAttempt) bool { return a.index == res.index })
	if res.err == nil {
		return r.win(res), true
	}
	r.learn.failed(res.addr, res.err)
	r.hooks.m.attemptFailed(res.addr, res.err)
	r.failures = append(r.failures, &AttemptError{Addr: res.addr, Start: res.offset, Err: attemptCause(res.err)})
	r.failed = true
	if r.hooks.t != nil {
		r.hooks.attemptDone(AttemptDoneInfo{
			Addr: res.addr, Index: res.index, Err: res.err,
			Elapsed: time.Since(r.start), Duration: time.Since(res.begun),
		})
	}
	return nil, false
}

// begin takes the next candidate for an attempt starting now and reports
// it; it returns the attempt's index, address and start offset.
func (r *run) begin(now time.Time) (int, netip.AddrPort, time.Duration) {
	var addr netip.Addr
	var reordered, early bool
	backup := r.sched.left(len(r.cands.untried), len(r.cands.tried)) == 0
	if !backup {
		if len(r.cands.tried) == 0 {
			r.noteFirstStart(r.awaitingPreferred())
		}
		if r.hooks.t != nil && r.hooks.t.AttemptStart != nil {
			reordered, early = r.historyEffect(now)
		}
		addr = r.cands.next()
	} else {
		addr, _ = r.backupCandidate()
		r.backups = append(r.backups, addr)
	}
	ap := netip.AddrPortFrom(addr, r.portFor(addr))
	var from string
	r.lastStart = now
	r.lastDelay, from = r.attemptDelay(ap, now)
	r.failed = false
	index := r.attempts
	r.attempts++
	r.running = append(r.running, runningAttempt{index: index, addr: ap, start: now, delay: r.lastDelay})
	offset := now.Sub(r.start)
	if r.hooks.t != nil && r.hooks.t.AttemptStart != nil {
		r.hooks.attemptStart(AttemptStartInfo{
			Addr: ap, Index: index, Elapsed: offset,
			Delay: r.lastDelay, DelayFrom: from, Backup: backup, Known: r.learn.known(ap),
			Reordered: reordered, Early: early,
		})
	}
	r.hooks.m.attemptStarted(ap)
	// Fired here, by the collector, so that it never comes after
	// DialContext has returned.
	r.hooks.connectStart(ap)
	return index, ap, offset
}

// tcpConnected is an attempt's report that TCP connected after rtt and
// its handshake runs.
type tcpConnected struct {
	index int
	rtt   time.Duration
}

func (r *run) startAttempt(ctx context.Context, ch raceChans, now time.Time) {
	index, ap, offset := r.begin(now)
	go r.attempt(r.attemptContext(ctx, index, ap), ch, index, ap, offset)
}

// connect makes one attempt's connection to ap, begun (now, or just
// before): TCP (with nd, on the built-in path), then the handshake if
// any. up, when not nil, is called between the two with how long TCP
// took. The result's conn, rtt (how long TCP took, or the kernel's
// measure of it: see measuredRTT), tcpAt (when TCP connected) and err are
// filled in; the caller fills in the rest.
func (r *run) connect(ctx context.Context, nd *net.Dialer, ap netip.AddrPort, begun time.Time, up func(rtt time.Duration)) attemptResult {
	res := attemptResult{addr: ap, begun: begun}
	conn, err := r.dialOne(ctx, nd, ap)
	if err != nil {
		res.err = err
		return res
	}
	took := time.Since(begun)
	res.tcpAt, res.rtt = begun.Add(took), took
	if r.d.DialAttempt == nil {
		// The built-in transport's connection is to ap itself (a
		// DialAttempt's may be to a proxy, whose round trip is not ap's).
		res.rtt = measuredRTT(conn, took)
	}
	if r.handshake == nil {
		res.conn = conn
		return res
	}
	if up != nil {
		up(res.rtt)
	}
	hc, err := r.handshake(ctx, conn)
	if err == nil && hc == nil {
		err = errors.New("handshake returned no connection")
	}
	if err != nil {
		conn.Close()
		res.err = err
		return res
	}
	res.conn = hc
	return res
}

// kernelRTTAbove is the connect time from which an attempt asks the
// kernel for the connection's round-trip time rather than taking the
// connect time as one.
const kernelRTTAbove = minAdaptiveDelay

// measuredRTT is the round-trip time a connection that took connectTime
// to connect gives its destination's history. A quick connect's time is
// its round trip, near enough. A slow one's may not be: its SYN or SYN-ACK
// was lost and sent again (Karn's rule, RFC 6298 §3, discards such a
// sample), or the process was slow to see the connect finish. There the
// kernel's own measurement is taken where it has one (Linux TCP_INFO,
// macOS TCP_CONNECTION_INFO: with TCP timestamps it survives a
// retransmission); one system call, on a connect already slow.
func measuredRTT(c net.Conn, connectTime time.Duration) time.Duration {
	if connectTime < kernelRTTAbove {
		return connectTime
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return connectTime
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return connectTime
	}
	if rtt, ok := kernelRTT(rc); ok && rtt < connectTime {
		return rtt
	}
	return connectTime
}

// attempt makes one connection attempt and reports it to the collector,
// or, if the dial has already returned, closes what it connected.
func (r *run) attempt(ctx context.Context, ch raceChans, index int, ap netip.AddrPort, offset time.Duration) {
	begun := time.Now()
	select {
	case <-ch.done:
		// The dial ended (won or cancelled) between this attempt's start
		// and its goroutine running: make no connection.
		r.hooks.connectDone(ap, context.Canceled)
		r.hooks.m.attemptCancelled(ap)
		r.hooks.attemptDone(AttemptDoneInfo{
			Addr: ap, Index: index, Err: context.Canceled, Cancelled: true,
			Elapsed: time.Since(r.start),
		})
		return
	default:
	}
	var up func(time.Duration)
	if ch.tcpUp != nil {
		up = func(rtt time.Duration) {
			select {
			case ch.tcpUp <- tcpConnected{index, rtt}:
			case <-ch.done:
			}
		}
	}
	res := r.connect(ctx, &r.nd, ap, begun, up)
	res.index, res.offset = index, offset
	r.report(ch, res)
}

// report hands an attempt's result to the collector or, if the dial has
// already returned, closes what the attempt connected.
func (r *run) report(ch raceChans, res attemptResult) {
	select {
	case ch.results <- res:
	case <-ch.done:
		err := res.err
		if res.conn != nil {
			res.conn.Close()
			err = errLateWinner
			r.learn.connected(res.addr, res.rtt, res.tcpAt)
		}
		r.hooks.m.attemptCancelled(res.addr)
		if r.hooks.t != nil {
			r.hooks.attemptDone(AttemptDoneInfo{
				Addr: res.addr, Index: res.index, Err: err, Cancelled: true,
				Elapsed: time.Since(r.start), Duration: time.Since(res.begun),
			})
		}
	}
}

// dialOne connects to one address with the built-in transport (nd) or
// the DialAttempt hook.
func (r *run) dialOne(ctx context.Context, nd *net.Dialer, ap netip.AddrPort) (net.Conn, error) {
	network := attemptNetwork(ap)
	if r.d.DialAttempt == nil {
		// net.Dialer fires httptrace's ConnectStart and ConnectDone.
		if ap == r.spelled.ap {
			return nd.DialContext(ctx, network, r.spelled.str)
		}
		return nd.DialContext(ctx, network, ap.String())
	}
	// ConnectStart was fired by startAttempt.
	if err := ctx.Err(); err != nil {
		// The dial ended while this attempt was being started.
		r.hooks.connectDone(ap, err)
		return nil, err
	}
	conn, err := r.d.DialAttempt(withoutTraceHooks(ctx), network, ap)
	if err == nil && conn == nil {
		err = errors.New("DialAttempt returned neither a connection nor an error")
	}
	if err != nil && conn != nil {
		conn.Close()
		conn = nil
	}
	r.hooks.connectDone(ap, err)
	return conn, err
}

// attemptNetwork is the network an attempt to ap dials: "tcp4" or "tcp6".
func attemptNetwork(ap netip.AddrPort) string {
	if ap.Addr().Is6() {
		return "tcp6"
	}
	return "tcp4"
}

func (r *run) win(res attemptResult) net.Conn {
	var now time.Time
	if r.hooks.t != nil || r.hooks.m != nil {
		now = time.Now() // read only for what reports it
	}
	elapsed := now.Sub(r.start)
	r.learn.connected(res.addr, res.rtt, res.tcpAt)
	r.learnSlow(res.addr)
	r.learnName(res.addr)
	if r.hooks.t != nil {
		r.hooks.attemptDone(AttemptDoneInfo{
			Addr: res.addr, Index: res.index, Won: true,
			Elapsed: elapsed, Duration: now.Sub(res.begun),
		})
	}
	r.dnsDone(nil)
	r.hooks.m.dialWon(res.addr.Addr(), r.cands.tried[0], elapsed)
	if r.hooks.t != nil {
		r.hooks.dialDone(DialDoneInfo{Host: r.host, Addr: res.addr, Attempts: r.attempts, Elapsed: elapsed})
	}
	return res.conn
}
