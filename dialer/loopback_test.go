//go:build linux

package dialer

// Real sockets on loopback: the built-in attempt path (no DialAttempt)
// against listeners on 127.0.0.1 and ::1 that accept, refuse, or black-hole
// connections (internal/loopback), with names resolved by an in-process DNS
// server (internal/dnstest) or resolver.Static where DNS is not the point.
//
// The machine is shared and noisy: time bounds are wide, and each one is
// chosen so that the behaviour it rules out lands on the other side of it
// (a fallback that waited for a 1 s AAAA answer, a dial that did not start
// the next attempt when the first was refused).

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// loopbackCase is one TestLoopback_Connect dial.
type loopbackCase struct {
	name   string
	v4, v6 loopback.Kind // what 127.0.0.1 and ::1 do
	// dns, when set, resolves the name through a DNS server serving
	// zone (nil: dualZone) with faults per query type; when nil the
	// Dialer uses dualStatic and no server runs.
	dns     func(*testing.T, *dnstest.Server) resolver.Resolver
	zone    []string
	faults  map[uint16]dnstest.Fault
	config  func(*Dialer) // applied to Dialer{Resolver: …, DisableHistory: true}
	network string        // "tcp" when empty
	literal bool          // dial the winner's IP literal instead of the name

	want     resolver.Family   // the family that connects
	attempts []resolver.Family // every attempt, in start order; nil: not checked
	min, max time.Duration     // bounds on how long the dial takes; 0: none
	why      string            // what a duration outside the bounds means
	check    func(*testing.T, *loopbackDial)
}

// loopbackDial is what a TestLoopback_Connect case's check looks at.
type loopbackDial struct {
	p   *loopback.Pair
	srv *dnstest.Server // nil when the case resolves with resolver.Static
	ev  *events         // the dial's Trace, every attempt ended
	c   net.Conn        // the connection returned
}

