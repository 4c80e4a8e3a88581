package tcpmetrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"syscall"
	"time"
)

// Netlink framing (include/uapi/linux/netlink.h) and generic netlink
// (include/uapi/linux/genetlink.h). These are Linux's ABI, the same on
// every architecture, so they are spelled out here rather than taken from
// x/sys/unix, which would tie the parser to GOOS=linux; the parser is
// pure and is fuzzed everywhere.
const (
	nlmsgHdrLen  = 16 // struct nlmsghdr
	genlHdrLen   = 4  // struct genlmsghdr
	nlaHdrLen    = 4  // struct nlattr
	nlmsgNoop    = 0x1
	nlmsgError   = 0x2
	nlmsgDone    = 0x3
	nlmsgMinType = 0x10 // NLMSG_MIN_TYPE: first type a family may use

	nlmFRequest = 0x1
	nlmFDump    = 0x300 // NLM_F_ROOT | NLM_F_MATCH

	// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER.
	nlaTypeMask = 0x3fff

	genlIDCtrl            = 0x10 // GENL_ID_CTRL
	ctrlCmdGetFamily      = 3    // CTRL_CMD_GETFAMILY
	ctrlAttrFamilyID      = 1    // CTRL_ATTR_FAMILY_ID, u16
	ctrlAttrFamilyName    = 2    // CTRL_ATTR_FAMILY_NAME, string
	ctrlVersion           = 1
	tcpMetricsFamilyName  = "tcp_metrics" // TCP_METRICS_GENL_NAME
	tcpMetricsGenlVersion = 1             // TCP_METRICS_GENL_VERSION
	tcpMetricsCmdGet      = 1             // TCP_METRICS_CMD_GET
)

// Attributes of a TCP_METRICS_CMD_GET reply (include/uapi/linux/tcp_metrics.h).
const (
	attrAddrIPv4  = 1  // TCP_METRICS_ATTR_ADDR_IPV4, be32
	attrAddrIPv6  = 2  // TCP_METRICS_ATTR_ADDR_IPV6, 16 bytes
	attrAge       = 3  // TCP_METRICS_ATTR_AGE, u64 milliseconds
	attrVals      = 6  // TCP_METRICS_ATTR_VALS, nested
	attrSAddrIPv4 = 11 // TCP_METRICS_ATTR_SADDR_IPV4, be32 (Linux 3.13)
	attrSAddrIPv6 = 12 // TCP_METRICS_ATTR_SADDR_IPV6, 16 bytes (Linux 3.13)
)

// Members of TCP_METRICS_ATTR_VALS: "nested +1", so each is its enum
// tcp_metric_index value plus one; all are u32, and a zero metric is left
// out. The kernel sends the RTT twice, in microseconds (Linux 4.1) and
// rounded to milliseconds for old readers.
//
// The values are the kernel's fixed-point ones, which the header does not
// say: the RTT is tp->srtt_us, 8 × SRTT, and the variance 4 × RTTVAR
// (include/linux/tcp.h, net/ipv4/tcp_metrics.c tcp_update_metrics);
// iproute2's ip/tcp_metrics.c shifts them back by 3 and 2 before
// printing, and so does parseEntry.
const (
	valRTT      = 0 + 1 // TCP_METRIC_RTT, ms
	valRTTVar   = 1 + 1 // TCP_METRIC_RTTVAR, ms
	valRTTUs    = 5 + 1 // TCP_METRIC_RTT_US, µs
	valRTTVarUs = 6 + 1 // TCP_METRIC_RTTVAR_US, µs

	rttShift    = 3 // the RTT is sent as 8 × SRTT
	rttVarShift = 2 // and the variance as 4 × RTTVAR
)

// errMalformed reports a reply that does not follow the netlink framing.
var errMalformed = errors.New("tcpmetrics: malformed netlink message")

// parseDump parses one datagram of a TCP_METRICS_CMD_GET dump reply and
// appends its entries to es, keeping at most max in all. done reports the
// NLMSG_DONE that ends the dump. A message that is not an entry (a
// NLMSG_NOOP, or an entry without a destination) is skipped; a framing
// error or a NLMSG_ERROR ends the parse with an error.
func parseDump(b []byte, es []Entry, max int) (_ []Entry, done bool, err error) {
	for len(b) > 0 {
		typ, payload, rest, err := nextMessage(b)
		if err != nil {
			return es, false, err
		}
		b = rest
		switch {
		case typ == nlmsgDone:
			return es, true, nil
		case typ == nlmsgError:
			return es, false, messageError(payload)
		case typ < nlmsgMinType:
			continue
		}
		if len(payload) < genlHdrLen {
			return es, false, errMalformed
		}
		e, ok := parseEntry(payload[genlHdrLen:])
		if ok && len(es) < max {
			es = append(es, e)
		}
	}
	return es, false, nil
}

