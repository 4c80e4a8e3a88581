package dialer

// The RFC 8305 conformance suite in virtual time. Every test runs inside
// synctest.Test against an in-memory network (internal/simnet) and a
// resolver with per-family answer times, and asserts to the millisecond
// when each attempt started, which address won, when DialContext returned,
// and that every loser was stopped and its connection closed. Case names
// carry the SPEC.md rule (H3.3 …) or RFC 8305 section they check.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// More documentation addresses beside race_test.go's v6a, v6b, v4a, v4b.
var (
	simV6C = netip.MustParseAddr("2001:db8::3")
	simV4C = netip.MustParseAddr("192.0.2.3")
)

// simAt is one expected attempt: its address and its start, in virtual
// time since DialContext was called.
type simAt struct {
	addr netip.Addr
	at   time.Duration
}

func (w simAt) String() string { return fmt.Sprintf("%v@%v", w.addr, w.at) }

// simAnswer is a positive answer after delay.
func simAnswer(delay time.Duration, addrs ...netip.Addr) resolver.StaticAnswer {
	return resolver.StaticAnswer{Addrs: addrs, Delay: delay}
}

// simResolver answers example.com with aaaa and a (see simnet.Resolver:
// answers due at the same instant arrive AAAA first).
func simResolver(aaaa, a resolver.StaticAnswer) *simnet.Resolver {
	r := new(simnet.Resolver)
	r.Set("example.com", aaaa, a)
	return r
}

// simNever is a family whose answer never comes (a lost query).
var simNever = resolver.StaticAnswer{Delay: -1}

// simServFail is a SERVFAIL-like failure: not "not found", not a timeout.
func simServFail(delay time.Duration) resolver.StaticAnswer {
	return resolver.StaticAnswer{Delay: delay, Err: &net.DNSError{Err: "server misbehaving", Name: "example.com", IsTemporary: true}}
}

// simNXDomain is a negative answer (NXDOMAIN or NODATA look the same here).
func simNXDomain(delay time.Duration) resolver.StaticAnswer {
	return resolver.StaticAnswer{Delay: delay, Err: &net.DNSError{Err: "no such host", Name: "example.com", IsNotFound: true}}
}

// simCase is one dial in virtual time.
type simCase struct {
	name    string
	aaaa, a resolver.StaticAnswer
	hosts   map[netip.Addr]simnet.Behavior // unknown addresses are unreachable
	config  func(*Dialer)
	network string        // "tcp" when empty
	cancel  time.Duration // when > 0, the dial's context is cancelled then
	ctxTime time.Duration // when > 0, the dial's context has this timeout

	skip string // a known engine bug: the case is skipped with this reason

	want   []simAt    // every attempt, in start order
	winner netip.Addr // invalid: the dial must fail
	took   time.Duration
	err    func(*testing.T, error) // checks the error when the dial fails
}

func runSimCases(t *testing.T, cases []simCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			synctest.Test(t, func(t *testing.T) { runSim(t, tc) })
		})
	}
}

func runSim(t *testing.T, tc simCase) {
	t.Helper()
	n := new(simnet.Network)
	for a, b := range tc.hosts {
		n.Set(a, b)
	}
	d := simDialer(n, simResolver(tc.aaaa, tc.a))
	if tc.config != nil {
		tc.config(d)
	}
	ctx := t.Context()
	if tc.cancel > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := time.AfterFunc(tc.cancel, cancel)
		defer stop.Stop()
	}
	if tc.ctxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tc.ctxTime)
		defer cancel()
	}
	start := time.Now()
	c, err := d.DialContext(ctx, cmp.Or(tc.network, "tcp"), "example.com:443")
	took := time.Since(start)
	if c != nil {
		defer c.Close()
	}
	if tc.winner.IsValid() {
		if err != nil {
			t.Fatalf("dial failed after %v: %v\n%s", took, err, simLog(n, start))
		}
		if got, want := c.RemoteAddr().String(), netip.AddrPortFrom(tc.winner, 443).String(); got != want {
			t.Errorf("winner = %s; want %s", got, want)
		}
	} else {
		if err == nil {
			t.Fatalf("dial to %v succeeded after %v; want an error\n%s", c.RemoteAddr(), took, simLog(n, start))
		}
		checkOpError(t, err)
		if tc.err != nil {
			tc.err(t, err)
		}
	}
	if took != tc.took {
		t.Errorf("DialContext returned after %v; want %v", took, tc.took)
	}
	synctest.Wait() // let the losers finish
	checkSimAttempts(t, n, start, took, c, tc.want)
}

// checkSimAttempts compares the attempt log with want and checks what must
// hold of every dial: no attempt started after the dial returned, every
// attempt ended by the time it did (losers are stopped at once), and
// every connection but the one returned was closed.
func checkSimAttempts(t *testing.T, n *simnet.Network, start time.Time, took time.Duration, won net.Conn, want []simAt) {
	t.Helper()
	log := n.Attempts()
	var got []simAt
	for _, a := range log {
		got = append(got, simAt{a.Addr.Addr(), a.Start.Sub(start)})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attempts:\n got %v\nwant %v\n%s", got, want, simLog(n, start))
	}
	for _, a := range log {
		switch {
		case a.Start.Sub(start) > took:
			t.Errorf("attempt %v started at %v, after the dial returned at %v", a.Addr, a.Start.Sub(start), took)
		case a.End.IsZero():
			t.Errorf("attempt %v still running after the dial returned", a.Addr)
		case a.End.Sub(start) > took:
			t.Errorf("attempt %v ended at %v, after the dial returned at %v", a.Addr, a.End.Sub(start), took)
		}
		if a.Conn == nil {
			continue
		}
		if net.Conn(a.Conn) == won {
			if a.Conn.Closed() {
				t.Errorf("the returned connection to %v was closed", a.Addr)
			}
		} else if !a.Conn.Closed() {
			t.Errorf("losing connection to %v (connected at %v) was not closed", a.Addr, a.End.Sub(start))
		}
	}
}

// simLog renders the attempt log for failure messages.
func simLog(n *simnet.Network, start time.Time) string {
	var b strings.Builder
	b.WriteString("attempt log:")
	for _, a := range n.Attempts() {
		end, res := "running", "connected"
		if !a.End.IsZero() {
			end = a.End.Sub(start).String()
		}
		if a.Err != nil {
			res = a.Err.Error()
		}
		fmt.Fprintf(&b, "\n  %v start %v end %v: %s", a.Addr, a.Start.Sub(start), end, res)
	}
	return b.String()
}

// checkOpError checks the outer shape every failed TCP dial has.
func checkOpError(t *testing.T, err error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Errorf("error %T %q is not a *net.OpError with Op \"dial\"", err, err)
	}
	if msg := err.Error(); strings.ContainsRune(msg, '\n') {
		t.Errorf("Error() is not one line: %q", msg)
	}
}