// TestLoopback_Connect: dials that connect. Each case sets what ::1 and
// 127.0.0.1 do and how the name resolves, and checks which endpoint won
// (a byte written reaches it), the attempts in start order and how long
// the dial took. Cases that ask a real DNS server dial dualName; the
// others dial "dual.test" through resolver.Static.
func TestLoopback_Connect(t *testing.T) {
	zeroDialer := func(d *Dialer) { *d = Dialer{} } // no Resolver: an IP literal must not touch DNS at all
	v4, v6 := resolver.IPv4, resolver.IPv6
	for _, tc := range append([]loopbackCase{
		{
			name: "IP literal/127.0.0.1", v4: loopback.Accept, v6: loopback.Accept,
			config: zeroDialer, literal: true,
			want: v4, attempts: []resolver.Family{v4},
			check: checkNoDNSAnswers,
		},
		{
			name: "IP literal/::1", v4: loopback.Accept, v6: loopback.Accept,
			config: zeroDialer, literal: true,
			want: v6, attempts: []resolver.Family{v6},
			check: checkNoDNSAnswers,
		},
		{
			// RFC 6724 puts ::1 first and it wins at once. RFC 8305 §3:
			// both queries are sent at once, even though the AAAA answer
			// alone was enough here (the A query may still be on its way).
			name: "RFC8305/4/IPv6 first: ::1 wins at once, both queries sent",
			v4:   loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			want: v6, attempts: []resolver.Family{v6},
			check: func(t *testing.T, r *loopbackDial) {
				for _, qt := range []uint16{dns.TypeAAAA, dns.TypeA} {
					deadline := time.Now().Add(time.Second)
					for r.srv.Count(qt, "") == 0 && time.Now().Before(deadline) {
						time.Sleep(5 * time.Millisecond)
					}
					if r.srv.Count(qt, "") == 0 {
						t.Errorf("the DNS server saw no %s query: %v", dns.TypeToString[qt], r.srv.Queries())
					}
				}
			},
		},
		{
			// ::1 refuses, so 127.0.0.1 is tried at once, not a Connection
			// Attempt Delay (250 ms) later.
			name: "RFC8305/5/failure-starts-next: refused ::1, 127.0.0.1 at once",
			v4:   loopback.Accept, v6: loopback.Refuse,
			want: v4, attempts: []resolver.Family{v6, v4},
			max: 200 * time.Millisecond, why: "well under the 250 ms Connection Attempt Delay",
			check: func(t *testing.T, r *loopbackDial) {
				if d0, _ := r.ev.done(0); !errors.Is(d0.Err, syscall.ECONNREFUSED) {
					t.Errorf("::1 attempt ended with %v, want ECONNREFUSED", d0.Err)
				}
				if s1 := r.ev.starts[1].Elapsed; s1 > 200*time.Millisecond {
					t.Errorf("127.0.0.1 attempt started at %v, want at once after the refusal (well before the 250 ms delay)", s1)
				}
			},
		},
		{
			// SYNs to ::1 are dropped; after the Connection Attempt Delay
			// the dial tries 127.0.0.1 and connects, with the name
			// resolved by a real DNS server.
			name: "RFC8305/5/black-holed ::1: 127.0.0.1 after the Connection Attempt Delay",
			v4:   loopback.Accept, v6: loopback.BlackHole, dns: dnsResolver,
			want: v4, attempts: []resolver.Family{v6, v4},
			min: 200 * time.Millisecond, max: time.Second, why: "Connection Attempt Delay 250 ms",
			check: func(t *testing.T, r *loopbackDial) {
				if d0, _ := r.ev.done(0); !d0.Cancelled || d0.Won {
					t.Errorf("black-holed attempt ended %+v, want cancelled by the winner", d0)
				}
			},
		},
		{
			// The mirror image with IPv4 preferred.
			name: "RFC8305/5/black-holed 127.0.0.1, IPv4 preferred: ::1 after the Connection Attempt Delay",
			v4:   loopback.BlackHole, v6: loopback.Accept,
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   v6,
			min:    200 * time.Millisecond, max: time.Second, why: "Connection Attempt Delay 250 ms",
		},
		{
			// With Timeout 200 ms, a black-holed ::1 must not use up the
			// whole budget: 127.0.0.1 is tried within it and connects.
			// (net.Dialer fails here without trying IPv4.)
			name: "RFC8305/5/Timeout 200ms, black-holed ::1: 127.0.0.1 tried within it",
			v4:   loopback.Accept, v6: loopback.BlackHole,
			config: func(d *Dialer) { d.Timeout = 200 * time.Millisecond },
			want:   v4, attempts: []resolver.Family{v6, v4},
		},
		// The RFC 8305 §3 start rules against a real DNS server, with a
		// Resolution Delay of 1 s so that "at once" and "after the delay"
		// are far apart on a noisy machine. Every case must end well
		// before 1 s, over the family the rule picks.
		{
			name: "RFC8305/3/NODATA AAAA starts IPv4 at once",
			v4:   loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			zone:   []string{dualName + " 60 IN A 127.0.0.1"},
			config: func(d *Dialer) { d.ResolutionDelay = time.Second },
			want:   v4,
			max:    700 * time.Millisecond, why: "well under the 1 s Resolution Delay",
		},
		{
			name: "RFC8305/3/SERVFAIL AAAA starts IPv4 at once",
			v4:   loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Rcode: dns.RcodeServerFailure}},
			config: func(d *Dialer) { d.ResolutionDelay = time.Second },
			want:   v4,
			max:    700 * time.Millisecond, why: "well under the 1 s Resolution Delay",
		},
		{
			name: "RFC8305/3/AAAA inside the Resolution Delay starts IPv6 on arrival",
			v4:   loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 150 * time.Millisecond}},
			config: func(d *Dialer) { d.ResolutionDelay = time.Second },
			want:   v6,
			min:    150 * time.Millisecond, max: 700 * time.Millisecond, why: "the AAAA delay, well under the 1 s Resolution Delay",
		},
		{
			name: "RFC8305/3/truncated AAAA over UDP is retried over TCP",
			v4:   loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Truncate: true}},
			config: func(d *Dialer) { d.ResolutionDelay = time.Second },
			want:   v6,
			max:    700 * time.Millisecond, why: "well under the 1 s Resolution Delay",
			check: func(t *testing.T, r *loopbackDial) {
				if r.srv.Count(dns.TypeAAAA, "tcp") == 0 {
					t.Errorf("no AAAA query over TCP after a truncated reply: %v", r.srv.Queries())
				}
			},
		},
		{
			// A answers first and 127.0.0.1 is black-holed; the AAAA
			// answer arrives 400 ms later, mid-race, and ::1 is tried on
			// arrival (§3) and wins (§6).
			name: "RFC8305/6/AAAA after 400ms joins the race and wins",
			v4:   loopback.BlackHole, v6: loopback.Accept, dns: dnsResolver,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 400 * time.Millisecond}},
			want:   v6, attempts: []resolver.Family{v4, v6},
			min: 400 * time.Millisecond, max: 1200 * time.Millisecond, why: "about the 400 ms AAAA delay",
		},
		// "tcp4" and "tcp6" ask the DNS server only for their family and
		// connect over it, although the other family works.
		{
			name: "network/tcp4 asks only A", v4: loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			network: "tcp4", want: v4, check: checkAskedOnly(dns.TypeA, dns.TypeAAAA),
		},
		{
			name: "network/tcp6 asks only AAAA", v4: loopback.Accept, v6: loopback.Accept, dns: dnsResolver,
			network: "tcp6", want: v6, check: checkAskedOnly(dns.TypeAAAA, dns.TypeA),
		},
		{
			// LocalAddr binds every attempt, and an IPv4 LocalAddr limits
			// the dial to IPv4 (all of 127/8 is loopback on Linux).
			name: "LocalAddr 127.0.0.2 binds the attempt and limits the dial to IPv4",
			v4:   loopback.Accept, v6: loopback.Accept,
			config: func(d *Dialer) { d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)} },
			want:   v4, attempts: []resolver.Family{v4},
			check: func(t *testing.T, r *loopbackDial) {
				local := netip.MustParseAddr("127.0.0.2")
				if got := r.c.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(); got != local {
					t.Errorf("local address %v, want %v", got, local)
				}
			},
		},
	}, slowAAAACases()...) {
		t.Run(tc.name, func(t *testing.T) {
			p := loopback.Dual(t, tc.v4, tc.v6)
			var srv *dnstest.Server
			if tc.dns != nil {
				zone := dualZone()
				if tc.zone != nil {
					zone = dnstest.NewZone(tc.zone...)
				}
				srv = dnstest.Start(t, &dnstest.Faults{Next: zone, ByType: tc.faults})
			}
			fdBaseline(t)
			d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true, SourceAddr: dualStackHost}
			address := p.Host("dual.test")
			if tc.dns != nil {
				d.Resolver, address = tc.dns(t, srv), p.Host(dualName)
			}
			if tc.config != nil {
				tc.config(&d)
			}
			e := p.V4
			if tc.want == resolver.IPv6 {
				e = p.V6
			}
			if tc.literal {
				address = e.Addr.String()
			}
			var ev events
			ctx := WithTrace(context.Background(), ev.trace())
			start := time.Now()
			c, err := d.DialContext(ctx, cmp.Or(tc.network, "tcp"), address)
			took := time.Since(start)
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, e.Addr, remote(t, c), "connected to")
			exchange(t, c, e)
			if took < tc.min || (tc.max > 0 && took > tc.max) {
				t.Errorf("dial took %v, want between %v and %v (%s)", took, tc.min, tc.max, tc.why)
			}
			ev.wait(t)
			if tc.attempts != nil {
				var want []netip.AddrPort
				for _, f := range tc.attempts {
					if f == resolver.IPv6 {
						want = append(want, p.V6.Addr)
					} else {
						want = append(want, p.V4.Addr)
					}
				}
				require.Equal(t, want, ev.startAddrs(), "attempts, in start order")
			}
			if tc.check != nil {
				tc.check(t, &loopbackDial{p: p, srv: srv, ev: &ev, c: c})
			}
		})
	}
}

// slowAAAACases are the TestLoopback_Connect cases where the DNS server
// answers A at once and AAAA only after 1 s (or never). The dial waits
// the Resolution Delay (50 ms) for AAAA, then connects over IPv4, well
// before the AAAA answer; net.Dialer would wait for both answers. Both
// resolvers that speak DNS are used: resolver.Client and resolver.System
// over Go's stub resolver.
func slowAAAACases() []loopbackCase {
	var cases []loopbackCase
	for _, fault := range []struct {
		name string
		f    dnstest.Fault
	}{
		{"delayed 1s", dnstest.Fault{Delay: time.Second}},
		{"dropped", dnstest.Fault{Drop: true}},
	} {
		for _, rc := range dnsResolvers {
			cases = append(cases, loopbackCase{
				name: "RFC8305/3/AAAA " + fault.name + "/" + rc.name + ": IPv4 after the Resolution Delay",
				v4:   loopback.Accept, v6: loopback.Accept, dns: rc.new,
				faults:   map[uint16]dnstest.Fault{dns.TypeAAAA: fault.f},
				want:     resolver.IPv4,
				attempts: []resolver.Family{resolver.IPv4},
				min:      DefaultResolutionDelay, max: 500 * time.Millisecond,
				why: "the 50 ms Resolution Delay and well under the 1 s AAAA delay",
				check: func(t *testing.T, r *loopbackDial) {
					if n := r.srv.Count(dns.TypeAAAA, ""); n == 0 {
						t.Errorf("the DNS server saw no AAAA query: %v", r.srv.Queries())
					}
				},
			})
		}
	}
	return cases
}

