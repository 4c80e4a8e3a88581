package dialer

// Drop-in conformance with net.Dialer on real sockets (loopback): what the
// local system means, and deadlines at the edge of time.Duration.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// listenV4 listens on 127.0.0.1 only and returns its port.
func listenV4(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestDropInConformance_LocalSystem: net.Dial's doc: "if the host is empty
// or a literal unspecified IP address, as in ":80", "0.0.0.0:80" or
// "[::]:80" for TCP and UDP, ... the local system is assumed", including
// an IPv4-only listener dialed as "[::]:P" on tcp4 (Go net
// TestDialListenerAddr, golang/go#18806).
func TestDropInConformance_LocalSystem(t *testing.T) {
	port := listenV4(t)
	fdBaseline(t)
	for _, tc := range []struct{ network, address string }{
		{"tcp4", "[::]:" + port},
		{"tcp4", "0.0.0.0:" + port},
		{"tcp", "0.0.0.0:" + port},
		{"tcp", ":" + port},
		{"tcp4", ":" + port},
	} {
		t.Run(tc.network+" "+tc.address, func(t *testing.T) {
			var nd net.Dialer
			if c, err := nd.Dial(tc.network, tc.address); err != nil {
				t.Skipf("net.Dialer fails here too: %v", err)
			} else {
				c.Close()
			}
			d := Dialer{DisableHistory: true}
			c, err := d.Dial(tc.network, tc.address)
			if err != nil {
				t.Fatalf("Dial(%q, %q): %v", tc.network, tc.address, err)
			}
			c.Close()
		})
	}
}

// TestDropInConformance_LocalSystemIPv6Spelling: net.Dialer dials "[::]:P"
// on "tcp" as [::] then 0.0.0.0 (golang/go#18806), so an IPv4-only
// listener is reached: by a plain dial, and by one with a Policy, which
// vets both (a Policy that refuses 0.0.0.0 leaves [::] alone).
func TestDropInConformance_LocalSystemIPv6Spelling(t *testing.T) {
	port := listenV4(t)
	fdBaseline(t)
	var vetted []netip.AddrPort
	for _, d := range []*Dialer{
		{DisableHistory: true},
		{DisableHistory: true, Policy: func(_ string, ap netip.AddrPort) error {
			vetted = append(vetted, ap)
			return nil
		}},
	} {
		c, err := d.Dial("tcp", "[::]:"+port)
		if err != nil {
			t.Fatalf(`Dial("tcp", "[::]:%s") (Policy %v): %v`, port, d.Policy != nil, err)
		}
		c.Close()
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	want := []netip.AddrPort{
		netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(p)),
		netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)),
	}
	if !slices.Equal(vetted, want) {
		t.Errorf("the Policy vetted %v; want %v", vetted, want)
	}
	refuse4 := Dialer{DisableHistory: true, Policy: func(_ string, ap netip.AddrPort) error {
		if ap.Addr().Is4() {
			return errors.New("no IPv4")
		}
		return nil
	}}
	if c, err := refuse4.Dial("tcp", "[::]:"+port); err == nil {
		c.Close()
		t.Errorf("reached the IPv4-only listener through a Policy that refuses IPv4")
	}
}