// parseEntry reads the attributes of one table entry; ok is false when
// they name no destination.
func parseEntry(b []byte) (e Entry, ok bool) {
	var rtt, rttVar uint64 // µs, scaled
	var rttMs, rttVarMs uint32
	for len(b) > 0 {
		typ, v, rest, ok := nextAttr(b)
		if !ok {
			break
		}
		b = rest
		switch typ {
		case attrAddrIPv4, attrAddrIPv6:
			e.Dst = addrFrom(v)
		case attrSAddrIPv4, attrSAddrIPv6:
			e.Src = addrFrom(v)
		case attrAge:
			if len(v) == 8 {
				e.Age = millis(binary.NativeEndian.Uint64(v))
			}
		case attrVals:
			for len(v) > 0 {
				vt, vv, vrest, ok := nextAttr(v)
				if !ok {
					break
				}
				v = vrest
				if len(vv) != 4 {
					continue
				}
				n := binary.NativeEndian.Uint32(vv)
				switch vt {
				case valRTTUs:
					rtt = uint64(n)
				case valRTTVarUs:
					rttVar = uint64(n)
				case valRTT:
					rttMs = n
				case valRTTVar:
					rttVarMs = n
				}
			}
		}
	}
	// Kernels before 4.1 send only milliseconds.
	if rtt == 0 {
		rtt = uint64(rttMs) * 1000
	}
	if rttVar == 0 {
		rttVar = uint64(rttVarMs) * 1000
	}
	e.RTT = time.Duration(rtt>>rttShift) * time.Microsecond
	e.RTTVar = time.Duration(rttVar>>rttVarShift) * time.Microsecond
	return e, e.Dst.IsValid()
}

// parseFamilyID reads the family id from a CTRL_CMD_GETFAMILY reply.
func parseFamilyID(b []byte) (uint16, error) {
	for len(b) > 0 {
		typ, payload, rest, err := nextMessage(b)
		if err != nil {
			return 0, err
		}
		b = rest
		switch {
		case typ == nlmsgError:
			return 0, messageError(payload)
		case typ != genlIDCtrl:
			continue
		}
		if len(payload) < genlHdrLen {
			return 0, errMalformed
		}
		attrs := payload[genlHdrLen:]
		for len(attrs) > 0 {
			at, v, arest, ok := nextAttr(attrs)
			if !ok {
				break
			}
			attrs = arest
			if at == ctrlAttrFamilyID && len(v) == 2 {
				if id := binary.NativeEndian.Uint16(v); id >= nlmsgMinType {
					return id, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("tcpmetrics: no %q family id in reply", tcpMetricsFamilyName)
}

// nextMessage splits the first netlink message off b.
func nextMessage(b []byte) (typ uint16, payload, rest []byte, err error) {
	if len(b) < nlmsgHdrLen {
		return 0, nil, nil, errMalformed
	}
	n := binary.NativeEndian.Uint32(b[0:4])
	if n < nlmsgHdrLen || uint64(n) > uint64(len(b)) {
		return 0, nil, nil, errMalformed
	}
	typ = binary.NativeEndian.Uint16(b[4:6])
	payload = b[nlmsgHdrLen:n]
	if a := align4(int(n)); a < len(b) {
		rest = b[a:]
	}
	return typ, payload, rest, nil
}

// messageError turns the payload of a NLMSG_ERROR (a negative errno,
// then the request's header) into an error; an error code of zero is an
// acknowledgement, which a dump never asks for, so it is an error too.
func messageError(payload []byte) error {
	if len(payload) < 4 {
		return errMalformed
	}
	code := int32(binary.NativeEndian.Uint32(payload[0:4]))
	if code >= 0 || code == math.MinInt32 {
		return fmt.Errorf("tcpmetrics: unexpected netlink error code %d", code)
	}
	return syscall.Errno(-code)
}

// nextAttr splits the first attribute off b; ok is false when b does not
// start with a whole one.
func nextAttr(b []byte) (typ uint16, val, rest []byte, ok bool) {
	if len(b) < nlaHdrLen {
		return 0, nil, nil, false
	}
	n := int(binary.NativeEndian.Uint16(b[0:2]))
	if n < nlaHdrLen || n > len(b) {
		return 0, nil, nil, false
	}
	typ = binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
	val = b[nlaHdrLen:n]
	if a := align4(n); a < len(b) {
		rest = b[a:]
	}
	return typ, val, rest, true
}

// addrFrom reads an address attribute: 4 bytes (network order) or 16.
func addrFrom(v []byte) netip.Addr {
	switch len(v) {
	case 4:
		return netip.AddrFrom4([4]byte(v))
	case 16:
		return netip.AddrFrom16([16]byte(v)).Unmap()
	}
	return netip.Addr{}
}

// millis converts a kernel millisecond count, saturating rather than
// overflowing.
func millis(ms uint64) time.Duration {
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

func align4(n int) int { return (n + 3) &^ 3 }
