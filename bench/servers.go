package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// httpResponse is what every scenario server sends: curl speaks HTTP and
// wants an answer; the other clients close at once and never read it.
const httpResponse = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"

// tcpServers are the listeners of one scenario.
type tcpServers struct {
	lns   []net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// listenFunc creates a listener; in the emulated network it does so in
// the server namespace.
type listenFunc func(addr netip.AddrPort) (net.Listener, error)

// startServers listens on every address given. Each connection gets, once
// the client has sent a request head, the HTTP response and a half-close,
// and is closed when the client closes or after two seconds. A client
// that closes without a request (the Go, Node and Python clients close
// once connected) gets nothing: the server closes in turn, and the
// client's side ends in TIME_WAIT, where the kernel saves the
// destination's TCP metrics when that is on (net/ipv4/tcp_minisocks.c,
// tcp_time_wait). A response sent unasked would reach a socket its client
// had closed, which answers data with a RST (RFC 1122 §4.2.2.13) and
// saves nothing.
func startServers(listen listenFunc, addrs []netip.AddrPort) (*tcpServers, error) {
	s := &tcpServers{conns: make(map[net.Conn]struct{})}
	for _, a := range addrs {
		ln, err := listen(a)
		if err != nil {
			s.close()
			return nil, err
		}
		s.lns = append(s.lns, ln)
		s.wg.Add(1)
		go s.accept(ln)
	}
	return s, nil
}

func (s *tcpServers) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. a connection reset before accept
		}
		s.mu.Lock()
		if s.conns == nil { // closing
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *tcpServers) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if !readRequestHead(bufio.NewReader(c)) {
		return
	}
	if _, err := io.WriteString(c, httpResponse); err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, c)
}

// close stops the listeners and every open connection, and waits.
func (s *tcpServers) close() {
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
}

// readRequestHead reads up to the blank line that ends an HTTP request
// head (at most 64 lines), and reports whether it came.
func readRequestHead(r *bufio.Reader) bool {
	for range 64 {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == "\r\n" || line == "\n" {
			return true
		}
	}
	return false
}