// wantDialError checks a DialError listing exactly the attempts in want
// (address, start offset), each failing with an error that matches target.
func wantDialError(want []simAt, target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var de *DialError
		if !errors.As(err, &de) {
			t.Fatalf("error %q has no *DialError", err)
		}
		var got []simAt
		for _, a := range de.Attempts {
			got = append(got, simAt{a.Addr.Addr(), a.Start})
			if a.Addr.Port() != 443 {
				t.Errorf("attempt %v: port %d, want 443", a.Addr, a.Addr.Port())
			}
			if !errors.Is(a, target) {
				t.Errorf("attempt %v: error %q is not %v", a.Addr, a.Err, target)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("DialError.Attempts:\n got %v\nwant %v", got, want)
		}
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false for %q", target, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w.addr.String()) {
				t.Errorf("Error() %q does not name %v", err, w.addr)
			}
		}
	}
}

func wantTimeout(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %q", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %q: net.Error Timeout() is not true", err)
	}
}

func wantCanceled(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false for %q", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a cancelled dial reports Timeout(): %q", err)
	}
}

func wantDNSError(notFound, timeout bool) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var oe *net.OpError
		if errors.As(err, &oe) {
			if _, ok := oe.Err.(*net.DNSError); !ok {
				t.Errorf("OpError.Err is %T, want *net.DNSError", oe.Err)
			}
		}
		var de *net.DNSError
		if !errors.As(err, &de) {
			t.Fatalf("error %q has no *net.DNSError", err)
		}
		if de.IsNotFound != notFound || de.IsTimeout != timeout {
			t.Errorf("DNSError %q: IsNotFound=%v IsTimeout=%v; want %v %v", de, de.IsNotFound, de.IsTimeout, notFound, timeout)
		}
		if de.Name != "example.com" {
			t.Errorf("DNSError.Name = %q; want example.com", de.Name)
		}
	}
}

const ms = time.Millisecond

// TestConformanceResolution covers RFC 8305 §3: when the first attempt
// starts depending on which answer arrives when.
func TestConformanceResolution(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "H3.3 AAAA first: IPv6 starts when AAAA arrives",
			aaaa: simAnswer(20*ms, v6a), a: simAnswer(30*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 20 * ms}},
			winner: v6a, took: 30 * ms,
		},
		{
			name: "H3.2 AAAA first, A never: no wait for A",
			aaaa: simAnswer(20*ms, v6a), a: simNever,
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 20 * ms}},
			winner: v6a, took: 30 * ms,
		},
		{
			name: "H3.4 A first, AAAA inside Resolution Delay: IPv6 starts on AAAA",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 30 * ms}, {v4a, 280 * ms}},
			winner: v4a, took: 290 * ms,
		},
		{
			name: "H3.4 A first, AAAA 1ms before the delay ends: IPv6 first",
			aaaa: simAnswer(59*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 59 * ms}, {v4a, 309 * ms}},
			winner: v4a, took: 319 * ms,
		},
		{
			name: "H3.4 A first, AAAA 1ms after the delay ends: IPv4 at 60ms, IPv6 next (§6)",
			aaaa: simAnswer(61*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 60 * ms}, {v6a, 310 * ms}},
			winner: v6a, took: 320 * ms,
		},
		{
			name: "H3.4 A first, AAAA after Resolution Delay: IPv4 at A+50ms, late IPv6 next (§6)",
			aaaa: simAnswer(80*ms, v6a, v6b), a: simAnswer(10*ms, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 60 * ms}, {v6a, 310 * ms}},
			winner: v6a, took: 320 * ms,
		},
		{
			name: "H3.4 A first, AAAA never: IPv4 at A+50ms",
			aaaa: simNever, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 60 * ms}},
			winner: v4a, took: 65 * ms,
		},
		{
			name: "H3.4 negative AAAA (NODATA) inside the delay ends the wait at once",
			aaaa: resolver.StaticAnswer{Delay: 25 * ms}, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "H3.4 NXDOMAIN AAAA inside the delay ends the wait at once",
			aaaa: simNXDomain(25 * ms), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "H3.4 SERVFAIL AAAA inside the delay ends the wait at once",
			aaaa: simServFail(25 * ms), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "H3.4 negative AAAA before A: IPv4 starts on A",
			aaaa: simNXDomain(0), a: simAnswer(40*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 40 * ms}},
			winner: v4a, took: 45 * ms,
		},
		{
			name: "§8 ResolutionDelay 100ms configured",
			aaaa: simNever, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			config: func(d *Dialer) { d.ResolutionDelay = 100 * ms },
			want:   []simAt{{v4a, 110 * ms}},
			winner: v4a, took: 115 * ms,
		},
		{
			name: "§8 negative ResolutionDelay: IPv4 on A, late IPv6 one Connection Attempt Delay later",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms), v4a: bh},
			config: func(d *Dialer) { d.ResolutionDelay = -1 },
			want:   []simAt{{v4a, 10 * ms}, {v6a, 260 * ms}},
			winner: v6a, took: 265 * ms,
		},
		{
			name: "H3.5 AAAA after IPv4 attempts failed: IPv6 starts on arrival",
			aaaa: simAnswer(500*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms), v4a: simnet.Refusing(20 * ms)},
			want:   []simAt{{v4a, 50 * ms}, {v6a, 500 * ms}},
			winner: v6a, took: 505 * ms,
		},
		{
			name: "RFC 6724 rule 1: IPv6 has no route, so A is awaited and IPv4 goes first",
			aaaa: simAnswer(0, v6a), a: simAnswer(30*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.SourceAddr = planIPv4Only },
			want:   []simAt{{v4a, 30 * ms}},
			winner: v4a, took: 40 * ms,
		},
		{
			name: "RFC 6724 rule 1: IPv6 has no route and A never comes: IPv6 is still tried at 50ms",
			aaaa: simAnswer(0, v6a), a: simNever,
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.SourceAddr = planIPv4Only },
			want:   []simAt{{v6a, 50 * ms}},
			winner: v6a, took: 60 * ms,
		},
		{
			name: "tcp6 asks only AAAA and never waits for A",
			aaaa: simAnswer(5*ms, v6a), a: simAnswer(0, v4a),
			hosts:   map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(1 * ms)},
			network: "tcp6", cancel: time.Second,
			want: []simAt{{v6a, 5 * ms}},
			took: time.Second, err: wantCanceled,
		},
		{
			name: "tcp4 asks only A and does not wait for AAAA",
			aaaa: simAnswer(0, v6a), a: simAnswer(5*ms, v4a),
			hosts:   map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(1 * ms), v4a: simnet.Accepting(1 * ms)},
			network: "tcp4",
			want:    []simAt{{v4a, 5 * ms}},
			winner:  v4a, took: 6 * ms,
		},
	})
}

