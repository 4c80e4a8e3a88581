package dialer

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

var (
	v6a = netip.MustParseAddr("2001:db8::1")
	v6b = netip.MustParseAddr("2001:db8::2")
	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("192.0.2.2")
)

func simDialer(n *simnet.Network, r resolver.Resolver) *Dialer {
	return &Dialer{Resolver: r, DialAttempt: n.Dial, SourceAddr: simnet.SourceAll}
}

func TestSmokeBlackHoleV6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		r := &resolver.Static{
			AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{v6a}},
			A:    resolver.StaticAnswer{Addrs: []netip.Addr{v4a}},
		}
		d := simDialer(&n, r)
		start := time.Now()
		c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got, want := time.Since(start), 270*time.Millisecond; got != want {
			t.Errorf("dial took %v, want %v", got, want)
		}
		at := n.Attempts()
		if len(at) != 2 || at[1].Start.Sub(start) != 250*time.Millisecond {
			t.Errorf("attempts = %v", at)
		}
		synctest.Wait()
		if at := n.Attempts(); at[0].End.IsZero() {
			t.Errorf("loser still running: %v", at[0])
		}
	})
}
