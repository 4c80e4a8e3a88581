package resolver

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStatic_Resolve: fixed answers at fixed delays, in virtual time; the
// zero value answers NODATA (RFC 2308 §2.2) at once.
func TestStatic_Resolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Static{
			AAAA: StaticAnswer{Addrs: addrs("2001:db8::1", "192.0.2.9", "2001:db8::1"), Delay: 300 * time.Millisecond},
			A:    StaticAnswer{Addrs: addrs("::ffff:192.0.2.1"), Delay: 20 * time.Millisecond},
		}
		g := answersAt(context.Background(), s, "any.test")
		if g[IPv4].at != 20*time.Millisecond || g[IPv6].at != 300*time.Millisecond {
			t.Errorf("answers at %v (A), %v (AAAA); want 20ms, 300ms", g[IPv4].at, g[IPv6].at)
		}
		wantAddrs(t, g[IPv4], "192.0.2.1")
		wantAddrs(t, g[IPv6], "2001:db8::1")

		// The zero value: NODATA at once.
		g = answersAt(context.Background(), &Static{}, "any.test")
		wantNotFound(t, g[IPv4])
		wantNotFound(t, g[IPv6])
		assert.ErrorIs(t, g[IPv4].Err, ErrNoData)
		assert.ErrorIs(t, g[IPv6].Err, ErrNoData)
		assert.NotErrorIs(t, g[IPv4].Err, ErrNXDomain)
		if g[IPv4].at != 0 {
			t.Errorf("zero Static answered after %v", g[IPv4].at)
		}

		// Never: answered when the context ends, with its error.
		never := &Static{AAAA: StaticAnswer{Delay: -1}, A: StaticAnswer{Err: errors.New("boom")}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		g = answersAt(ctx, never, "any.test")
		if !errors.Is(g[IPv6].Err, context.DeadlineExceeded) || g[IPv6].at != time.Second {
			t.Errorf("AAAA: %v at %v; want DeadlineExceeded at 1s", g[IPv6].Err, g[IPv6].at)
		}
		if g[IPv4].Err == nil || g[IPv4].Err.Error() != "boom" {
			t.Errorf("A: %v; want the configured error", g[IPv4].Err)
		}
	})
}

// Answers due at the same instant come in the order asked, every time,
// so virtual-time tests of RFC 8305 §3 see AAAA before A.
func TestStatic_Resolve_sameInstantInOrderAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Static{
			AAAA: StaticAnswer{Addrs: addrs("2001:db8::1"), Delay: 10 * time.Millisecond},
			A:    StaticAnswer{Addrs: addrs("192.0.2.1"), Delay: 10 * time.Millisecond},
		}
		for _, order := range [][]Family{{IPv6, IPv4}, {IPv4, IPv6}} {
			for range 50 {
				var got []Family
				for a := range s.Resolve(context.Background(), "any.test", order...) {
					got = append(got, a.Family)
				}
				if len(got) != 2 || got[0] != order[0] || got[1] != order[1] {
					t.Fatalf("asked %v, answered %v", order, got)
				}
			}
		}
	})
}