// checkNoDNSAnswers checks that the dial reported no DNS answer.
func checkNoDNSAnswers(t *testing.T, r *loopbackDial) {
	if len(r.ev.dnsAns) != 0 {
		t.Errorf("DNS answers for an IP literal: %v", r.ev.dnsAns)
	}
}

// checkAskedOnly checks that the DNS server saw queries of type asked and
// none of type never.
func checkAskedOnly(asked, never uint16) func(*testing.T, *loopbackDial) {
	return func(t *testing.T, r *loopbackDial) {
		if r.srv.Count(asked, "") == 0 || r.srv.Count(never, "") != 0 {
			t.Errorf("queries %v, want %s only", r.srv.Queries(), dns.TypeToString[asked])
		}
	}
}

// TestLoopback_AllRefused: every address refuses; the error is the
// stdlib's shape and says so through errors.Is.
func TestLoopback_AllRefused(t *testing.T) {
	p := loopback.Dual(t, loopback.Refuse, loopback.Refuse)
	fdBaseline(t)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}
	start := time.Now()
	c, err := d.DialContext(context.Background(), "tcp", p.Host("dual.test"))
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("dial to two refusing addresses succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || op.Net != "tcp" {
		t.Errorf("error %#v, want a *net.OpError with Op dial, Net tcp", err)
	}
	var de *DialError
	if !errors.As(err, &de) {
		t.Fatalf("error %v has no *DialError", err)
	}
	var got []netip.AddrPort
	for _, a := range de.Attempts {
		got = append(got, a.Addr)
	}
	if want := []netip.AddrPort{p.V6.Addr, p.V4.Addr}; !slices.Equal(got, want) {
		t.Errorf("failed attempts %v, want %v", got, want)
	}
	if op != nil && op.Timeout() {
		t.Errorf("refusals reported as a timeout: %v", err)
	}
	if took > 200*time.Millisecond {
		t.Errorf("dial took %v; refusals should end it at once", took)
	}
	if s := err.Error(); strings.Contains(s, "\n") {
		t.Errorf("error spans lines: %q", s)
	}
}

// TestLoopback_HistoryRemembersBlackHole: the first dial pays the
// Connection Attempt Delay for the black-holed ::1; the next one, with the
// shared history, goes to 127.0.0.1 first and connects at once. With
// DisableHistory every dial pays.
func TestLoopback_HistoryRemembersBlackHole(t *testing.T) {
	p := loopback.Dual(t, loopback.Accept, loopback.BlackHole)
	fdBaseline(t)
	dial := func(d *Dialer) (time.Duration, netip.AddrPort) {
		t.Helper()
		start := time.Now()
		c, err := d.DialContext(context.Background(), "tcp", p.Host("dual.test"))
		took := time.Since(start)
		require.NoError(t, err)
		defer c.Close()
		exchange(t, c, p.V4)
		return took, remote(t, c)
	}

	off := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}
	for i := range 2 {
		if took, ap := dial(&off); took < 200*time.Millisecond || ap != p.V4.Addr {
			t.Errorf("DisableHistory dial %d: %v to %v, want 200 ms or more to %v", i, took, ap, p.V4.Addr)
		}
	}
	on := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4)}
	if took, ap := dial(&on); took < 200*time.Millisecond || ap != p.V4.Addr {
		t.Errorf("first dial: %v to %v, want 200 ms or more to %v", took, ap, p.V4.Addr)
	}
	var ev events
	ctx := WithTrace(context.Background(), ev.trace())
	start := time.Now()
	c, err := on.DialContext(ctx, "tcp", p.Host("dual.test"))
	took := time.Since(start)
	require.NoError(t, err)
	defer c.Close()
	exchange(t, c, p.V4)
	ev.wait(t)
	if got := ev.startAddrs(); len(got) == 0 || got[0] != p.V4.Addr {
		t.Errorf("second dial's attempts %v, want 127.0.0.1 first (::1 learned unreachable)", got)
	}
	if took > 150*time.Millisecond {
		t.Errorf("second dial took %v, want no Connection Attempt Delay", took)
	}
}

// TestLoopback_TimeoutAllBlackHoled: every address black-holed; the dial
// ends at its Timeout, having tried both, and leaves no socket open.
func TestLoopback_TimeoutAllBlackHoled(t *testing.T) {
	p := loopback.Dual(t, loopback.BlackHole, loopback.BlackHole)
	fdBaseline(t)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), Timeout: 300 * time.Millisecond, DisableHistory: true}
	var ev events
	ctx := WithTrace(context.Background(), ev.trace())
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("dial to black holes succeeded")
	}
	if took < 250*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("dial failed after %v, want about the 300 ms Timeout", took)
	}
	var de *DialError
	if !errors.As(err, &de) || len(de.Attempts) == 0 {
		t.Errorf("error %v, want a *DialError listing attempts", err)
	}
	ev.wait(t)
	if got := len(ev.startAddrs()); got != 2 {
		t.Errorf("%d attempts, want both addresses tried within the Timeout", got)
	}
}

// TestLoopback_TimeoutAllBlackHoled_IsTimeout: a dial that ran out of time
// must say so: net.Error's Timeout and errors.Is(err,
// context.DeadlineExceeded), as DialError's documentation promises, even
// when every attempt's socket deadline fires before the dial's context
// does; and the error lists both attempts, the one cut short included.
func TestLoopback_TimeoutAllBlackHoled_IsTimeout(t *testing.T) {
	fdBaseline(t)
	p := loopback.Dual(t, loopback.BlackHole, loopback.BlackHole)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), Timeout: 300 * time.Millisecond, DisableHistory: true}
	for i := range 3 { // which side of the race wins varies: try a few
		var ev events
		ctx := WithTrace(context.Background(), ev.trace())
		c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
		if err == nil {
			c.Close()
			t.Fatal("dial to black holes succeeded")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dial %d: errors.Is(%v, context.DeadlineExceeded) = false", i, err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial %d: error %v is not a net.Error with Timeout() true", i, err)
		}
		ev.wait(t)
		var de *DialError
		if !errors.As(err, &de) {
			t.Fatalf("dial %d: error %v has no *DialError", i, err)
		}
		var listed []netip.AddrPort
		for _, a := range de.Attempts {
			listed = append(listed, a.Addr)
		}
		if started := ev.startAddrs(); len(started) == 0 || !slices.Equal(listed, started) {
			t.Errorf("dial %d: error lists attempts %v, want every attempt started: %v", i, listed, started)
		}
	}
}

