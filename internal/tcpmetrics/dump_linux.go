package tcpmetrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// recvTimeout bounds each read from the kernel (SO_RCVTIMEO). The
	// kernel answers a dump from memory in microseconds; the bound only
	// keeps a wedged read from holding its goroutine and OS thread.
	recvTimeout = time.Second

	// recvBufSize is the receive buffer for one datagram. The kernel
	// sizes dump datagrams from the reader's earlier reads, up to 32 KiB
	// (net/netlink/af_netlink.c, netlink_dump); a datagram cut short is
	// reported as an error, never parsed.
	recvBufSize = 32 << 10
)

// familyID caches the id the kernel gave the "tcp_metrics" family. The
// family is built into the kernel with TCP, so its id is fixed from boot;
// 0 means not yet known.
var familyID atomic.Uint32

// Dump reads the kernel's TCP metrics table of the calling thread's
// network namespace in one netlink dump, and returns at most 4096 entries.
// No privilege is needed.
//
// A dump walks every bucket of the kernel's metrics hash, which all
// namespaces share (net/ipv4/tcp_metrics.c, tcp_metrics_nl_dump), so it
// costs about the same however few entries it finds: some 0.4 ms on a
// 2-core VM with 24 GiB, where the hash has 16384 buckets. Too slow to
// sit in front of a dial; Cache reads in the background.
func Dump() ([]Entry, error) {
	return dump(maxEntries, nil)
}

// dump reads the table, keeping at most max entries; record, if not nil,
// sees every datagram the kernel sends (tests save them as fuzz seeds).
func dump(max int, record func(kind string, b []byte)) ([]Entry, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(recvTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, os.NewSyscallError("setsockopt", err)
	}
	buf := make([]byte, recvBufSize)

	id := uint16(familyID.Load())
	if id == 0 {
		id, err = resolveFamily(fd, buf, record)
		if err != nil {
			return nil, err
		}
		familyID.Store(uint32(id))
	}

	if err := send(fd, request(id, nlmFRequest|nlmFDump, 2, tcpMetricsCmdGet, tcpMetricsGenlVersion, nil)); err != nil {
		return nil, err
	}
	var es []Entry
	for {
		b, err := recv(fd, buf)
		if err != nil {
			return nil, err
		}
		if record != nil {
			record("dump", b)
		}
		var done bool
		es, done, err = parseDump(b, es, max)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				// The family is gone or was renumbered: look it up
				// again next time.
				familyID.Store(0)
			}
			return nil, fmt.Errorf("tcpmetrics: dump: %w", err)
		}
		// Closing the socket abandons the rest of a dump that is over
		// max: the kernel drops it.
		if done || len(es) >= max {
			return es, nil
		}
	}
}

// resolveFamily asks the generic netlink controller for the id of the
// "tcp_metrics" family.
func resolveFamily(fd int, buf []byte, record func(string, []byte)) (uint16, error) {
	name := append([]byte(tcpMetricsFamilyName), 0)
	attr := make([]byte, align4(nlaHdrLen+len(name)))
	binary.NativeEndian.PutUint16(attr[0:2], uint16(nlaHdrLen+len(name)))
	binary.NativeEndian.PutUint16(attr[2:4], ctrlAttrFamilyName)
	copy(attr[nlaHdrLen:], name)
	if err := send(fd, request(genlIDCtrl, nlmFRequest, 1, ctrlCmdGetFamily, ctrlVersion, attr)); err != nil {
		return 0, err
	}
	b, err := recv(fd, buf)
	if err != nil {
		return 0, err
	}
	if record != nil {
		record("family", b)
	}
	id, err := parseFamilyID(b)
	if err != nil {
		return 0, fmt.Errorf("tcpmetrics: resolve family %q: %w", tcpMetricsFamilyName, err)
	}
	return id, nil
}

// request builds a generic netlink request: nlmsghdr, genlmsghdr, attrs.
func request(typ, flags uint16, seq uint32, cmd, version uint8, attrs []byte) []byte {
	b := make([]byte, nlmsgHdrLen+genlHdrLen+len(attrs))
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	binary.NativeEndian.PutUint16(b[6:8], flags)
	binary.NativeEndian.PutUint32(b[8:12], seq)
	// b[12:16], the port id, stays 0: the kernel fills it in.
	b[16] = cmd
	b[17] = version
	copy(b[nlmsgHdrLen+genlHdrLen:], attrs)
	return b
}

func send(fd int, b []byte) error {
	for {
		err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err != unix.EINTR {
			return os.NewSyscallError("sendto", err)
		}
	}
}

// recv reads one datagram into buf and returns it.
func recv(fd int, buf []byte) ([]byte, error) {
	for {
		n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, os.NewSyscallError("recvmsg", err)
		case flags&unix.MSG_TRUNC != 0:
			return nil, fmt.Errorf("tcpmetrics: netlink datagram larger than %d bytes", len(buf))
		}
		return buf[:n], nil
	}
}
