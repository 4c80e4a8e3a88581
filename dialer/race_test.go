package dialer

// The race in virtual time beyond the RFC 8305 rules (those are in
// rfc8305_test.go): its bounds (MaxAddresses, MaxParallelAttempts) and the
// Handshake hook that decides the winner.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

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
		require.NoError(t, err)
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

// TestDialer_Bounds: answers with hundreds of addresses are bounded by
// MaxAddresses, and attempts in flight by MaxParallelAttempts.
func TestDialer_Bounds(t *testing.T) {
	six, four := simMany(true, 300), simMany(false, 300)
	all := func(b simnet.Behavior, lists ...[]netip.Addr) map[netip.Addr]simnet.Behavior {
		m := map[netip.Addr]simnet.Behavior{}
		for _, l := range lists {
			for _, a := range l {
				m[a] = b
			}
		}
		return m
	}
	// alternate returns n attempts alternating six and four every step.
	alternate := func(n int, step time.Duration) []simAt {
		var out []simAt
		for i := range n {
			a := six[i/2]
			if i%2 == 1 {
				a = four[i/2]
			}
			out = append(out, simAt{a, time.Duration(i) * step})
		}
		return out
	}
	serial := func(addrs []netip.Addr, n int, step time.Duration) []simAt {
		var out []simAt
		for i := range n {
			out = append(out, simAt{addrs[i], time.Duration(i) * step})
		}
		return out
	}
	runSimCases(t, []simCase{
		{
			name: "300+300 refused addresses: DefaultMaxAddresses (32) attempts, 10ms apart",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts: all(simnet.Refusing(time.Millisecond), six, four),
			want:  alternate(32, 10*ms),
			took:  310*ms + time.Millisecond,
			err:   wantDialError(alternate(32, 10*ms), syscall.ECONNREFUSED),
		},
		{
			name: "MaxAddresses 3",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts:  all(simnet.Refusing(time.Millisecond), six, four),
			config: func(d *Dialer) { d.MaxAddresses = 3 },
			want:   alternate(3, 10*ms),
			took:   21 * ms,
			err:    wantDialError(alternate(3, 10*ms), syscall.ECONNREFUSED),
		},
		{
			name: "MaxAddresses negative: no bound, 40+40 addresses all tried",
			aaaa: simAnswer(0, six[:40]...), a: simAnswer(0, four[:40]...),
			hosts:  all(simnet.Refusing(time.Millisecond), six, four),
			config: func(d *Dialer) { d.MaxAddresses = -1 },
			want:   alternate(80, 10*ms),
			took:   791 * ms,
			err:    wantDialError(alternate(80, 10*ms), syscall.ECONNREFUSED),
		},
		{
			name: "300 black holes: DefaultMaxParallelAttempts (16) in flight, none aborted",
			aaaa: simAnswer(0, six...), a: simNXDomain(0),
			hosts:  all(simnet.BlackHoled(), six),
			cancel: 10 * time.Second,
			want:   serial(six, 16, 250*ms),
			took:   10 * time.Second,
			err:    wantCanceled,
		},
		{
			name: "MaxParallelAttempts negative: no cap, 20 black holes in flight",
			aaaa: simAnswer(0, six[:20]...), a: simNXDomain(0),
			hosts:  all(simnet.BlackHoled(), six),
			config: func(d *Dialer) { d.MaxParallelAttempts = -1 },
			cancel: 10 * time.Second,
			want:   serial(six, 20, 250*ms),
			took:   10 * time.Second,
			err:    wantCanceled,
		},
		{
			name: "MaxParallelAttempts 2, two black holes: the third waits for the SYN timeout",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.BlackHoled(), v4a: simnet.BlackHoled(), v6b: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.MaxParallelAttempts = 2 },
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, simnet.SYNTimeout}},
			winner: v6b, took: simnet.SYNTimeout + 10*ms,
		},
		{
			name: "MaxParallelAttempts 2: the third starts when the second is refused",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.BlackHoled(), v4a: simnet.Refusing(600 * ms), v6b: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.MaxParallelAttempts = 2 },
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 850 * ms}},
			winner: v6b, took: 860 * ms,
		},
		{
			name: "MaxParallelAttempts 1: serial, each waits for the lost SYNs to time out",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Lossy(10*ms, 7), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.MaxParallelAttempts = 1 },
			want:   []simAt{{v6a, 0}, {v4a, simnet.SYNTimeout}},
			winner: v4a, took: simnet.SYNTimeout + 10*ms,
		},
	})
}

// TestDialer_MaxAddresses_Trace: every address of an answer joins the plan
// (so sorting sees them all) and the trace reports them; MaxAddresses
// bounds the attempts.
func TestDialer_MaxAddresses_Trace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		six, four := simMany(true, 300), simMany(false, 300)
		n := new(simnet.Network)
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(0, six...), A: simAnswer(0, four...)})
		d.MaxAddresses = 5
		for _, a := range six[:4] {
			n.Set(a, simnet.Refusing(ms))
		}
		for _, a := range four {
			n.Set(a, simnet.Refusing(ms))
		}
		n.Set(six[0], simnet.Refusing(ms))
		kept := map[resolver.Family][]netip.Addr{}
		var mu sync.Mutex
		ctx := WithTrace(t.Context(), &Trace{DNSAnswer: func(i DNSAnswerInfo) {
			mu.Lock()
			kept[i.Family] = i.Addrs
			mu.Unlock()
		}})
		_, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err == nil {
			t.Fatal("dial succeeded; every address tried refuses")
		}
		if got := len(n.Attempts()); got != 5 {
			t.Errorf("%d attempts; want MaxAddresses = 5", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if got, want := planString(kept[resolver.IPv6]), planString(six); got != want {
			t.Errorf("IPv6 kept %s; want all 300", got)
		}
		if got, want := planString(kept[resolver.IPv4]), planString(four); got != want {
			t.Errorf("IPv4 kept %s; want all 300", got)
		}
	})
}

