package dialer

import (
	"context"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/netip"
	"reflect"
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
	// AddressRejected is called for an address the dial will not try
	// because it is unusable or the Dialer's Policy rejected it.
	AddressRejected func(AddressRejectedInfo)
	// AttemptStart is called just before a connection attempt starts.
	AttemptStart func(AttemptStartInfo)
	// AttemptDone is called when an attempt ends: it connected and won,
	// it failed, or it was cancelled (or closed, having connected too
	// late) because another attempt won or the dial was abandoned.
	AttemptDone func(AttemptDoneInfo)
	// DialDone is called once when DialContext is about to return.
	DialDone func(DialDoneInfo)

	// HTTPSAnswer is called when the HTTPS answer (RFC 9460) of a dial
	// that asked for it arrives. The address answers of the services'
	// targets, and their address hints, are reported by DNSAnswer.
	HTTPSAnswer func(HTTPSAnswerInfo)
	// HintsReplaced is called when an A or AAAA answer replaces the
	// address hints of the same name and some hints, not in the answer
	// and not yet tried, are dropped (HEv3 §7).
	HintsReplaced func(HintsReplacedInfo)
	// HTTPSAttempt is called, after AttemptStart, for an attempt to an
	// address an HTTPS service covers: which service, and what it
	// changed.
	HTTPSAttempt func(HTTPSAttemptInfo)
	// ECH is called when a TLSDialer attempt that used, or could not
	// use, a service's Encrypted Client Hello configuration ends its TLS
	// handshake.
	ECH func(ECHInfo)
}

// HTTPSAnswerInfo describes the HTTPS answer of a dial.
type HTTPSAnswerInfo struct {
	Host string // the name asked (resolver.HTTPSQueryName)
	// Services are the services the dial uses, in the order their
	// addresses are tried (HEv3 §5); Skipped counts those left out
	// because their ALPN set holds no protocol the caller speaks.
	Services []resolver.Service
	Skipped  int
	Err      error // why there are no services, if known
	Elapsed  time.Duration
}

// HintsReplacedInfo describes address hints dropped because the A or
// AAAA answer of their name arrived without them.
type HintsReplacedInfo struct {
	Host    string // the hints' name: the dialed host or a service's target
	Family  resolver.Family
	Dropped []netip.Addr
	Elapsed time.Duration
}

// HTTPSAttemptInfo describes an attempt to an address of an HTTPS service.
type HTTPSAttemptInfo struct {
	Addr   netip.AddrPort
	Index  int    // as in AttemptStartInfo
	Target string // the service's target: the dialed host or another name
	// Priority is the service's SvcPriority.
	Priority uint16
	// Hint reports an address from the service's ipv4hint or ipv6hint,
	// not (yet) confirmed by an A or AAAA answer.
	Hint bool
	// PortChanged reports that the service's port parameter replaced the
	// dialed port (Addr holds it).
	PortChanged bool
	// ECH reports that the attempt's TLS handshake is given the service's
	// Encrypted Client Hello configuration.
	ECH     bool
	Elapsed time.Duration
}

// ECHInfo describes how an attempt's TLS handshake went with the
// service's Encrypted Client Hello configuration.
type ECHInfo struct {
	Addr netip.AddrPort
	// Accepted reports that the server accepted ECH.
	Accepted bool
	// Retried reports that the server rejected the configuration from
	// DNS and the handshake was run again, on a new connection, with
	// the retry configuration the server sent.
	Retried bool
	// Unusable reports a configuration crypto/tls cannot use (malformed,
	// or no supported suite): the handshake ran without ECH.
	Unusable bool
	// Err is the handshake's error, or why the configuration is unusable.
	Err     error
	Elapsed time.Duration
}

// DNSAnswerInfo describes one family's DNS answer.
type DNSAnswerInfo struct {
	Host   string
	Family resolver.Family
	// Addrs are the addresses the answer added to the dial's candidates,
	// in its order: unusable, rejected and already known ones (from an
	// earlier answer or an HTTPS hint) are left out, so a positive answer
	// that brought nothing new has none and no Err.
	Addrs []netip.Addr
	Err   error // why the answer was negative, if it was
	// Synthesized reports IPv6 addresses made by the Dialer for a NAT64
	// (RFC 8305 §7) from the IPv4 answer, not received from DNS.
	Synthesized bool
	// Hint reports addresses from an HTTPS record's ipv4hint or ipv6hint
	// (RFC 9460 §7.3), used until the name's own answer arrives (HEv3
	// §4.2.1). Host is then the service's target.
	Hint    bool
	Elapsed time.Duration
}

