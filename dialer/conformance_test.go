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
	d := simDialer(n, &resolver.Static{AAAA: tc.aaaa, A: tc.a})
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
			name: "§6 late AAAA after IPv4 started: v4 v6 v4 v6 from then on",
			aaaa: simAnswer(100*ms, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{
				v4a: bh, v6a: bh, v4b: bh, v6b: simnet.Accepting(10 * ms),
			},
			want:   []simAt{{v4a, 50 * ms}, {v6a, 300 * ms}, {v4b, 550 * ms}, {v6b, 800 * ms}},
			winner: v6b, took: 810 * ms,
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
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)})
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
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)})
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

// TestConformanceConcurrentDials: one Dialer used by many dials at once;
// each keeps its own schedule (the Dialer holds no per-dial state).
func TestConformanceConcurrentDials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)})
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
