package resolver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ednsUDPSize is the UDP payload size we advertise with EDNS0: 1232 bytes
// avoids IP fragmentation on every common path (DNS Flag Day 2020).
const ednsUDPSize = 1232

// maxUDPReply is the read buffer for UDP replies: a server may ignore our
// EDNS0 size, and we would rather parse a large reply than time out.
const maxUDPReply = 65535

// udpBufs holds read buffers for UDP replies. Parsed messages copy what
// they keep, so a buffer is free again once its reply is parsed.
var udpBufs = sync.Pool{New: func() any { b := make([]byte, maxUDPReply); return &b }}

// exchangeFunc sends q to one server and returns the reply that matches
// it. It is a seam for tests (virtual-time tests replace the network with
// a function).
type exchangeFunc func(ctx context.Context, server netip.AddrPort, q query) (*dns.Msg, error)

// exchange asks server q: over UDP with EDNS0, again over TCP when the
// reply is truncated (TC), again without EDNS0 when the server answers
// FORMERR to it (old servers), and only over TCP when q.useTCP is set
// (options use-vc). Each transport gets q.timeout (Go's resolver does the
// same); ctx bounds the whole exchange.
func exchange(ctx context.Context, server netip.AddrPort, q query) (*dns.Msg, error) {
	network := "udp"
	if q.useTCP {
		network = "tcp"
	}
	edns := true
	for range 3 { // at most: UDP, then TCP or no-EDNS, then both
		qctx, cancel := context.WithTimeout(ctx, q.timeout)
		m, err := exchangeOnce(qctx, network, server, q, edns)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		switch {
		case m.Truncated && network == "udp":
			network = "tcp"
		case m.Rcode == dns.RcodeFormatError && edns:
			edns = false
		default:
			return m, nil
		}
	}
	return nil, errMalformed
}

// queryID returns a query ID from the system's cryptographically secure
// random source: an ID an off-path attacker cannot predict is half of what
// makes a forged reply hard to land (RFC 5452 §4.3, §9.2; the other half
// is the random source port). rand.Read never fails: the runtime aborts
// the program if the system's source breaks.
func queryID() uint16 {
	var b [2]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}

// exchangeOnce sends one query over one transport from a fresh socket (a
// random source port chosen by the kernel, and a random ID), and waits for
// a reply whose ID, question name, type and class match; other datagrams
// are ignored. Over UDP the socket is connected, so the kernel drops
// datagrams from any other address or port. The context's cancellation is
// honoured at once: it expires the socket's deadline. The network given
// overrides q.useTCP.
func exchangeOnce(ctx context.Context, network string, server netip.AddrPort, q query, edns bool) (*dns.Msg, error) {
	msg := new(dns.Msg)
	msg.Id = queryID()
	msg.RecursionDesired = true
	msg.Question = []dns.Question{{Name: q.name, Qtype: q.qtype, Qclass: dns.ClassINET}}
	if edns {
		msg.SetEdns0(ednsUDPSize, false)
	}
	wire, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	if q.sent != nil && network == "tcp" {
		q.sent() // a TCP connect may take long: do not hold others back
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// A deadline in the past makes blocked reads and writes return now.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var m *dns.Msg
	if network == "udp" {
		m, err = roundTripUDP(conn, wire, msg.Id, q.name, q.qtype, q.sent)
	} else {
		m, err = roundTripTCP(conn, wire, msg.Id, q.name, q.qtype)
	}
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return m, err
}

func roundTripUDP(conn net.Conn, wire []byte, id uint16, name string, qtype uint16, sent func()) (*dns.Msg, error) {
	if _, err := conn.Write(wire); err != nil {
		return nil, err
	}
	if sent != nil {
		sent()
	}
	bp := udpBufs.Get().(*[]byte)
	defer udpBufs.Put(bp)
	buf := *bp
	for {
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, os.ErrDeadlineExceeded
			}
			// ECONNREFUSED from an ICMP port unreachable: nobody there.
			return nil, err
		}
		m, ok, err := parseReply(buf[:n], id, name, qtype)
		if !ok {
			continue // not a reply to this query: keep waiting
		}
		return m, err
	}
}

func roundTripTCP(conn net.Conn, wire []byte, id uint16, name string, qtype uint16) (*dns.Msg, error) {
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	var buf []byte
	for {
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		m, ok, err := parseReply(buf, id, name, qtype)
		if !ok {
			continue
		}
		return m, err
	}
}

// parseReply decides whether b is a reply to the query (id, name, qtype,
// class IN) by its header and question alone, and if so parses the whole
// message. ok is false for datagrams that are not the reply (wrong ID, not
// a response, other question, garbage): the caller keeps waiting for the
// real one. ok with a non-nil error is our reply, malformed (for example a
// compression loop): the caller gives up on this server.
func parseReply(b []byte, id uint16, name string, qtype uint16) (m *dns.Msg, ok bool, err error) {
	if len(b) < 12 {
		return nil, false, nil
	}
	if binary.BigEndian.Uint16(b[0:]) != id || b[2]&0x80 == 0 || binary.BigEndian.Uint16(b[4:]) != 1 {
		return nil, false, nil // wrong ID, a query, or not exactly one question
	}
	qname, off, err := dns.UnpackDomainName(b, 12)
	if err != nil || off+4 > len(b) || !strings.EqualFold(qname, name) ||
		binary.BigEndian.Uint16(b[off:]) != qtype || binary.BigEndian.Uint16(b[off+2:]) != dns.ClassINET {
		return nil, false, nil
	}
	m = new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		if b[2]&0x02 != 0 {
			// Truncated mid-record: only the TC bit matters.
			m = new(dns.Msg)
			m.Id, m.Response, m.Truncated = id, true, true
			return m, true, nil
		}
		return nil, true, errMalformed
	}
	return m, true, nil
}
