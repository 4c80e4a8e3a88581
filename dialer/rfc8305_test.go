package dialer

// The RFC 8305 conformance suite in virtual time, by section:
// §3 (hostname resolution), §4 (sorting and interleaving addresses), §5
// (connection attempts), §6 (answers that arrive during the race). Every
// test runs inside synctest.Test against an in-memory network
// (internal/simnet) and resolver.Static with per-family answer times, and
// asserts to the millisecond when each attempt started, which address
// won, when DialContext returned, and that every loser was stopped and
// its connection closed (the harness, simCase, is in helpers_test.go).
// Test names carry the section (TestRFC8305_5_Stagger), and so do case
// names here and in the other test files ("RFC8305/5/..."): grep for
// RFC8305_5 and RFC8305/5 to find what checks §5.

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestRFC8305_3_Resolution covers RFC 8305 §3: when the first attempt
// starts depending on which answer arrives when.
func TestRFC8305_3_Resolution(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "RFC8305/3/AAAA first: IPv6 starts when AAAA arrives",
			aaaa: simAnswer(20*ms, v6a), a: simAnswer(30*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 20 * ms}},
			winner: v6a, took: 30 * ms,
		},
		{
			name: "RFC8305/3/AAAA first, A never: no wait for A",
			aaaa: simAnswer(20*ms, v6a), a: simNever,
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 20 * ms}},
			winner: v6a, took: 30 * ms,
		},
		{
			name: "RFC8305/3/A first, AAAA inside Resolution Delay: IPv6 starts on AAAA",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 30 * ms}, {v4a, 280 * ms}},
			winner: v4a, took: 290 * ms,
		},
		{
			name: "RFC8305/3/A first, AAAA 1ms before the delay ends: IPv6 first",
			aaaa: simAnswer(59*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 59 * ms}, {v4a, 309 * ms}},
			winner: v4a, took: 319 * ms,
		},
		{
			name: "RFC8305/3/A first, AAAA 1ms after the delay ends: IPv4 at 60ms, IPv6 next (§6)",
			aaaa: simAnswer(61*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 60 * ms}, {v6a, 310 * ms}},
			winner: v6a, took: 320 * ms,
		},
		{
			name: "RFC8305/3/A first, AAAA after Resolution Delay: IPv4 at A+50ms, late IPv6 next (§6)",
			aaaa: simAnswer(80*ms, v6a, v6b), a: simAnswer(10*ms, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 60 * ms}, {v6a, 310 * ms}},
			winner: v6a, took: 320 * ms,
		},
		{
			name: "RFC8305/3/A first, AAAA never: IPv4 at A+50ms",
			aaaa: simNever, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 60 * ms}},
			winner: v4a, took: 65 * ms,
		},
		{
			name: "RFC8305/3/negative AAAA (NODATA) inside the delay ends the wait at once",
			aaaa: resolver.StaticAnswer{Delay: 25 * ms}, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "RFC8305/3/NXDOMAIN AAAA inside the delay ends the wait at once",
			aaaa: simNXDomain(25 * ms), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "RFC8305/3/SERVFAIL AAAA inside the delay ends the wait at once",
			aaaa: simServFail(25 * ms), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 25 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "RFC8305/3/negative AAAA before A: IPv4 starts on A",
			aaaa: simNXDomain(0), a: simAnswer(40*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 40 * ms}},
			winner: v4a, took: 45 * ms,
		},
		{
			name: "RFC8305/8/ResolutionDelay 100ms configured",
			aaaa: simNever, a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			config: func(d *Dialer) { d.ResolutionDelay = 100 * ms },
			want:   []simAt{{v4a, 110 * ms}},
			winner: v4a, took: 115 * ms,
		},
		{
			name: "RFC8305/8/negative ResolutionDelay: IPv4 on A, late IPv6 one Connection Attempt Delay later",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(10*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms), v4a: bh},
			config: func(d *Dialer) { d.ResolutionDelay = -1 },
			want:   []simAt{{v4a, 10 * ms}, {v6a, 260 * ms}},
			winner: v6a, took: 265 * ms,
		},
		{
			name: "RFC8305/3/AAAA after IPv4 attempts failed: IPv6 starts on arrival",
			aaaa: simAnswer(500*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms), v4a: simnet.Refusing(20 * ms)},
			want:   []simAt{{v4a, 50 * ms}, {v6a, 500 * ms}},
			winner: v6a, took: 505 * ms,
		},
		{
			name: "RFC6724/6/rule 1: IPv6 has no route, so A is awaited and IPv4 goes first",
			aaaa: simAnswer(0, v6a), a: simAnswer(30*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.SourceAddr = planIPv4Only },
			want:   []simAt{{v4a, 30 * ms}},
			winner: v4a, took: 40 * ms,
		},
		{
			name: "RFC6724/6/rule 1: IPv6 has no route and A never comes: IPv6 is still tried at 50ms",
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
			// The only address: two backup attempts to it, a Connection
			// Attempt Delay apart (see TestHistory_BackupAttempts).
			want: []simAt{{v6a, 5 * ms}, {v6a, 255 * ms}, {v6a, 505 * ms}},
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

// TestRFC8305_4_Interleave covers RFC 8305 §4: the families
// alternate after First Address Family Count addresses of the first one.
func TestRFC8305_4_Interleave(t *testing.T) {
	bh := simnet.BlackHoled()
	six := []netip.Addr{v6a, v6b, v6c}
	four := []netip.Addr{v4a, v4b, v4c}
	// Every address is black-holed but the last one tried, which connects
	// in 10 ms: the attempts run every 250 ms (§5) and none is aborted.
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
			name: "RFC8305/4/First Address Family Count 1: v6 v4 v6 v4 v6 v4",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts: hosts(v4c),
			want: []simAt{
				{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms},
				{v4b, 750 * ms}, {v6c, 1000 * ms}, {v4c, 1250 * ms},
			},
			winner: v4c, took: 1260 * ms,
		},
		{
			name: "RFC8305/4/First Address Family Count 2: v6 v6 v4 v6 v4 v4",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts:  hosts(v4c),
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want: []simAt{
				{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms},
				{v6c, 750 * ms}, {v4b, 1000 * ms}, {v4c, 1250 * ms},
			},
			winner: v4c, took: 1260 * ms,
		},
		{
			name: "RFC8305/4/First Address Family Count 5 larger than the family: all IPv6, then IPv4",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts:  hosts(v4b),
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 5 },
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}, {v4b, 750 * ms}},
			winner: v4b, took: 760 * ms,
		},
		{
			name: "RFC8305/4/one IPv6, three IPv4: the rest of IPv4 follows",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, four...),
			hosts:  hosts(v4c),
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v4b, 500 * ms}, {v4c, 750 * ms}},
			winner: v4c, took: 760 * ms,
		},
		{
			name: "PreferredFamily IPv4: v4 v6 v4 v6 v4 v6",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts:  hosts(v6c),
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want: []simAt{
				{v4a, 0}, {v6a, 250 * ms}, {v4b, 500 * ms},
				{v6b, 750 * ms}, {v4c, 1000 * ms}, {v6c, 1250 * ms},
			},
			winner: v6c, took: 1260 * ms,
		},
		{
			name: "PreferredFamily IPv4 with count 2: v4 v4 v6 v4 v6 v6",
			aaaa: simAnswer(0, six...), a: simAnswer(0, four...),
			hosts: hosts(v6c),
			config: func(d *Dialer) {
				d.PreferredFamily = resolver.IPv4
				d.FirstAddressFamilyCount = 2
			},
			want: []simAt{
				{v4a, 0}, {v4b, 250 * ms}, {v6a, 500 * ms},
				{v4c, 750 * ms}, {v6b, 1000 * ms}, {v6c, 1250 * ms},
			},
			winner: v6c, took: 1260 * ms,
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

// TestRFC8305_5_Stagger covers RFC 8305 §5: the Connection Attempt Delay,
// its 10 ms floor, and starting the next attempt when one fails.
func TestRFC8305_5_Stagger(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "RFC8305/5/black hole: next attempt at exactly 250ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			winner: v6b, took: 530 * ms,
		},
		{
			name: "RFC8305/5/ConnectionAttemptDelay 100ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 100 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}, {v6b, 200 * ms}},
			winner: v6b, took: 230 * ms,
		},
		{
			name: "RFC8305/5/ConnectionAttemptDelay 1ms is clamped to 10ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = time.Millisecond },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 50 * ms,
		},
		{
			name: "RFC8305/5/negative ConnectionAttemptDelay is clamped to 10ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(30 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = -time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 50 * ms,
		},
		{
			name: "RFC8305/5/refusal at 3ms: next at the 10ms floor",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(3 * ms), v4a: simnet.Accepting(20 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "RFC8305/5/refusal at 40ms: next at once, at 40ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(40 * ms), v4a: simnet.Accepting(20 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 40 * ms}},
			winner: v4a, took: 60 * ms,
		},
		{
			name: "RFC8305/5/unreachable at 0ms: next at 10ms, then 20ms",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: {Kind: simnet.Unreachable}, v4a: {Kind: simnet.Unreachable}, v6b: simnet.Accepting(5 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 25 * ms,
		},
		{
			name: "RFC8305/5/a failure of an older attempt starts the next one at once",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			// v6a fails at 300 ms while v4a (started at 250) still runs:
			// v6b starts at 300, not at 500.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(300 * ms), v4a: bh, v6b: simnet.Accepting(5 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 300 * ms}},
			winner: v6b, took: 305 * ms,
		},
		{
			name: "RFC8305/5/slow first attempt still wins (nodejs/node#54359)",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			// v6a connects at 400 ms; v4a, started at 250, would connect
			// at 600 ms. Starting v4a must not abort v6a.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(400 * ms), v4a: simnet.Accepting(350 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v6a, took: 400 * ms,
		},
		{
			name: "RFC8305/5/three attempts in flight, the first one wins at 900ms",
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

// TestRFC8305_5_Success covers RFC 8305 §5: the first connection wins, no
// attempt starts after it, and every loser is stopped and closed.
func TestRFC8305_5_Success(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "RFC8305/5/no attempt after the winner",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			// v6b would be due at 500 ms; v4a wins at 260 ms.
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms), v6b: simnet.Accepting(1 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 260 * ms,
		},
		{
			// A winner at exactly 250 ms ties with the timer of the next
			// attempt: either order is correct, so the case is 1 ms early.
			name: "RFC8305/5/winner 1ms before the next attempt is due: no new attempt",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(249 * ms), v4a: simnet.Accepting(1 * ms)},
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 249 * ms,
		},
	})
}

