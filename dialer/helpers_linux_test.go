//go:build linux

package dialer

// Fixtures for the tests on real loopback sockets (internal/loopback runs
// on Linux only): names served by an in-process DNS server, the resolvers
// that ask it, a Trace recorder, and the fd check every socket test makes.

import (
	"context"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// dualName resolves to ::1 and 127.0.0.1 on the test DNS server. It is
// rooted so that the stub resolver applies no search domains.
const dualName = "dual.test."

func dualZone() *dnstest.Zone {
	return dnstest.NewZone(
		dualName+" 60 IN AAAA ::1",
		dualName+" 60 IN A 127.0.0.1",
	)
}

// dnsResolver returns the project's DNS client (resolver.Client, what
// resolver.Default uses) asking srv and nothing else: no resolv.conf, no
// hosts file.
func dnsResolver(t *testing.T, srv *dnstest.Server) resolver.Resolver {
	return &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{srv.Addr}, Ndots: 1},
		HostsPath: filepath.Join(t.TempDir(), "no-hosts"),
	}
}

// stubResolver is resolver.System over the Go stub resolver, asking srv
// whatever resolv.conf names. A query cut short by its context closes its
// socket, so that a lookup the dial abandoned (a dropped AAAA) ends at
// once instead of waiting out the resolv.conf timeout.
func stubResolver(_ *testing.T, srv *dnstest.Server) resolver.Resolver {
	var nd net.Dialer
	return &resolver.System{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, srv.Addr.String())
			if err != nil {
				return nil, err
			}
			context.AfterFunc(ctx, func() { c.Close() })
			return c, nil
		},
	}}
}

// dnsResolvers are the resolvers that speak DNS, for tests that run with
// each.
var dnsResolvers = []struct {
	name string
	new  func(*testing.T, *dnstest.Server) resolver.Resolver
}{
	{"Client", dnsResolver},
	{"System", stubResolver},
}

// events records a dial's Trace.
type events struct {
	mu      sync.Mutex
	starts  []AttemptStartInfo
	dones   []AttemptDoneInfo
	dnsAns  []DNSAnswerInfo
	dialEnd []DialDoneInfo
	ended   chan struct{} // closed once the dial is done and every attempt started has ended
}

func (ev *events) trace() *Trace {
	ev.ended = make(chan struct{})
	return &Trace{
		DNSAnswer: func(i DNSAnswerInfo) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			ev.dnsAns = append(ev.dnsAns, i)
		},
		AttemptStart: func(i AttemptStartInfo) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			ev.starts = append(ev.starts, i)
		},
		AttemptDone: func(i AttemptDoneInfo) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			ev.dones = append(ev.dones, i)
			if len(ev.dones) == len(ev.starts) && len(ev.dialEnd) > 0 {
				close(ev.ended)
			}
		},
		DialDone: func(i DialDoneInfo) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			ev.dialEnd = append(ev.dialEnd, i)
			if len(ev.dones) == len(ev.starts) {
				close(ev.ended)
			}
		},
	}
}

// wait waits for every attempt to report AttemptDone (a loser may report
// after DialContext returned).
func (ev *events) wait(t *testing.T) {
	t.Helper()
	select {
	case <-ev.ended:
	case <-time.After(5 * time.Second):
		ev.mu.Lock()
		defer ev.mu.Unlock()
		t.Fatalf("attempts still running 5s after the dial: started %v, done %v", ev.starts, ev.dones)
	}
}

// startsCopy returns the AttemptStart events so far.
func (ev *events) startsCopy() []AttemptStartInfo {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return slices.Clone(ev.starts)
}

func (ev *events) startAddrs() []netip.AddrPort {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []netip.AddrPort
	for _, s := range ev.starts {
		out = append(out, s.Addr)
	}
	return out
}

func (ev *events) done(index int) (AttemptDoneInfo, bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, d := range ev.dones {
		if d.Index == index {
			return d, true
		}
	}
	return AttemptDoneInfo{}, false
}

// remote is the connection's peer address, unmapped.
func remote(t *testing.T, c net.Conn) netip.AddrPort {
	t.Helper()
	ap := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// exchange proves that c reaches the endpoint: a byte written by the
// client is read on a connection the endpoint accepted.
func exchange(t *testing.T, c net.Conn, e *loopback.Endpoint) {
	t.Helper()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatalf("write: %v", err)
	}
	s := e.Next(t, 2*time.Second)
	defer s.Close()
	s.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(s, b); err != nil || b[0] != 'x' {
		t.Fatalf("server read %q, %v; want \"x\"", b, err)
	}
	if got, want := s.RemoteAddr().String(), c.LocalAddr().String(); got != want {
		t.Errorf("server's peer = %v, want the client's local address %v", got, want)
	}
}

// dualStackHost is the kernel's source address selection
// (rfc6724.ProbeSource), except that the host is said to have routes to
// global addresses of both families, as a dual-stack host has, whatever
// the machine running the test has: the loopback timing tests then do
// not depend on it (a host without an IPv6 route does not wait for AAAA).
func dualStackHost(dst netip.Addr) (netip.Addr, bool) {
	switch dst {
	case networkProbe6:
		return netip.MustParseAddr("2001:db8::100"), true
	case networkProbe4:
		return netip.MustParseAddr("192.0.2.100"), true
	}
	return rfc6724.ProbeSource(dst)
}

// fdBaseline counts open files now and checks, when the test ends (before
// the endpoints and DNS servers created earlier are closed), that none was
// left open. It waits a few seconds: resolver.Client keeps an abandoned
// lookup running for 1 s so that a late answer still fills its cache.
func fdBaseline(t *testing.T) {
	t.Helper()
	n := loopback.FDs(t)
	t.Cleanup(func() { loopback.WaitFDs(t, n, 3*time.Second) })
}

// serve runs handle on every connection the endpoint accepts until the
// test ends.
func serve(t *testing.T, e *loopback.Endpoint, handle func(net.Conn)) {
	ln := e.Listener()
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

// reset closes c with a RST, as a middlebox that kills a flow does.
func reset(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}
