package dialer

// Conformance in virtual time: how dials fail, are cancelled, run out of
// time, and stay bounded. The harness is in conformance_test.go.

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

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestConformanceFailure covers the error a failed dial returns: a
// *net.OpError whose cause lists every attempt, or a *net.DNSError.
func TestConformanceFailure(t *testing.T) {
	refused := simnet.Refusing(5 * ms)
	runSimCases(t, []simCase{
		{
			name: "all refused: every attempt in start order, errors.Is ECONNREFUSED",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: refused, v4a: refused, v6b: refused},
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			took:  25 * ms,
			err:   wantDialError([]simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}}, syscall.ECONNREFUSED),
		},
		{
			name: "all black-holed: the kernel's SYN timeout ends each attempt",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.BlackHoled(), v4a: simnet.BlackHoled()},
			want:  []simAt{{v6a, 0}, {v4a, 250 * ms}},
			took:  simnet.SYNTimeout + 250*ms,
			err:   wantDialError([]simAt{{v6a, 0}, {v4a, 250 * ms}}, syscall.ETIMEDOUT),
		},
		{
			name: "name not found: *net.DNSError IsNotFound when the last answer arrives",
			aaaa: simNXDomain(10 * ms), a: simNXDomain(20 * ms),
			took: 20 * ms,
			err:  wantDNSError(true, false),
		},
		{
			name: "NODATA for both families is not found",
			aaaa: resolver.StaticAnswer{}, a: resolver.StaticAnswer{Delay: 5 * ms},
			took: 5 * ms,
			err:  wantDNSError(true, false),
		},
		{
			name: "SERVFAIL beats NXDOMAIN: the DNSError is not IsNotFound",
			aaaa: simNXDomain(10 * ms), a: simServFail(20 * ms),
			took: 20 * ms,
			err: func(t *testing.T, err error) {
				wantDNSError(false, false)(t, err)
				if !strings.Contains(err.Error(), "server misbehaving") {
					t.Errorf("error %q does not carry the SERVFAIL", err)
				}
			},
		},
		{
			name: "AAAA SERVFAIL and every IPv4 refused: DialError with both causes",
			aaaa: simServFail(0), a: simAnswer(0, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{v4a: refused, v4b: refused},
			want:  []simAt{{v4a, 0}, {v4b, 10 * ms}},
			took:  15 * ms,
			err: func(t *testing.T, err error) {
				wantDialError([]simAt{{v4a, 0}, {v4b, 10 * ms}}, syscall.ECONNREFUSED)(t, err)
				// Addresses were found and tried: the error is not a DNS
				// error (errors.As must not say "no such host" for a host
				// that refused), but DialError.DNS keeps the SERVFAIL.
				var dns *net.DNSError
				if errors.As(err, &dns) {
					t.Errorf("errors.As(err, *net.DNSError) = %v; want false once addresses were tried", dns)
				}
				var de *DialError
				if !errors.As(err, &de) || len(de.DNS) != 1 || !errors.As(de.DNS[0], &dns) || dns.Err != "server misbehaving" {
					t.Errorf("DialError.DNS = %v; want the AAAA SERVFAIL", de.DNS)
				}
			},
		},
		{
			name: "unreachable IPv6 and refused IPv4: each attempt keeps its own cause",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v4a: refused}, // v6a unknown: ENETUNREACH
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}},
			took:  15 * ms,
			err: func(t *testing.T, err error) {
				var de *DialError
				if !errors.As(err, &de) || len(de.Attempts) != 2 {
					t.Fatalf("want a DialError with 2 attempts: %v", err)
				}
				if !errors.Is(de.Attempts[0], syscall.ENETUNREACH) || !errors.Is(de.Attempts[1], syscall.ECONNREFUSED) {
					t.Errorf("attempt causes = %v, %v; want ENETUNREACH then ECONNREFUSED", de.Attempts[0].Err, de.Attempts[1].Err)
				}
				if de.Err != nil || de.Timeout() {
					t.Errorf("DialError.Err = %v, Timeout() = %v; want nil, false", de.Err, de.Timeout())
				}
			},
		},
	})
}

