package dialer

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/internal/tcpmetrics"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestHistory_BlackHoleLearned: a black-holed IPv6 path costs one
// Connection Attempt Delay once; later dials go to IPv4 first until an
// IPv6 attempt connects again or the mark expires.
func TestHistory_BlackHoleLearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		d := simDialer(&n, dualStatic(v6a, v4a))
		d.History = new(History)

		dial := func() (time.Duration, netip.AddrPort) {
			t.Helper()
			start := time.Now()
			c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
			require.NoError(t, err)
			took := time.Since(start)
			ap := c.RemoteAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort()
			c.Close()
			synctest.Wait()
			return took, ap
		}

		if took, ap := dial(); took != 270*time.Millisecond || ap.Addr() != v4a {
			t.Fatalf("first dial: %v over %v; want 270ms over %v", took, ap, v4a)
		}
		if took, ap := dial(); took != 20*time.Millisecond || ap.Addr() != v4a {
			t.Fatalf("second dial: %v over %v; want 20ms over %v (IPv6 learned unreachable)", took, ap, v4a)
		}
		at := n.Attempts()
		if last := at[len(at)-1]; last.Addr.Addr() != v4a {
			t.Errorf("second dial's first attempt = %v, want %v", last.Addr, v4a)
		}

		// IPv4 breaks too: the marked IPv6 address is still tried, second,
		// and connecting clears its mark. It starts 100 ms after IPv4, not
		// 250: IPv4's measured 20 ms round trip gives a Connection Attempt
		// Delay of 20 + 4×10 ms, raised to the 100 ms minimum (RFC 8305 §5).
		n.Set(v6a, simnet.Accepting(10*time.Millisecond))
		n.Set(v4a, simnet.BlackHoled())
		if took, ap := dial(); took != 110*time.Millisecond || ap.Addr() != v6a {
			t.Fatalf("third dial: %v over %v; want 110ms over %v", took, ap, v6a)
		}
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		time.Sleep(historyTTL) // the IPv4 mark from the third dial expires
		if took, ap := dial(); took != 10*time.Millisecond || ap.Addr() != v6a {
			t.Fatalf("fourth dial: %v over %v; want 10ms over %v (marks cleared)", took, ap, v6a)
		}
	})
}

// TestHistory_RefusalIsNotUnreachable: a refused attempt proves the path
// works: the address is not marked unreachable, and the name's refused
// family goes second only for as long as a refusal is remembered (the
// service listens on the other family's addresses only), 30 s, not the
// 10 minutes of a black hole.
func TestHistory_RefusalIsNotUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Refusing(5*time.Millisecond))
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		d := simDialer(&n, dualStatic(v6a, v4a))
		d.History = new(History)
		var starts []AttemptStartInfo
		ctx := WithTrace(context.Background(), &Trace{AttemptStart: func(i AttemptStartInfo) { starts = append(starts, i) }})
		dial := func() (time.Duration, []AttemptStartInfo) {
			t.Helper()
			starts = nil
			start := time.Now()
			c, err := d.DialContext(ctx, "tcp", "example.com:443")
			require.NoError(t, err)
			took := time.Since(start)
			c.Close()
			synctest.Wait()
			return took, starts
		}
		// Cold: IPv6 first (RFC 6724), refused after 5 ms, IPv4 at the
		// 10 ms floor (RFC 8305 §5).
		took, s := dial()
		require.Equal(t, 30*time.Millisecond, took)
		require.Equal(t, v6a, s[0].Addr.Addr())
		// Warm: IPv4 first; IPv6 is still there, known "refused", not
		// "unreachable".
		took, s = dial()
		require.Equal(t, 20*time.Millisecond, took)
		require.Len(t, s, 1)
		require.Equal(t, v4a, s[0].Addr.Addr())
		l := &learner{h: d.History, src: simnet.SourceAll, port: 443}
		require.Equal(t, "refused", l.known(netip.AddrPortFrom(v6a, 443)))
		// Once the refusal is forgotten, IPv6 goes first again.
		time.Sleep(refusedTTL)
		n.Set(v6a, simnet.Accepting(20*time.Millisecond))
		_, s = dial()
		require.Equal(t, v6a, s[0].Addr.Addr())
	})
}

// TestHistory_Disabled: with DialAttempt set and no test history, nothing
// is learned.
func TestHistory_NotLearnedWithDialAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		d := simDialer(&n, dualStatic(v6a, v4a))
		for range 2 {
			start := time.Now()
			c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
			require.NoError(t, err)
			c.Close()
			if took := time.Since(start); took != 270*time.Millisecond {
				t.Errorf("dial took %v, want 270ms every time", took)
			}
			synctest.Wait()
		}
	})
}

