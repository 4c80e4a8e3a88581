//go:build linux

package dialer

// Drop-in behaviours: what users replacing net.Dialer rely on, found by
// review against the standard library's own tests.

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/loopback"
	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestDropIn_UnspecifiedLocalAddr: a LocalAddr of "[::]" or "0.0.0.0"
// means any address, for both families, as with net.Dialer
// (golang/go#34264); a typed nil *net.TCPAddr means none.
func TestDropIn_UnspecifiedLocalAddr(t *testing.T) {
	e4 := loopback.Single(t, loopback.V4, loopback.Accept)
	for _, la := range []net.Addr{
		&net.TCPAddr{IP: net.IPv6unspecified},
		&net.TCPAddr{IP: net.IPv4zero},
		(*net.TCPAddr)(nil),
	} {
		d := Dialer{LocalAddr: la, DisableHistory: true}
		c, err := d.Dial("tcp", e4.Addr.String())
		if err != nil {
			t.Errorf("LocalAddr %#v: %v", la, err)
			continue
		}
		c.Close()
	}
}

// TestDropIn_NoConnectAfterReturn: an attempt whose start coincides with
// the win makes no connection and fires no hook after DialContext
// returned.
func TestDropIn_NoConnectAfterReturn(t *testing.T) {
	for range 20 { // the tie is decided by goroutine scheduling: repeat
		synctest.Test(t, func(t *testing.T) {
			var n simnet.Network
			n.Set(v6a, simnet.Accepting(250*time.Millisecond))
			n.Set(v4a, simnet.Accepting(10*time.Millisecond))
			d := simDialer(&n, dualStatic(v6a, v4a))
			var returned, late atomic.Bool
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				ConnectStart: func(string, string) {
					if returned.Load() {
						late.Store(true)
					}
				},
			})
			c, err := d.DialContext(ctx, "tcp", "example.com:443")
			returned.Store(true)
			require.NoError(t, err)
			c.Close()
			synctest.Wait()
			if late.Load() {
				t.Fatal("ConnectStart fired after DialContext returned")
			}
		})
	}
}

// TestDropIn_ConnectHooksOnceWithDialAttempt: a DialAttempt that dials
// with net.Dialer and the context it is given does not fire the caller's
// ConnectStart/ConnectDone a second time.
func TestDropIn_ConnectHooksOnceWithDialAttempt(t *testing.T) {
	e4 := loopback.Single(t, loopback.V4, loopback.Accept)
	var starts, dones atomic.Int32
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		ConnectStart: func(string, string) { starts.Add(1) },
		ConnectDone:  func(string, string, error) { dones.Add(1) },
	})
	type key struct{}
	ctx = context.WithValue(ctx, key{}, "kept")
	d := Dialer{DialAttempt: func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
		if ctx.Value(key{}) != "kept" {
			t.Error("DialAttempt's context lost the caller's other values")
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, ap.String())
	}}
	c, err := d.DialContext(ctx, "tcp", e4.Addr.String())
	require.NoError(t, err)
	c.Close()
	if starts.Load() != 1 || dones.Load() != 1 {
		t.Errorf("ConnectStart fired %d times, ConnectDone %d; want 1 each", starts.Load(), dones.Load())
	}
}

// TestDropIn_RefusedIsNotNotFound: a host with addresses that refuse is
// not reported as a DNS "no such host", though its AAAA answer was
// negative.
func TestDropIn_RefusedIsNotNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v4a, simnet.Refusing(time.Millisecond))
		d := simDialer(&n, &resolver.Static{A: resolver.StaticAnswer{Addrs: []netip.Addr{v4a}}})
		_, err := d.DialContext(context.Background(), "tcp", "v4only.example:5432")
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			t.Errorf("errors.As(%v, *net.DNSError) = %v; want false: the host exists and refused", err, dnsErr)
		}
		var de *DialError
		if !errors.As(err, &de) || len(de.DNS) != 1 {
			t.Errorf("DialError.DNS should still hold the AAAA answer: %v", err)
		}
	})
}

// TestDropIn_LocalAddrFamilyMismatch: a name whose addresses are all of the
// other family than LocalAddr's is net.Dialer's "no suitable address", not
// "no such host".
func TestDropIn_LocalAddrFamilyMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		d := simDialer(&n, &resolver.Static{A: resolver.StaticAnswer{Addrs: []netip.Addr{v4a}}})
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP("2001:db8::100")}
		_, err := d.DialContext(context.Background(), "tcp", "v4only.example:443")
		var ae *net.AddrError
		if !errors.As(err, &ae) || ae.Err != "no suitable address found" {
			t.Errorf("error %v; want *net.AddrError \"no suitable address found\"", err)
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			t.Errorf("error %v is a DNS error; the name exists", err)
		}
		if len(n.Attempts()) != 0 {
			t.Errorf("attempts %v; want none", n.Attempts())
		}
	})
}