// TestLoopback_CancelMidRace: both addresses black-holed, two attempts in
// flight; cancelling the context ends the dial at once with
// context.Canceled, ends both attempts and closes their sockets.
func TestLoopback_CancelMidRace(t *testing.T) {
	p := loopback.Dual(t, loopback.BlackHole, loopback.BlackHole)
	fdBaseline(t)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ev events
	tr := ev.trace()
	second := make(chan struct{})
	record := tr.AttemptStart
	tr.AttemptStart = func(i AttemptStartInfo) {
		record(i)
		if i.Index == 1 {
			close(second)
		}
	}
	ctx = WithTrace(ctx, tr)
	go func() {
		select {
		case <-second:
			time.Sleep(50 * time.Millisecond) // let the second connect() reach the kernel
		case <-time.After(5 * time.Second):
		}
		cancel()
	}()
	c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
	cancelled := time.Now()
	if err == nil {
		c.Close()
		t.Fatal("dial to black holes succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	ev.wait(t)
	if waited := time.Since(cancelled); waited > time.Second {
		t.Errorf("attempts ended %v after the dial returned", waited)
	}
	if got := len(ev.startAddrs()); got != 2 {
		t.Fatalf("%d attempts started before the cancel, want 2", got)
	}
	for i := range 2 {
		if di, _ := ev.done(i); !di.Cancelled || di.Won {
			t.Errorf("attempt %d ended %+v, want cancelled", i, di)
		}
	}
	// fdBaseline's cleanup checks that both sockets were closed.
}

// TestLoopback_LateLoserClosed: the ::1 attempt is held back until
// 127.0.0.1 has won, then completes; its connection must be closed, not
// leaked: the ::1 server reads EOF. It is held either before connect()
// (in ControlContext: the connect then races the cancellation, and
// net.Dialer or the Dialer closes the socket) or after it (in Handshake,
// which returns success once DialContext has returned: the Dialer must
// close the late winner itself).
func TestLoopback_LateLoserClosed(t *testing.T) {
	for _, hold := range []string{"ControlContext", "Handshake"} {
		t.Run(hold, func(t *testing.T) {
			p := loopback.Dual(t, loopback.Accept, loopback.Accept)
			fdBaseline(t)
			released := make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(released) }) }
			defer release()
			wait := func() error {
				select {
				case <-released: // deliberately not ctx: complete after losing
					return nil
				case <-time.After(5 * time.Second):
					return errors.New("test: never released")
				}
			}
			d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}
			var ev events
			tr := ev.trace()
			switch hold {
			case "ControlContext":
				d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
					if network != "tcp6" {
						return nil
					}
					return wait()
				}
				dialDone := tr.DialDone
				tr.DialDone = func(i DialDoneInfo) { dialDone(i); release() }
			case "Handshake":
				d.Handshake = func(ctx context.Context, c net.Conn) (net.Conn, error) {
					if remote(t, c).Addr().Is6() {
						if err := wait(); err != nil {
							return nil, err
						}
					}
					return c, nil
				}
			}
			ctx := WithTrace(context.Background(), tr)
			c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
			release() // for Handshake: only now that the dial has returned
			require.NoError(t, err)
			defer c.Close()
			if got := remote(t, c); got != p.V4.Addr {
				t.Fatalf("connected to %v, want %v (::1 was held back)", got, p.V4.Addr)
			}
			exchange(t, c, p.V4)
			ev.wait(t)
			d0, _ := ev.done(0)
			if d0.Won || !d0.Cancelled || d0.Err == nil {
				t.Errorf("::1 attempt ended %+v, want a cancelled loser", d0)
			}
			t.Logf("::1 attempt ended with: %v", d0.Err)
			// The server must not be left holding an open connection: if it
			// accepted one, reading it ends.
			s, ok := p.V6.TryNext(time.Second)
			if !ok {
				if hold == "Handshake" {
					t.Fatal("::1 accepted nothing, though its TCP handshake completed")
				}
				t.Log("::1 connect was aborted before the handshake; nothing reached the server")
				return
			}
			defer s.Close()
			s.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := s.Read(make([]byte, 1))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the late ::1 connection is still open 3s after the dial: the loser was leaked")
			}
			if n != 0 || (err != io.EOF && !errors.Is(err, syscall.ECONNRESET)) {
				t.Errorf("server read %d bytes, %v; want EOF (or a reset)", n, err)
			}
		})
	}
}

// TestLoopback_ControlPerAttempt: Control and ControlContext run for every
// attempt, with "tcp6"/"tcp4" and the IP literal being attempted; when
// both are set only ControlContext runs.
func TestLoopback_ControlPerAttempt(t *testing.T) {
	fdBaseline(t)
	p := loopback.Dual(t, loopback.Accept, loopback.Refuse)
	want := []string{"tcp6 " + p.V6.Addr.String(), "tcp4 " + p.V4.Addr.String()}

	var mu sync.Mutex
	var calls, plain []string
	var ctxs []context.Context
	type key struct{}
	d := Dialer{
		Resolver:       dualStatic(loopback.V6, loopback.V4),
		DisableHistory: true,
		ControlContext: func(ctx context.Context, network, address string, c syscall.RawConn) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, network+" "+address)
			ctxs = append(ctxs, ctx)
			return nil
		},
		Control: func(network, address string, c syscall.RawConn) error {
			mu.Lock()
			defer mu.Unlock()
			plain = append(plain, network+" "+address)
			return nil
		},
	}
	ctx := context.WithValue(context.Background(), key{}, "caller")
	c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
	require.NoError(t, err)
	c.Close()
	mu.Lock()
	if !slices.Equal(calls, want) {
		t.Errorf("ControlContext calls %q, want %q", calls, want)
	}
	if len(plain) != 0 {
		t.Errorf("Control called %q although ControlContext is set", plain)
	}
	for i, cx := range ctxs {
		if cx.Value(key{}) != "caller" {
			t.Errorf("ControlContext call %d: ctx lacks the caller's values", i)
		}
	}
	calls, plain = nil, nil
	mu.Unlock()

	d.ControlContext = nil
	c, err = d.DialContext(ctx, "tcp", p.Host("dual.test"))
	require.NoError(t, err)
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(plain, want) {
		t.Errorf("Control calls %q, want %q", plain, want)
	}

	// A Control error fails that attempt, and the next address is tried.
	d.Control = func(network, address string, c syscall.RawConn) error {
		if network == "tcp6" {
			return errors.New("test: no IPv6 today")
		}
		return nil
	}
	p2 := loopback.Dual(t, loopback.Accept, loopback.Accept)
	c, err = d.DialContext(ctx, "tcp", p2.Host("dual.test"))
	require.NoError(t, err)
	defer c.Close()
	if got := remote(t, c); got != p2.V4.Addr {
		t.Errorf("with Control failing tcp6: connected to %v, want %v", got, p2.V4.Addr)
	}
}