// TestConformanceInterleave covers RFC 8305 §4 (H4.4): the families
// alternate after First Address Family Count addresses of the first one.
func TestConformanceInterleave(t *testing.T) {
	bh := simnet.BlackHoled()
	six := []netip.Addr{v6a, v6b, simV6C}
	four := []netip.Addr{v4a, v4b, simV4C}
	// Every address is black-holed but the last one tried, which connects
	// in 10 ms: the attempts run every 250 ms (H5.1) and none is aborted.
	hosts := func(last netip.Addr) map[netip.Addr]simnet.Behavior {
		m := map[netip.Addr]simnet.Behavior{}
		for _, a := range append(append([]netip.Addr{}, six...), four...) {
			m[a] = bh
		}
		m[last] = simnet.Accepting(10 * ms)
		return m
	}
	runSimCases(t, []simCase{
		{
			name: "H4.4 First Address Family Count 1: v6 v4 v6 v4 v6 v4",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts: hosts(simV4C),
			want: []simAt{
				{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms},
				{v4b, 750 * ms}, {simV6C, 1000 * ms}, {simV4C, 1250 * ms},
			},
			winner: simV4C, took: 1260 * ms,
		},
		{
			name: "H4.4 First Address Family Count 2: v6 v6 v4 v6 v4 v4",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts:  hosts(simV4C),
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want: []simAt{
				{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms},
				{simV6C, 750 * ms}, {v4b, 1000 * ms}, {simV4C, 1250 * ms},
			},
			winner: simV4C, took: 1260 * ms,
		},
		{
			name: "H4.4 First Address Family Count 5 larger than the family: all IPv6, then IPv4",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts:  hosts(v4b),
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 5 },
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}, {v4b, 750 * ms}},
			winner: v4b, took: 760 * ms,
		},
		{
			name: "H4.4 one IPv6, three IPv4: the rest of IPv4 follows",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, four...),
			hosts:  hosts(simV4C),
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v4b, 500 * ms}, {simV4C, 750 * ms}},
			winner: simV4C, took: 760 * ms,
		},
		{
			name: "PreferredFamily IPv4: v4 v6 v4 v6 v4 v6",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts:  hosts(simV6C),
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want: []simAt{
				{v4a, 0}, {v6a, 250 * ms}, {v4b, 500 * ms},
				{v6b, 750 * ms}, {simV4C, 1000 * ms}, {simV6C, 1250 * ms},
			},
			winner: simV6C, took: 1260 * ms,
		},
		{
			name: "PreferredFamily IPv4 with count 2: v4 v4 v6 v4 v6 v6",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts: hosts(simV6C),
			config: func(d *Dialer) {
				d.PreferredFamily = resolver.IPv4
				d.FirstAddressFamilyCount = 2
			},
			want: []simAt{
				{v4a, 0}, {v4b, 250 * ms}, {v6a, 500 * ms},
				{simV4C, 750 * ms}, {v6b, 1000 * ms}, {simV6C, 1250 * ms},
			},
			winner: simV6C, took: 1260 * ms,
		},
		{
			name: "PreferredFamily IPv4: AAAA first waits the Resolution Delay for A",
			aaaa: simAnswer(0, v6a), a: simAnswer(30*ms, v4a),
			hosts:  hosts(v6a),
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   []simAt{{v4a, 30 * ms}, {v6a, 280 * ms}},
			winner: v6a, took: 290 * ms,
		},
		{
			name: "PreferredFamily IPv4: A never, IPv6 at AAAA+50ms",
			aaaa: simAnswer(10*ms, v6a), a: simNever,
			hosts:  hosts(v6a),
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   []simAt{{v6a, 60 * ms}},
			winner: v6a, took: 70 * ms,
		},
	})
}

// TestConformanceStagger covers RFC 8305 §5: the Connection Attempt Delay,
// its 10 ms floor, and starting the next attempt when one fails.
func TestConformanceStagger(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "H5.1 black hole: next attempt at exactly 250ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			winner: v6b, took: 530 * ms,
		},
		{
			name: "H5.1 ConnectionAttemptDelay 100ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 100 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}, {v6b, 200 * ms}},
			winner: v6b, took: 230 * ms,
		},
		{
			name: "H5.4 ConnectionAttemptDelay 1ms is clamped to 10ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = time.Millisecond },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 50 * ms,
		},
		{
			name: "H5.4 negative ConnectionAttemptDelay is clamped to 10ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = -time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 50 * ms,
		},
		{
			name: "§5 refusal at 3ms: next at the 10ms floor",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(3 * ms), v4a: simnet.Accepting(20 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "§5 refusal at 40ms: next at once, at 40ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(40 * ms), v4a: simnet.Accepting(20 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 40 * ms}},
			winner: v4a, took: 60 * ms,
		},
		{
			name: "§5 unreachable at 0ms: next at 10ms, then 20ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: {Kind: simnet.Unreachable}, v4a: {Kind: simnet.Unreachable}, v6b: simnet.Accepting(5 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 25 * ms,
		},
		{
			name: "§5 a failure of an older attempt starts the next one at once",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			// v6a fails at 300 ms while v4a (started at 250) still runs:
			// v6b starts at 300, not at 500.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(300 * ms), v4a: bh, v6b: simnet.Accepting(5 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 300 * ms}},
			winner: v6b, took: 305 * ms,
		},
		{
			name: "H5.2 slow first attempt still wins (nodejs/node#54359)",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			// v6a connects at 400 ms; v4a, started at 250, would connect
			// at 600 ms. Starting v4a must not abort v6a.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(400 * ms), v4a: simnet.Accepting(350 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v6a, took: 400 * ms,
		},
		{
			name: "H5.2 three attempts in flight, the first one wins at 900ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{
				v6a: simnet.Accepting(900 * ms), v4a: bh, v6b: bh, v4b: simnet.Accepting(200 * ms),
			},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}, {v4b, 750 * ms}},
			winner: v6a, took: 900 * ms,
		},
		{
			name: "lost SYN: the first attempt connects after the 1s retransmit",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Lossy(10*ms, 1), v4a: bh},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v6a, took: 1010 * ms,
		},
	})
}

// TestConformanceLateAnswers covers RFC 8305 §3 and §6 (H3.5, H6.2):
// addresses that arrive after the race began.
func TestConformanceLateAnswers(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "§6 late IPv4 goes next after the in-flight IPv6",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			winner: v6b, took: 510 * ms,
		},
		{
			name: "§6 late IPv4 with First Address Family Count 2 waits for the second IPv6",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v6b: bh, v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}},
			winner: v4a, took: 510 * ms,
		},
		{
			name: "§6 count 2, AAAA after the Resolution Delay: the late IPv6 goes next",
			aaaa: simAnswer(100*ms, v6a), a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: bh, v4b: bh, v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want:   []simAt{{v4a, 50 * ms}, {v6a, 300 * ms}},
			winner: v6a, took: 310 * ms,
		},
		{
			name: "late answer after the next attempt was due: starts on arrival",
			aaaa: simAnswer(0, v6a), a: simAnswer(400*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 400 * ms}},
			winner: v4a, took: 410 * ms,
		},
		{
			name: "late answer after a failure: starts on arrival but not within 10ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(5*ms, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(2 * ms), v4a: simnet.Accepting(10 * ms)},
			// A at 5 ms is after the AAAA answer, so there is no
			// Resolution Delay; the 10 ms floor from v6a's start applies.
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 20 * ms,
		},
		{
			name: "§6 late IPv4 addresses interleave with the untried IPv6",
			aaaa: simAnswer(0, v6a, v6b, simV6C), a: simAnswer(300*ms, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{
				v6a: bh, v6b: bh, v4a: bh, simV6C: bh, v4b: simnet.Accepting(10 * ms),
			},
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}, {simV6C, 750 * ms}, {v4b, 1000 * ms}},
			winner: v4b, took: 1010 * ms,
		},
	})
}

