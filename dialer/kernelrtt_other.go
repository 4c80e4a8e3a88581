//go:build !linux && !darwin

package dialer

import (
	"syscall"
	"time"
)

// kernelRTT reports false: here the dialer does not ask the kernel for a
// connection's round-trip time, and takes the time connect took.
func kernelRTT(syscall.RawConn) (time.Duration, bool) { return 0, false }
