package dialer

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// run is the state of one dial. It is owned by the goroutine running
// DialContext (the collector); attempt goroutines only send results.
type run struct {
	d       *Dialer
	nd      net.Dialer
	network string
	host    string
	port    uint16
	fams    []resolver.Family
	start   time.Time
	trace   tracer
	htrace  *httptrace.ClientTrace
	src     rfc6724.SourceFunc
	rawSrc  rfc6724.SourceFunc // src without the learned history
	learn   *learner           // nil when the Dialer does not learn

	// Configuration, resolved once.
	resolutionDelay time.Duration
	attemptDelay    time.Duration
	firstCount      int
	maxParallel     int
	maxAddrs        int
	prefer          resolver.Family
	deadline        time.Time

	// Resolution.
	pending       int             // answers not yet in: resolver families plus NAT64 synthesis
	dnsPending    int             // resolver families not yet answered
	only          resolver.Family // LocalAddr's family, when it has one: others are dropped
	filtered      int             // addresses dropped for only
	answered      [2]bool         // by famIndex
	perFamily     [2]int          // addresses kept, by famIndex
	firstPositive time.Time       // when the first address arrived
	dnsErrs       []error
	dnsDone       bool // httptrace DNSDone fired
	rctx          context.Context
	synthStarted  bool
	synth         chan []netip.Addr // NAT64 addresses, when synthesis runs

	// The race.
	untried   []netip.Addr // in the order they will be tried
	tried     []netip.Addr // in the order they started
	failures  []*AttemptError
	running   []runningAttempt // attempts in flight
	lastStart time.Time
	hurry     bool // an attempt failed since the last start
}

type runningAttempt struct {
	index int
	addr  netip.AddrPort
	start time.Time
}

type attemptResult struct {
	index  int
	addr   netip.AddrPort
	offset time.Duration // start, since the dial began
	begun  time.Time
	conn   net.Conn
	err    error
}

func newRun(d *Dialer, network, host string, port uint16, fams []resolver.Family, start time.Time) *run {
	src := rfc6724.SourceFunc(d.SourceAddr)
	if src == nil {
		src = rfc6724.ProbeSource
	}
	rawSrc := src
	var learn *learner
	switch {
	case d.testHistory != nil:
		learn = &learner{h: d.testHistory, src: src, port: port}
	case !d.DisableHistory && d.DialAttempt == nil && d.Control == nil && d.ControlContext == nil && !hasLocalIP(d.LocalAddr):
		learn = &learner{h: &sharedHistory, src: src, port: port}
	}
	if learn != nil {
		src = learn.sourceFunc()
	}
	nd := d.netDialer()
	nd.LocalAddr = localAddrFor(network, d.LocalAddr)
	return &run{
		d:               d,
		learn:           learn,
		rawSrc:          rawSrc,
		nd:              nd,
		network:         network,
		host:            host,
		port:            port,
		fams:            fams,
		start:           start,
		src:             src,
		resolutionDelay: d.resolutionDelay(),
		attemptDelay:    d.connectionAttemptDelay(),
		firstCount:      d.firstAddressFamilyCount(),
		maxParallel:     d.maxParallelAttempts(),
		maxAddrs:        d.maxAddresses(),
		prefer:          d.preferredFamily(),
	}
}

func (r *run) setContext(ctx context.Context) {
	r.trace = tracer{ContextTrace(ctx)}
	r.htrace = httptrace.ContextClientTrace(ctx)
	r.deadline, _ = ctx.Deadline()
}

// dialLiteral dials an IP literal: one attempt, no DNS.
func (r *run) dialLiteral(ctx context.Context, ip netip.Addr) (net.Conn, error) {
	r.setContext(ctx)
	f := resolver.Of(ip)
	r.fams = []resolver.Family{f}
	r.answered[famIndex(f)] = true
	r.perFamily[famIndex(f)] = 1
	r.untried = []netip.Addr{ip}
	if disc := r.discoverer(); disc != nil && r.needsNAT64(ip) {
		// An IPv4 literal on an IPv6-only network (RFC 8305 §7.1): try the
		// NAT64 address first, then the literal itself.
		if syn := r.synthesize(ctx, disc, r.untried); len(syn) > 0 {
			r.fams = []resolver.Family{resolver.IPv6, resolver.IPv4}
			r.answered[famIndex(resolver.IPv6)] = true
			r.perFamily[famIndex(resolver.IPv6)] = 1
			r.untried = []netip.Addr{syn[0], ip}
		}
	}
	return r.race(ctx, nil)
}

