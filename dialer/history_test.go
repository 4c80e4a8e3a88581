package dialer

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
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
		d.testHistory = new(history)

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
		// and connecting clears its mark.
		n.Set(v6a, simnet.Accepting(10*time.Millisecond))
		n.Set(v4a, simnet.BlackHoled())
		if took, ap := dial(); took != 260*time.Millisecond || ap.Addr() != v6a {
			t.Fatalf("third dial: %v over %v; want 260ms over %v", took, ap, v6a)
		}
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		time.Sleep(historyTTL) // the IPv4 mark from the third dial expires
		if took, ap := dial(); took != 10*time.Millisecond || ap.Addr() != v6a {
			t.Fatalf("fourth dial: %v over %v; want 10ms over %v (marks cleared)", took, ap, v6a)
		}
	})
}

// TestHistory_RefusalIsNotUnreachable: a refused attempt proves the path
// works and must not demote the address.
func TestHistory_RefusalIsNotUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Refusing(5*time.Millisecond))
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		d := simDialer(&n, dualStatic(v6a, v4a))
		d.testHistory = new(history)
		for i := range 2 {
			c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
			require.NoError(t, err)
			c.Close()
			if first := n.Attempts()[2*i]; first.Addr.Addr() != v6a {
				t.Errorf("dial %d tried %v first, want %v", i, first.Addr, v6a)
			}
		}
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
