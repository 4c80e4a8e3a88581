package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/miekg/dns"
)

// This file holds every error the package makes. Each kind of error has
// one constructor, and *net.DNSError is built nowhere else, so that the
// text, flags and causes stay those of Go's resolver (net/lookup.go,
// net/dnsclient_unix.go) whichever path answers.

// ErrNXDomain and ErrNoData tell the two kinds of "not found" apart. The
// *net.DNSError of a negative Answer (IsNotFound, "no such host", as Go's
// resolver reports both) wraps one of them, for errors.Is.
var (
	// ErrNXDomain: the name does not exist (rcode NXDOMAIN, RFC 1035), for
	// any record type.
	ErrNXDomain = errors.New("NXDOMAIN: the name does not exist")
	// ErrNoData: the name exists but has no records of the family's type
	// (NODATA, RFC 2308 §2.2), in DNS or in /etc/hosts.
	ErrNoData = errors.New("NODATA: no records of this type")
)

// An RcodeError is the response code of a DNS reply that gave no answer
// and no "not found" (RFC 1035 §4.1.1, RFC 6895 §2.3): SERVFAIL, REFUSED,
// NOTIMP, FORMERR and the like. The *net.DNSError of a server that
// replied so wraps it, for errors.Is and errors.As; its text stays Go's
// "server misbehaving".
type RcodeError int

// Error returns the code's mnemonic, such as "SERVFAIL".
func (e RcodeError) Error() string {
	if s, ok := dns.RcodeToString[int(e)]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", int(e))
}

// The response codes a caller most often tells apart.
const (
	ErrServFail = RcodeError(dns.RcodeServerFailure) // the server failed to answer (RFC 1035)
	ErrRefused  = RcodeError(dns.RcodeRefused)       // the server refuses to answer (RFC 1035)
)

// Error texts of answers that do not give addresses; they follow Go's
// resolver so that users see familiar messages.
const (
	errTextNoSuchHost   = "no such host"
	errTextMisbehaving  = "server misbehaving"
	errTextLameReferral = "lame referral"
	errTextMalformed    = "cannot unmarshal DNS message"
	errTextCNAMELoop    = "too many CNAME hops"
	errTextCanceled     = "operation was canceled"
	errTextTimeout      = "i/o timeout"
)

// errMalformed is the cause of a reply to our query that does not parse.
var errMalformed = errors.New(errTextMalformed)

// errInvalidName is the cause of the error for a host that is not a valid
// domain name.
var errInvalidName = errors.New("invalid domain name")

// NotFoundError returns the error of a negative Answer for host: a
// *net.DNSError reading "no such host" with IsNotFound set, as Go's
// resolver reports it. cause, when not nil, is ErrNXDomain or ErrNoData
// and is what errors.Is finds beneath it. Resolvers other than this
// package's use it to answer as the Answer type documents.
func NotFoundError(host string, cause error) *net.DNSError {
	return &net.DNSError{Err: errTextNoSuchHost, Name: printable(host), IsNotFound: true, UnwrapErr: cause}
}

// ContextError returns the error of a lookup of host cut short by a done
// context whose error is err (context.Canceled or
// context.DeadlineExceeded): a *net.DNSError with the text Go's resolver
// uses ("i/o timeout" with IsTimeout for a deadline, "operation was
// canceled" otherwise) that wraps err, so that errors.Is(e, err) holds.
func ContextError(host string, err error) *net.DNSError {
	e := &net.DNSError{Err: errTextCanceled, Name: printable(host), UnwrapErr: err}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Err, e.IsTimeout = errTextTimeout, true
	}
	return e
}

// invalidNameError is the error for a host that is not a valid domain
// name: IsNotFound, as Go's resolver reports it, wrapping errInvalidName.
func invalidNameError(host string) *net.DNSError {
	return &net.DNSError{Err: errInvalidName.Error(), Name: printable(host), IsNotFound: true, UnwrapErr: errInvalidName}
}

// serverError is the error for a lookup of name that server (if valid)
// answered without an answer: SERVFAIL (temporary), REFUSED, a lame
// referral, a CNAME loop; or, with no server, that no server answered.
// text is one of the errText constants.
func serverError(text, name string, server netip.AddrPort, temporary bool) *net.DNSError {
	return fromServer(&net.DNSError{Err: text, Name: printable(name), IsTemporary: temporary}, server)
}

// rcodeError is the error for a lookup of name that server answered with
// response code rcode and no answer: "server misbehaving", as Go says,
// wrapping the RcodeError; temporary for SERVFAIL.
func rcodeError(rcode int, name string, server netip.AddrPort) *net.DNSError {
	e := serverError(errTextMisbehaving, name, server, rcode == dns.RcodeServerFailure)
	e.UnwrapErr = RcodeError(rcode)
	return e
}

// exchangeError turns the transport error of a query for name to server
// (no reply, unreachable, malformed reply) into a *net.DNSError.
func exchangeError(err error, name string, server netip.AddrPort) *net.DNSError {
	e := fromServer(&net.DNSError{Err: err.Error(), Name: printable(name), UnwrapErr: err}, server)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		// The per-query timeout, not the caller's deadline: an i/o
		// timeout, so errors.Is(err, context.DeadlineExceeded) stays
		// reserved for the caller's own context.
		e.Err, e.IsTimeout, e.IsTemporary, e.UnwrapErr = errTextTimeout, true, true, os.ErrDeadlineExceeded
	case errors.Is(err, errMalformed):
		e.Err = errTextMalformed
	}
	return e
}

// fromServer records in e the server that answered, if valid, and
// returns e.
func fromServer(e *net.DNSError, server netip.AddrPort) *net.DNSError {
	if server.IsValid() {
		e.Server = server.String()
	}
	return e
}

// renamed returns err with the host name the caller asked for, as Go's
// resolver reports it (not the search-list candidate).
func renamed(err error, host string) error {
	if de, ok := err.(*net.DNSError); ok {
		c := *de
		c.Name = printable(host)
		return &c
	}
	return err
}

// printable bounds a host name for error messages.
func printable(host string) string {
	const max = 256
	if len(host) > max {
		return host[:max] + "..."
	}
	return host
}

// errClientClosed is the cause with which Close cancels the lookups in
// flight; errAbandoned, the cause for a lookup every caller has left.
var (
	errClientClosed = fmt.Errorf("resolver: Client closed: %w", net.ErrClosed)
	errAbandoned    = errors.New("resolver: lookup abandoned by every caller")
)

// closedError is the error of a lookup of name that Close cut short: it
// wraps net.ErrClosed, and not context.Canceled, since no caller
// cancelled it.
func closedError(name string) *net.DNSError {
	return &net.DNSError{Err: "resolver closed", Name: printable(name), UnwrapErr: errClientClosed}
}
