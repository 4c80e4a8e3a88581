package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// echoBackend is a server on 127.0.0.1 (the proxy's side) that writes
// "hello" to every connection.
func echoBackend(t *testing.T) string {
	t.Helper()
	e := loopback.Single(t, loopback.V4, loopback.Accept)
	ln := e.Listener()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "hello")
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return e.Addr.String()
}

// through dials backend through the SOCKS5 dialer p and reads its greeting.
func through(ctx context.Context, p proxy.Dialer, backend string) error {
	c, err := p.(proxy.ContextDialer).DialContext(ctx, "tcp", backend)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(b) != "hello" {
		return fmt.Errorf("read %q through the proxy; want %q", b, "hello")
	}
	return nil
}

// TestSOCKS5_xnetproxy checks the x/net/proxy recipe: the Dialer is the
// forward dialer that reaches the SOCKS5 proxy by name, racing ::1 and
// 127.0.0.1 (RFC 8305 §5).
func TestSOCKS5_xnetproxy(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "socks")
	startMicrosocks(t, tg.Port)
	backend := echoBackend(t)

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (SOCKS5 through x/net/proxy).
		p, err := proxy.SOCKS5("tcp", tg.Addr(), nil, &d)
		if err != nil {
			return err
		}
		return through(ctx, p, backend)
	})
	recipe("SOCKS5 proxy (x/net/proxy, microsocks)", "forward dialer = &d", first, second)

	// Default: a nil forward dialer is proxy.Direct, a net.Dialer (RFC 6555:
	// 300 ms for IPv6 before IPv4); here its resolver asks the test's DNS
	// server.
	naive(t, "SOCKS5 proxy (x/net/proxy, microsocks)", "default (net.Dialer)", func(ctx context.Context) error {
		p, err := proxy.SOCKS5("tcp", tg.Addr(), nil, &net.Dialer{Resolver: naiveResolver})
		if err != nil {
			return err
		}
		return through(ctx, p, backend)
	})
}