// TestConformanceSuccess covers H5.3: the first connection wins, no
// attempt starts after it, and every loser is stopped and closed.
func TestConformanceSuccess(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "H5.3 no attempt after the winner",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			// v6b would be due at 500 ms; v4a wins at 260 ms.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms), v6b: simnet.Accepting(1 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 260 * ms,
		},
		{
			// A winner at exactly 250 ms ties with the timer of the next
			// attempt: either order is correct, so the case is 1 ms early.
			name: "H5.3 winner 1ms before the next attempt is due: no new attempt",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(249 * ms), v4a: simnet.Accepting(1 * ms)},
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 249 * ms,
		},
	})
}

// TestConformancePhotoFinish: two attempts connect at the same virtual
// instant. Exactly one is returned; the other connection is closed.
func TestConformancePhotoFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(260*ms))
		n.Set(v4a, simnet.Accepting(10*ms)) // starts at 250: also done at 260
		d := simDialer(n, simResolver(simAnswer(0, v6a), simAnswer(0, v4a)))
		start := time.Now()
		c, err := d.DialContext(t.Context(), "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if took := time.Since(start); took != 260*ms {
			t.Errorf("took %v; want 260ms", took)
		}
		synctest.Wait()
		log := n.Attempts()
		if len(log) != 2 {
			t.Fatalf("%d attempts; want 2\n%s", len(log), simLog(n, start))
		}
		returned := 0
		for _, a := range log {
			if a.Conn == nil || a.End.Sub(start) != 260*ms {
				t.Fatalf("attempt %v did not connect at 260ms\n%s", a.Addr, simLog(n, start))
			}
			if net.Conn(a.Conn) == c {
				returned++
				if a.Conn.Closed() {
					t.Errorf("returned connection %v is closed", a.Addr)
				}
			} else if !a.Conn.Closed() {
				t.Errorf("photo-finish loser %v not closed", a.Addr)
			}
		}
		if returned != 1 {
			t.Errorf("%d of the connections returned; want 1", returned)
		}
	})
}

// TestConformanceLateLoserClosed: an attempt whose transport ignores
// cancellation connects 1 ms after the winner; the Dialer closes it and
// reports it to the trace as cancelled.
func TestConformanceLateLoserClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(261*ms))
		n.Set(v4a, simnet.Accepting(10*ms))
		d := simDialer(n, simResolver(simAnswer(0, v6a), simAnswer(0, v4a)))
		d.DialAttempt = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
			if ap.Addr() == v6a {
				ctx = context.WithoutCancel(ctx) // a stubborn transport
			}
			return n.Dial(ctx, network, ap)
		}
		var late []AttemptDoneInfo
		var mu = make(chan struct{}, 1)
		ctx := WithTrace(t.Context(), &Trace{AttemptDone: func(i AttemptDoneInfo) {
			mu <- struct{}{}
			if i.Addr.Addr() == v6a {
				late = append(late, i)
			}
			<-mu
		}})
		start := time.Now()
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.RemoteAddr().String(); got != "192.0.2.1:443" || time.Since(start) != 260*ms {
			t.Errorf("won by %v at %v; want 192.0.2.1:443 at 260ms", got, time.Since(start))
		}
		time.Sleep(time.Millisecond) // until the stubborn attempt connects
		synctest.Wait()
		log := n.Attempts()
		if len(log) != 2 || log[0].Addr.Addr() != v6a || log[0].Conn == nil || log[0].End.Sub(start) != 261*ms {
			t.Fatalf("want v6a connected at 261ms\n%s", simLog(n, start))
		}
		if !log[0].Conn.Closed() {
			t.Error("late loser's connection not closed")
		}
		if len(late) != 1 || !late[0].Cancelled || late[0].Won || late[0].Err == nil || late[0].Elapsed != 261*ms {
			t.Errorf("trace for the late loser = %+v; want one Cancelled, not Won, with an error, at 261ms", late)
		}
	})
}

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
				var dns *net.DNSError
				if !errors.As(err, &dns) || dns.Err != "server misbehaving" {
					t.Errorf("errors.As(err, *net.DNSError) = %v; want the AAAA SERVFAIL", dns)
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
			// full Resolution Delay for a lost AAAA reaches the deadline
			// and IPv4 is never tried (the failure mode of golang/go#43398,
			// moved into the Resolution Delay). Shortened like the stagger
			// (half the time left, 25 ms), IPv4 starts at 75 ms and
			// connects at 85 ms.
			name: "H3.4 Resolution Delay shortened near the deadline: IPv4 still tried",
			aaaa: simNever, a: simAnswer(50*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Timeout = 100 * ms },
			want:   []simAt{{v4a, 75 * ms}},
			winner: v4a, took: 85 * ms,
			skip: "BUG (design question): nextStart waits the full Resolution Delay (until 100 ms) " +
				"even when that reaches the deadline, so the dial fails at 100 ms with no attempt; " +
				"the stagger is shortened near a deadline but the Resolution Delay is not " +
				"(suggested: min(ResolutionDelay, (deadline-firstPositive)/2))",
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

// simFailResolver fails the test if it is asked anything: IP literals and
// malformed addresses must not reach the resolver.
type simFailResolver struct{ t *testing.T }

func (r simFailResolver) Resolve(ctx context.Context, host string, fams ...resolver.Family) <-chan resolver.Answer {
	r.t.Errorf("resolver called for %q %v", host, fams)
	ch := make(chan resolver.Answer)
	close(ch)
	return ch
}

// TestConformanceFamilies: "tcp4" and "tcp6" ask only their family, "tcp"
// asks AAAA then A (H3.1).
func TestConformanceFamilies(t *testing.T) {
	for _, tc := range []struct {
		network string
		want    string
	}{
		{"tcp", "[[IPv6 IPv4]]"},
		{"tcp6", "[[IPv6]]"},
		{"tcp4", "[[IPv4]]"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(v6a, simnet.Accepting(ms))
				n.Set(v4a, simnet.Accepting(ms))
				r := simResolver(simAnswer(0, v6a), simAnswer(0, v4a))
				start := time.Now()
				c, err := simDialer(n, r).DialContext(t.Context(), tc.network, "example.com:443")
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				var asked [][]resolver.Family
				for _, q := range r.Queries() {
					asked = append(asked, q.Families)
					if q.Host != "example.com" || !q.Time.Equal(start) {
						t.Errorf("query %+v; want example.com at once", q)
					}
				}
				if got := fmt.Sprint(asked); got != tc.want {
					t.Errorf("families asked = %s; want %s (one lookup per dial)", got, tc.want)
				}
			})
		})
	}
}

