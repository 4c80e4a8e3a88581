package dialer

import "syscall"

// socketAbort reports that abortSocket works: a connecting TCP socket
// shut down (Linux's inet_shutdown disconnects one in SYN-SENT) fails its
// connect at once, and the poller waiting on it wakes.
const socketAbort = true

// abortSocket shuts a connecting socket down, ending its connect.
func abortSocket(c syscall.RawConn) {
	c.Control(func(fd uintptr) {
		syscall.Shutdown(int(fd), syscall.SHUT_RDWR)
	})
}