// AddressRejectedInfo describes an address a dial will not try.
type AddressRejectedInfo struct {
	Host    string
	Addr    netip.AddrPort
	Err     error // ErrUnusableAddress or the Policy's error
	Elapsed time.Duration
}

// AttemptStartInfo describes a connection attempt that is starting.
type AttemptStartInfo struct {
	Addr    netip.AddrPort
	Index   int // 0 for the first attempt of the dial, then 1, 2, …
	Elapsed time.Duration
	// Delay is the Connection Attempt Delay before the next attempt may
	// start (sooner if this one fails), and DelayFrom where it came from:
	// "" for the Dialer's own, "history" for a round trip this Dialer's
	// History measured (or loaded), "host" for one the host's kernel
	// remembered (History.HostMemory).
	Delay     time.Duration
	DelayFrom string
	// Backup reports a second or third attempt to an address whose first
	// has not answered (see History).
	Backup bool
	// Known says what the History knew of the address when the dial
	// sorted it: "" nothing, "history" or "host" that it connected
	// recently (so it is preferred), "unreachable" that it did not answer
	// (so it is tried last), "refused".
	Known string
	// Reordered reports that what the History knew changed the order:
	// RFC 6724 sorting and the family interleaving alone (RFC 8305 §4),
	// over the same addresses, would have tried another address now. The
	// Known of this attempt and of the others says why (with HostMemory,
	// "host": the kernel's TCP metrics).
	Reordered bool
	// Early reports that the attempt started before the previous one's
	// Connection Attempt Delay ran out, at the 10 ms minimum (RFC 8305
	// §5), because its address is known to work and none in flight is
	// (Known says from where). An attempt that starts at once because
	// the previous one failed is not Early.
	Early bool
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
		DNSAnswer:       both(a.DNSAnswer, b.DNSAnswer),
		AddressRejected: both(a.AddressRejected, b.AddressRejected),
		AttemptStart:    both(a.AttemptStart, b.AttemptStart),
		AttemptDone:     both(a.AttemptDone, b.AttemptDone),
		DialDone:        both(a.DialDone, b.DialDone),
		HTTPSAnswer:     both(a.HTTPSAnswer, b.HTTPSAnswer),
		HintsReplaced:   both(a.HintsReplaced, b.HintsReplaced),
		HTTPSAttempt:    both(a.HTTPSAttempt, b.HTTPSAttempt),
		ECH:             both(a.ECH, b.ECH),
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

// hooks fires the hooks a dial's context carries: this package's Trace
// and httptrace's ClientTrace. Either may be absent.
type hooks struct {
	t    *Trace
	http *httptrace.ClientTrace
	// connect is set when the Dialer fires httptrace's ConnectStart and
	// ConnectDone itself: for attempts made by DialAttempt. (net.Dialer
	// fires its own on the built-in path.)
	connect bool
	// m counts, when the Dialer has Metrics.
	m *Metrics
}

func newHooks(ctx context.Context, viaDialAttempt bool) hooks {
	h := hooks{t: ContextTrace(ctx), http: httptrace.ContextClientTrace(ctx)}
	h.connect = viaDialAttempt && h.http != nil
	return h
}

func (h hooks) dnsAnswer(i DNSAnswerInfo) {
	if h.t != nil && h.t.DNSAnswer != nil {
		h.t.DNSAnswer(i)
	}
}

func (h hooks) addressRejected(i AddressRejectedInfo) {
	if h.t != nil && h.t.AddressRejected != nil {
		h.t.AddressRejected(i)
	}
}

func (h hooks) attemptStart(i AttemptStartInfo) {
	if h.t != nil && h.t.AttemptStart != nil {
		h.t.AttemptStart(i)
	}
}

func (h hooks) attemptDone(i AttemptDoneInfo) {
	if h.t != nil && h.t.AttemptDone != nil {
		h.t.AttemptDone(i)
	}
}

func (h hooks) dialDone(i DialDoneInfo) {
	if h.t != nil && h.t.DialDone != nil {
		h.t.DialDone(i)
	}
}

func (h hooks) httpsAnswer(i HTTPSAnswerInfo) {
	if h.t != nil && h.t.HTTPSAnswer != nil {
		h.t.HTTPSAnswer(i)
	}
}

func (h hooks) hintsReplaced(i HintsReplacedInfo) {
	if h.t != nil && h.t.HintsReplaced != nil {
		h.t.HintsReplaced(i)
	}
}

func (h hooks) ech(i ECHInfo) {
	if h.t != nil && h.t.ECH != nil {
		h.t.ECH(i)
	}
}

func (h hooks) dnsStart(host string) {
	if h.http != nil && h.http.DNSStart != nil {
		h.http.DNSStart(httptrace.DNSStartInfo{Host: host})
	}
}

// wantDNSDone reports whether dnsDone fires anything, so that its
// arguments are built only then.
func (h hooks) wantDNSDone() bool { return h.http != nil && h.http.DNSDone != nil }

func (h hooks) dnsDone(addrs []netip.Addr, err error) {
	if h.wantDNSDone() {
		h.http.DNSDone(httptrace.DNSDoneInfo{Addrs: ipAddrs(addrs), Err: err})
	}
}

func (h hooks) connectStart(ap netip.AddrPort) {
	if h.connect && h.http.ConnectStart != nil {
		h.http.ConnectStart(attemptNetwork(ap), ap.String())
	}
}

func (h hooks) connectDone(ap netip.AddrPort, err error) {
	if h.connect && h.http.ConnectDone != nil {
		h.http.ConnectDone(attemptNetwork(ap), ap.String(), err)
	}
}

func ipAddrs(addrs []netip.Addr) []net.IPAddr {
	out := make([]net.IPAddr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()})
	}
	return out
}