// TestConformanceCancel: a cancelled dial returns at the same virtual
// instant, starts nothing more, and stops every attempt in flight.
func TestConformanceCancel(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "cancelled during DNS",
			aaaa: simAnswer(100*ms, v6a), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(time.Millisecond)},
			cancel: 30 * ms,
			took:   30 * ms,
			err:    wantCanceled,
		},
		{
			name: "cancelled inside the Resolution Delay",
			aaaa: simNever, a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(time.Millisecond)},
			cancel: 20 * ms,
			took:   20 * ms,
			err:    wantCanceled,
		},
		{
			name: "cancelled mid-race: both attempts stopped, the third never starts",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(time.Millisecond)},
			cancel: 300 * ms,
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			took:   300 * ms,
			err: func(t *testing.T, err error) {
				wantCanceled(t, err)
				var de *DialError
				if !errors.As(err, &de) || !errors.Is(de.Err, context.Canceled) {
					t.Errorf("want a DialError whose Err is context.Canceled: %v", err)
				}
				// The attempts cut short are listed with the cause.
				wantDialError([]simAt{{v6a, 0}, {v4a, 250 * ms}}, context.Canceled)(t, err)
			},
		},
		{
			name: "cancelled after a refusal, while the next attempt waits for its floor",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(2 * ms), v4a: simnet.Accepting(time.Millisecond)},
			cancel: 5 * ms,
			want:   []simAt{{v6a, 0}},
			took:   5 * ms,
			err: func(t *testing.T, err error) {
				wantCanceled(t, err)
				wantDialError([]simAt{{v6a, 0}}, syscall.ECONNREFUSED)(t, err)
			},
		},
	})
}

// TestConformanceDeadline covers Timeout, Deadline and the context's
// deadline: the earliest wins, it covers DNS and connecting, and near it
// the engine shortens the stagger so every address is still tried
// (race.go nextStart: gap = min(delay, (deadline-lastStart)/(untried+1)),
// never below 10 ms).
func TestConformanceDeadline(t *testing.T) {
	bh := simnet.BlackHoled()
	two := map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh}
	runSimCases(t, []simCase{
		{
			name: "Timeout 1s, three black holes: 250ms stagger, fails at 1s",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: bh},
			config: func(d *Dialer) { d.Timeout = time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			took:   time.Second,
			err: func(t *testing.T, err error) {
				wantTimeout(t, err)
				wantDialError([]simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}}, context.DeadlineExceeded)(t, err)
			},
		},
		{
			name: "Timeout 200ms, IPv6 black-holed: IPv4 at 100ms connects (golang/go#43398 done right)",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(20 * ms)},
			config: func(d *Dialer) { d.Timeout = 200 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}},
			winner: v4a, took: 120 * ms,
		},
		{
			name: "Timeout 200ms, answers at 50ms: IPv4 halfway through what is left, at 125ms",
			aaaa: simAnswer(50*ms, v6a), a: simAnswer(50*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(20 * ms)},
			config: func(d *Dialer) { d.Timeout = 200 * ms },
			want:   []simAt{{v6a, 50 * ms}, {v4a, 125 * ms}},
			winner: v4a, took: 145 * ms,
		},
		{
			name: "Timeout 30ms, four black holes: 10ms floor, nothing starts at the deadline",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: bh, v4b: bh},
			config: func(d *Dialer) { d.Timeout = 30 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			took:   30 * ms,
			err:    wantTimeout,
		},
		{
			// With the deadline at 100 ms and A at 50 ms, waiting the
			// full Resolution Delay for a lost AAAA would reach the
			// deadline with IPv4 never tried (the failure mode of
			// golang/go#43398, moved into the Resolution Delay). Shortened
			// like the stagger (half the time left, 25 ms), IPv4 starts at
			// 75 ms and connects at 85 ms.
			name: "H3.4 Resolution Delay shortened near the deadline: IPv4 still tried",
			aaaa: simNever, a: simAnswer(50*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Timeout = 100 * ms },
			want:   []simAt{{v4a, 75 * ms}},
			winner: v4a, took: 85 * ms,
		},
		{
			name: "H3.4 Timeout 1s, far from the deadline: the full Resolution Delay",
			aaaa: simNever, a: simAnswer(50*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Timeout = time.Second },
			want:   []simAt{{v4a, 100 * ms}},
			winner: v4a, took: 110 * ms,
		},
		{
			name: "Timeout covers DNS: answers at 2s, Timeout 1s",
			aaaa: simAnswer(2*time.Second, v6a), a: simAnswer(2*time.Second, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(time.Millisecond)},
			config: func(d *Dialer) { d.Timeout = time.Second },
			took:   time.Second,
			err: func(t *testing.T, err error) {
				wantTimeout(t, err)
				wantDNSError(false, true)(t, err)
			},
		},
		{
			name: "Timeout 400ms beats Deadline 600ms and ctx 800ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a), hosts: two,
			config: func(d *Dialer) {
				d.Timeout = 400 * ms
				d.Deadline = time.Now().Add(600 * ms)
			},
			ctxTime: 800 * ms,
			want:    []simAt{{v6a, 0}, {v4a, 200 * ms}},
			took:    400 * ms,
			err:     wantTimeout,
		},
		{
			name: "Deadline 400ms beats Timeout 600ms and ctx 800ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a), hosts: two,
			config: func(d *Dialer) {
				d.Timeout = 600 * ms
				d.Deadline = time.Now().Add(400 * ms)
			},
			ctxTime: 800 * ms,
			want:    []simAt{{v6a, 0}, {v4a, 200 * ms}},
			took:    400 * ms,
			err:     wantTimeout,
		},
		{
			name: "ctx deadline 400ms beats Timeout 600ms and Deadline 800ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a), hosts: two,
			config: func(d *Dialer) {
				d.Timeout = 600 * ms
				d.Deadline = time.Now().Add(800 * ms)
			},
			ctxTime: 400 * ms,
			want:    []simAt{{v6a, 0}, {v4a, 200 * ms}},
			took:    400 * ms,
			err:     wantTimeout,
		},
		{
			name: "Deadline 600ms alone: 250ms stagger kept (600/2 > 250)",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a), hosts: two,
			config: func(d *Dialer) { d.Deadline = time.Now().Add(600 * ms) },
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			took:   600 * ms,
			err:    wantTimeout,
		},
		{
			name: "negative Timeout: already expired, nothing is tried",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(time.Millisecond)},
			config: func(d *Dialer) { d.Timeout = -time.Second },
			took:   0,
			err:    wantTimeout,
		},
	})
}