// TestDropInConformance_MaxDurations: Go net TestDialTimeoutMaxDuration:
// a Timeout of the largest Duration, or a Deadline that far away, must not
// overflow into an expired dial. Also a closed port fails at once with
// ECONNREFUSED and nothing of the dial is left open.
func TestDropInConformance_MaxDurations(t *testing.T) {
	port := listenV4(t)
	closed := func() string {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	fdBaseline(t)
	for _, d := range []*Dialer{
		{Timeout: 1<<63 - 1},
		{Deadline: time.Now().Add(1<<63 - 1)},
		{Timeout: 1<<63 - 1, Deadline: time.Now().Add(1<<63 - 1)},
	} {
		d.DisableHistory = true
		c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			t.Fatalf("Timeout %v Deadline %v: %v", d.Timeout, d.Deadline, err)
		}
		c.Close()
		start := time.Now()
		_, err = d.DialContext(context.Background(), "tcp", closed)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("closed port: %v; want ECONNREFUSED", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("closed port: failed after %v; want at once", took)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Addr == nil || oe.Addr.String() != netip.MustParseAddrPort(closed).String() {
			t.Errorf("closed port: error %v does not name %s", err, closed)
		}
	}
}

// acceptAndClose listens on network (tcp4 or tcp6) at loopback and closes
// every connection it accepts, until the test ends; it returns the port.
func acceptAndClose(t *testing.T, network, host string) string {
	t.Helper()
	ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("listen %s: %v", network, err)
	}
	done := make(chan struct{}) // closed when the accept loop has returned
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestDropInConformance_LocalAddr is Go net TestDialerLocalAddr's table:
// every LocalAddr spelling (nil, empty, unspecified of either family,
// 4-byte and 16-byte IPv4, IPv6 loopback, a UDP or Unix address) against
// tcp4, tcp6 and tcp to 127.0.0.1, ::1 and the IPv4-mapped
// ::ffff:127.0.0.1. This Dialer must succeed where
// net.Dialer does and fail where it does, with the same error text.
func TestDropInConformance_LocalAddr(t *testing.T) {
	p4 := acceptAndClose(t, "tcp4", "127.0.0.1")
	p6 := acceptAndClose(t, "tcp6", "::1")
	fdBaseline(t)
	locals := []net.Addr{
		nil,
		&net.TCPAddr{},
		&net.TCPAddr{IP: net.ParseIP("0.0.0.0")},
		&net.TCPAddr{IP: net.ParseIP("0.0.0.0").To4()},
		&net.TCPAddr{IP: net.ParseIP("::")},
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1").To4()},
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1").To16()},
		&net.TCPAddr{IP: net.IPv6loopback},
		&net.UDPAddr{},
		&net.UnixAddr{},
	}
	for _, network := range []string{"tcp4", "tcp6", "tcp"} {
		for _, raddr := range []string{net.JoinHostPort("127.0.0.1", p4), net.JoinHostPort("::1", p6), net.JoinHostPort("::ffff:127.0.0.1", p4)} {
			for _, la := range locals {
				name := network + " " + raddr + " from " + addrString(la)
				nd := net.Dialer{LocalAddr: la}
				sc, serr := nd.Dial(network, raddr)
				if sc != nil {
					sc.Close()
				}
				d := Dialer{LocalAddr: la, DisableHistory: true}
				c, err := d.Dial(network, raddr)
				if c != nil {
					c.Close()
				}
				switch {
				case (err == nil) != (serr == nil):
					t.Errorf("%s: got %v; net.Dialer %v", name, err, serr)
				case err != nil && err.Error() != serr.Error():
					t.Errorf("%s: error\n got %q\nwant %q (net.Dialer)", name, err, serr)
				}
			}
		}
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return "nil"
	}
	return a.Network() + ":" + a.String()
}

type ctxKey struct{}

// TestDropInConformance_ControlContextValues is Go net TestDialContext:
// ControlContext sees the caller's context values, on every network, and
// is called with the attempt's network (tcp4 or tcp6) and address.
func TestDropInConformance_ControlContextValues(t *testing.T) {
	p4 := acceptAndClose(t, "tcp4", "127.0.0.1")
	p6 := acceptAndClose(t, "tcp6", "::1")
	fdBaseline(t)
	for i, tc := range []struct{ network, address, wantNet string }{
		{"tcp", net.JoinHostPort("127.0.0.1", p4), "tcp4"},
		{"tcp4", net.JoinHostPort("127.0.0.1", p4), "tcp4"},
		{"tcp6", net.JoinHostPort("::1", p6), "tcp6"},
		{"tcp", net.JoinHostPort("::1", p6), "tcp6"},
	} {
		var gotID int
		var gotNet, gotAddr string
		d := Dialer{DisableHistory: true, ControlContext: func(ctx context.Context, network, address string, _ syscall.RawConn) error {
			gotID, _ = ctx.Value(ctxKey{}).(int)
			gotNet, gotAddr = network, address
			return nil
		}}
		c, err := d.DialContext(context.WithValue(context.Background(), ctxKey{}, i+1), tc.network, tc.address)
		if err != nil {
			t.Errorf("%s %s: %v", tc.network, tc.address, err)
			continue
		}
		c.Close()
		if gotID != i+1 || gotNet != tc.wantNet || gotAddr != tc.address {
			t.Errorf("%s %s: ControlContext saw id %d, %q %q; want %d, %q %q", tc.network, tc.address, gotID, gotNet, gotAddr, i+1, tc.wantNet, tc.address)
		}
	}
}

// TestDropInConformance_ConnType: code written for net.Dialer asserts
// c.(*net.TCPConn) (CloseWrite, SetLinger, SetKeepAlive...). The zero
// Dialer's connection to a literal or a name is one, as net.Dialer's is.
func TestDropInConformance_ConnType(t *testing.T) {
	p4 := acceptAndClose(t, "tcp4", "127.0.0.1")
	fdBaseline(t)
	for _, address := range []string{
		net.JoinHostPort("127.0.0.1", p4),
		net.JoinHostPort("localhost", p4), // the zero Dialer: hosts file, then RFC 8305
	} {
		var d Dialer
		d.DisableHistory = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := d.DialContext(ctx, "tcp", address)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", address, err)
			continue
		}
		if _, ok := c.(*net.TCPConn); !ok {
			t.Errorf("%s: connection is %T; want *net.TCPConn", address, c)
		}
		if got := c.RemoteAddr().String(); got != net.JoinHostPort("127.0.0.1", p4) {
			t.Errorf("%s: RemoteAddr %s", address, got)
		}
		c.Close()
	}
}

// TestDropInConformance_LocalSystemHandshake: the local system (":P",
// "[::]:P") dialed through a TLSDialer, or with a Handshake, still gets
// its handshake: a plain TCP connection must never come back from a TLS
// dial. Here the server closes at once, so every such dial fails.
func TestDropInConformance_LocalSystemHandshake(t *testing.T) {
	p4 := acceptAndClose(t, "tcp4", "127.0.0.1")
	fdBaseline(t)
	for _, address := range []string{":" + p4, "[::]:" + p4, "0.0.0.0:" + p4} {
		for _, network := range []string{"tcp", "tcp4"} {
			td := TLSDialer{NetDialer: &Dialer{DisableHistory: true, Timeout: 5 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true}}
			if c, err := td.DialContext(context.Background(), network, address); err == nil {
				t.Errorf("TLSDialer %s %s: connected (%T) to a server that closes at once", network, address, c)
				c.Close()
			}
			handshaken := 0
			d := Dialer{DisableHistory: true, Timeout: 5 * time.Second, Handshake: func(ctx context.Context, c net.Conn) (net.Conn, error) {
				handshaken++
				return c, nil
			}}
			c, err := d.DialContext(context.Background(), network, address)
			if err != nil {
				t.Errorf("Handshake %s %s: %v", network, address, err)
				continue
			}
			c.Close()
			if handshaken != 1 {
				t.Errorf("Handshake %s %s: ran %d times; want 1", network, address, handshaken)
			}
		}
	}
}
