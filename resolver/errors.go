package resolver

import (
	"context"
	"errors"
	"net"
)

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
	e := &net.DNSError{Err: "operation was canceled", Name: printable(host), UnwrapErr: err}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Err, e.IsTimeout = "i/o timeout", true
	}
	return e
}