// dialName resolves the host and races its addresses as they arrive.
func (r *run) dialName(ctx context.Context) (net.Conn, error) {
	r.setContext(ctx)
	if r.htrace != nil && r.htrace.DNSStart != nil {
		r.htrace.DNSStart(httptrace.DNSStartInfo{Host: r.host})
	}
	// The lookups end with the dial: a resolver that caches keeps its own
	// queries alive for late answers (RFC 8305 §5).
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.rctx = rctx
	r.pending = len(r.fams)
	r.dnsPending = len(r.fams)
	answers := r.d.resolver().Resolve(rctx, r.host, r.fams...)
	if answers == nil {
		r.resolverClosed()
	}
	return r.race(ctx, answers)
}

// race runs the connection attempts: it merges answers as they arrive,
// starts attempts on schedule, and returns the first connection.
func (r *run) race(ctx context.Context, answers <-chan resolver.Answer) (net.Conn, error) {
	attemptCtx, cancelAttempts := context.WithCancel(ctx)
	defer cancelAttempts()
	// done is closed when the dial returns. An attempt that finishes after
	// that finds no receiver and closes its own connection.
	done := make(chan struct{})
	defer close(done)
	// Unbuffered: a result is either taken by this goroutine while the dial
	// is running, or handled by its sender once done is closed; never lost.
	results := make(chan attemptResult)

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
			wait, ok := r.nextStart(now)
			if !ok {
				break
			}
			if wait > 0 {
				timer.Reset(wait)
				timerC = timer.C
				break
			}
			r.startAttempt(attemptCtx, results, done, now)
		}
		if r.pending == 0 && len(r.running) == 0 && !r.canStart() {
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
			r.merge(a, false)
		case syn := <-r.synth:
			r.mergeSynthesized(syn)
		case res := <-results:
			r.running = slices.DeleteFunc(r.running, func(a runningAttempt) bool { return a.index == res.index })
			if res.err == nil {
				return r.win(res), nil
			}
			r.learn.failed(res.addr, res.err)
			r.failures = append(r.failures, &AttemptError{Addr: res.addr, Start: res.offset, Err: res.err})
			r.hurry = true
			r.trace.attemptDone(AttemptDoneInfo{
				Addr: res.addr, Index: res.index, Err: res.err,
				Elapsed: time.Since(r.start), Duration: time.Since(res.begun),
			})
		case <-timerC:
		case <-ctx.Done():
			return nil, r.fail(ctx.Err())
		}
	}
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

// canStart reports whether an address is left that this dial may try.
func (r *run) canStart() bool {
	return len(r.untried) > 0 && len(r.tried) < r.maxAddrs
}

// nextStart reports whether the next attempt can start, and if so how
// long from now; ok is false when nothing can start until an event (an
// answer, or an attempt ending).
func (r *run) nextStart(now time.Time) (wait time.Duration, ok bool) {
	if !r.canStart() || len(r.running) >= r.maxParallel {
		return 0, false
	}
	if !r.deadline.IsZero() && !now.Before(r.deadline) {
		// The deadline has come; the context's timer, due at this same
		// instant, may not have fired yet. An attempt now could not
		// connect: wait for ctx.Done instead.
		return 0, false
	}
	if len(r.tried) == 0 {
		if r.waitingForPreferred() {
			// RFC 8305 §3: the first answer is not of the preferred family;
			// give that family's answer the Resolution Delay to arrive.
			// Near a deadline, wait at most half the time left, as the
			// stagger is shortened, so that the addresses known are
			// still tried.
			due := r.firstPositive.Add(r.resolutionDelay)
			if !r.deadline.IsZero() {
				due = minNonzeroTime(due, r.firstPositive.Add(r.deadline.Sub(r.firstPositive)/2))
			}
			return due.Sub(now), true
		}
		return 0, true
	}
	gap := r.attemptDelay
	if r.hurry || len(r.running) == 0 {
		// A failure starts the next attempt now (RFC 8305 §5 is silent;
		// every implementation does this), but never within 10 ms.
		gap = MinConnectionAttemptDelay
	} else if !r.deadline.IsZero() {
		// Near a deadline, stagger the remaining addresses evenly over the
		// time left so that each still gets a chance.
		share := r.deadline.Sub(r.lastStart) / time.Duration(len(r.untried)+1)
		gap = max(min(gap, share), MinConnectionAttemptDelay)
	}
	return r.lastStart.Add(gap).Sub(now), true
}