// TestDropIn_TraceOnEveryReturn: Trace.DialDone and httptrace.DNSDone fire
// once on every path, with the right error.
func TestDropIn_TraceOnEveryReturn(t *testing.T) {
	t.Run("early errors fire DialDone", func(t *testing.T) {
		for _, addr := range []string{"no-port", "example.com:nosuchservice", "[2001:db8::1]:443"} {
			var dialDone atomic.Int32
			ctx := WithTrace(context.Background(), &Trace{DialDone: func(DialDoneInfo) { dialDone.Add(1) }})
			d := Dialer{Resolver: &resolver.Static{}}
			if _, err := d.DialContext(ctx, "tcp4", addr); err == nil {
				t.Fatalf("%s: dial succeeded", addr)
			}
			if dialDone.Load() != 1 {
				t.Errorf("%s: DialDone fired %d times, want 1", addr, dialDone.Load())
			}
		}
	})
	t.Run("DNSDone reports a cut-short resolution as such", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var n simnet.Network
			d := simDialer(&n, &resolver.Static{AAAA: resolver.StaticAnswer{Delay: -1}, A: resolver.StaticAnswer{Delay: -1}})
			d.Timeout = time.Second
			var dnsErr error
			var dnsDone atomic.Int32
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				DNSDone: func(i httptrace.DNSDoneInfo) { dnsDone.Add(1); dnsErr = i.Err },
			})
			_, err := d.DialContext(ctx, "tcp", "example.com:443")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v; want a deadline", err)
			}
			var de *net.DNSError
			if dnsDone.Load() != 1 || !errors.As(dnsErr, &de) || !de.IsTimeout || de.IsNotFound {
				t.Errorf("DNSDone fired %d times with %v; want once with a timeout", dnsDone.Load(), dnsErr)
			}
		})
	})
	t.Run("DNSDone fires with NAT64 synthesis", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var n simnet.Network
			n.Set(synth4a, simnet.Accepting(time.Millisecond))
			d := &Dialer{
				Resolver:    &resolver.Static{A: resolver.StaticAnswer{Addrs: []netip.Addr{v4a}}},
				DialAttempt: n.Dial, SourceAddr: ipv6Only, NAT64Prefix: pref64,
			}
			var dnsDone atomic.Int32
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				DNSDone: func(httptrace.DNSDoneInfo) { dnsDone.Add(1) },
			})
			c, err := d.DialContext(ctx, "tcp", "v4only.example:443")
			require.NoError(t, err)
			c.Close()
			if dnsDone.Load() != 1 {
				t.Errorf("DNSDone fired %d times, want 1", dnsDone.Load())
			}
		})
	})
}

// TestDropIn_HistoryScope: what one Dialer with Control learns does not
// change another's plan.
func TestDropIn_HistoryScope(t *testing.T) {
	p := loopback.Dual(t, loopback.Accept, loopback.Accept)
	st := dualStatic(loopback.V6, loopback.V4)
	a := &Dialer{Resolver: st, Control: func(network, _ string, _ syscall.RawConn) error {
		if network == "tcp6" {
			return syscall.ENETUNREACH // as a socket bound to an IPv4-only interface would
		}
		return nil
	}}
	c, err := a.Dial("tcp", p.Host("svc.test"))
	require.NoError(t, err)
	c.Close()
	b := &Dialer{Resolver: st}
	c, err = b.Dial("tcp", p.Host("svc.test"))
	require.NoError(t, err)
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != loopback.V6 {
		t.Errorf("second Dialer connected to %v; want %v (nothing learned from the first)", got, loopback.V6)
	}
}

// TestDropIn_ErrorLikeNetDialer: a dial that tries one address fails with
// the very error text net.Dialer gives, and OpError.Addr names the address
// (the IP literal, or the address tried last); a dial whose name did not
// resolve has no Addr, as with net.Dialer.
func TestDropIn_ErrorLikeNetDialer(t *testing.T) {
	fdBaseline(t)
	refused := loopback.Single(t, loopback.V4, loopback.Refuse)
	var nd net.Dialer
	_, want := nd.Dial("tcp", refused.Addr.String())
	require.Error(t, want)
	d := Dialer{DisableHistory: true}
	_, got := d.Dial("tcp", refused.Addr.String())
	require.Error(t, got)
	require.Equal(t, want.Error(), got.Error())
	var oe *net.OpError
	require.ErrorAs(t, got, &oe)
	require.NotNil(t, oe.Addr)
	require.Equal(t, refused.Addr.String(), oe.Addr.String())
	require.ErrorIs(t, got, syscall.ECONNREFUSED)

	// A name with two addresses: Addr is the one tried last.
	p := loopback.Dual(t, loopback.Refuse, loopback.Refuse)
	d.Resolver = dualStatic(loopback.V6, loopback.V4)
	_, got = d.Dial("tcp", p.Host("dual.test"))
	require.ErrorAs(t, got, &oe)
	require.NotNil(t, oe.Addr)
	require.Equal(t, p.V4.Addr.String(), oe.Addr.String())
	require.Contains(t, got.Error(), "all 2 attempts failed")

	// No address: no Addr.
	d.Resolver = &resolver.Static{}
	_, got = d.Dial("tcp", "nothing.test:80")
	require.ErrorAs(t, got, &oe)
	require.Nil(t, oe.Addr)
}

// TestDropIn_TimeoutCause: attempts cut short by the dial's deadline read
// "i/o timeout", whether the attempt or the dial noticed first, as
// net.Dialer's do; errors.Is(err, context.DeadlineExceeded) and Timeout()
// hold. Likewise "operation was canceled" for a cancelled dial.
func TestDropIn_TimeoutCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.BlackHoled())
		d := simDialer(&n, dualStatic(v6a, v4a))
		d.Timeout = 400 * time.Millisecond
		_, err := d.DialContext(context.Background(), "tcp", "example.com:443")
		var de *DialError
		require.ErrorAs(t, err, &de)
		require.Len(t, de.Attempts, 2)
		for _, a := range de.Attempts {
			require.Equal(t, "i/o timeout", a.cause().Error(), "attempt to %v", a.Addr)
			require.ErrorIs(t, a, context.DeadlineExceeded)
		}
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout())

		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		d.Timeout = 0
		_, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.ErrorAs(t, err, &de)
		require.Len(t, de.Attempts, 1)
		require.Equal(t, "operation was canceled", de.Attempts[0].cause().Error())
		require.ErrorIs(t, err, context.Canceled)
	})
}
