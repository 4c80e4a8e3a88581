package dialer

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// Trace is a set of hooks that report the steps of a dial, so that a caller
// can see why a dial took as long as it did. Install it with WithTrace.
//
// Any particular hook may be nil. Hooks may be called concurrently from
// different goroutines (AttemptDone for an attempt that lost the race may
// run after DialContext has returned) and must not block. Every event
// carries Elapsed, the time since the dial began.
type Trace struct {
	// DNSAnswer is called when one address family's answer arrives.
	DNSAnswer func(DNSAnswerInfo)
	// AttemptStart is called just before a connection attempt starts.
	AttemptStart func(AttemptStartInfo)
	// AttemptDone is called when an attempt ends: it connected and won,
	// it failed, or it was cancelled (or closed, having connected too
	// late) because another attempt won or the dial was abandoned.
	AttemptDone func(AttemptDoneInfo)
	// DialDone is called once when DialContext is about to return.
	DialDone func(DialDoneInfo)
}

// DNSAnswerInfo describes one family's DNS answer.
type DNSAnswerInfo struct {
	Host   string
	Family resolver.Family
	Addrs  []netip.Addr // empty for a negative answer
	Err    error        // why Addrs is empty, if known
	// Synthesized reports IPv6 addresses made by the Dialer for a NAT64
	// (RFC 8305 §7) from the IPv4 answer, not received from DNS.
	Synthesized bool
	Elapsed     time.Duration
}

// AttemptStartInfo describes a connection attempt that is starting.
type AttemptStartInfo struct {
	Addr    netip.AddrPort
	Index   int // 0 for the first attempt of the dial, then 1, 2, …
	Elapsed time.Duration
}

// AttemptDoneInfo describes a connection attempt that ended.
type AttemptDoneInfo struct {
	Addr     netip.AddrPort
	Index    int
	Elapsed  time.Duration // when it ended, since the dial began
	Duration time.Duration // how long the attempt ran
	// Err is nil for the winner.
	Err error
	// Won reports that this attempt's connection was returned.
	Won bool
	// Cancelled reports that the attempt was stopped, or its late
	// connection closed, because the dial had already ended.
	Cancelled bool
}

// DialDoneInfo describes the end of a dial.
type DialDoneInfo struct {
	Host     string
	Addr     netip.AddrPort // the winner's address; zero on failure
	Attempts int            // attempts started
	Err      error
	Elapsed  time.Duration
}

type traceKey struct{}

// WithTrace returns a context that carries t, based on ctx. Dials made with
// the returned context report to t. If ctx already carries a Trace, both
// are called, the one already present first.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	if t == nil {
		return ctx
	}
	if old := ContextTrace(ctx); old != nil {
		t = compose(old, t)
	}
	return context.WithValue(ctx, traceKey{}, t)
}

// ContextTrace returns the Trace carried by ctx, or nil.
func ContextTrace(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

func compose(a, b *Trace) *Trace {
	return &Trace{
		DNSAnswer:    both(a.DNSAnswer, b.DNSAnswer),
		AttemptStart: both(a.AttemptStart, b.AttemptStart),
		AttemptDone:  both(a.AttemptDone, b.AttemptDone),
		DialDone:     both(a.DialDone, b.DialDone),
	}
}

func both[T any](f, g func(T)) func(T) {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(v T) { f(v); g(v) }
}

// tracer fires the optional hooks; a nil *Trace fires nothing.
type tracer struct{ t *Trace }

func (tr tracer) dnsAnswer(i DNSAnswerInfo) {
	if tr.t != nil && tr.t.DNSAnswer != nil {
		tr.t.DNSAnswer(i)
	}
}

func (tr tracer) attemptStart(i AttemptStartInfo) {
	if tr.t != nil && tr.t.AttemptStart != nil {
		tr.t.AttemptStart(i)
	}
}

func (tr tracer) attemptDone(i AttemptDoneInfo) {
	if tr.t != nil && tr.t.AttemptDone != nil {
		tr.t.AttemptDone(i)
	}
}

func (tr tracer) dialDone(i DialDoneInfo) {
	if tr.t != nil && tr.t.DialDone != nil {
		tr.t.DialDone(i)
	}
}

func ipAddrs(addrs []netip.Addr) []net.IPAddr {
	out := make([]net.IPAddr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()})
	}
	return out
}

// LogTrace returns a Trace that describes every event of a dial in one
// line through logf (log.Printf, testing.T.Logf, or a wrapper around a
// structured logger), for seeing why a dial took as long as it did:
//
//	ctx = dialer.WithTrace(ctx, dialer.LogTrace(log.Printf))
func LogTrace(logf func(format string, args ...any)) *Trace {
	ms := func(d time.Duration) string { return d.Round(time.Millisecond / 10).String() }
	return &Trace{
		DNSAnswer: func(i DNSAnswerInfo) {
			if i.Synthesized {
				logf("happyeyeballs: +%s %s NAT64 addresses: %v", ms(i.Elapsed), i.Host, i.Addrs)
			} else if len(i.Addrs) > 0 {
				logf("happyeyeballs: +%s %s %s answer: %v", ms(i.Elapsed), i.Host, i.Family.QType(), i.Addrs)
			} else {
				logf("happyeyeballs: +%s %s %s answer: none (%v)", ms(i.Elapsed), i.Host, i.Family.QType(), i.Err)
			}
		},
		AttemptStart: func(i AttemptStartInfo) {
			logf("happyeyeballs: +%s attempt %d to %v started", ms(i.Elapsed), i.Index, i.Addr)
		},
		AttemptDone: func(i AttemptDoneInfo) {
			switch {
			case i.Won:
				logf("happyeyeballs: +%s attempt %d to %v connected in %s and won", ms(i.Elapsed), i.Index, i.Addr, ms(i.Duration))
			case i.Cancelled:
				logf("happyeyeballs: +%s attempt %d to %v cancelled after %s: %v", ms(i.Elapsed), i.Index, i.Addr, ms(i.Duration), i.Err)
			default:
				logf("happyeyeballs: +%s attempt %d to %v failed after %s: %v", ms(i.Elapsed), i.Index, i.Addr, ms(i.Duration), i.Err)
			}
		},
		DialDone: func(i DialDoneInfo) {
			if i.Err != nil {
				logf("happyeyeballs: +%s dial to %s failed after %d attempt(s): %v", ms(i.Elapsed), i.Host, i.Attempts, i.Err)
				return
			}
			logf("happyeyeballs: +%s dial to %s connected to %v after %d attempt(s)", ms(i.Elapsed), i.Host, i.Addr, i.Attempts)
		},
	}
}