// waitingForPreferred reports whether the first attempt should still
// wait, within the Resolution Delay, for an answer that is outstanding:
// no address known so far is both of the preferred family and usable
// (RFC 8305 §3 waits for AAAA when A comes first; by the same reasoning a
// dial whose only IPv6 addresses are unusable, having no route or having
// been learned unreachable, waits for A).
func (r *run) waitingForPreferred() bool {
	if r.pending == 0 {
		return false
	}
	pf := r.prefer
	if pf == 0 {
		pf = resolver.IPv6
	}
	if !containsFamily(r.fams, pf) {
		return false
	}
	for _, a := range r.untried {
		if resolver.Of(a) != pf {
			continue
		}
		if _, ok := r.src(a); ok {
			return false
		}
	}
	return true
}

func (r *run) startAttempt(ctx context.Context, results chan<- attemptResult, done <-chan struct{}, now time.Time) {
	addr := r.untried[0]
	r.untried = r.untried[1:]
	r.tried = append(r.tried, addr)
	r.lastStart = now
	r.hurry = false
	ap := netip.AddrPortFrom(addr, r.port)
	index := len(r.tried) - 1
	r.running = append(r.running, runningAttempt{index: index, addr: ap, start: now})
	offset := now.Sub(r.start)
	r.trace.attemptStart(AttemptStartInfo{Addr: ap, Index: index, Elapsed: offset})
	if r.d.DialAttempt != nil && r.htrace != nil && r.htrace.ConnectStart != nil {
		// Fired here, by the collector, so that it never comes after
		// DialContext has returned. (net.Dialer fires its own on the
		// built-in path.)
		r.htrace.ConnectStart(attemptNetwork(ap), ap.String())
	}
	go r.attempt(ctx, results, done, index, ap, offset)
}

// attempt makes one connection attempt and reports it to the collector,
// or, if the dial has already returned, closes what it connected.
func (r *run) attempt(ctx context.Context, results chan<- attemptResult, done <-chan struct{}, index int, ap netip.AddrPort, offset time.Duration) {
	begun := time.Now()
	select {
	case <-done:
		// The dial ended (won or cancelled) between this attempt's start
		// and its goroutine running: make no connection.
		r.connectDone(ap, context.Canceled)
		r.trace.attemptDone(AttemptDoneInfo{
			Addr: ap, Index: index, Err: context.Canceled, Cancelled: true,
			Elapsed: time.Since(r.start),
		})
		return
	default:
	}
	conn, err := r.dialOne(ctx, ap)
	if err == nil && r.d.Handshake != nil {
		var hc net.Conn
		hc, err = r.d.Handshake(ctx, conn)
		if err == nil && hc == nil {
			err = errors.New("handshake returned no connection")
		}
		if err != nil {
			conn.Close()
			conn = nil
		} else {
			conn = hc
		}
	}
	select {
	case results <- attemptResult{index: index, addr: ap, offset: offset, begun: begun, conn: conn, err: err}:
	case <-done:
		if conn != nil {
			conn.Close()
			err = errLateWinner
			r.learn.reachable(ap)
		}
		r.trace.attemptDone(AttemptDoneInfo{
			Addr: ap, Index: index, Err: err, Cancelled: true,
			Elapsed: time.Since(r.start), Duration: time.Since(begun),
		})
	}
}

// dialOne connects to one address with the built-in net.Dialer or the
// DialAttempt hook.
func (r *run) dialOne(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	network := attemptNetwork(ap)
	if r.d.DialAttempt == nil {
		// net.Dialer fires httptrace's ConnectStart and ConnectDone.
		return r.nd.DialContext(ctx, network, ap.String())
	}
	// ConnectStart was fired by startAttempt.
	if err := ctx.Err(); err != nil {
		// The dial ended while this attempt was being started.
		r.connectDone(ap, err)
		return nil, err
	}
	// The hook gets the caller's context without httptrace's hooks: the
	// Dialer fires ConnectStart and ConnectDone itself, and a hook that
	// dials with net.Dialer would fire them a second time.
	conn, err := r.d.DialAttempt(withoutTraceHooks(ctx), network, ap)
	if err == nil && conn == nil {
		err = errors.New("DialAttempt returned neither a connection nor an error")
	}
	if err != nil && conn != nil {
		conn.Close()
		conn = nil
	}
	r.connectDone(ap, err)
	return conn, err
}

// connectDone fires httptrace's ConnectDone for an attempt made through
// DialAttempt (net.Dialer fires its own).
func (r *run) connectDone(ap netip.AddrPort, err error) {
	if r.d.DialAttempt != nil && r.htrace != nil && r.htrace.ConnectDone != nil {
		r.htrace.ConnectDone(attemptNetwork(ap), ap.String(), err)
	}
}