// TestConformanceLiterals: an IP literal is one attempt with no DNS.
func TestConformanceLiterals(t *testing.T) {
	for _, tc := range []struct {
		name, network, address string
		want                   netip.AddrPort // the one attempt; zero: none
		wantNet                string         // network given to DialAttempt
		errSub                 string         // when set, the dial fails with this in Error()
	}{
		{name: "IPv6 literal", network: "tcp", address: "[2001:db8::1]:443",
			want: netip.MustParseAddrPort("[2001:db8::1]:443"), wantNet: "tcp6"},
		{name: "IPv4 literal", network: "tcp", address: "192.0.2.1:80",
			want: netip.MustParseAddrPort("192.0.2.1:80"), wantNet: "tcp4"},
		{name: "IPv4-mapped literal is dialed as IPv4", network: "tcp", address: "[::ffff:192.0.2.1]:80",
			want: netip.MustParseAddrPort("192.0.2.1:80"), wantNet: "tcp4"},
		{name: "zoned literal passes its zone through", network: "tcp", address: "[fe80::1%eth0]:22",
			want: netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 22), wantNet: "tcp6"},
		{name: "IPv4 literal on tcp4", network: "tcp4", address: "192.0.2.1:443",
			want: netip.MustParseAddrPort("192.0.2.1:443"), wantNet: "tcp4"},
		{name: "IPv4 literal on tcp6", network: "tcp6", address: "192.0.2.1:443",
			errSub: "no suitable address"},
		{name: "IPv6 literal on tcp4", network: "tcp4", address: "[2001:db8::1]:443",
			errSub: "no suitable address"},
		{name: "missing port", network: "tcp", address: "example.com",
			errSub: "missing port"},
		{name: "missing port on IPv6 literal", network: "tcp", address: "2001:db8::1",
			errSub: "too many colons"},
		{name: "port out of range", network: "tcp", address: "example.com:65536",
			errSub: "65536"},
		{name: "negative port", network: "tcp", address: "example.com:-1",
			errSub: "-1"},
		{name: "unclosed bracket", network: "tcp", address: "[2001:db8::1:443",
			errSub: "missing ']'"},
		{name: "name longer than DNS allows", network: "tcp", address: strings.Repeat("a", 255) + ":443",
			errSub: "no such host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(tc.want.Addr(), simnet.Accepting(7*ms))
				var nets []string
				d := simDialer(n, simFailResolver{t})
				d.DialAttempt = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
					nets = append(nets, network)
					return n.Dial(ctx, network, ap)
				}
				start := time.Now()
				c, err := d.DialContext(t.Context(), tc.network, tc.address)
				took := time.Since(start)
				synctest.Wait()
				log := n.Attempts()
				if tc.errSub != "" {
					if err == nil {
						c.Close()
						t.Fatalf("dial succeeded; want an error containing %q", tc.errSub)
					}
					checkOpError(t, err)
					if !strings.Contains(err.Error(), tc.errSub) {
						t.Errorf("error %q does not contain %q", err, tc.errSub)
					}
					if len(log) != 0 || took != 0 {
						t.Errorf("failed after %v with %d attempts; want at once, none", took, len(log))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if len(log) != 1 || log[0].Addr != tc.want || log[0].Addr.Addr().Zone() != tc.want.Addr().Zone() {
					t.Fatalf("attempts %v; want exactly one to %v", log, tc.want)
				}
				if fmt.Sprint(nets) != "["+tc.wantNet+"]" {
					t.Errorf("DialAttempt networks %v; want [%s]", nets, tc.wantNet)
				}
				if took != 7*ms || log[0].Start != start {
					t.Errorf("connected after %v, attempt at %v; want 7ms, at 0", took, log[0].Start.Sub(start))
				}
			})
		})
	}
}

// TestConformanceLiteralRefused: a refused literal gives a DialError with
// its one attempt and no DNS error.
func TestConformanceLiteralRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Refusing(3*ms))
		_, err := simDialer(n, simFailResolver{t}).DialContext(t.Context(), "tcp", "[2001:db8::1]:443")
		if err == nil {
			t.Fatal("dial succeeded")
		}
		checkOpError(t, err)
		wantDialError([]simAt{{v6a, 0}}, syscall.ECONNREFUSED)(t, err)
		var dns *net.DNSError
		if errors.As(err, &dns) {
			t.Errorf("a literal's error carries a DNSError: %v", dns)
		}
	})
}

// TestConformanceNameLength: a 253-byte name (254 with the root dot) is
// looked up; one longer is not.
func TestConformanceNameLength(t *testing.T) {
	label := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label, label, label, strings.Repeat("b", 61)}, ".")
	if len(name253) != 253 {
		t.Fatalf("len = %d", len(name253))
	}
	for _, host := range []string{name253, name253 + "."} {
		synctest.Test(t, func(t *testing.T) {
			n := new(simnet.Network)
			n.Set(v4a, simnet.Accepting(ms))
			r := new(simnet.Resolver)
			r.Set(host, resolver.StaticAnswer{}, simAnswer(0, v4a))
			c, err := simDialer(n, r).DialContext(t.Context(), "tcp", net.JoinHostPort(host, "443"))
			if err != nil {
				t.Fatalf("%d-byte name: %v", len(host), err)
			}
			c.Close()
			if q := r.Queries(); len(q) != 1 || q[0].Host != host {
				t.Errorf("%d-byte name: lookups %+v; want one", len(host), q)
			}
		})
	}
}

// TestConformanceNilContext: a nil context is an error, not a panic.
func TestConformanceNilContext(t *testing.T) {
	d := simDialer(new(simnet.Network), simFailResolver{t})
	//lint:ignore SA1012 the nil context is the point of the test
	c, err := d.DialContext(nil, "tcp", "example.com:443") //nolint:staticcheck
	if err == nil {
		c.Close()
		t.Fatal("dial with a nil context succeeded")
	}
	checkOpError(t, err)
}

