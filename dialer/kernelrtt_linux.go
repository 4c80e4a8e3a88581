package dialer

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRTT is the kernel's smoothed round-trip time for the TCP
// connection under rc (TCP_INFO's tcpi_rtt), and false when it has none
// (no sample: the handshake was retransmitted without TCP timestamps) or
// cannot say.
func kernelRTT(rc syscall.RawConn) (time.Duration, bool) {
	var info *unix.TCPInfo
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); cerr != nil || err != nil || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}