// attemptNetwork is the network an attempt to ap dials: "tcp4" or "tcp6".
func attemptNetwork(ap netip.AddrPort) string {
	if ap.Addr().Is6() {
		return "tcp6"
	}
	return "tcp4"
}

// merge adds one family's answer to the plan. synthesized answers (NAT64)
// are not the resolver's and do not count as the family's answer.
func (r *run) merge(a resolver.Answer, synthesized bool) {
	if !synthesized {
		if r.answered[famIndex(a.Family)] || !containsFamily(r.fams, a.Family) {
			return // a resolver that answers twice or out of turn is ignored
		}
		r.answered[famIndex(a.Family)] = true
		r.pending--
		r.dnsPending--
	}
	var added []netip.Addr
	fi := famIndex(a.Family)
	for _, addr := range a.Addrs {
		addr = addr.Unmap()
		if !addr.IsValid() || resolver.Of(addr) != a.Family || r.perFamily[fi] >= maxKeptPerFamily ||
			slices.Contains(added, addr) || slices.Contains(r.untried, addr) || slices.Contains(r.tried, addr) {
			continue
		}
		if r.only != 0 && a.Family != r.only {
			r.filtered++ // LocalAddr cannot reach this family
			continue
		}
		r.perFamily[fi]++
		added = append(added, addr)
	}
	r.trace.dnsAnswer(DNSAnswerInfo{Host: r.host, Family: a.Family, Addrs: added, Err: a.Err, Synthesized: synthesized, Elapsed: time.Since(r.start)})
	if len(added) > 0 {
		if r.firstPositive.IsZero() {
			r.firstPositive = time.Now()
		}
		r.untried = plan(append(r.untried, added...), r.tried, r.firstCount, r.prefer, r.src)
	}
	if synthesized {
		return
	}
	switch {
	case len(added) == 0:
		err := a.Err
		if err == nil {
			err = &net.DNSError{Err: "no such host", Name: r.host, IsNotFound: true}
		}
		r.dnsErrs = append(r.dnsErrs, err)
	case a.Family == resolver.IPv4 && r.rctx != nil:
		r.startSynthesis(r.rctx, added)
	}
	if r.dnsPending == 0 {
		r.fireDNSDone(nil)
	}
}

// resolverClosed handles a resolver that closed its channel without
// answering every family: the missing families count as failed.
func (r *run) resolverClosed() {
	for _, f := range r.fams {
		if !r.answered[famIndex(f)] {
			r.merge(resolver.Answer{Family: f, Err: &net.DNSError{Err: "resolver gave no answer", Name: r.host}}, false)
		}
	}
}

// fireDNSDone fires httptrace's DNSDone once, when the resolver has
// answered every family or the dial ends first. err, when set, is why the
// resolution ended early.
func (r *run) fireDNSDone(err error) {
	if r.dnsDone || r.htrace == nil || r.htrace.DNSDone == nil {
		r.dnsDone = true
		return
	}
	r.dnsDone = true
	known := make([]netip.Addr, 0, len(r.tried)+len(r.untried))
	known = append(append(known, r.tried...), r.untried...)
	if len(known) == 0 && err == nil {
		err = r.dnsError()
	}
	r.htrace.DNSDone(httptrace.DNSDoneInfo{Addrs: ipAddrs(known), Err: err})
}

func (r *run) win(res attemptResult) net.Conn {
	elapsed := time.Since(r.start)
	r.learn.reachable(res.addr)
	r.learnSlow()
	r.trace.attemptDone(AttemptDoneInfo{
		Addr: res.addr, Index: res.index, Won: true,
		Elapsed: elapsed, Duration: time.Since(res.begun),
	})
	if r.rctx != nil {
		r.fireDNSDone(nil)
	}
	r.trace.dialDone(DialDoneInfo{Host: r.host, Addr: res.addr, Attempts: len(r.tried), Elapsed: elapsed})
	return res.conn
}

