//go:build linux

package loopback

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestKinds(t *testing.T) {
	for _, ip := range []struct {
		name string
		v6   bool
	}{{"127.0.0.1", false}, {"::1", true}} {
		t.Run(ip.name, func(t *testing.T) {
			addr := V4
			if ip.v6 {
				SkipWithoutIPv6(t)
				addr = V6
			}
			acc := Single(t, addr, Accept)
			ref := Single(t, addr, Refuse)
			hole := Single(t, addr, BlackHole)
			before := FDs(t)

			c, err := net.DialTimeout("tcp", acc.Addr.String(), time.Second)
			if err != nil {
				t.Fatalf("accepting endpoint: %v", err)
			}
			s := acc.Next(t, time.Second)
			if s.RemoteAddr().String() != c.LocalAddr().String() {
				t.Errorf("accepted %v, want the client %v", s.RemoteAddr(), c.LocalAddr())
			}
			s.Close()
			c.Close()

			start := time.Now()
			_, err = net.DialTimeout("tcp", ref.Addr.String(), time.Second)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("refusing endpoint: %v, want ECONNREFUSED", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("refusal took %v", d)
			}

			start = time.Now()
			_, err = net.DialTimeout("tcp", hole.Addr.String(), 300*time.Millisecond)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("black hole: %v, want a timeout", err)
			}
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("black hole answered after %v", d)
			}
			WaitFDs(t, before, 2*time.Second)
		})
	}
}

func TestDual(t *testing.T) {
	p := Dual(t, Accept, Refuse)
	if p.V4.Addr.Port() != p.Port || p.V6.Addr.Port() != p.Port {
		t.Fatalf("ports %v and %v, want both %d", p.V4.Addr, p.V6.Addr, p.Port)
	}
	if p.V4.Addr.Addr() != V4 || p.V6.Addr.Addr() != V6 {
		t.Fatalf("addresses %v and %v", p.V4.Addr, p.V6.Addr)
	}
	if _, err := net.DialTimeout("tcp", p.V6.Addr.String(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("::1 side: %v, want ECONNREFUSED", err)
	}
	c, err := net.DialTimeout("tcp", p.V4.Addr.String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The accepted connection is left to the endpoint's cleanup to close.
	if _, ok := p.V4.TryNext(time.Second); !ok {
		t.Error("127.0.0.1 side accepted nothing")
	}
}

func TestOpen_RejectsNonLoopback(t *testing.T) {
	for _, k := range []Kind{Accept, Refuse, BlackHole} {
		e, err := Open(netip.MustParseAddr("192.0.2.1"), 0, k)
		if err == nil {
			e.Close()
			t.Errorf("Open(192.0.2.1, %v) succeeded, want an error: only loopback is allowed", k)
		}
	}
}