// dialTimes dials example.com n times with d, waiting for the losers each
// time, and returns how long each dial took and what it connected to.
func dialTimes(t *testing.T, d *Dialer, network string, n int) ([]time.Duration, []netip.Addr) {
	t.Helper()
	var took []time.Duration
	var won []netip.Addr
	for range n {
		start := time.Now()
		c, err := d.DialContext(context.Background(), network, "example.com:443")
		require.NoError(t, err)
		took = append(took, time.Since(start))
		won = append(won, c.RemoteAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Addr())
		c.Close()
		synctest.Wait()
	}
	return took, won
}

// Three black-holed IPv6 addresses cost one Connection Attempt Delay
// once, not one per dial: the name learns that IPv6 goes second.
func TestHistory_FamilyLearnedPerName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		for _, a := range []netip.Addr{v6a, v6b, v6c} {
			n.Set(a, simnet.BlackHoled())
		}
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(&n, &resolver.Static{AAAA: simAnswer(0, v6a, v6b, v6c), A: simAnswer(0, v4a)})
		d.History = new(History)
		took, won := dialTimes(t, d, "tcp", 4)
		require.Equal(t, []time.Duration{270 * ms, 20 * ms, 20 * ms, 20 * ms}, took)
		require.Equal(t, []netip.Addr{v4a, v4a, v4a, v4a}, won)

		// IPv4 fails: IPv6 is still tried, one Connection Attempt Delay
		// later (the one IPv4's 20 ms round trip gives: 100 ms), and its
		// win makes IPv4 the family to try second.
		n.Set(v4a, simnet.BlackHoled())
		n.Set(v6b, simnet.Accepting(10*ms))
		took, won = dialTimes(t, d, "tcp", 2)
		require.Equal(t, v6b, won[0])
		require.Equal(t, v6b, won[1])
		require.Equal(t, 10*ms, took[1], "IPv6 first again")

		// Another network (another source address) learned nothing.
		d.SourceAddr = func(dst netip.Addr) (netip.Addr, bool) {
			if dst.Is4() {
				return netip.MustParseAddr("198.51.100.1"), true
			}
			return netip.MustParseAddr("2001:db8:ffff::1"), true
		}
		n.Set(v6b, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		took, _ = dialTimes(t, d, "tcp", 1)
		require.Equal(t, 270*ms, took[0], "what was learned on one network does not apply on another")
	})
}

// An AAAA answer that missed the Resolution Delay is not waited for on the
// next dials (RFC 8305 §3 costs it once); it is still asked for and used.
// When it comes in time again, the Resolution Delay is back.
func TestHistory_LateAAAALearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Accepting(10*ms))
		n.Set(v4a, simnet.Accepting(20*ms))
		late := &resolver.Static{AAAA: simAnswer(time.Second, v6a), A: simAnswer(0, v4a)}
		d := simDialer(&n, late)
		d.History = new(History)
		took, _ := dialTimes(t, d, "tcp", 3)
		require.Equal(t, []time.Duration{70 * ms, 20 * ms, 20 * ms}, took)

		// The AAAA answer is late but IPv4 is broken: it still joins the
		// race when it comes, at 1 s.
		n.Set(v4a, simnet.BlackHoled())
		took, won := dialTimes(t, d, "tcp", 1)
		require.Equal(t, v6a, won[0])
		require.Equal(t, time.Second+10*ms, took[0])

		// AAAA in time again (10 ms after A): the next dial waits for it.
		n.Set(v4a, simnet.Accepting(20*ms))
		d.Resolver = &resolver.Static{AAAA: simAnswer(10*ms, v6a), A: simAnswer(0, v4a)}
		took, won = dialTimes(t, d, "tcp", 2)
		require.Equal(t, []netip.Addr{v4a, v6a}, won, "the first dial does not wait; its AAAA is on time")
		require.Equal(t, 20*ms, took[1], "AAAA at 10 ms, IPv6 connects 10 ms later")
	})
}

