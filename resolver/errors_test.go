package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestErrors: every error the package makes is a *net.DNSError with the
// text and flags of Go's resolver, and wraps the cause errors.Is looks for.
func TestErrors(t *testing.T) {
	srv := netip.MustParseAddrPort("192.0.2.53:53")
	long := strings.Repeat("a", 300)
	tests := []struct {
		name string
		err  *net.DNSError
		want net.DNSError // UnwrapErr: the cause errors.Is finds (nil: none)
	}{
		{"NXDOMAIN (RFC 1035 §4.1.1)", NotFoundError("a.test", ErrNXDomain),
			net.DNSError{Err: "no such host", Name: "a.test", IsNotFound: true, UnwrapErr: ErrNXDomain}},
		{"NODATA (RFC 2308 §2.2)", NotFoundError("a.test", ErrNoData),
			net.DNSError{Err: "no such host", Name: "a.test", IsNotFound: true, UnwrapErr: ErrNoData}},
		{"not found, from a server", fromServer(NotFoundError("a.test.", ErrNoData), srv),
			net.DNSError{Err: "no such host", Name: "a.test.", Server: "192.0.2.53:53", IsNotFound: true, UnwrapErr: ErrNoData}},
		{"long name, bounded", NotFoundError(long, nil),
			net.DNSError{Err: "no such host", Name: long[:256] + "...", IsNotFound: true}},
		{"cancelled", ContextError("a.test", context.Canceled),
			net.DNSError{Err: "operation was canceled", Name: "a.test", UnwrapErr: context.Canceled}},
		{"deadline", ContextError("a.test", context.DeadlineExceeded),
			net.DNSError{Err: "i/o timeout", Name: "a.test", IsTimeout: true, UnwrapErr: context.DeadlineExceeded}},
		{"deadline, wrapped", ContextError("a.test", fmt.Errorf("x: %w", context.DeadlineExceeded)),
			net.DNSError{Err: "i/o timeout", Name: "a.test", IsTimeout: true, UnwrapErr: context.DeadlineExceeded}},
		{"invalid name", invalidNameError("a..b"),
			net.DNSError{Err: "invalid domain name", Name: "a..b", IsNotFound: true, UnwrapErr: errInvalidName}},
		{"SERVFAIL (RFC 1035 §4.1.1): temporary", serverError(errTextMisbehaving, "a.test.", srv, true),
			net.DNSError{Err: "server misbehaving", Name: "a.test.", Server: "192.0.2.53:53", IsTemporary: true}},
		{"no server answered", serverError(errTextNoSuchHost, "a.test.", netip.AddrPort{}, true),
			net.DNSError{Err: "no such host", Name: "a.test.", IsTemporary: true}},
		{"per-query timeout: not the caller's deadline", exchangeError(context.DeadlineExceeded, "a.test.", srv),
			net.DNSError{Err: "i/o timeout", Name: "a.test.", Server: "192.0.2.53:53", IsTimeout: true, IsTemporary: true, UnwrapErr: os.ErrDeadlineExceeded}},
		{"socket timeout", exchangeError(os.ErrDeadlineExceeded, "a.test.", srv),
			net.DNSError{Err: "i/o timeout", Name: "a.test.", Server: "192.0.2.53:53", IsTimeout: true, IsTemporary: true, UnwrapErr: os.ErrDeadlineExceeded}},
		{"malformed reply", exchangeError(errMalformed, "a.test.", srv),
			net.DNSError{Err: "cannot unmarshal DNS message", Name: "a.test.", Server: "192.0.2.53:53", UnwrapErr: errMalformed}},
		{"unreachable", exchangeError(syscall.ECONNREFUSED, "a.test.", srv),
			net.DNSError{Err: syscall.ECONNREFUSED.Error(), Name: "a.test.", Server: "192.0.2.53:53", UnwrapErr: syscall.ECONNREFUSED}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := *tt.err
			assert.Equal(t, tt.want.Err, got.Err)
			assert.Equal(t, tt.want.Name, got.Name)
			assert.Equal(t, tt.want.Server, got.Server)
			assert.Equal(t, tt.want.IsNotFound, got.IsNotFound, "IsNotFound")
			assert.Equal(t, tt.want.IsTimeout, got.IsTimeout, "IsTimeout")
			assert.Equal(t, tt.want.IsTemporary, got.IsTemporary, "IsTemporary")
			if tt.want.UnwrapErr != nil {
				assert.ErrorIs(t, tt.err, tt.want.UnwrapErr)
			} else {
				assert.Nil(t, got.UnwrapErr)
			}
			assert.NotContains(t, tt.err.Error(), "\n", "Error() is one line")
		})
	}
	// The caller's deadline stays the caller's: a per-query timeout does
	// not read as context.DeadlineExceeded.
	assert.NotErrorIs(t, exchangeError(context.DeadlineExceeded, "a.test.", srv), context.DeadlineExceeded)
	assert.False(t, errors.Is(NotFoundError("a.test", ErrNXDomain), ErrNoData))
}

// TestRenamed: the error names the host the caller asked for, not the
// search-list candidate (as Go's resolver reports it), and the original is
// left alone (it may be cached).
func TestRenamed(t *testing.T) {
	orig := fromServer(NotFoundError("app.corp.test.", ErrNoData), netip.MustParseAddrPort("192.0.2.53:53"))
	got := renamed(orig, "app")
	var de *net.DNSError
	if assert.ErrorAs(t, got, &de) {
		assert.Equal(t, "app", de.Name)
		assert.Equal(t, "192.0.2.53:53", de.Server)
		assert.ErrorIs(t, got, ErrNoData)
	}
	assert.Equal(t, "app.corp.test.", orig.Name)
	other := errors.New("not a DNSError")
	assert.Same(t, other, renamed(other, "app"))
}