// simHandshake is a Handshake hook that takes d for every address and
// fails for the addresses in fail, as a TLS handshake reset by a
// middlebox would (hyper#3900, OkHttp#7308).
func simHandshake(d time.Duration, slow map[netip.Addr]time.Duration, fail ...netip.Addr) func(context.Context, net.Conn) (net.Conn, error) {
	return func(ctx context.Context, c net.Conn) (net.Conn, error) {
		addr := netip.MustParseAddrPort(c.RemoteAddr().String()).Addr()
		wait := d
		if s, ok := slow[addr]; ok {
			wait = s
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		for _, f := range fail {
			if f == addr {
				return nil, errors.New("tls: connection reset by peer")
			}
		}
		return c, nil
	}
}

// TestDialer_Handshake: with a Handshake hook the winner is decided
// after it (Happy Eyeballs v3 draft); a connection whose handshake fails
// or is overtaken is closed, and a failure starts the next attempt at once.
func TestDialer_Handshake(t *testing.T) {
	runSimCases(t, []simCase{
		{
			name: "v3: IPv6 connects but its handshake is reset: IPv4 starts at once and wins",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Handshake = simHandshake(20*ms, nil, v6a) },
			want:   []simAt{{v6a, 0}, {v4a, 30 * ms}},
			winner: v4a, took: 60 * ms,
		},
		{
			name: "v3: a slow handshake is overtaken: cancelled and its connection closed",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Handshake = simHandshake(20*ms, map[netip.Addr]time.Duration{v6a: time.Second}) },
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 280 * ms,
		},
		{
			name: "v3: TCP connected late, its handshake runs: the next attempt waits two of its round trips",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(200 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Handshake = simHandshake(300*ms, nil) },
			// TCP up at 200 ms: not before 200 + 2×200 = 600 ms; the
			// handshake completes at 500 ms and IPv4 is never tried.
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 500 * ms,
		},
		{
			name: "v3: the handshake-aware wait is bounded by 2 s",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(1500 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) {
				d.Handshake = simHandshake(20*ms, map[netip.Addr]time.Duration{v6a: time.Hour})
				d.ConnectionAttemptDelay = 1600 * ms
			},
			want:   []simAt{{v6a, 0}, {v4a, 2 * time.Second}},
			winner: v4a, took: 2*time.Second + 30*ms,
		},
		{
			name: "every handshake fails: DialError lists them",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Handshake = simHandshake(20*ms, nil, v6a, v4a) },
			want:   []simAt{{v6a, 0}, {v4a, 30 * ms}},
			took:   60 * ms,
			err: func(t *testing.T, err error) {
				var de *DialError
				if !errors.As(err, &de) || len(de.Attempts) != 2 || !strings.Contains(err.Error(), "tls: connection reset") {
					t.Errorf("want a DialError with both handshake failures: %v", err)
				}
			},
		},
	})
}

// TestBackup_LoneAddress: a dial with one address (an IP literal, or a
// name with one answer) makes a backup attempt on a new socket when the
// first has not answered within the Connection Attempt Delay, so that a
// lost SYN costs 250 ms instead of the kernel's 1 s retransmission (RFC
// 6298 §2); at most two, 250 ms apart; the losers are closed. Whether the
// first attempt runs on the caller's goroutine changes nothing.
func TestBackup_LoneAddress(t *testing.T) {
	for _, inline := range []bool{false, true} {
		for _, tc := range []struct {
			name, address string
			lost          int
			took          time.Duration
			starts        []time.Duration
		}{
			{"literal/first SYN lost", "192.0.2.1:443", 1, 270 * ms, []time.Duration{0, 250 * ms}},
			{"literal/two SYNs lost", "192.0.2.1:443", 2, 520 * ms, []time.Duration{0, 250 * ms, 500 * ms}},
			{"name/first SYN lost", "example.com:443", 1, 270 * ms, []time.Duration{0, 250 * ms}},
			// Every attempt's first SYN is lost: the first attempt's
			// retransmission at 1 s wins.
			{"name/three SYNs lost", "example.com:443", 3, 1020 * ms, []time.Duration{0, 250 * ms, 500 * ms}},
		} {
			name := tc.name
			if inline {
				name += "/inline"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					// The first tc.lost attempts lose their first SYN.
					var lossy, n simnet.Network
					lossy.Set(v4a, simnet.Lossy(20*ms, 1))
					n.Set(v4a, simnet.Accepting(20*ms))
					var mu sync.Mutex
					made := 0
					d := simDialer(&n, &resolver.Static{A: simAnswer(0, v4a)})
					d.DialAttempt = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
						mu.Lock()
						use := &n
						if made < tc.lost {
							use = &lossy
						}
						made++
						mu.Unlock()
						return use.Dial(ctx, network, ap)
					}
					d.promptAttempt = inline
					var starts []time.Duration
					var backups int
					ctx := WithTrace(t.Context(), &Trace{AttemptStart: func(i AttemptStartInfo) {
						starts = append(starts, i.Elapsed)
						if i.Backup {
							backups++
						}
					}})
					start := time.Now()
					c, err := d.DialContext(ctx, "tcp", tc.address)
					require.NoError(t, err)
					defer c.Close()
					require.Equal(t, tc.took, time.Since(start))
					require.Equal(t, tc.starts, starts)
					require.Equal(t, len(tc.starts)-1, backups)
					synctest.Wait()
					require.Equal(t, len(tc.starts), made)
				})
			})
		}
	}
}