// simMany returns n addresses of a family: 2001:db8:1::1… or 198.18.x.y.
func simMany(v6 bool, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		if v6 {
			out[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte((i + 1) >> 8), 15: byte(i + 1)})
		} else {
			out[i] = netip.AddrFrom4([4]byte{198, 18, byte((i + 1) >> 8), byte(i + 1)})
		}
	}
	return out
}

// TestConformanceBounds: answers with hundreds of addresses are bounded by
// MaxAddresses, and attempts in flight by MaxParallelAttempts.
func TestConformanceBounds(t *testing.T) {
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

// TestConformanceBoundsTrace: every address of an answer joins the plan
// (so sorting sees them all) and the trace reports them; MaxAddresses
// bounds the attempts.
func TestConformanceBoundsTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		six, four := simMany(true, 300), simMany(false, 300)
		n := new(simnet.Network)
		n.Set(six[0], simnet.Accepting(ms))
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

// TestConformanceResolverIgnoresContext: a resolver that never answers and
// ignores cancellation does not keep a cancelled dial waiting.
func TestConformanceResolverIgnoresContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		r := simFuncResolver(func(context.Context, string, ...resolver.Family) <-chan resolver.Answer {
			ch := make(chan resolver.Answer, 2)
			go func() {
				<-release // a lookup stuck far beyond the dial
				close(ch)
			}()
			return ch
		})
		ctx, cancel := context.WithTimeout(t.Context(), 70*ms)
		defer cancel()
		start := time.Now()
		_, err := simDialer(new(simnet.Network), r).DialContext(ctx, "tcp", "example.com:443")
		if took := time.Since(start); took != 70*ms {
			t.Errorf("took %v; want 70ms", took)
		}
		wantTimeout(t, err)
		close(release)
	})
}

// TestConformanceDoneContext: a context that is already done fails the
// dial at once, with no attempt.
func TestConformanceDoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(0))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		for _, addr := range []string{"example.com:443", "[2001:db8::1]:443"} {
			_, err := simDialer(n, &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)}).DialContext(ctx, "tcp", addr)
			if err == nil {
				t.Fatalf("%s: dial with a cancelled context succeeded", addr)
			}
			checkOpError(t, err)
			wantCanceled(t, err)
			var dns *net.DNSError
			if isName := addr == "example.com:443"; errors.As(err, &dns) != isName {
				// A name was cut short while resolving: a DNSError, as
				// net.Dialer gives. A literal was never looked up.
				t.Errorf("%s: error %q: has a *net.DNSError = %v; want %v", addr, err, !isName, isName)
			}
		}
		synctest.Wait()
		if took := time.Since(start); took != 0 {
			t.Errorf("took %v; want 0", took)
		}
		if log := n.Attempts(); len(log) != 0 {
			t.Errorf("attempts %v; want none", log)
		}
	})
}
