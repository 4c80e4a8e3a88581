package dialer

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

func TestSmokeBlackHoleV6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		r := dualStatic(v6a, v4a)
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

func TestLogTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		d := simDialer(&n, &resolver.Static{
			AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{v6a}},
			A:    resolver.StaticAnswer{Addrs: []netip.Addr{v4a}, Delay: 5 * time.Millisecond},
		})
		var lines []string
		var mu sync.Mutex
		logf := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
		}
		ctx := WithTrace(context.Background(), LogTrace(logf))
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		synctest.Wait()
		want := []string{
			"happyeyeballs: +0s example.com AAAA answer: [2001:db8::1]",
			"happyeyeballs: +0s attempt 0 to [2001:db8::1]:443 started",
			"happyeyeballs: +5ms example.com A answer: [192.0.2.1]",
			"happyeyeballs: +250ms attempt 1 to 192.0.2.1:443 started",
			"happyeyeballs: +270ms attempt 1 to 192.0.2.1:443 connected in 20ms and won",
			"happyeyeballs: +270ms dial to example.com connected to 192.0.2.1:443 after 2 attempt(s)",
			"happyeyeballs: +270ms attempt 0 to [2001:db8::1]:443 cancelled after 270ms: dial tcp6 [2001:db8::1]:443: operation was canceled",
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(lines, want) {
			t.Errorf("log:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
	})
}
