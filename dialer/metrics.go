package dialer

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// Metrics counts what the Dialers given it do, by address family: DNS
// answers and their latency, connection attempts started, failed (by
// cause), cancelled and won, addresses rejected, dials that fell back to
// the other family, and time to connect. Give one to any number of
// Dialers (Dialer.Metrics); read it with Snapshot, or publish it with
// expvar.Publish (it is an expvar.Var: String returns JSON).
//
// The zero value is ready to use. A Metrics is safe for concurrent use,
// counts with atomic operations only (no locks, no allocations), and must
// not be copied after first use. A Dialer without one counts nothing.
type Metrics struct {
	dials, connected, failed, fellBack atomic.Int64
	connectTime                        histogram
	family                             [2]familyCounters // by familyIndex
	https                              httpsCounters
}

type httpsCounters struct {
	positive, negative, errors atomic.Int64
	latency                    histogram
}

type familyCounters struct {
	dnsPositive, dnsNegative, dnsErrors atomic.Int64
	dnsLatency                          histogram

	started, won, cancelled, rejected atomic.Int64
	failed                            [numCauses]atomic.Int64
	connectTime                       histogram // of dials this family won
}

// cause classes of failed attempts.
const (
	causeRefused = iota
	causeTimeout
	causeUnreachable
	causeOther
	numCauses
)

// histogramBounds are the upper bounds of the buckets of every latency
// histogram; the last bucket has no bound.
var histogramBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