// fail builds the dial's error. ctxErr is the context's error when the
// dial was cut short, nil when everything was tried.
func (r *run) fail(ctxErr error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		r.learnSlow()
	}
	var err error
	switch {
	case len(r.tried) == 0 && ctxErr != nil && r.rctx != nil:
		// A name cut short while resolving: the shape net.Dialer gives.
		// (An IP literal was never looked up: a DialError says why.)
		msg := "operation was canceled"
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			msg = "i/o timeout"
		}
		err = &net.DNSError{Err: msg, Name: r.host, IsTimeout: msg == "i/o timeout", UnwrapErr: ctxErr}
		r.fireDNSDone(err)
	case len(r.tried) == 0 && ctxErr == nil && r.filtered > 0:
		// Addresses exist, none of LocalAddr's family: net.Dialer's error.
		err = &net.AddrError{Err: "no suitable address found", Addr: r.host}
		r.fireDNSDone(nil)
	case len(r.tried) == 0 && ctxErr == nil:
		err = r.dnsError()
		r.fireDNSDone(err)
	default:
		if r.rctx != nil {
			r.fireDNSDone(nil)
		}
		err = &DialError{Host: r.host, Port: r.port, Attempts: r.attemptErrors(ctxErr), DNS: r.dnsErrs, Err: ctxErr}
	}
	r.trace.dialDone(DialDoneInfo{Host: r.host, Attempts: len(r.tried), Err: err, Elapsed: time.Since(r.start)})
	return &net.OpError{Op: "dial", Net: r.network, Source: r.d.LocalAddr, Err: err}
}

// dnsError is the error for a name that gave no address: the first
// failure that is not "not found" (a timeout, SERVFAIL), else not found.
func (r *run) dnsError() error {
	for _, e := range r.dnsErrs {
		var de *net.DNSError
		if errors.As(e, &de) {
			if !de.IsNotFound {
				return de
			}
			continue
		}
		return &net.DNSError{Err: e.Error(), Name: r.host, UnwrapErr: e}
	}
	return &net.DNSError{Err: "no such host", Name: r.host, IsNotFound: true}
}

// learnSlow marks as unreachable the attempts still running that have had
// a whole Connection Attempt Delay to connect and have not.
func (r *run) learnSlow() {
	if r.learn == nil {
		return
	}
	now := time.Now()
	for _, a := range r.running {
		if now.Sub(a.start) >= r.attemptDelay {
			r.learn.unreachable(a.addr)
		}
	}
}

// attemptErrors lists every attempt of the dial in start order: the failed
// ones with their errors, and those still running when the dial was cut
// short with ctxErr.
func (r *run) attemptErrors(ctxErr error) []*AttemptError {
	errs := slices.Clone(r.failures)
	for _, a := range r.running {
		errs = append(errs, &AttemptError{Addr: a.addr, Start: a.start.Sub(r.start), Err: ctxErr})
	}
	slices.SortStableFunc(errs, func(a, b *AttemptError) int { return cmp.Compare(a.Start, b.Start) })
	return errs
}

// famIndex indexes per-family arrays: 0 for IPv6, 1 for IPv4.
func famIndex(f resolver.Family) int {
	if f == resolver.IPv6 {
		return 0
	}
	return 1
}

// maxKeptPerFamily bounds the addresses kept from one answer, whatever
// MaxAddresses says: they are all sorted before MaxAddresses picks the
// ones tried.
const maxKeptPerFamily = 1024

// withoutTraceHooks hides httptrace's hooks (and the net package's own
// trace, which httptrace installs) from ctx's values; every other value
// and the cancellation stay.
func withoutTraceHooks(ctx context.Context) context.Context {
	if httptrace.ContextClientTrace(ctx) == nil {
		return ctx
	}
	return traceless{ctx}
}

type traceless struct{ context.Context }

func (c traceless) Value(key any) any {
	// The two keys are unexported types of net/http/httptrace and
	// internal/nettrace; their names are all that can be matched.
	switch reflect.TypeOf(key).String() {
	case "httptrace.clientEventContextKey", "nettrace.TraceKey":
		return nil
	}
	return c.Context.Value(key)
}

// hasLocalIP reports whether la is a *net.TCPAddr with a specific IP.
func hasLocalIP(la net.Addr) bool {
	t, ok := la.(*net.TCPAddr)
	return ok && t != nil && t.IP != nil && !t.IP.IsUnspecified()
}

// localAddrFor returns the net.Dialer LocalAddr for an attempt: an
// unspecified IP ("[::]:0", "0.0.0.0:0") means "any address" for both
// families on "tcp", as with net.Dialer's dual-stack sockets, so it is
// reduced to its port.
func localAddrFor(network string, la net.Addr) net.Addr {
	t, ok := la.(*net.TCPAddr)
	if !ok || t == nil {
		if ok {
			return nil // a typed nil *net.TCPAddr means no local address
		}
		return la
	}
	if network == "tcp" && (t.IP == nil || t.IP.IsUnspecified()) {
		if t.Port == 0 {
			return nil
		}
		return &net.TCPAddr{Port: t.Port}
	}
	return la
}