// TestConformanceEmptyHost: ":port" means the local system, as for
// net.Dialer; it is handed to net.Dialer on the real network, without DNS.
func TestConformanceEmptyHost(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Skipf("no listener: %v", err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	d := &Dialer{Resolver: simFailResolver{t}, Timeout: 5 * time.Second}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, err := d.DialContext(context.Background(), "tcp", ":"+port)
	if err != nil {
		ln.Close()
		<-accepted
		t.Fatal(err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
}

// simEvents records trace events as readable lines, safe for the
// concurrent calls losers make after DialContext returns.
type simEvents struct {
	mu    sync.Mutex
	lines []string
}

func (e *simEvents) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

func (e *simEvents) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.lines
	e.lines = nil
	return out
}

func (e *simEvents) trace() *Trace {
	return &Trace{
		DNSAnswer: func(i DNSAnswerInfo) {
			e.add("DNSAnswer %v %s %v err=%v @%v", i.Family, i.Host, i.Addrs, i.Err != nil, i.Elapsed)
		},
		AttemptStart: func(i AttemptStartInfo) {
			e.add("AttemptStart #%d %v @%v", i.Index, i.Addr, i.Elapsed)
		},
		AttemptDone: func(i AttemptDoneInfo) {
			e.add("AttemptDone #%d %v won=%v cancelled=%v err=%v @%v ran %v", i.Index, i.Addr, i.Won, i.Cancelled, i.Err != nil, i.Elapsed, i.Duration)
		},
		DialDone: func(i DialDoneInfo) {
			e.add("DialDone %s %v attempts=%d err=%v @%v", i.Host, i.Addr, i.Attempts, i.Err != nil, i.Elapsed)
		},
	}
}

func (e *simEvents) httpTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) { e.add("DNSStart %s @%v", i.Host, simNow()) },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			addrs := make([]string, len(i.Addrs))
			for j, a := range i.Addrs {
				addrs[j] = a.String()
			}
			e.add("DNSDone %v err=%v @%v", addrs, i.Err != nil, simNow())
		},
		ConnectStart: func(network, addr string) { e.add("ConnectStart %s %s @%v", network, addr, simNow()) },
		ConnectDone: func(network, addr string, err error) {
			e.add("ConnectDone %s %s err=%v @%v", network, addr, err != nil, simNow())
		},
	}
}

// simEpoch is where synctest's clock starts; simNow is the time since.
var simEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func simNow() time.Duration { return time.Since(simEpoch) }

func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n--- got\n%s\n--- want\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestConformanceTrace: every hook fires once per event, in order, with
// exact offsets; losers report Cancelled after the dial returns.
func TestConformanceTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if !time.Now().Equal(simEpoch) {
			t.Fatalf("synctest epoch is %v; the test assumes %v", time.Now(), simEpoch)
		}
		n := new(simnet.Network)
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Refusing(5*ms))
		n.Set(v4b, simnet.Accepting(10*ms))
		d := simDialer(n, simResolver(simAnswer(10*ms, v6a), simAnswer(30*ms, v4a, v4b)))
		var ev, hev simEvents
		ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		synctest.Wait()
		// The loser reports after DialDone: the dial closes its done
		// channel only after DialDone, and the attempt sees that only
		// after the cancellation reached DialAttempt.
		diffLines(t, "Trace", ev.take(), []string{
			"DNSAnswer IPv6 example.com [2001:db8::1] err=false @10ms",
			"AttemptStart #0 [2001:db8::1]:443 @10ms",
			"DNSAnswer IPv4 example.com [192.0.2.1 192.0.2.2] err=false @30ms",
			"AttemptStart #1 192.0.2.1:443 @260ms",
			"AttemptDone #1 192.0.2.1:443 won=false cancelled=false err=true @265ms ran 5ms",
			"AttemptStart #2 192.0.2.2:443 @270ms",
			"AttemptDone #2 192.0.2.2:443 won=true cancelled=false err=false @280ms ran 10ms",
			"DialDone example.com 192.0.2.2:443 attempts=3 err=false @280ms",
			"AttemptDone #0 [2001:db8::1]:443 won=false cancelled=true err=true @280ms ran 270ms",
		})
		diffLines(t, "httptrace", hev.take(), []string{
			"DNSStart example.com @0s",
			"ConnectStart tcp6 [2001:db8::1]:443 @10ms",
			"DNSDone [2001:db8::1 192.0.2.1 192.0.2.2] err=false @30ms",
			"ConnectStart tcp4 192.0.2.1:443 @260ms",
			"ConnectDone tcp4 192.0.2.1:443 err=true @265ms",
			"ConnectStart tcp4 192.0.2.2:443 @270ms",
			"ConnectDone tcp4 192.0.2.2:443 err=false @280ms",
			"ConnectDone tcp6 [2001:db8::1]:443 err=true @280ms",
		})
	})
}

// TestConformanceTraceFailure: a failed dial reports negative answers with
// their error and one DialDone with the error; httptrace's DNSDone carries
// the error when no address was found.
func TestConformanceTraceFailure(t *testing.T) {
	t.Run("all refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := new(simnet.Network)
			n.Set(v4a, simnet.Refusing(5*ms))
			d := simDialer(n, simResolver(simNXDomain(5*ms), simAnswer(20*ms, v4a)))
			var ev, hev simEvents
			ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
			if _, err := d.DialContext(ctx, "tcp", "example.com:443"); err == nil {
				t.Fatal("dial succeeded")
			}
			synctest.Wait()
			diffLines(t, "Trace", ev.take(), []string{
				"DNSAnswer IPv6 example.com [] err=true @5ms",
				"DNSAnswer IPv4 example.com [192.0.2.1] err=false @20ms",
				"AttemptStart #0 192.0.2.1:443 @20ms",
				"AttemptDone #0 192.0.2.1:443 won=false cancelled=false err=true @25ms ran 5ms",
				"DialDone example.com invalid AddrPort attempts=1 err=true @25ms",
			})
			diffLines(t, "httptrace", hev.take(), []string{
				"DNSStart example.com @0s",
				"DNSDone [192.0.2.1] err=false @20ms",
				"ConnectStart tcp4 192.0.2.1:443 @20ms",
				"ConnectDone tcp4 192.0.2.1:443 err=true @25ms",
			})
		})
	})
	t.Run("not found", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := simDialer(new(simnet.Network), simResolver(simNXDomain(5*ms), simNXDomain(8*ms)))
			var ev, hev simEvents
			ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
			if _, err := d.DialContext(ctx, "tcp", "example.com:443"); err == nil {
				t.Fatal("dial succeeded")
			}
			diffLines(t, "Trace", ev.take(), []string{
				"DNSAnswer IPv6 example.com [] err=true @5ms",
				"DNSAnswer IPv4 example.com [] err=true @8ms",
				"DialDone example.com invalid AddrPort attempts=0 err=true @8ms",
			})
			diffLines(t, "httptrace", hev.take(), []string{
				"DNSStart example.com @0s",
				"DNSDone [] err=true @8ms",
			})
		})
	})
	t.Run("cancelled during DNS", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := simDialer(new(simnet.Network), simResolver(simNever, simNever))
			var ev, hev simEvents
			ctx, cancel := context.WithTimeout(t.Context(), 40*ms)
			defer cancel()
			ctx = httptrace.WithClientTrace(WithTrace(ctx, ev.trace()), hev.httpTrace())
			if _, err := d.DialContext(ctx, "tcp", "example.com:443"); err == nil {
				t.Fatal("dial succeeded")
			}
			synctest.Wait()
			// The answers the resolver gives when cut short may or may
			// not be read first; DialDone comes once, at 40 ms, and DNSDone
			// once with an error.
			var dialDone []string
			for _, l := range ev.take() {
				if strings.HasPrefix(l, "DialDone") {
					dialDone = append(dialDone, l)
				}
			}
			diffLines(t, "DialDone", dialDone, []string{"DialDone example.com invalid AddrPort attempts=0 err=true @40ms"})
			diffLines(t, "httptrace", hev.take(), []string{"DNSStart example.com @0s", "DNSDone [] err=true @40ms"})
		})
	})
}

