// Package dnstest runs DNS servers on loopback for tests: UDP and TCP on
// the same port of 127.0.0.1 or ::1, a per-test handler (never miekg's
// global ServeMux), a log of the queries received, and fault injection per
// query type (delay, drop, truncation, error rcodes, replies with a wrong
// ID, a wrong question or from another source port).
//
// A typical test:
//
//	zone := dnstest.NewZone(
//		"example.test. 60 IN A 127.0.0.1",
//		"example.test. 60 IN AAAA ::1",
//	)
//	srv := dnstest.Start(t, &dnstest.Faults{
//		Next:   zone,
//		ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 200 * time.Millisecond}},
//	})
//	// point a resolver at srv.Addr
//
// Servers stop in t.Cleanup and leave no goroutine or socket behind.
// Handlers that wait should select on the writer's Done channel (see
// Writer) so that shutdown is prompt; Faults does.
package dnstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Query is one query as the server received it.
type Query struct {
	Name  string // question name as sent (not case-folded)
	Type  uint16 // question type, e.g. dns.TypeAAAA
	Proto string // "udp" or "tcp"
	ID    uint16 // message ID
	From  netip.AddrPort
	At    time.Time
	Msg   *dns.Msg // the whole query
}

// String returns e.g. "udp AAAA example.test.".
func (q Query) String() string {
	return fmt.Sprintf("%s %s %s", q.Proto, dns.TypeToString[q.Type], q.Name)
}

// Server is a DNS server on a loopback address, serving UDP and TCP on the
// same port. Create it with Start, Start6 or StartOn.
type Server struct {
	// Addr is where the server listens, for both UDP and TCP.
	Addr netip.AddrPort

	handler dns.Handler
	udp     *net.UDPConn
	spoof   *net.UDPConn // a second UDP socket: replies "from another source"
	tcp     *net.TCPListener

	done chan struct{} // closed when the server stops
	wg   sync.WaitGroup

	mu      sync.Mutex
	queries []Query
	conns   map[net.Conn]struct{}
}

// Start starts a server on 127.0.0.1 (UDP and TCP, same port) that answers
// with h, and stops it when the test ends.
func Start(t testing.TB, h dns.Handler) *Server {
	t.Helper()
	return StartOn(t, netip.AddrFrom4([4]byte{127, 0, 0, 1}), h)
}

// Start6 is Start on ::1. It skips the test when the host has no IPv6
// loopback.
func Start6(t testing.TB, h dns.Handler) *Server {
	t.Helper()
	return StartOn(t, netip.IPv6Loopback(), h)
}