// The Connection Attempt Delay follows a destination's measured round
// trip (RFC 8305 §5: SRTT + 4·RTTVAR, within [100 ms, 2 s]); with no
// history it stays 250 ms.
func TestHistory_AdaptiveAttemptDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Accepting(150*ms))
		n.Set(v6b, simnet.Accepting(10*ms))
		d := simDialer(&n, &resolver.Static{AAAA: simAnswer(0, v6a, v6b)})
		d.History = new(History)
		took, _ := dialTimes(t, d, "tcp6", 1)
		require.Equal(t, 150*ms, took[0])

		// v6a measured at 150 ms: the next address waits 150 + 4×75 =
		// 450 ms for it, not 250.
		n.Set(v6a, simnet.BlackHoled())
		took, won := dialTimes(t, d, "tcp6", 1)
		require.Equal(t, v6b, won[0])
		require.Equal(t, 460*ms, took[0])

		// A configured delay is kept as configured.
		d.History = new(History)
		n.Set(v6a, simnet.Accepting(150*ms))
		dialTimes(t, d, "tcp6", 1)
		n.Set(v6a, simnet.BlackHoled())
		d.ConnectionAttemptDelay = 300 * ms
		took, _ = dialTimes(t, d, "tcp6", 1)
		require.Equal(t, 310*ms, took[0])
	})
}

// The history is bounded, least recently used first out, and Reset
// forgets everything.
func TestHistory_BoundedAndReset(t *testing.T) {
	var h History
	src := netip.MustParseAddr("2001:db8::100")
	key := func(i int) destKey {
		return destKey{src, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 443)}
	}
	for i := range maxDests + 10 {
		h.updateDest(key(i), func(st *destState) { st.srtt = ms })
	}
	require.Equal(t, maxDests, h.dests.order.Len())
	_, ok := h.dest(key(0))
	require.False(t, ok, "the oldest entry went first")
	_, ok = h.dest(key(maxDests + 9))
	require.True(t, ok)
	h.updateName(nameKey{host: "example.com"}, func(st *nameState) { st.second = resolver.IPv6 })
	h.Reset()
	require.Zero(t, h.dests.order.Len())
	require.Zero(t, h.names.order.Len())
}

// On a host without an IPv6 route, an A answer starts the dial at once:
// there is no IPv6 path to wait the Resolution Delay for (HEv3). The AAAA
// query still goes out, and a lost one costs nothing.
func TestDialContext_noIPv6RouteNoResolutionDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(&n, &resolver.Static{AAAA: simNever, A: simAnswer(5*ms, v4a)})
		d.SourceAddr = func(dst netip.Addr) (netip.Addr, bool) {
			if dst.Is4() {
				return netip.MustParseAddr("192.0.2.100"), true
			}
			return netip.Addr{}, false // IPv4-only host
		}
		took, won := dialTimes(t, d, "tcp", 1)
		require.Equal(t, v4a, won[0])
		require.Equal(t, 25*ms, took[0], "A at 5 ms, connected 20 ms later: no 50 ms wait")
	})
}

// Backup attempts: a destination known to work (it has round-trip
// history) that does not answer within its Connection Attempt Delay has
// likely lost its SYN; with no other address waiting, a new socket's
// fresh SYN goes out then, rather than the kernel's retransmission at 1 s.
// At most two per address and dial. Without history only an address
// that is the dial's only one has backups (cold dials to several
// addresses behave as RFC 8305 describes), 250 ms apart.
func TestHistory_BackupAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ok, lossy, dead simnet.Network
		ok.Set(v4a, simnet.Accepting(20*ms))
		lossy.Set(v4a, simnet.Lossy(20*ms, 1)) // the first SYN is lost: connects at 1 s + 20 ms
		dead.Set(v4a, simnet.BlackHoled())
		var use atomic.Pointer[simnet.Network]
		d := &Dialer{
			Resolver:   &resolver.Static{A: simAnswer(0, v4a)},
			SourceAddr: simnet.SourceAll,
			DialAttempt: func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
				// Only the dial's first attempt uses the chosen network.
				return use.Swap(&ok).Dial(ctx, network, ap)
			},
		}

		// Cold, the only address: the backup at 250 ms connects 20 ms
		// later, not the kernel's retransmission at 1 s.
		use.Store(&lossy)
		took, _ := dialTimes(t, d, "tcp", 1)
		require.Equal(t, 270*ms, took[0])

		// Cold, with another address waiting: that address is the
		// fallback, and no backup is made.
		d.Resolver = &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)}
		var starts []AttemptStartInfo
		ctx := WithTrace(context.Background(), &Trace{AttemptStart: func(i AttemptStartInfo) { starts = append(starts, i) }})
		var deadBoth simnet.Network
		deadBoth.Set(v6a, simnet.BlackHoled())
		deadBoth.Set(v4a, simnet.BlackHoled())
		d.DialAttempt = deadBoth.Dial
		d.Timeout = time.Second
		_, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.Error(t, err)
		require.Len(t, starts, 2)
		assert.Equal(t, []time.Duration{0, 250 * ms}, []time.Duration{starts[0].Elapsed, starts[1].Elapsed})
		assert.False(t, starts[1].Backup)
		synctest.Wait() // the losers are gone before d changes
		d.Resolver = &resolver.Static{A: simAnswer(0, v4a)}
		d.Timeout = 0
		d.DialAttempt = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
			return use.Swap(&ok).Dial(ctx, network, ap)
		}

		d.History = new(History)
		use.Store(&ok)
		dialTimes(t, d, "tcp", 1) // 20 ms round trip learned
		use.Store(&lossy)
		start := time.Now()
		c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		// The backup at 100 ms (20 + 4×10 ms, raised to the minimum)
		// connects 20 ms later.
		require.Equal(t, 120*ms, time.Since(start))
		synctest.Wait()

		// The address that lost a SYN is not marked unreachable.
		use.Store(&ok)
		took, _ = dialTimes(t, d, "tcp", 1)
		require.Equal(t, 20*ms, took[0])

		// A black hole with history draws two backups, no more, 100 ms
		// apart, until the deadline.
		use.Store(&dead)
		var at []time.Duration
		ctx = WithTrace(context.Background(), &Trace{AttemptStart: func(i AttemptStartInfo) { at = append(at, i.Elapsed) }})
		d.DialAttempt = dead.Dial
		d.Timeout = time.Second
		_, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.Error(t, err)
		require.Equal(t, []time.Duration{0, 100 * ms, 200 * ms}, at)
	})
}