// TestLoopback_KeepAlive: KeepAlive and KeepAliveConfig reach the socket
// of the connection returned.
func TestLoopback_KeepAlive(t *testing.T) {
	fdBaseline(t)
	e := loopback.Single(t, loopback.V4, loopback.Accept)
	for _, tc := range []struct {
		name                   string
		d                      Dialer
		on                     bool
		idle, intvl, cnt       int
		checkIntvl, checkCount bool
	}{
		{name: "KeepAlive 17s", d: Dialer{KeepAlive: 17 * time.Second}, on: true, idle: 17},
		{name: "KeepAlive -1 disables", d: Dialer{KeepAlive: -1}, on: false},
		{name: "KeepAliveConfig", d: Dialer{KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: 23 * time.Second, Interval: 7 * time.Second, Count: 4,
		}}, on: true, idle: 23, intvl: 7, cnt: 4, checkIntvl: true, checkCount: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.d.DialContext(context.Background(), "tcp", e.Addr.String())
			require.NoError(t, err)
			defer c.Close()
			get := func(level, opt int) int {
				t.Helper()
				rc, err := c.(syscall.Conn).SyscallConn()
				require.NoError(t, err)
				var v int
				var gerr error
				if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, opt) }); err != nil {
					t.Fatal(err)
				}
				if gerr != nil {
					t.Fatal(gerr)
				}
				return v
			}
			if got := get(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 0; got != tc.on {
				t.Fatalf("SO_KEEPALIVE = %v, want %v", got, tc.on)
			}
			if !tc.on {
				return
			}
			if got := get(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE); got != tc.idle {
				t.Errorf("TCP_KEEPIDLE = %d, want %d", got, tc.idle)
			}
			if got := get(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL); tc.checkIntvl && got != tc.intvl {
				t.Errorf("TCP_KEEPINTVL = %d, want %d", got, tc.intvl)
			}
			if got := get(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT); tc.checkCount && got != tc.cnt {
				t.Errorf("TCP_KEEPCNT = %d, want %d", got, tc.cnt)
			}
		})
	}
}

// TestLoopback_UDPPassThrough: "udp" goes to net.Dialer unchanged, with
// the Dialer's Control.
func TestLoopback_UDPPassThrough(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer pc.Close()
	fdBaseline(t)
	var controls []string
	d := Dialer{
		Resolver: &resolver.Static{}, // must not be asked
		Control: func(network, address string, _ syscall.RawConn) error {
			controls = append(controls, network+" "+address)
			return nil
		},
	}
	c, err := d.DialContext(context.Background(), "udp", pc.LocalAddr().String())
	require.NoError(t, err)
	defer c.Close()
	if _, ok := c.(*net.UDPConn); !ok {
		t.Fatalf("udp dial returned %T, want *net.UDPConn", c)
	}
	if want := []string{"udp4 " + pc.LocalAddr().String()}; !slices.Equal(controls, want) {
		t.Errorf("Control calls %q, want %q", controls, want)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 16)
	n, from, err := pc.ReadFromUDP(b)
	if err != nil || string(b[:n]) != "ping" {
		t.Fatalf("server read %q, %v; want \"ping\"", b[:n], err)
	}
	if got, want := from.String(), c.LocalAddr().String(); got != want {
		t.Errorf("datagram from %v, want %v", got, want)
	}
}

// TestLoopback_UnixPassThrough: "unix" goes to net.Dialer unchanged.
func TestLoopback_UnixPassThrough(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	fdBaseline(t)
	d := Dialer{Resolver: &resolver.Static{}}
	c, err := d.DialContext(context.Background(), "unix", path)
	require.NoError(t, err)
	defer c.Close()
	if _, ok := c.(*net.UnixConn); !ok {
		t.Fatalf("unix dial returned %T, want *net.UnixConn", c)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("unix listener accepted nothing")
	}
	defer s.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(s, b); err != nil {
		t.Fatal(err)
	}
}

// TestLoopback_HTTPTrace: DNSStart and DNSDone fire once per dial,
// ConnectStart and ConnectDone once per real attempt, and none of them for
// the resolver's own DNS sockets.
func TestLoopback_HTTPTrace(t *testing.T) {
	for _, rc := range dnsResolvers {
		t.Run(rc.name, func(t *testing.T) { testHTTPTrace(t, rc.new) })
	}
}

func testHTTPTrace(t *testing.T, newResolver func(*testing.T, *dnstest.Server) resolver.Resolver) {
	p := loopback.Dual(t, loopback.Accept, loopback.Refuse)
	srv := dnstest.Start(t, dualZone())
	fdBaseline(t)
	var mu sync.Mutex
	var log []string
	add := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, s)
	}
	var dnsDone httptrace.DNSDoneInfo
	ct := &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) { add("DNSStart " + i.Host) },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			dnsDone = i
			add("DNSDone")
		},
		ConnectStart: func(network, addr string) { add("ConnectStart " + network + " " + addr) },
		ConnectDone: func(network, addr string, err error) {
			switch {
			case err == nil:
				add("ConnectDone " + network + " " + addr + " ok")
			case errors.Is(err, syscall.ECONNREFUSED):
				add("ConnectDone " + network + " " + addr + " refused")
			default:
				add("ConnectDone " + network + " " + addr + " " + err.Error())
			}
		},
	}
	ctx := httptrace.WithClientTrace(context.Background(), ct)
	d := Dialer{Resolver: newResolver(t, srv), DisableHistory: true}
	var ev events
	ctx = WithTrace(ctx, ev.trace())
	c, err := d.DialContext(ctx, "tcp", p.Host(dualName))
	require.NoError(t, err)
	defer c.Close()
	exchange(t, c, p.V4)
	ev.wait(t)
	if srv.Count(0, "") == 0 {
		t.Fatal("the DNS server saw no query: the test did not exercise the resolver's sockets")
	}
	mu.Lock()
	defer mu.Unlock()
	// DNSDone may come after the ::1 attempt has started: a positive AAAA
	// answer starts it before the A answer arrives (RFC 8305 §3).
	var connects []string
	dnsDones := 0
	for _, e := range log {
		if e == "DNSDone" {
			dnsDones++
		} else if strings.HasPrefix(e, "Connect") {
			connects = append(connects, e)
		}
	}
	want := []string{
		"ConnectStart tcp6 " + p.V6.Addr.String(),
		"ConnectDone tcp6 " + p.V6.Addr.String() + " refused",
		"ConnectStart tcp4 " + p.V4.Addr.String(),
		"ConnectDone tcp4 " + p.V4.Addr.String() + " ok",
	}
	if len(log) == 0 || log[0] != "DNSStart "+dualName || dnsDones != 1 || !slices.Equal(connects, want) {
		t.Errorf("httptrace events:\n  %s\nwant DNSStart %s first, one DNSDone, and:\n  %s",
			strings.Join(log, "\n  "), dualName, strings.Join(want, "\n  "))
	}
	var got []string
	for _, a := range dnsDone.Addrs {
		got = append(got, a.String())
	}
	slices.Sort(got)
	if want := []string{"127.0.0.1", "::1"}; !slices.Equal(got, want) || dnsDone.Err != nil {
		t.Errorf("DNSDone addrs %v, err %v; want %v", got, dnsDone.Err, want)
	}
}

