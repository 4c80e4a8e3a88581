package dialer

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRTT is the kernel's smoothed round-trip time for the TCP
// connection under rc (TCP_CONNECTION_INFO's tcpi_srtt, in milliseconds),
// and false when it has none or cannot say.
func kernelRTT(rc syscall.RawConn) (time.Duration, bool) {
	var info *unix.TCPConnectionInfo
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPConnectionInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_CONNECTION_INFO)
	}); cerr != nil || err != nil || info.Srtt == 0 {
		return 0, false
	}
	return time.Duration(info.Srtt) * time.Millisecond, true
}
