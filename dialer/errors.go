package dialer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// AttemptError is one failed connection attempt of a dial.
type AttemptError struct {
	Addr  netip.AddrPort
	Start time.Duration // when the attempt started, since the dial began
	Err   error
}

// Error returns "ADDR (started at START): ERR". The address is not
// repeated when Err is a *net.OpError that already names it.
func (e *AttemptError) Error() string {
	return fmt.Sprintf("%v (started at %v): %v", e.Addr, e.Start.Round(time.Millisecond), e.cause())
}

// cause is Err without a *net.OpError that only repeats the address.
func (e *AttemptError) cause() error {
	if op, ok := e.Err.(*net.OpError); ok && op.Err != nil {
		return op.Err
	}
	return e.Err
}

// Unwrap returns the attempt's error.
func (e *AttemptError) Unwrap() error { return e.Err }

// DialError is the cause of a failed Happy Eyeballs dial: every attempt
// that failed, in start order, the DNS failures of families that gave no
// address, and what ended the dial early (a context's error), if anything.
// It is returned as the Err of a *net.OpError.
//
// errors.Is and errors.As reach every attempt's error, every DNS error and
// the context error, so errors.Is(err, syscall.ECONNREFUSED) and
// errors.Is(err, context.DeadlineExceeded) work as with net.Dialer.
type DialError struct {
	// Host and Port are what was dialed.
	Host string
	Port uint16
	// Attempts are the failed attempts in the order they started.
	Attempts []*AttemptError
	// DNS holds the errors of families whose lookup failed or was negative.
	DNS []error
	// Rejected are the addresses that were not tried because they are
	// unusable or the Dialer's Policy rejected them.
	Rejected []*RejectedError
	// Err is what ended the dial before every address was tried: the
	// context's error (context.DeadlineExceeded for a Timeout or Deadline,
	// context.Canceled), or nil when every address was tried.
	Err error
}

// Error returns one line: the target, why the dial ended, and every
// attempt's address, start offset and error.
func (e *DialError) Error() string {
	if len(e.Attempts) == 0 && len(e.Rejected) == 0 && e.Err != nil && isLiteral(e.Host) {
		// An IP literal whose attempt never started: net.Dialer's words
		// for a dial cut short ("i/o timeout", "operation was
		// canceled"); the *net.OpError around names the address.
		return attemptCause(e.Err).Error()
	}
	if len(e.Attempts) == 1 && len(e.Rejected) == 0 {
		// One address, tried once: its error alone, as net.Dialer words
		// it ("connect: connection refused", "i/o timeout"); the
		// *net.OpError around the DialError names the address.
		return e.Attempts[0].cause().Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", joinHostPort(e.Host, e.Port))
	switch {
	case e.Err == nil && len(e.Attempts) == 0 && len(e.Rejected) > 0:
		fmt.Fprintf(&b, "every address rejected: ")
		writeRejected(&b, e.Rejected)
		return b.String()
	case e.Err != nil && len(e.Attempts) == 0:
		fmt.Fprintf(&b, "%v before any connection attempt", e.Err)
	case e.Err != nil:
		fmt.Fprintf(&b, "%v after %d attempt%s: ", e.Err, len(e.Attempts), plural(len(e.Attempts)))
	default:
		fmt.Fprintf(&b, "all %d attempt%s failed: ", len(e.Attempts), plural(len(e.Attempts)))
	}
	for i, a := range e.Attempts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Error())
	}
	if len(e.Rejected) > 0 {
		b.WriteString("; and ")
		writeRejected(&b, e.Rejected)
	}
	return b.String()
}

func writeRejected(b *strings.Builder, rejected []*RejectedError) {
	for i, r := range rejected {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Error())
	}
}

// Unwrap returns the context error, the attempts and the rejected
// addresses; the DNS errors only when no attempt was made.
func (e *DialError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Attempts)+len(e.Rejected)+len(e.DNS))
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	for _, a := range e.Attempts {
		errs = append(errs, a)
	}
	for _, r := range e.Rejected {
		errs = append(errs, r)
	}
	if len(e.Attempts) > 0 {
		// Addresses were found and tried: a family's negative answer (the
		// usual AAAA NODATA) must not make errors.As(err, &dnsErr) say the
		// host does not exist. The DNS field still has them.
		return errs
	}
	return append(errs, e.DNS...)
}

// Timeout reports whether the dial ran out of time (Timeout, Deadline or
// the context's deadline) or every attempt timed out, so that net.Error's
// Timeout works on the *net.OpError that carries it.
func (e *DialError) Timeout() bool {
	if e.Err != nil {
		return errors.Is(e.Err, context.DeadlineExceeded)
	}
	// Every attempt timed out (black holes reaching the kernel's SYN
	// timeout): a timeout too, as net.Dialer reports it.
	for _, a := range e.Attempts {
		var ne interface{ Timeout() bool }
		if !errors.As(a.Err, &ne) || !ne.Timeout() {
			if !errors.Is(a.Err, syscall.ETIMEDOUT) {
				return false
			}
		}
	}
	return len(e.Attempts) > 0
}

// Temporary is Timeout; it exists for callers of the deprecated
// net.Error.Temporary.
func (e *DialError) Temporary() bool { return e.Timeout() }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinHostPort(host string, port uint16) string {
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + fmt.Sprint(port)
	}
	return host + ":" + fmt.Sprint(port)
}