// TestLoopback_Concurrent: one Dialer used by many goroutines at once, a
// name with a refusing ::1: every dial connects over 127.0.0.1 and no
// socket is left behind.
func TestLoopback_Concurrent(t *testing.T) {
	p := loopback.Dual(t, loopback.Accept, loopback.Refuse)
	fdBaseline(t)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			c, err := d.DialContext(context.Background(), "tcp", p.Host("dual.test"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			ap := c.RemoteAddr().(*net.TCPAddr).AddrPort()
			if ap.Addr().Unmap() != loopback.V4 {
				errs <- errors.New("connected to " + ap.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range 20 { // release the server sides now, so the fd count settles
		s, ok := p.V4.TryNext(time.Second)
		if !ok {
			t.Fatal("the server accepted fewer than 20 connections")
		}
		s.Close()
	}
}

// TestLoopback_DNSFailures: names that do not resolve fail with a
// *net.DNSError of the stdlib's shape, without any connection attempt.
func TestLoopback_DNSFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   map[uint16]dnstest.Fault
		host     string
		notFound bool
	}{
		{name: "NXDOMAIN", host: "missing.test.", notFound: true},
		{name: "SERVFAIL", host: dualName, faults: map[uint16]dnstest.Fault{
			dns.TypeA: {Rcode: dns.RcodeServerFailure}, dns.TypeAAAA: {Rcode: dns.RcodeServerFailure},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loopback.Dual(t, loopback.Accept, loopback.Accept)
			srv := dnstest.Start(t, &dnstest.Faults{Next: dualZone(), ByType: tc.faults})
			fdBaseline(t)
			d := Dialer{Resolver: dnsResolver(t, srv), DisableHistory: true}
			var ev events
			ctx := WithTrace(context.Background(), ev.trace())
			c, err := d.DialContext(ctx, "tcp", p.Host(tc.host))
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			var op *net.OpError
			var de *net.DNSError
			if !errors.As(err, &op) || op.Op != "dial" || !errors.As(err, &de) {
				t.Fatalf("error %#v, want a *net.OpError wrapping a *net.DNSError", err)
			}
			if de.IsNotFound != tc.notFound {
				t.Errorf("IsNotFound = %v, want %v (%v)", de.IsNotFound, tc.notFound, err)
			}
			if got := ev.startAddrs(); len(got) != 0 {
				t.Errorf("attempts %v for a name that did not resolve", got)
			}
		})
	}
}

// TestLoopback_HTTPTransport: an http.Client whose transport dials with
// the Dialer fetches from a server reached by name while ::1 is
// black-holed, in about a Connection Attempt Delay, and reuses the
// connection for the next request.
func TestLoopback_HTTPTransport(t *testing.T) {
	fdBaseline(t)
	p := loopback.Dual(t, loopback.Accept, loopback.BlackHole)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	ln := p.V4.Listener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()

	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var dials int
	get := func(path string) string {
		t.Helper()
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) {
				if !i.Reused {
					dials++
				}
			},
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.Host("dual.test")+path, nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	start := time.Now()
	if got := get("/a"); got != "hello /a" {
		t.Errorf("GET /a = %q", got)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > time.Second {
		t.Errorf("first request took %v, want about the 250 ms Connection Attempt Delay", took)
	}
	if got := get("/b"); got != "hello /b" {
		t.Errorf("GET /b = %q", got)
	}
	if dials != 1 {
		t.Errorf("%d connections made, want 1 reused", dials)
	}
}

// TestLoopback_ContextAfterConnect: once DialContext has returned, neither
// cancelling its context nor passing its Timeout affects the connection.
func TestLoopback_ContextAfterConnect(t *testing.T) {
	p := loopback.Dual(t, loopback.Accept, loopback.Refuse)
	fdBaseline(t)
	d := Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), Timeout: 100 * time.Millisecond, DisableHistory: true}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := d.DialContext(ctx, "tcp", p.Host("dual.test"))
	require.NoError(t, err)
	defer c.Close()
	cancel()
	time.Sleep(200 * time.Millisecond) // past the Timeout
	s := p.V4.Next(t, time.Second)
	defer s.Close()
	// No deadline was left on the socket: a read waits for data.
	go func() {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(s, "y")
	}()
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 'y' {
		t.Fatalf("client read %q, %v after the context ended; want \"y\"", b, err)
	}
	if _, err := io.WriteString(c, "x"); err != nil {
		t.Fatalf("client write after the context ended: %v", err)
	}
}

// TestLoopback_TLSHandshakeDecides: ::1 completes the TCP handshake but
// resets the TLS handshake (a middlebox, a broken path MTU); with
// Handshake doing TLS, that attempt loses and the dial moves on to
// 127.0.0.1 at once, so an HTTPS client gets its answer over IPv4.
func TestLoopback_TLSHandshakeDecides(t *testing.T) {
	fdBaseline(t)
	p := loopback.Dual(t, loopback.Accept, loopback.Accept)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over TLS")
	}))
	srv.Listener.Close() // NewUnstartedServer opened one of its own
	srv.Listener = p.V4.Listener()
	srv.StartTLS()
	defer srv.Close()
	var resets atomic.Int32
	serve(t, p.V6, func(c net.Conn) {
		resets.Add(1)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		c.Read(make([]byte, 1)) // the ClientHello arrives, then the reset
		reset(c)
	})

	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsConf.ServerName = "example.com" // httptest's certificate names it
	d := Dialer{
		Resolver:       dualStatic(loopback.V6, loopback.V4),
		DisableHistory: true,
		Handshake: func(ctx context.Context, c net.Conn) (net.Conn, error) {
			tc := tls.Client(c, tlsConf)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, err
			}
			return tc, nil
		},
	}
	var ev events
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(WithTrace(ctx, ev.trace()), network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := client.Get("https://" + p.Host("dual.test") + "/")
	took := time.Since(start)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello over TLS" {
		t.Fatalf("body %q, %v", body, err)
	}
	if took > 200*time.Millisecond {
		t.Errorf("request took %v, want the next attempt at once after the reset", took)
	}
	ev.wait(t)
	if got, want := ev.startAddrs(), []netip.AddrPort{p.V6.Addr, p.V4.Addr}; !slices.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	if d0, _ := ev.done(0); d0.Err == nil || d0.Won {
		t.Errorf("::1 attempt ended %+v, want a failed TLS handshake", d0)
	}
	if resets.Load() != 1 {
		t.Errorf("::1 saw %d connections, want 1", resets.Load())
	}
}