// TestRFC8305_5_PhotoFinish: two attempts connect at the same virtual
// instant. Exactly one is returned; the other connection is closed.
func TestRFC8305_5_PhotoFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(260*ms))
		n.Set(v4a, simnet.Accepting(10*ms)) // starts at 250: also done at 260
		d := simDialer(n, dualStatic(v6a, v4a))
		start := time.Now()
		c, err := d.DialContext(t.Context(), "tcp", "example.com:443")
		require.NoError(t, err)
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

// TestRFC8305_5_LateLoserClosed: an attempt whose transport ignores
// cancellation connects 1 ms after the winner; the Dialer closes it and
// reports it to the trace as cancelled.
func TestRFC8305_5_LateLoserClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(261*ms))
		n.Set(v4a, simnet.Accepting(10*ms))
		d := simDialer(n, dualStatic(v6a, v4a))
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
		require.NoError(t, err)
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

// TestRFC8305_6_LateAnswers covers RFC 8305 §3 and §6:
// addresses that arrive after the race began.
func TestRFC8305_6_LateAnswers(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			name: "RFC8305/6/late IPv4 goes next after the in-flight IPv6",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			winner: v6b, took: 510 * ms,
		},
		{
			name: "RFC8305/6/late IPv4 with First Address Family Count 2 waits for the second IPv6",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v6b: bh, v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}},
			winner: v4a, took: 510 * ms,
		},
		{
			name: "RFC8305/6/count 2, AAAA after the Resolution Delay: the late IPv6 goes next",
			aaaa: simAnswer(100*ms, v6a), a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: bh, v4b: bh, v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want:   []simAt{{v4a, 50 * ms}, {v6a, 300 * ms}},
			winner: v6a, took: 310 * ms,
		},
		{
			name: "RFC8305/6/late AAAA after IPv4 started: v4 v6 v4 v6 from then on",
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
			name: "RFC8305/6/late IPv4 addresses interleave with the untried IPv6",
			aaaa: simAnswer(0, v6a, v6b, v6c), a: simAnswer(300*ms, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{
				v6a: bh, v6b: bh, v4a: bh, v6c: bh, v4b: simnet.Accepting(10 * ms),
			},
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}, {v6c, 750 * ms}, {v4b, 1000 * ms}},
			winner: v4b, took: 1010 * ms,
		},
	})
}
