package main

import (
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

// startServers listens on every address given. Each connection gets the
// HTTP response, a half-close, and is closed when the client closes or
// after two seconds.
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
