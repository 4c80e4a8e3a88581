package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ms = time.Millisecond

var (
	v6 = netip.MustParseAddr("2001:db8::1")
	v4 = netip.MustParseAddr("192.0.2.1")
)

// collect reads every answer with its arrival time since start.
func collect(start time.Time, ch <-chan resolver.Answer) string {
	var lines []string
	for a := range ch {
		lines = append(lines, fmt.Sprintf("%v %v err=%v @%v", a.Family, a.Addrs, a.Err, time.Since(start)))
	}
	return strings.Join(lines, "\n")
}

func TestResolverOrderAndDelays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		aaaa, a resolver.StaticAnswer
		fams    []resolver.Family
		want    string
	}{
		{
			name: "A earlier",
			aaaa: resolver.StaticAnswer{Addrs: []netip.Addr{v6}, Delay: 10 * ms},
			a:    resolver.StaticAnswer{Addrs: []netip.Addr{v4}},
			fams: []resolver.Family{resolver.IPv6, resolver.IPv4},
			want: "IPv4 [192.0.2.1] err=<nil> @0s\nIPv6 [2001:db8::1] err=<nil> @10ms",
		},
		{
			name: "same instant: the order asked",
			aaaa: resolver.StaticAnswer{Addrs: []netip.Addr{v6}, Delay: 5 * ms},
			a:    resolver.StaticAnswer{Addrs: []netip.Addr{v4}, Delay: 5 * ms},
			fams: []resolver.Family{resolver.IPv6, resolver.IPv4},
			want: "IPv6 [2001:db8::1] err=<nil> @5ms\nIPv4 [192.0.2.1] err=<nil> @5ms",
		},
		{
			name: "same instant, A asked first",
			aaaa: resolver.StaticAnswer{Addrs: []netip.Addr{v6}},
			a:    resolver.StaticAnswer{Addrs: []netip.Addr{v4}},
			fams: []resolver.Family{resolver.IPv4, resolver.IPv6},
			want: "IPv4 [192.0.2.1] err=<nil> @0s\nIPv6 [2001:db8::1] err=<nil> @0s",
		},
		{
			name: "one family, duplicates and unknown families dropped",
			aaaa: resolver.StaticAnswer{Addrs: []netip.Addr{v6}},
			fams: []resolver.Family{resolver.IPv6, 9, resolver.IPv6},
			want: "IPv6 [2001:db8::1] err=<nil> @0s",
		},
		{
			name: "addresses unmapped, wrong family and duplicates dropped",
			a: resolver.StaticAnswer{Addrs: []netip.Addr{
				netip.MustParseAddr("::ffff:192.0.2.1"), v6, v4, netip.MustParseAddr("192.0.2.2"),
			}},
			fams: []resolver.Family{resolver.IPv4},
			want: "IPv4 [192.0.2.1 192.0.2.2] err=<nil> @0s",
		},
		{
			name: "negative answers",
			aaaa: resolver.StaticAnswer{Delay: 3 * ms},
			a:    resolver.StaticAnswer{Err: errors.New("SERVFAIL"), Delay: 4 * ms},
			fams: []resolver.Family{resolver.IPv6, resolver.IPv4},
			want: "IPv6 [] err=lookup example.com: no such host @3ms\nIPv4 [] err=SERVFAIL @4ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var r Resolver
				r.Set("example.com", tc.aaaa, tc.a)
				start := time.Now()
				if got := collect(start, r.Resolve(t.Context(), "example.com", tc.fams...)); got != tc.want {
					t.Errorf("answers:\n%s\nwant:\n%s", got, tc.want)
				}
			})
		})
	}
}

func TestResolverUnknownHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r Resolver
		r.Set("example.com", resolver.StaticAnswer{Addrs: []netip.Addr{v6}}, resolver.StaticAnswer{})
		n := 0
		for a := range r.Resolve(t.Context(), "other.example", resolver.IPv6, resolver.IPv4) {
			n++
			var de *net.DNSError
			if !errors.As(a.Err, &de) || !de.IsNotFound || de.Name != "other.example" || len(a.Addrs) != 0 {
				t.Errorf("answer %+v; want NXDOMAIN for other.example", a)
			}
		}
		if n != 2 {
			t.Errorf("%d answers; want 2", n)
		}
		q := r.Queries()
		if len(q) != 1 || q[0].Host != "other.example" || fmt.Sprint(q[0].Families) != "[IPv6 IPv4]" {
			t.Errorf("queries = %+v", q)
		}
	})
}

func TestResolverCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r Resolver
		r.Set("example.com",
			resolver.StaticAnswer{Addrs: []netip.Addr{v6}, Delay: -1},
			resolver.StaticAnswer{Addrs: []netip.Addr{v4}, Delay: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 30*ms)
		defer cancel()
		start := time.Now()
		var got []resolver.Family
		for a := range r.Resolve(ctx, "example.com", resolver.IPv6, resolver.IPv4) {
			got = append(got, a.Family)
			var de *net.DNSError
			if !errors.Is(a.Err, context.DeadlineExceeded) || !errors.As(a.Err, &de) || !de.IsTimeout {
				t.Errorf("%v: err %v; want a timeout DNSError wrapping DeadlineExceeded", a.Family, a.Err)
			}
			if d := time.Since(start); d != 30*ms {
				t.Errorf("%v answered at %v; want 30ms", a.Family, d)
			}
		}
		if fmt.Sprint(got) != "[IPv4 IPv6]" {
			t.Errorf("families answered %v; want [IPv4 IPv6] (earliest due first)", got)
		}
	})
}

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
