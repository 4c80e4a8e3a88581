//go:build !linux

package dialer

import "syscall"

// socketAbort reports that abortSocket works; elsewhere than on Linux a
// connecting socket shut down need not fail its connect, and the first
// attempt is aborted through its context instead.
const socketAbort = false

func abortSocket(syscall.RawConn) {}