// TestConformanceTraceLiteral: an IP literal fires no DNS hooks.
func TestConformanceTraceLiteral(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v4a, simnet.Accepting(3*ms))
		var ev, hev simEvents
		ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
		c, err := simDialer(n, simFailResolver{t}).DialContext(ctx, "tcp", "192.0.2.1:443")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		diffLines(t, "Trace", ev.take(), []string{
			"AttemptStart #0 192.0.2.1:443 @0s",
			"AttemptDone #0 192.0.2.1:443 won=true cancelled=false err=false @3ms ran 3ms",
			"DialDone 192.0.2.1 192.0.2.1:443 attempts=1 err=false @3ms",
		})
		diffLines(t, "httptrace", hev.take(), []string{
			"ConnectStart tcp4 192.0.2.1:443 @0s",
			"ConnectDone tcp4 192.0.2.1:443 err=false @3ms",
		})
	})
}

// TestConformanceServiceName: a service name is looked up as net.Dialer
// does; an unknown one fails before any DNS or attempt. It runs in real
// time: the lookup may use cgo, whose thread limiter must not be created
// inside a synctest bubble.
func TestConformanceServiceName(t *testing.T) {
	n := new(simnet.Network)
	n.Set(v4a, simnet.Accepting(0))
	d := simDialer(n, simResolver(resolver.StaticAnswer{}, simAnswer(0, v4a)))
	d.ResolutionDelay = -1
	c, err := d.DialContext(t.Context(), "tcp", "example.com:https")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RemoteAddr().String(); got != "192.0.2.1:443" {
		t.Errorf("connected to %s; want 192.0.2.1:443", got)
	}
	c.Close()

	d.Resolver = simFailResolver{t}
	c, err = d.DialContext(t.Context(), "tcp", "example.com:no-such-service-here")
	if err == nil {
		c.Close()
		t.Fatal("dial to an unknown service succeeded")
	}
	checkOpError(t, err)
	if !strings.Contains(err.Error(), "no-such-service-here") {
		t.Errorf("error %q does not name the service", err)
	}
	if len(n.Attempts()) != 1 {
		t.Errorf("attempts %v; want only the first dial's", n.Attempts())
	}
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

// TestConformanceHandshake: with a Handshake hook the winner is decided
// after it (Happy Eyeballs v3 draft); a connection whose handshake fails
// or is overtaken is closed, and a failure starts the next attempt at once.
func TestConformanceHandshake(t *testing.T) {
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

// TestConformanceBoundsTrace: a family's answer is cut to MaxAddresses
// before it joins the plan, and the trace reports what was kept.
func TestConformanceBoundsTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		six, four := simMany(true, 300), simMany(false, 300)
		n := new(simnet.Network)
		n.Set(six[0], simnet.Accepting(ms))
		d := simDialer(n, simResolver(simAnswer(0, six...), simAnswer(0, four...)))
		d.MaxAddresses = 5
		kept := map[resolver.Family][]netip.Addr{}
		var mu sync.Mutex
		ctx := WithTrace(t.Context(), &Trace{DNSAnswer: func(i DNSAnswerInfo) {
			mu.Lock()
			kept[i.Family] = i.Addrs
			mu.Unlock()
		}})
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		mu.Lock()
		defer mu.Unlock()
		if got, want := planString(kept[resolver.IPv6]), planString(six[:5]); got != want {
			t.Errorf("IPv6 kept %s; want %s", got, want)
		}
		if got, want := planString(kept[resolver.IPv4]), planString(four[:5]); got != want {
			t.Errorf("IPv4 kept %s; want %s", got, want)
		}
	})
}

// simFuncResolver adapts a function to resolver.Resolver, for resolvers
// that misbehave.
type simFuncResolver func(ctx context.Context, host string, fams ...resolver.Family) <-chan resolver.Answer

func (f simFuncResolver) Resolve(ctx context.Context, host string, fams ...resolver.Family) <-chan resolver.Answer {
	return f(ctx, host, fams...)
}

// simFixed answers at once with answers, then closes the channel.
func simFixed(answers ...resolver.Answer) simFuncResolver {
	return func(context.Context, string, ...resolver.Family) <-chan resolver.Answer {
		ch := make(chan resolver.Answer, len(answers))
		for _, a := range answers {
			ch <- a
		}
		close(ch)
		return ch
	}
}

