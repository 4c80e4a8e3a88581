package dialer

// Fixtures shared by the tests of this package: documentation addresses
// (RFC 3849, RFC 5737), resolvers, a Dialer on the in-memory network
// (internal/simnet), and the virtual-time harness (simCase, runSimCases)
// with its checks of the error a failed dial returns. The fixtures for
// real sockets on loopback, which run on Linux only, are in
// helpers_linux_test.go.

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

const ms = time.Millisecond

// Documentation addresses (RFC 3849, RFC 5737).
var (
	v6a = netip.MustParseAddr("2001:db8::1")
	v6b = netip.MustParseAddr("2001:db8::2")
	v6c = netip.MustParseAddr("2001:db8::3")
	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("192.0.2.2")
	v4c = netip.MustParseAddr("192.0.2.3")
)

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

// dualStatic answers AAAA with v6 and A with v4, at once: the usual
// dual-stack name, for tests where DNS timing is not the point.
func dualStatic(v6, v4 netip.Addr) *resolver.Static {
	return &resolver.Static{
		AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{v6}},
		A:    resolver.StaticAnswer{Addrs: []netip.Addr{v4}},
	}
}

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

// recordingResolver is resolver.Static that also logs every lookup it is
// asked for, for tests of what the dialer asks.
type recordingResolver struct {
	resolver.Static

	mu      sync.Mutex
	queries []query
}

// query is the log entry of one lookup.
type query struct {
	Host     string
	Families []resolver.Family
	Time     time.Time
}

// Resolve logs the lookup and answers as Static does.
func (r *recordingResolver) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	r.mu.Lock()
	r.queries = append(r.queries, query{Host: host, Families: slices.Clone(families), Time: time.Now()})
	r.mu.Unlock()
	return r.Static.Resolve(ctx, host, families...)
}

// Queries returns a copy of the lookup log, in order.
func (r *recordingResolver) Queries() []query {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.queries)
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

func simDialer(n *simnet.Network, r resolver.Resolver) *Dialer {
	return &Dialer{Resolver: r, DialAttempt: n.Dial, SourceAddr: simnet.SourceAll}
}

// simAt is one expected attempt: its address and its start, in virtual
// time since DialContext was called.
type simAt struct {
	addr netip.Addr
	at   time.Duration
}

func (w simAt) String() string { return fmt.Sprintf("%v@%v", w.addr, w.at) }

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
			synctest.Test(t, func(t *testing.T) { runSim(t, tc, false) })
		})
		// The same dial with the first attempt made from the caller's
		// goroutine where the race allows it: nothing may change.
		t.Run(tc.name+"/inline", func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			synctest.Test(t, func(t *testing.T) { runSim(t, tc, true) })
		})
	}
}

func runSim(t *testing.T, tc simCase, inline bool) {
	t.Helper()
	n := new(simnet.Network)
	for a, b := range tc.hosts {
		n.Set(a, b)
	}
	d := simDialer(n, &resolver.Static{AAAA: tc.aaaa, A: tc.a})
	d.promptAttempt = inline
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