// TestLoopback_UnusableAnswersNeverDialed: on a real kernel, "0.0.0.0:P"
// and "[::]:P" connect to this host. A DNS answer holding them, next to a
// live address, must not reach the local listener on P: only the live
// address is tried. Through both DNS-speaking resolvers.
func TestLoopback_UnusableAnswersNeverDialed(t *testing.T) {
	fdBaseline(t)
	local := loopback.Dual(t, loopback.Accept, loopback.Accept) // what :: and 0.0.0.0 would reach
	live := loopback.Single(t, netip.MustParseAddr("127.0.0.2"), loopback.Accept)
	if live.Addr.Port() == local.Port {
		t.Skip("the live port equals the local one")
	}
	for _, r := range dnsResolvers {
		t.Run(r.name, func(t *testing.T) {
			srv := dnstest.Start(t, dnstest.NewZone(
				"bad.test. 60 IN AAAA ::",
				"bad.test. 60 IN AAAA ff02::1",
				"bad.test. 60 IN A 0.0.0.0",
				"bad.test. 60 IN A 224.0.0.1",
				"bad.test. 60 IN A 127.0.0.2",
				"only.test. 60 IN AAAA ::",
				"only.test. 60 IN A 0.0.0.0",
			))
			res := r.new(t, srv)
			d := Dialer{Resolver: res, DisableHistory: true}
			var ev events
			ctx := WithTrace(context.Background(), ev.trace())
			// The live address listens on another port; the unusable ones
			// on the local pair's port would connect if tried.
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("bad.test.", strconv.Itoa(int(live.Addr.Port()))))
			require.NoError(t, err)
			assert.Equal(t, live.Addr.String(), c.RemoteAddr().String())
			c.Close()
			ev.wait(t)
			assert.Equal(t, []netip.AddrPort{live.Addr}, ev.startAddrs())

			_, err = d.DialContext(context.Background(), "tcp", net.JoinHostPort("only.test.", strconv.Itoa(int(local.Port))))
			require.ErrorIs(t, err, ErrUnusableAddress, "an answer of :: and 0.0.0.0 alone")
			if cl, ok := res.(interface{ Close() error }); ok {
				cl.Close()
			}
		})
	}
}

// TestLoopback_LoneAddressBackups: a dial with one address whose SYNs go
// unanswered (a full accept queue) makes two backup attempts on new
// sockets, a Connection Attempt Delay apart, from the caller's goroutine
// and the collector alike (IP literal and name), then ends at its Timeout
// with every socket closed.
func TestLoopback_LoneAddressBackups(t *testing.T) {
	e := loopback.Single(t, loopback.V4, loopback.BlackHole)
	fdBaseline(t)
	for _, address := range []string{e.Addr.String(), fmt.Sprintf("lone.test:%d", e.Addr.Port())} {
		d := Dialer{
			Resolver:               &resolver.Static{A: resolver.StaticAnswer{Addrs: []netip.Addr{loopback.V4}}},
			ConnectionAttemptDelay: 100 * time.Millisecond,
			Timeout:                600 * time.Millisecond,
			DisableHistory:         true,
		}
		var ev events
		ctx := WithTrace(context.Background(), ev.trace())
		c, err := d.DialContext(ctx, "tcp", address)
		if err == nil {
			c.Close()
			t.Fatalf("%s: dial to a black hole succeeded", address)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: error %v, want a timeout", address, err)
		}
		ev.wait(t)
		starts := ev.startsCopy()
		if len(starts) != 3 {
			t.Fatalf("%s: %d attempts, want the first and two backups", address, len(starts))
		}
		for i, s := range starts {
			if s.Addr != e.Addr || s.Backup != (i > 0) {
				t.Errorf("%s: attempt %d = %v backup=%v, want %v backup=%v", address, i, s.Addr, s.Backup, e.Addr, i > 0)
			}
			if i > 0 && s.Elapsed-starts[i-1].Elapsed < 90*time.Millisecond {
				t.Errorf("%s: attempt %d started %v after the one before, want the 100 ms delay", address, i, s.Elapsed-starts[i-1].Elapsed)
			}
		}
	}
}