// StartOn is Start on ip, which must be a loopback address (127.0.0.0/8 or
// ::1): tests must never send packets anywhere else. When ip is ::1 and the
// host has no IPv6, the test is skipped.
func StartOn(t testing.TB, ip netip.Addr, h dns.Handler) *Server {
	t.Helper()
	s, err := New(ip, h)
	if err != nil {
		if ip.Is6() && ip.IsLoopback() {
			t.Skipf("dnstest: no IPv6 loopback: %v", err)
		}
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartAt is Start on an exact loopback address and port, e.g.
// 127.53.0.1:53 for a resolv.conf "nameserver" line, which has no port.
// (Any address in 127.0.0.0/8 works on Linux without configuration; pick
// an unusual one to avoid clashing with a system resolver on 127.0.0.1:53
// or 127.0.0.53:53.)
func StartAt(t testing.TB, addr netip.AddrPort, h dns.Handler) *Server {
	t.Helper()
	s, err := NewAt(addr, h)
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server on ip, a loopback address, outside of a test (for
// examples and benchmarks). The caller must Close it.
func New(ip netip.Addr, h dns.Handler) (*Server, error) {
	return NewAt(netip.AddrPortFrom(ip, 0), h)
}

// NewAt is New on an exact address and port; port 0 picks a free one.
func NewAt(addr netip.AddrPort, h dns.Handler) (*Server, error) {
	ip := addr.Addr()
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("%v is not a loopback address", ip)
	}
	if h == nil {
		return nil, errors.New("nil handler")
	}
	s, err := listen(ip, addr.Port(), h)
	if err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// listen opens UDP and TCP on the same free port of ip, and a second UDP
// socket for replies from another source.
func listen(ip netip.Addr, port uint16, h dns.Handler) (*Server, error) {
	var lastErr error
	for range 20 { // a port free for UDP may be taken for TCP: retry, bounded
		udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err != nil {
			return nil, err
		}
		ap := udp.LocalAddr().(*net.UDPAddr).AddrPort()
		addr := netip.AddrPortFrom(ip, ap.Port())
		tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
		if err != nil {
			udp.Close()
			if port != 0 {
				return nil, err
			}
			lastErr = err
			continue
		}
		spoof, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			udp.Close()
			tcp.Close()
			return nil, err
		}
		return &Server{
			Addr:    addr,
			handler: h,
			udp:     udp,
			spoof:   spoof,
			tcp:     tcp,
			done:    make(chan struct{}),
			conns:   make(map[net.Conn]struct{}),
		}, nil
	}
	return nil, fmt.Errorf("no port free for both UDP and TCP: %w", lastErr)
}

// String returns the server's address, e.g. "127.0.0.1:5353".
func (s *Server) String() string { return s.Addr.String() }

// Done is closed when the server stops.
func (s *Server) Done() <-chan struct{} { return s.done }

// maxLog bounds the query log, so that benchmarks cannot grow it without
// limit.
const maxLog = 100000

// Queries returns a copy of the queries received so far, in arrival order
// (the first 100000).
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// Count returns how many queries of type qtype (0 means any) arrived over
// proto ("" means any).
func (s *Server) Count(qtype uint16, proto string) int {
	n := 0
	for _, q := range s.Queries() {
		if (qtype == 0 || q.Type == qtype) && (proto == "" || q.Proto == proto) {
			n++
		}
	}
	return n
}

// Close stops the server and waits for its goroutines, including running
// handlers. It is called by t.Cleanup and may be called earlier to simulate
// a server that went away; calling it again does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	close(s.done)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.udp.Close()
	s.spoof.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func (s *Server) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) record(m *dns.Msg, proto string, from netip.AddrPort) {
	q := Query{Proto: proto, ID: m.Id, From: from, At: time.Now(), Msg: m}
	if len(m.Question) > 0 {
		q.Name, q.Type = m.Question[0].Name, m.Question[0].Qtype
	}
	s.mu.Lock()
	if len(s.queries) < maxLog {
		s.queries = append(s.queries, q)
	}
	s.mu.Unlock()
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.stopped() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) != nil {
			continue // not DNS: ignore, like a real server would
		}
		s.record(m, "udp", from)
		w := &writer{s: s, proto: "udp", remote: from}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handler.ServeDNS(w, m)
		}()
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if s.stopped() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.stopped() {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn reads length-prefixed queries from one TCP connection and
// handles each in its own goroutine (replies may come out of order, as
// RFC 7766 allows).
func (s *Server) serveConn(c *net.TCPConn) {
	defer s.wg.Done()
	var handlers sync.WaitGroup
	defer func() {
		handlers.Wait()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	wmu := new(sync.Mutex)
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		m := new(dns.Msg)
		if m.Unpack(buf) != nil {
			return
		}
		s.record(m, "tcp", from)
		w := &writer{s: s, proto: "tcp", remote: from, conn: c, wmu: wmu}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			s.handler.ServeDNS(w, m)
		}()
	}
}

// Writer is the dns.ResponseWriter that the server hands to handlers. Its
// extra methods let fault-injecting handlers do what a real server cannot.
type Writer interface {
	dns.ResponseWriter
	// Proto is "udp" or "tcp".
	Proto() string
	// Done is closed when the server stops; a handler that waits should
	// select on it.
	Done() <-chan struct{}
	// WriteFromOtherPort sends m over UDP to the client from a different
	// source port of the server's address: a reply that a careful client
	// must ignore. Over TCP it returns an error.
	WriteFromOtherPort(m *dns.Msg) error
}

type writer struct {
	s      *Server
	proto  string
	remote netip.AddrPort
	conn   *net.TCPConn // nil for UDP
	wmu    *sync.Mutex  // serializes writes on conn
}

var _ Writer = (*writer)(nil)

func (w *writer) LocalAddr() net.Addr {
	if w.proto == "tcp" {
		return net.TCPAddrFromAddrPort(w.s.Addr)
	}
	return net.UDPAddrFromAddrPort(w.s.Addr)
}

func (w *writer) RemoteAddr() net.Addr {
	if w.proto == "tcp" {
		return net.TCPAddrFromAddrPort(w.remote)
	}
	return net.UDPAddrFromAddrPort(w.remote)
}

func (w *writer) Proto() string         { return w.proto }
func (w *writer) Done() <-chan struct{} { return w.s.done }

func (w *writer) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Write sends b as one DNS message: a datagram over UDP, length-prefixed
// over TCP. Hostile tests use it to send bytes that do not parse.
func (w *writer) Write(b []byte) (int, error) {
	if w.conn == nil {
		return w.s.udp.WriteToUDPAddrPort(b, w.remote)
	}
	if len(b) > 0xffff {
		return 0, errors.New("dnstest: message too long for TCP")
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	out := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(out, uint16(len(b)))
	copy(out[2:], b)
	if _, err := w.conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *writer) WriteFromOtherPort(m *dns.Msg) error {
	if w.conn != nil {
		return errors.New("dnstest: WriteFromOtherPort over TCP")
	}
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.s.spoof.WriteToUDPAddrPort(b, w.remote)
	return err
}

// Close closes a TCP connection; over UDP it does nothing.
func (w *writer) Close() error {
	if w.conn != nil {
		return w.conn.Close()
	}
	return nil
}

func (w *writer) TsigStatus() error   { return nil }
func (w *writer) TsigTimersOnly(bool) {}
func (w *writer) Hijack()             {}

// sleep waits for d or until the server stops; it reports whether the full
// delay elapsed.
func sleep(w dns.ResponseWriter, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	var done <-chan struct{}
	if ww, ok := w.(Writer); ok {
		done = ww.Done()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