// withoutTraceHooks hides httptrace's hooks (and the net package's own
// trace, which httptrace installs) from ctx's values; every other value
// and the cancellation stay. DialAttempt gets such a context: the Dialer
// fires ConnectStart and ConnectDone itself, and a hook that dials with a
// net.Dialer would fire them a second time.
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
			} else if i.Hint {
				logf("happyeyeballs: +%s %s %s hints: %v", ms(i.Elapsed), i.Host, i.Family.QType(), i.Addrs)
			} else if len(i.Addrs) > 0 {
				logf("happyeyeballs: +%s %s %s answer: %v", ms(i.Elapsed), i.Host, i.Family.QType(), i.Addrs)
			} else {
				logf("happyeyeballs: +%s %s %s answer: none (%v)", ms(i.Elapsed), i.Host, i.Family.QType(), i.Err)
			}
		},
		AddressRejected: func(i AddressRejectedInfo) {
			logf("happyeyeballs: +%s %v not tried: %v", ms(i.Elapsed), i.Addr, i.Err)
		},
		AttemptStart: func(i AttemptStartInfo) {
			var why string
			if i.Backup {
				why += ", a backup"
			}
			if i.Known != "" {
				why += ", known " + i.Known
			}
			if i.Reordered {
				why += ", moved ahead by history"
			}
			if i.Early {
				why += ", started early"
			}
			if i.DelayFrom != "" {
				why += fmt.Sprintf(", next in %s (RTT from %s)", ms(i.Delay), i.DelayFrom)
			}
			logf("happyeyeballs: +%s attempt %d to %v started%s", ms(i.Elapsed), i.Index, i.Addr, why)
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
		HTTPSAnswer: func(i HTTPSAnswerInfo) {
			if len(i.Services) == 0 && i.Skipped == 0 {
				logf("happyeyeballs: +%s %s HTTPS answer: none (%v)", ms(i.Elapsed), i.Host, i.Err)
				return
			}
			logf("happyeyeballs: +%s %s HTTPS answer: %d service(s), %d skipped (no common ALPN)", ms(i.Elapsed), i.Host, len(i.Services), i.Skipped)
		},
		HintsReplaced: func(i HintsReplacedInfo) {
			logf("happyeyeballs: +%s %s %s answer replaced hints, dropped %v", ms(i.Elapsed), i.Host, i.Family.QType(), i.Dropped)
		},
		HTTPSAttempt: func(i HTTPSAttemptInfo) {
			var what string
			if i.Hint {
				what += ", a hint"
			}
			if i.PortChanged {
				what += fmt.Sprintf(", port %d from the record", i.Addr.Port())
			}
			if i.ECH {
				what += ", with ECH"
			}
			logf("happyeyeballs: +%s attempt %d to %v is for service %s (priority %d)%s", ms(i.Elapsed), i.Index, i.Addr, i.Target, i.Priority, what)
		},
		ECH: func(i ECHInfo) {
			switch {
			case i.Unusable:
				logf("happyeyeballs: +%s %v ECH configuration unusable, TLS without ECH: %v", ms(i.Elapsed), i.Addr, i.Err)
			case i.Err != nil:
				logf("happyeyeballs: +%s %v TLS with ECH failed (retried: %v): %v", ms(i.Elapsed), i.Addr, i.Retried, i.Err)
			default:
				logf("happyeyeballs: +%s %v TLS with ECH done, accepted: %v, retried: %v", ms(i.Elapsed), i.Addr, i.Accepted, i.Retried)
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
