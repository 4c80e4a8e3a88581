package netem

import (
	"net/netip"
)

// IP protocol numbers and TCP flag bits the wire looks at.
const (
	protoTCP = 6
	tcpSYN   = 0x02
	tcpACK   = 0x10
)

// packet is what the wire knows about one IP packet after parsing its
// header. Parsing never fails loudly: a packet it cannot read has ok false
// and is dropped.
type packet struct {
	ok       bool
	src, dst netip.Addr
	// syn is true for a TCP segment with SYN set and ACK clear: the first
	// packet of a connection attempt (or its retransmission).
	syn bool
	// sport and dport are the TCP ports when the packet is TCP.
	sport, dport uint16
	// seq is the TCP sequence number: for a SYN, the initial sequence
	// number, which a retransmission repeats and a new connection on the
	// same ports does not.
	seq uint32
}

// parsePacket reads the IPv4 or IPv6 header of b (a TUN frame without
// packet information). It reads TCP flags only when TCP follows the fixed
// IPv6 header directly or an unfragmented IPv4 header.
func parsePacket(b []byte) packet {
	var p packet
	if len(b) < 1 {
		return p
	}
	var l4 []byte
	var proto byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return p
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return p
		}
		p.src = netip.AddrFrom4([4]byte(b[12:16]))
		p.dst = netip.AddrFrom4([4]byte(b[16:20]))
		proto = b[9]
		if fragOff := (uint16(b[6])<<8 | uint16(b[7])) & 0x1fff; fragOff == 0 {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return p
		}
		p.src = netip.AddrFrom16([16]byte(b[8:24]))
		p.dst = netip.AddrFrom16([16]byte(b[24:40]))
		proto = b[6]
		l4 = b[40:]
	default:
		return p
	}
	p.ok = true
	if proto == protoTCP && len(l4) >= 14 {
		p.sport = uint16(l4[0])<<8 | uint16(l4[1])
		p.dport = uint16(l4[2])<<8 | uint16(l4[3])
		p.seq = uint32(l4[4])<<24 | uint32(l4[5])<<16 | uint32(l4[6])<<8 | uint32(l4[7])
		flags := l4[13]
		p.syn = flags&tcpSYN != 0 && flags&tcpACK == 0
	}
	return p
}

// Documentation prefixes (RFC 5737, RFC 3849): the only addresses the
// emulated network uses and the only ones the wire forwards.
var (
	// DocIPv4 is 192.0.2.0/24 (TEST-NET-1).
	DocIPv4 = netip.MustParsePrefix("192.0.2.0/24")
	// DocIPv6 is 2001:db8::/32.
	DocIPv6 = netip.MustParsePrefix("2001:db8::/32")
)

// isDoc reports whether a is a unicast address inside DocIPv4 or DocIPv6.
func isDoc(a netip.Addr) bool {
	return DocIPv4.Contains(a) || DocIPv6.Contains(a)
}
