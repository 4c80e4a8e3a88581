package simnet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ms = time.Millisecond

var (
	v6 = netip.MustParseAddr("2001:db8::1")
	v4 = netip.MustParseAddr("192.0.2.1")
)

func TestNetworkBehaviors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       Behavior
		unknown bool
		ctxTime time.Duration // 0: none
		cancel  time.Duration // 0: never
		took    time.Duration
		want    error // nil: connected
		timeout bool
	}{
		{name: "accept", b: Accepting(40 * ms), took: 40 * ms},
		{name: "accept at once", b: Accepting(0), took: 0},
		{name: "refuse", b: Refusing(3 * ms), took: 3 * ms, want: syscall.ECONNREFUSED},
		{name: "unknown address is unreachable", unknown: true, took: 0, want: syscall.ENETUNREACH},
		{name: "black hole until the SYN timeout", b: BlackHoled(), took: SYNTimeout, want: syscall.ETIMEDOUT, timeout: true},
		{name: "black hole cancelled", b: BlackHoled(), cancel: 300 * ms, took: 300 * ms, want: context.Canceled},
		{name: "black hole past the deadline", b: BlackHoled(), ctxTime: 200 * ms, took: 200 * ms, want: context.DeadlineExceeded, timeout: true},
		{name: "one lost SYN", b: Lossy(20*ms, 1), took: time.Second + 20*ms},
		{name: "three lost SYNs", b: Lossy(20*ms, 3), took: 7*time.Second + 20*ms},
		{name: "every SYN lost", b: Lossy(20*ms, 7), took: SYNTimeout, want: syscall.ETIMEDOUT, timeout: true},
		{name: "answer at the cancellation instant wins", b: Accepting(50 * ms), cancel: 50 * ms, took: 50 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n Network
				if !tc.unknown {
					n.Set(v4, tc.b)
				}
				ctx := t.Context()
				if tc.ctxTime > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.ctxTime)
					defer cancel()
				}
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
					time.AfterFunc(tc.cancel, cancel)
				}
				start := time.Now()
				ap := netip.AddrPortFrom(v4, 443)
				c, err := n.Dial(ctx, "tcp4", ap)
				if took := time.Since(start); took != tc.took {
					t.Errorf("took %v; want %v", took, tc.took)
				}
				log := n.Attempts()
				if len(log) != 1 || log[0].Addr != ap || !log[0].Start.Equal(start) || log[0].End.Sub(start) != tc.took {
					t.Errorf("log %v", log)
				}
				if tc.want == nil {
					if err != nil {
						t.Fatalf("err %v; want a connection", err)
					}
					if c.RemoteAddr().String() != "192.0.2.1:443" || log[0].Conn == nil || log[0].Conn.Closed() {
						t.Errorf("conn %v, logged %v", c.RemoteAddr(), log[0].Conn)
					}
					c.Close()
					if !log[0].Conn.Closed() {
						t.Error("Closed() false after Close")
					}
					return
				}
				if c != nil || !errors.Is(err, tc.want) {
					t.Fatalf("conn %v, err %v; want %v", c, err, tc.want)
				}
				var oe *net.OpError
				if !errors.As(err, &oe) || oe.Op != "dial" || oe.Net != "tcp4" || oe.Addr.String() != "192.0.2.1:443" {
					t.Errorf("err %#v; want a *net.OpError for dial tcp4 192.0.2.1:443", err)
				}
				var ne net.Error
				if got := errors.As(err, &ne) && ne.Timeout(); got != tc.timeout {
					t.Errorf("Timeout() = %v; want %v", got, tc.timeout)
				}
			})
		})
	}
}

func TestSourceAll(t *testing.T) {
	for dst, want := range map[string]string{
		"2001:db8::1":      "2001:db8::100",
		"192.0.2.1":        "192.0.2.100",
		"::ffff:192.0.2.1": "192.0.2.100",
	} {
		src, ok := SourceAll(netip.MustParseAddr(dst))
		if !ok || src.String() != want {
			t.Errorf("SourceAll(%s) = %v, %v; want %s", dst, src, ok, want)
		}
	}
}