// TestConformanceHostileResolver: whatever a resolver sends, the dial uses
// only valid, deduplicated addresses of the family asked, one answer per
// family, and treats a family left unanswered as failed.
func TestConformanceHostileResolver(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:192.0.2.2")
	for _, tc := range []struct {
		name  string
		r     resolver.Resolver
		want  []simAt
		took  time.Duration
		check func(*testing.T, error)
	}{
		{
			name: "wrong-family, invalid and duplicate addresses are dropped; mapped ones unmapped",
			r: simFixed(
				resolver.Answer{Family: resolver.IPv6, Addrs: []netip.Addr{v4a, {}, v6a, v6a}},
				resolver.Answer{Family: resolver.IPv4, Addrs: []netip.Addr{v6b, v4a, mapped, v4a}},
			),
			want: []simAt{{v6a, 0}, {v4a, 10 * ms}, {v4b, 20 * ms}},
			took: 21 * ms,
		},
		{
			name: "a second answer for a family is ignored",
			r: simFixed(
				resolver.Answer{Family: resolver.IPv6, Addrs: []netip.Addr{v6a}},
				resolver.Answer{Family: resolver.IPv6, Addrs: []netip.Addr{v6b}},
				resolver.Answer{Family: resolver.IPv4, Err: &net.DNSError{Err: "no such host", IsNotFound: true}},
			),
			want: []simAt{{v6a, 0}},
			took: time.Millisecond,
		},
		{
			name: "an answer for a family not asked is ignored (tcp6)",
			r: simFixed(
				resolver.Answer{Family: resolver.IPv4, Addrs: []netip.Addr{v4a}},
				resolver.Answer{Family: resolver.IPv6, Addrs: []netip.Addr{v6a}},
			),
			want: []simAt{{v6a, 0}},
			took: time.Millisecond,
		},
		{
			name: "closed without answering: a DNS error, not a hang",
			r:    simFixed(),
			check: func(t *testing.T, err error) {
				var de *net.DNSError
				if !errors.As(err, &de) || de.IsNotFound {
					t.Errorf("error %v; want a *net.DNSError that is not IsNotFound", err)
				}
			},
		},
		{
			name: "nil channel: a DNS error, not a hang",
			r: simFuncResolver(func(context.Context, string, ...resolver.Family) <-chan resolver.Answer {
				return nil
			}),
			check: func(t *testing.T, err error) {
				var de *net.DNSError
				if !errors.As(err, &de) {
					t.Errorf("error %v; want a *net.DNSError", err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				for _, a := range []netip.Addr{v6a, v6b, v4a, v4b} {
					n.Set(a, simnet.Refusing(time.Millisecond))
				}
				network := "tcp"
				if strings.Contains(tc.name, "tcp6") {
					network = "tcp6"
				}
				start := time.Now()
				c, err := simDialer(n, tc.r).DialContext(t.Context(), network, "example.com:443")
				took := time.Since(start)
				if err == nil {
					c.Close()
					t.Fatal("dial succeeded")
				}
				checkOpError(t, err)
				if took != tc.took {
					t.Errorf("took %v; want %v", took, tc.took)
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				synctest.Wait()
				checkSimAttempts(t, n, start, took, nil, tc.want)
			})
		})
	}
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
			_, err := simDialer(n, simResolver(simAnswer(0, v6a), simAnswer(0, v4a))).DialContext(ctx, "tcp", addr)
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

// TestConformanceDialAttemptContract: a DialAttempt hook that returns
// neither a connection nor an error, or both, is a failed attempt (the
// connection closed), and the race goes on.
func TestConformanceDialAttemptContract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(ms))
		n.Set(v6b, simnet.Accepting(ms))
		n.Set(v4a, simnet.Accepting(ms))
		d := simDialer(n, simResolver(simAnswer(0, v6a, v6b), simAnswer(0, v4a)))
		d.DialAttempt = func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
			c, err := n.Dial(ctx, network, ap)
			switch ap.Addr() {
			case v6a:
				c.Close() // keep the log honest: the hook drops it
				return nil, nil
			case v4a:
				return c, errors.New("both a connection and an error")
			}
			return c, err
		}
		start := time.Now()
		c, err := d.DialContext(t.Context(), "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.RemoteAddr().String(); got != "[2001:db8::2]:443" || time.Since(start) != 21*ms {
			t.Errorf("won by %s at %v; want [2001:db8::2]:443 at 21ms", got, time.Since(start))
		}
		synctest.Wait()
		checkSimAttempts(t, n, start, time.Since(start), c, []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}})
	})
}

// TestConformanceLocalAddr: a LocalAddr with an IP limits the dial to its
// family; one of another type is an error.
func TestConformanceLocalAddr(t *testing.T) {
	for _, tc := range []struct {
		name    string
		local   net.Addr
		address string
		want    string // families asked, or the error
	}{
		{"IPv4 local address asks only A", &net.TCPAddr{IP: net.ParseIP("192.0.2.100")}, "example.com:443", "[[IPv4]]"},
		{"IPv6 local address asks only AAAA", &net.TCPAddr{IP: net.ParseIP("2001:db8::100")}, "example.com:443", "[[IPv6]]"},
		{"port-only local address asks both", &net.TCPAddr{Port: 5000}, "example.com:443", "[[IPv6 IPv4]]"},
		{"IPv4 local address, IPv6 literal", &net.TCPAddr{IP: net.ParseIP("192.0.2.100")}, "[2001:db8::1]:443", "no suitable address"},
		{"UDP local address", &net.UDPAddr{IP: net.ParseIP("192.0.2.100")}, "example.com:443", "mismatched local address type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(v6a, simnet.Accepting(ms))
				n.Set(v4a, simnet.Accepting(ms))
				r := simResolver(simAnswer(0, v6a), simAnswer(0, v4a))
				d := simDialer(n, r)
				d.LocalAddr = tc.local
				c, err := d.DialContext(t.Context(), "tcp", tc.address)
				if !strings.HasPrefix(tc.want, "[") {
					if err == nil {
						c.Close()
						t.Fatalf("dial succeeded; want %q", tc.want)
					}
					checkOpError(t, err)
					if !strings.Contains(err.Error(), tc.want) || len(n.Attempts()) != 0 {
						t.Errorf("error %q, %d attempts; want %q and none", err, len(n.Attempts()), tc.want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				var asked [][]resolver.Family
				for _, q := range r.Queries() {
					asked = append(asked, q.Families)
				}
				if got := fmt.Sprint(asked); got != tc.want {
					t.Errorf("families asked %s; want %s", got, tc.want)
				}
			})
		})
	}
}

// TestConformanceConcurrentDials: one Dialer used by many dials at once;
// each keeps its own schedule (the Dialer holds no per-dial state).
func TestConformanceConcurrentDials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(n, simResolver(simAnswer(0, v6a), simAnswer(0, v4a)))
		const dials = 40
		var wg sync.WaitGroup
		errs := make(chan error, dials)
		start := time.Now()
		for i := range dials {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * ms) // staggered callers
				begun := time.Now()
				c, err := d.DialContext(t.Context(), "tcp", "example.com:443")
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if took := time.Since(begun); took != 270*ms || c.RemoteAddr().String() != "192.0.2.1:443" {
					errs <- fmt.Errorf("dial %d: %v after %v; want 192.0.2.1:443 after 270ms", i, c.RemoteAddr(), took)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		synctest.Wait()
		log := n.Attempts()
		if len(log) != 2*dials {
			t.Fatalf("%d attempts; want %d", len(log), 2*dials)
		}
		starts := map[netip.Addr][]time.Duration{}
		for _, a := range log {
			starts[a.Addr.Addr()] = append(starts[a.Addr.Addr()], a.Start.Sub(start))
		}
		for i := range dials {
			at := time.Duration(i) * ms
			if !slices.Contains(starts[v6a], at) || !slices.Contains(starts[v4a], at+250*ms) {
				t.Errorf("dial %d: no IPv6 attempt at %v and IPv4 at %v", i, at, at+250*ms)
			}
		}
		for _, a := range log {
			if a.End.IsZero() {
				t.Errorf("attempt %v still running", a)
			}
			if a.Addr.Addr() == v6a && (a.Err == nil || a.End.Sub(a.Start) != 270*ms) {
				t.Errorf("black-holed attempt %v: want cancelled after 270ms", a)
			}
			if a.Addr.Addr() == v4a && (a.Err != nil || a.End.Sub(a.Start) != 20*ms || !a.Conn.Closed()) {
				t.Errorf("attempt %v: want connected after 20ms, then closed by its caller", a)
			}
		}
	})
}