// attemptCause is the cause recorded for an attempt that ended with err:
// a bare context error becomes the error net.Dialer gives for it ("i/o
// timeout", "operation was canceled"), so that an attempt cut short by the
// dial's deadline reads the same whichever side noticed first, while
// errors.Is still finds the context error.
func attemptCause(err error) error {
	switch err {
	case context.DeadlineExceeded:
		return errAttemptTimeout
	case context.Canceled:
		return errAttemptCanceled
	}
	return err
}

// ctxCause is an attempt's cause when the dial's context ended it.
type ctxCause struct {
	text    string
	ctxErr  error
	timeout bool
}

var (
	errAttemptTimeout  error = &ctxCause{"i/o timeout", context.DeadlineExceeded, true}
	errAttemptCanceled error = &ctxCause{"operation was canceled", context.Canceled, false}
)

func (e *ctxCause) Error() string        { return e.text }
func (e *ctxCause) Timeout() bool        { return e.timeout }
func (e *ctxCause) Temporary() bool      { return e.timeout }
func (e *ctxCause) Is(target error) bool { return target == e.ctxErr }

// opAddr is the Addr of a failed dial's *net.OpError, as net.Dialer sets
// it: the address last tried, or the IP literal dialed; nil when no
// address was tried or rejected.
func (r *run) opAddr() net.Addr {
	var ap netip.AddrPort
	switch {
	case len(r.cands.tried) > 0:
		ap = netip.AddrPortFrom(r.cands.tried[len(r.cands.tried)-1], r.port)
	case !r.ans.named && len(r.ans.rejected) > 0:
		ap = r.ans.rejected[0].Addr
	case !r.ans.named && len(r.cands.untried) > 0:
		// An IP literal cut short before its attempt: the literal is
		// last (after its NAT64 form, if any).
		ap = netip.AddrPortFrom(r.cands.untried[len(r.cands.untried)-1], r.port)
	default:
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// errLateWinner is the error reported to traces for an attempt that
// connected after another had already won: its connection was closed.
var errLateWinner = errors.New("connected after another attempt won; closed")

// fail ends a dial that made no connection and returns its error: the
// *net.OpError DialContext returns. ctxErr is the context's error when
// the dial was cut short, nil when everything was tried.
func (r *run) fail(ctxErr error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		r.learnSlow(netip.AddrPort{})
	}
	r.learnName(netip.AddrPort{})
	tried := len(r.cands.tried)
	var err error
	switch {
	case tried == 0 && ctxErr != nil && r.ans.named:
		// A name cut short while resolving: the shape net.Dialer gives.
		// (An IP literal was never looked up: a DialError says why.)
		err = resolver.ContextError(r.host, ctxErr)
		r.dnsDone(err)
	case tried == 0 && ctxErr == nil && len(r.ans.rejected) > 0:
		// Addresses were found, and none could be tried.
		err = &DialError{Host: r.host, Port: r.port, DNS: r.ans.errs, Rejected: r.ans.rejected}
		r.dnsDone(nil)
	case tried == 0 && ctxErr == nil && r.ans.filtered > 0:
		// Addresses exist, none of LocalAddr's family: net.Dialer's error,
		// which names the local address.
		err = &net.AddrError{Err: "no suitable address found", Addr: r.host}
		if r.d.LocalAddr != nil {
			err = &net.AddrError{Err: "no suitable address found", Addr: r.d.LocalAddr.String()}
		}
		r.dnsDone(nil)
	case tried == 0 && ctxErr == nil:
		err = dnsFailure(r.host, r.ans.errs)
		r.dnsDone(err)
	default:
		r.dnsDone(nil)
		err = &DialError{Host: r.host, Port: r.port, Attempts: r.attemptErrors(ctxErr), DNS: r.ans.errs, Rejected: r.ans.rejected, Err: ctxErr}
	}
	r.hooks.m.dialFailed()
	r.hooks.dialDone(DialDoneInfo{Host: r.host, Attempts: r.attempts, Err: err, Elapsed: time.Since(r.start)})
	op := &net.OpError{Op: "dial", Net: r.network, Source: r.d.LocalAddr, Addr: r.opAddr(), Err: err}
	if op.Addr == nil {
		// No address to name: net.Dialer gives no Source either (a
		// lookup's error, "no suitable address").
		op.Source = nil
	}
	return op
}

// isLiteral reports whether host is an IP address, with or without a zone.
func isLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// attemptErrors lists every attempt of the dial in start order: the failed
// ones with their errors, and those still running when the dial was cut
// short with ctxErr.
func (r *run) attemptErrors(ctxErr error) []*AttemptError {
	errs := slices.Clone(r.failures)
	for _, a := range r.running {
		errs = append(errs, &AttemptError{Addr: a.addr, Start: a.start.Sub(r.start), Err: attemptCause(ctxErr)})
	}
	slices.SortStableFunc(errs, func(a, b *AttemptError) int { return cmp.Compare(a.Start, b.Start) })
	return errs
}

// dnsFailure is the error of a name that gave no address, from the errors
// of its families: the first that is not "not found" (a timeout,
// SERVFAIL), else "no such host".
func dnsFailure(host string, errs []error) *net.DNSError {
	for _, e := range errs {
		var de *net.DNSError
		if errors.As(e, &de) {
			if !de.IsNotFound {
				return de
			}
			continue
		}
		return &net.DNSError{Err: e.Error(), Name: host, UnwrapErr: e}
	}
	return resolver.NotFoundError(host, nil)
}

// errNoAnswer is the error of a family the resolver closed its channel
// without answering.
func errNoAnswer(host string) error {
	return &net.DNSError{Err: "resolver gave no answer", Name: host}
}