// With HostMemory, a fresh History starts from what the host's kernel
// remembers: a destination it connected to recently counts as used, with
// the kernel's round trip. Here IPv6 is black-holed and the kernel knows
// only the IPv4 address (a previous process connected over IPv4): IPv4
// goes first, and the Trace says why.
func TestHistory_HostMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		savedLookup, savedNewest, savedReady := hostLookup, hostNewest, hostReady
		defer func() { hostLookup, hostNewest, hostReady = savedLookup, savedNewest, savedReady }()
		var readyWaits []time.Duration
		hostReady = func(d time.Duration) bool { readyWaits = append(readyWaits, d); return true }
		hostLookup = func(src, dst netip.Addr) (tcpmetrics.Entry, bool) {
			if dst == v4a || dst == netip.MustParseAddr("127.0.0.1") {
				return tcpmetrics.Entry{Src: src, Dst: dst, RTT: 20 * ms, RTTVar: 10 * ms, Age: time.Minute}, true
			}
			return tcpmetrics.Entry{}, false
		}
		// The kernel's newest entry from each source: the IPv4 one's (a
		// minute old); none from the IPv6 source.
		hostNewest = func(src netip.Addr) (time.Duration, bool) {
			if src.Is4() {
				return time.Minute, true
			}
			return 0, false
		}
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(&n, dualStatic(v6a, v4a))
		var starts []AttemptStartInfo
		ctx := WithTrace(context.Background(), &Trace{AttemptStart: func(i AttemptStartInfo) { starts = append(starts, i) }})

		// Without HostMemory: as the RFC says.
		d.History = new(History)
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		require.Len(t, starts, 2)
		assert.Equal(t, v6a, starts[0].Addr.Addr())
		for _, st := range starts {
			assert.False(t, st.Reordered || st.Early, "nothing known, nothing moved: %+v", st)
		}
		assert.Empty(t, readyWaits, "without HostMemory the kernel's table is not waited for")
		synctest.Wait()

		// With it: the AAAA answer comes first, with nothing the host
		// knows, and the host remembers IPv4 connections: the first
		// attempt waits (up to 10 ms) for the A answer, here in at once,
		// whose address the host knows; it goes first.
		starts = nil
		d.History = &History{HostMemory: true}
		start := time.Now()
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		assert.Equal(t, 20*ms, time.Since(start))
		require.Len(t, starts, 1)
		assert.Equal(t, v4a, starts[0].Addr.Addr())
		assert.Equal(t, time.Duration(0), starts[0].Elapsed)
		assert.Equal(t, "host", starts[0].Known)
		assert.True(t, starts[0].Reordered, "RFC 6724 alone puts the IPv6 address first: %+v", starts[0])
		assert.Equal(t, "host", starts[0].DelayFrom)
		assert.Equal(t, 100*ms, starts[0].Delay, "20 + 4×10 ms, raised to 100 ms")
		assert.Equal(t, []time.Duration{time.Millisecond, time.Millisecond}, readyWaits, "the table waited for (1 ms at most) as each answer's addresses arrive")
		synctest.Wait()

		// The A answer 15 ms after the AAAA answer: the first attempt
		// waits 10 ms for it, then starts IPv6; the known IPv4 address,
		// in at 15 ms, is not held back behind it: it starts 10 ms after
		// the first (RFC 8305 §5's minimum), not 250 ms.
		starts = nil
		d.Resolver = &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(15*ms, v4a)}
		d.History = &History{HostMemory: true}
		start = time.Now()
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		assert.Equal(t, 40*ms, time.Since(start))
		require.Len(t, starts, 2)
		assert.Equal(t, v6a, starts[0].Addr.Addr())
		assert.Equal(t, 10*ms, starts[0].Elapsed)
		assert.Equal(t, v4a, starts[1].Addr.Addr())
		assert.Equal(t, 20*ms, starts[1].Elapsed)
		assert.Equal(t, "host", starts[1].Known)
		assert.Equal(t, "host", starts[1].DelayFrom)
		// The order is RFC 6724's (IPv6 was the only address when the
		// first attempt started); the start time is the history's.
		assert.False(t, starts[0].Reordered || starts[0].Early, "%+v", starts[0])
		assert.False(t, starts[1].Reordered, "%+v", starts[1])
		assert.True(t, starts[1].Early, "started at the 10 ms floor, not after 250 ms: %+v", starts[1])
		synctest.Wait()

		// A host that remembers no IPv4 connection (the kernel keeps no
		// metrics, or none from this source): no wait, IPv6 starts at
		// once as RFC 8305 §3 says.
		hostNewest = func(netip.Addr) (time.Duration, bool) { return 0, false }
		starts = nil
		d.History = &History{HostMemory: true}
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		require.NotEmpty(t, starts)
		assert.Equal(t, v6a, starts[0].Addr.Addr())
		assert.Equal(t, time.Duration(0), starts[0].Elapsed)
		synctest.Wait()

		// A host that remembers IPv6 connections too (to other
		// destinations): IPv6 works here, so its unknown address starts at
		// once (RFC 8305 §3), and the known IPv4 one 10 ms after its
		// answer (at 5 ms).
		hostNewest = func(netip.Addr) (time.Duration, bool) { return time.Minute, true }
		starts = nil
		d.History = &History{HostMemory: true}
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		require.Len(t, starts, 2)
		assert.Equal(t, v6a, starts[0].Addr.Addr())
		assert.Equal(t, time.Duration(0), starts[0].Elapsed)
		assert.Equal(t, v4a, starts[1].Addr.Addr())
		assert.Equal(t, 15*ms, starts[1].Elapsed)
		synctest.Wait()
		hostNewest = func(src netip.Addr) (time.Duration, bool) { return time.Minute, src.Is4() }

		// When the A answer comes first, IPv4 (known) goes first at once.
		starts = nil
		d.Resolver = &resolver.Static{AAAA: simAnswer(5*ms, v6a), A: simAnswer(0, v4a)}
		d.History = &History{HostMemory: true}
		start = time.Now()
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		require.NotEmpty(t, starts)
		assert.Equal(t, v4a, starts[0].Addr.Addr())
		assert.Equal(t, "host", starts[0].Known)
		assert.True(t, starts[0].Reordered, "RFC 6724 alone puts the IPv6 address first: %+v", starts[0])
		assert.False(t, starts[0].Early, "%+v", starts[0])
		synctest.Wait()

		// Loopback destinations are left out.
		lo := &History{HostMemory: true}
		l := &learner{h: lo, src: simnet.SourceAll, port: 443}
		assert.False(t, l.used(netip.MustParseAddr("127.0.0.1")))
		assert.True(t, l.used(v4a))
	})
}

// A handshake whose SYN was retransmitted (it took the initial 1 s
// retransmission timeout or more) is no round-trip sample (Karn's rule,
// RFC 6298 §3): the delay stays the one the clean samples give.
func TestHistory_RetransmittedHandshakeIsNoRTTSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Accepting(20*ms))
		d := simDialer(&n, &resolver.Static{AAAA: simAnswer(0, v6a, v6b)})
		d.History = new(History)
		dialTimes(t, d, "tcp6", 1) // 20 ms: delay 100 ms
		n.Set(v6a, simnet.Lossy(20*ms, 1))
		n.Set(v6b, simnet.BlackHoled())
		took, _ := dialTimes(t, d, "tcp6", 1) // v6b at 100 ms, v6a's retransmission at 1.02 s wins
		require.Equal(t, time.Second+20*ms, took[0])
		l := &learner{h: d.History, src: simnet.SourceAll, port: 443}
		delay, _, ok := l.attemptDelay(netip.AddrPortFrom(v6a, 443), time.Now())
		require.True(t, ok)
		require.Equal(t, 100*ms, delay, "the 1.02 s handshake is not a sample")
	})
}