type histogram struct {
	counts [len(histogramBounds) + 1]atomic.Int64
	sum    atomic.Int64 // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(histogramBounds) && d > histogramBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: histogramBounds[:], Counts: make([]int64, len(h.counts))}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// MetricsSnapshot is a Metrics' counts at one moment.
type MetricsSnapshot struct {
	// Dials counts the dials made (by "tcp", "tcp4" and "tcp6"); each
	// ends either Connected or Failed.
	Dials, Connected, Failed int64
	// FellBack counts the dials won by a family other than that of the
	// first attempt (a broken or slow first family).
	FellBack int64
	// IPv6Share is the share of connections made over IPv6, between 0 and
	// 1; zero before any.
	IPv6Share float64
	// ConnectTime is the distribution of the time from DialContext to a
	// connection, for the dials that connected.
	ConnectTime Histogram
	IPv6, IPv4  FamilyMetrics
	// HTTPS counts the HTTPS answers (RFC 9460) of dials that asked.
	HTTPS HTTPSMetrics
}

// HTTPSMetrics counts HTTPS answers: with usable services or not
// (NXDOMAIN, NODATA), and failed (timeout, SERVFAIL, cancelled).
// DNSLatency is the time from the dial's start to each answer.
type HTTPSMetrics struct {
	DNSPositive, DNSNegative, DNSErrors int64
	DNSLatency                          Histogram
}

// FamilyMetrics are one address family's counts.
type FamilyMetrics struct {
	// DNSPositive, DNSNegative and DNSErrors count the family's DNS
	// answers: with addresses, without (NXDOMAIN, NODATA), and failed
	// (timeout, SERVFAIL, cancelled). DNSLatency is the time from the
	// dial's start to each answer.
	DNSPositive, DNSNegative, DNSErrors int64
	DNSLatency                          Histogram
	// AttemptsStarted counts connection attempts; each ends won, failed
	// or cancelled (stopped, or closed having connected too late, because
	// the dial had ended).
	AttemptsStarted, AttemptsWon, AttemptsCancelled int64
	AttemptsFailed                                  AttemptFailures
	// Rejected counts addresses not tried: unusable, or rejected by the
	// Dialer's Policy.
	Rejected int64
	// ConnectTime is the time to connect of the dials this family won.
	ConnectTime Histogram
}

// AttemptFailures counts failed attempts by cause.
type AttemptFailures struct {
	Refused     int64 // the peer reset the connection attempt (ECONNREFUSED)
	Timeout     int64 // no answer in time: a black hole, or the deadline
	Unreachable int64 // no route (EHOSTUNREACH, ENETUNREACH)
	Other       int64 // anything else, a failed Handshake (TLS) among them
}

// Total is the number of failed attempts, whatever the cause.
func (f AttemptFailures) Total() int64 {
	return f.Refused + f.Timeout + f.Unreachable + f.Other
}

// Histogram is a distribution of durations: Counts[i] is how many were at
// most Bounds[i] (and more than Bounds[i-1]); the last count has no upper
// bound, so len(Counts) == len(Bounds)+1.
type Histogram struct {
	Bounds []time.Duration
	Counts []int64
	Count  int64
	Sum    time.Duration
}

// Snapshot returns the counts now. Counters are read one by one while
// dials may go on, so a snapshot taken during dials may be off by the
// events of that instant.
func (m *Metrics) Snapshot() MetricsSnapshot {
	s := MetricsSnapshot{
		Dials: m.dials.Load(), Connected: m.connected.Load(), Failed: m.failed.Load(),
		FellBack: m.fellBack.Load(), ConnectTime: m.connectTime.snapshot(),
		IPv6: m.family[0].snapshot(), IPv4: m.family[1].snapshot(),
		HTTPS: HTTPSMetrics{
			DNSPositive: m.https.positive.Load(), DNSNegative: m.https.negative.Load(),
			DNSErrors: m.https.errors.Load(), DNSLatency: m.https.latency.snapshot(),
		},
	}
	if won := s.IPv6.AttemptsWon + s.IPv4.AttemptsWon; won > 0 {
		s.IPv6Share = float64(s.IPv6.AttemptsWon) / float64(won)
	}
	return s
}

func (f *familyCounters) snapshot() FamilyMetrics {
	return FamilyMetrics{
		DNSPositive: f.dnsPositive.Load(), DNSNegative: f.dnsNegative.Load(), DNSErrors: f.dnsErrors.Load(),
		DNSLatency:      f.dnsLatency.snapshot(),
		AttemptsStarted: f.started.Load(), AttemptsWon: f.won.Load(), AttemptsCancelled: f.cancelled.Load(),
		AttemptsFailed: AttemptFailures{
			Refused: f.failed[causeRefused].Load(), Timeout: f.failed[causeTimeout].Load(),
			Unreachable: f.failed[causeUnreachable].Load(), Other: f.failed[causeOther].Load(),
		},
		Rejected:    f.rejected.Load(),
		ConnectTime: f.connectTime.snapshot(),
	}
}

// String returns the snapshot as JSON, durations in nanoseconds, so that
// a *Metrics is an expvar.Var:
//
//	expvar.Publish("happyeyeballs", &metrics)
func (m *Metrics) String() string {
	b, err := json.Marshal(m.Snapshot())
	if err != nil {
		return "{}"
	}
	return string(b)
}

// The hooks a dial calls; every one is a no-op on a nil *Metrics.

func (m *Metrics) dnsAnswer(a resolver.Answer, elapsed time.Duration) {
	if m == nil {
		return
	}
	f := &m.family[familyIndex(a.Family)]
	switch {
	case a.Positive():
		f.dnsPositive.Add(1)
	case a.Err == nil, isNotFound(a.Err):
		f.dnsNegative.Add(1)
	default:
		f.dnsErrors.Add(1)
	}
	f.dnsLatency.observe(elapsed)
}

func (m *Metrics) httpsAnswer(a resolver.Answer, elapsed time.Duration) {
	if m == nil {
		return
	}
	switch {
	case a.Positive():
		m.https.positive.Add(1)
	case a.Err == nil, isNotFound(a.Err):
		m.https.negative.Add(1)
	default:
		m.https.errors.Add(1)
	}
	m.https.latency.observe(elapsed)
}

func (m *Metrics) attemptStarted(ap netip.AddrPort) {
	if m != nil {
		m.family[familyIndex(resolver.Of(ap.Addr()))].started.Add(1)
	}
}

func (m *Metrics) attemptFailed(ap netip.AddrPort, err error) {
	if m != nil {
		m.family[familyIndex(resolver.Of(ap.Addr()))].failed[causeOf(err)].Add(1)
	}
}

func (m *Metrics) attemptCancelled(ap netip.AddrPort) {
	if m != nil {
		m.family[familyIndex(resolver.Of(ap.Addr()))].cancelled.Add(1)
	}
}

func (m *Metrics) addressRejected(addr netip.Addr) {
	if m != nil {
		m.family[familyIndex(resolver.Of(addr))].rejected.Add(1)
	}
}

// dialWon counts a dial won by an attempt to ap, whose first attempt went
// to first, after elapsed.
func (m *Metrics) dialWon(ap, first netip.Addr, elapsed time.Duration) {
	if m == nil {
		return
	}
	f := &m.family[familyIndex(resolver.Of(ap))]
	f.won.Add(1)
	f.connectTime.observe(elapsed)
	m.dials.Add(1)
	m.connected.Add(1)
	m.connectTime.observe(elapsed)
	if resolver.Of(ap) != resolver.Of(first) {
		m.fellBack.Add(1)
	}
}

func (m *Metrics) dialFailed() {
	if m != nil {
		m.dials.Add(1)
		m.failed.Add(1)
	}
}

// isNotFound reports a negative answer's error (NXDOMAIN, NODATA). The
// usual *net.DNSError is checked without errors.As, which allocates.
func isNotFound(err error) bool {
	if de, ok := err.(*net.DNSError); ok {
		return de.IsNotFound
	}
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// causeOf classes an attempt's error.
func causeOf(err error) int {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return causeRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return causeUnreachable
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return causeTimeout
	}
	return causeOther
}

// isTimeout reports whether err, or an error it wraps, is a net.Error
// that timed out; the usual *net.OpError is checked without errors.As.
func isTimeout(err error) bool {
	if t, ok := err.(interface{ Timeout() bool }); ok {
		return t.Timeout()
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