// TestLoopback_ReusedRuns: dials that are over on the caller's goroutine
// leave their state for the next dial to reuse, while other dials run
// beside them, concurrently: dials whose first attempt is taken over and
// whose losers outlive them (::1 and 127.0.0.1 black-holed, 127.0.0.2
// connects after two delays while the 127.0.0.1 attempt still runs),
// refused and cancelled ones, and IP literals whose first attempt a
// backup beats; half under a context that can be cancelled, half under
// one that cannot. Each gets its own outcome, and under the race
// detector no dial's state is touched by another's goroutines.
// Afterwards no goroutine and no file descriptor is left. It makes 144
// dials; HAPPYEYEBALLS_SOAK_DIALS=N makes it a soak of about N.
func TestLoopback_ReusedRuns(t *testing.T) {
	loopback.SkipWithoutIPv6(t)
	dials := 24
	if s := os.Getenv("HAPPYEYEBALLS_SOAK_DIALS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "HAPPYEYEBALLS_SOAK_DIALS")
		dials = max(n/6, 1)
	}
	fdBaseline(t) // checked after the endpoints have closed what they accepted
	v6 := loopback.Single(t, loopback.V6, loopback.BlackHole)
	port := v6.Addr.Port()
	v4, err := loopback.Open(loopback.V4, port, loopback.BlackHole)
	if err != nil {
		t.Skipf("127.0.0.1:%d: %v", port, err)
	}
	t.Cleanup(v4.Close)
	other := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	liveAddr := netip.AddrPortFrom(other, port)
	// A server that closes what it accepts at once, so that a soak does
	// not hold its connections' descriptors until the end.
	ln, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(liveAddr))
	if err != nil {
		t.Skipf("%v: %v", liveAddr, err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); serving.Wait() })
	refused := loopback.Single(t, loopback.V4, loopback.Refuse)
	// A black hole that one worker dials, letting one connection in 15 ms
	// into each of its dials: an IP literal dialed to it is taken over,
	// its second backup (at 20 ms) gets in while the first attempt is
	// still in SYN retransmission and must be aborted. (Room made once per
	// dial, by the one worker that dials it, so that no dial can be left
	// waiting on retransmissions that other dials' SYNs beat.)
	slow := loopback.Single(t, loopback.V4, loopback.BlackHole)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the endpoints' own are ended by their cleanups
	d := Dialer{
		Resolver: &resolver.Static{
			AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{loopback.V6}},
			A:    resolver.StaticAnswer{Addrs: []netip.Addr{loopback.V4, other}},
		},
		ConnectionAttemptDelay: 10 * time.Millisecond,
		DisableHistory:         true, // the same order every time: every name dial is taken over
	}
	const workers = 6
	var connected, shouldConnect atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range dials {
				// Under a context that can be cancelled, and under one
				// that cannot (whose work context a run keeps).
				ctx, cancel := context.WithCancel(context.Background())
				if i%2 == 1 {
					cancel()
					ctx, cancel = context.Background(), func() {}
				}
				var want netip.AddrPort
				var admit *time.Timer
				address := liveAddr.String()
				switch (w + i) % 5 {
				case 0: // taken over; 127.0.0.2 wins at 20 ms, the 127.0.0.1 attempt ends after
					address, want = net.JoinHostPort("reuse.test", strconv.Itoa(int(port))), liveAddr
				case 1: // refused at once
					address = refused.Addr.String()
				case 2: // cancelled while ::1 hangs, before the delay
					ctx, cancel = context.WithCancel(context.Background())
					time.AfterFunc(3*time.Millisecond, cancel)
					address = v6.Addr.String()
				case 3: // an IP literal taken over: a backup gets in, the first attempt is aborted
					if w == 0 {
						address, want = slow.Addr.String(), slow.Addr
						admit = time.AfterFunc(15*time.Millisecond, func() { slow.Admit() })
						break
					}
					fallthrough
				default: // connected on the caller's goroutine
					want = liveAddr
				}
				c, err := d.DialContext(ctx, "tcp", address)
				cancel()
				if admit != nil {
					admit.Stop()
				}
				if !want.IsValid() {
					if err == nil {
						c.Close()
						t.Errorf("dial %s connected, want an error", address)
					}
					continue
				}
				shouldConnect.Add(1)
				if !assert.NoError(t, err, "dial %s", address) {
					continue
				}
				connected.Add(1)
				got := c.RemoteAddr().(*net.TCPAddr).AddrPort()
				assert.Equal(t, want, got, "dial %s", address)
				// No TIME_WAIT: a soak's tens of thousands of connections
				// would run out of ephemeral ports.
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, shouldConnect.Load(), connected.Load(), "dials that connected")
	assert.Positive(t, connected.Load())
}

// TestLoopback_RetransmittedSYNGivesKernelRTT: a connect whose SYN was
// dropped and sent again takes the kernel's 1 s initial retransmission
// timeout, which says nothing of the round trip (Karn's rule, RFC 6298
// §3). With TCP timestamps the kernel still measured the round trip, and
// that is what the History learns for the destination.
func TestLoopback_RetransmittedSYNGivesKernelRTT(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_timestamps"); err != nil || strings.TrimSpace(string(b)) == "0" {
		t.Skip("TCP timestamps are off: the kernel measures no round trip over a retransmitted SYN")
	}
	fdBaseline(t)
	e := loopback.Single(t, loopback.V4, loopback.BlackHole)
	var h History
	d := Dialer{History: &h, Timeout: 5 * time.Second}
	// The first SYN, and the two backup attempts' at 250 and 500 ms, are
	// dropped; then the queue has room, and the first attempt's SYN, sent
	// again at 1 s, connects.
	admit := time.AfterFunc(700*time.Millisecond, func() { assert.NoError(t, e.Admit()) })
	defer admit.Stop()
	var ev events
	start := time.Now()
	c, err := d.DialContext(WithTrace(context.Background(), ev.trace()), "tcp", e.Addr.String())
	require.NoError(t, err)
	took := time.Since(start)
	c.Close()
	ev.wait(t)
	if took < time.Second {
		t.Skipf("connected after %v: no SYN was dropped", took)
	}
	st, ok := h.dest(destKey{loopback.V4, e.Addr})
	require.True(t, ok, "the History has no entry for %v", e.Addr)
	assert.Greater(t, st.srtt, time.Duration(0), "no round trip learned from a connect of %v", took)
	assert.Less(t, st.srtt, 100*time.Millisecond, "the round trip learned is the connect time, %v", took)
}

// TestLoopback_BackupAbortsFirstAttempt: an IP literal dialed under a
// context that can never be done (context.Background, with values) makes
// its first attempt on the caller's goroutine. When a backup attempt wins
// (RFC 8305 §5: the others are then cancelled), that first attempt, still
// in SYN retransmission, is aborted at once: the dial returns with the
// winner, not when the first attempt's SYN is answered or times out.
func TestLoopback_BackupAbortsFirstAttempt(t *testing.T) {
	fdBaseline(t)
	e := loopback.Single(t, loopback.V4, loopback.BlackHole)
	d := Dialer{ConnectionAttemptDelay: 100 * time.Millisecond, DisableHistory: true}
	// The first SYN (0 ms) and the first backup's (100 ms) are dropped;
	// the second backup's (200 ms) finds room. The first attempt's SYN
	// would be sent again only at 1 s.
	admit := time.AfterFunc(150*time.Millisecond, func() { assert.NoError(t, e.Admit()) })
	defer admit.Stop()
	// Room again at 1.5 s, so that a dial that waits for its first
	// attempt ends (at its SYN's second retransmission, 3 s) and fails
	// the bound below, rather than hanging.
	again := time.AfterFunc(1500*time.Millisecond, func() { e.Admit() })
	defer again.Stop()
	var ev events
	ctx := WithTrace(context.Background(), ev.trace())
	require.Nil(t, ctx.Done(), "the test needs a context that can never be done")
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", e.Addr.String())
	took := time.Since(start)
	require.NoError(t, err)
	c.Close()
	ev.wait(t)
	assert.Less(t, took, 700*time.Millisecond, "the dial waited for its first attempt")
	first, ok := ev.done(0)
	require.True(t, ok, "the first attempt never ended")
	assert.True(t, first.Cancelled, "the first attempt ended with %v, want it cancelled", first.Err)
	assert.ErrorIs(t, first.Err, context.Canceled, "the first attempt's error")
	starts := ev.startsCopy()
	require.Len(t, starts, 3, "the first attempt and two backups")
	won, ok := ev.done(2)
	require.True(t, ok, "the second backup never ended")
	assert.True(t, won.Won, "the second backup did not win: %v", won.Err)
}
