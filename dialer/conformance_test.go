package dialer

// Conformance cases in virtual time, each named after where it comes from:
// the text of RFC 8305 and RFC 6724, and the test suites of other Happy
// Eyeballs implementations (Go's net package, Python asyncio's staggered
// race, tailscale's racing dialer, Chromium's TransportConnectJob, curl).
// Only the facts are carried over (timings, expected orders, edge cases),
// translated to this Dialer's defaults: a Connection Attempt Delay of
// 250 ms where Go and Chromium use 300 ms and curl 200 ms, and a failed
// attempt starting the next one at once but never within 10 ms of the
// previous start (RFC 8305 §5), where Go and asyncio start it at once.
//
// Every case runs twice through runSimCases (helpers_test.go): with
// goroutine attempts and with the first attempt on the caller's goroutine.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestConformance_RFC8305_Resolution holds cases from the text of RFC 8305
// §3 ("Hostname Resolution").
func TestConformance_RFC8305_Resolution(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			// "If a positive A response is received first ... the client
			// SHOULD wait a short time for the AAAA response": with none,
			// IPv4 starts when the Resolution Delay ends.
			name: "RFC 8305 §3: A at 0 and AAAA never: IPv4 at exactly 50ms",
			aaaa: simNever, a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v4a, 50 * ms}},
			winner: v4a, took: 60 * ms,
		},
		{
			// AAAA after A but within the delay: IPv6 starts on it, and
			// when it connects IPv4 is never tried.
			name: "RFC 8305 §3: AAAA 30ms after A, within the delay: IPv6 starts on it and wins alone",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: simnet.Accepting(ms)},
			want:   []simAt{{v6a, 30 * ms}},
			winner: v6a, took: 40 * ms,
		},
		{
			name: "RFC 8305 §3: AAAA within the delay but IPv6 unreachable at once: IPv4 at the 10ms floor",
			aaaa: simAnswer(30*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)}, // v6a: unreachable at once
			want:   []simAt{{v6a, 30 * ms}, {v4a, 40 * ms}},
			winner: v4a, took: 45 * ms,
		},
		{
			// "If a negative AAAA response is received first, the client
			// ... SHOULD NOT wait": a NODATA AAAA before A, then IPv4 starts
			// on A without any Resolution Delay.
			name: "RFC 8305 §3: NODATA AAAA at 0, A at 20ms: IPv4 on A, no Resolution Delay",
			aaaa: resolver.StaticAnswer{}, a: simAnswer(20*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 20 * ms}},
			winner: v4a, took: 25 * ms,
		},
		{
			name: "RFC 8305 §3: AAAA SERVFAIL after the delay changes nothing: IPv4 at A+50ms",
			aaaa: simServFail(80 * ms), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(100 * ms)},
			want:   []simAt{{v4a, 50 * ms}},
			winner: v4a, took: 150 * ms,
		},
		{
			// §3: "the client SHOULD NOT wait for all answers"; once the
			// only IPv6 address failed, the A answer starts IPv4 when it
			// arrives.
			name: "RFC 8305 §3: AAAA first, IPv6 refused at 5ms, A at 100ms: IPv4 on arrival",
			aaaa: simAnswer(0, v6a), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(5 * ms), v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}},
			winner: v4a, took: 110 * ms,
		},
		{
			// Every address known failed, and the A query is still out: its
			// answer could still bring a working address, so the dial
			// waits for it (to the dial's deadline), as net.Dialer, which
			// waits for both answers, would.
			name: "RFC 8305 §3: only IPv6 refused, A never answered: the dial waits for A until its deadline",
			aaaa: simAnswer(0, v6a), a: simNever,
			hosts:   map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(5 * ms)},
			ctxTime: time.Second,
			want:    []simAt{{v6a, 0}},
			took:    time.Second, err: func(t *testing.T, err error) {
				t.Helper()
				wantTimeout(t, err)
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("error %q does not keep the refusal of %v", err, v6a)
				}
			},
		},
		{
			name: "RFC 8305 §3: both families not found: *net.DNSError IsNotFound when the later answer arrives",
			aaaa: simNXDomain(10 * ms), a: simNXDomain(30 * ms),
			took: 30 * ms, err: wantDNSError(true, false),
		},
		{
			// Both queries timed out in the resolver (its servers never
			// answered) before the dial's deadline: *net.DNSError with
			// IsTimeout, and net.Error's Timeout() true, as net.Dialer.
			name: "RFC 8305 §3: both lookups time out in the resolver: a DNSError that is a timeout",
			aaaa: resolver.StaticAnswer{Delay: 5 * time.Second, Err: &net.DNSError{Err: "i/o timeout", Name: "example.com", IsTimeout: true, IsTemporary: true}},
			a:    resolver.StaticAnswer{Delay: 5 * time.Second, Err: &net.DNSError{Err: "i/o timeout", Name: "example.com", IsTimeout: true, IsTemporary: true}},
			took: 5 * time.Second, err: func(t *testing.T, err error) {
				t.Helper()
				wantDNSError(false, true)(t, err)
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error %q: Timeout() is not true", err)
				}
			},
		},
		{
			name: "RFC 8305 §3: AAAA not found and A never answered: the dial's deadline ends it as a timeout",
			aaaa: simNXDomain(0), a: simNever,
			ctxTime: 500 * ms,
			took:    500 * ms, err: wantTimeout,
		},
		{
			// An AAAA answer whose every address is unusable (a zone-less
			// link-local address has no interface to go through) is, for
			// the Resolution Delay, a negative one: IPv4 starts on it.
			name: "RFC 8305 §3: AAAA with only unusable addresses inside the delay ends the wait",
			aaaa: simAnswer(20*ms, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)},
			want:   []simAt{{v4a, 20 * ms}},
			winner: v4a, took: 25 * ms,
		},
		{
			// The Resolution Delay applies to a positive A only: a
			// black-holed IPv4 first still leaves IPv6 to start on its
			// answer as soon as it comes after the delay (§6).
			name: "RFC 8305 §3+§6: A at 0, IPv4 black-holed, AAAA at 120ms: IPv6 on arrival",
			aaaa: simAnswer(120*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 50 * ms}, {v6a, 300 * ms}},
			winner: v6a, took: 310 * ms,
		},
	})
}

// TestConformance_RFC8305_Sorting holds cases from RFC 8305 §4 ("Sorting
// of Resolved Destination Addresses") and the RFC 6724 rules it applies.
func TestConformance_RFC8305_Sorting(t *testing.T) {
	bh := simnet.BlackHoled()
	ula := netip.MustParseAddr("fd00::1")
	teredo := netip.MustParseAddr("2001:0:c000:201::1")
	sixToFour := netip.MustParseAddr("2002:c000:201::1")
	runSimCases(t, []simCase{
		{
			// RFC 6724 leaves equal destinations in the order DNS gave;
			// RFC 8305 §4 then interleaves the two lists.
			name: "RFC 8305 §4: DNS order kept within each family, then interleaved",
			aaaa: simAnswer(0, v6b, v6a), a: simAnswer(0, v4b, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6b: bh, v4b: bh, v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6b, 0}, {v4b, 250 * ms}, {v6a, 500 * ms}, {v4a, 750 * ms}},
			winner: v4a, took: 760 * ms,
		},
		{
			// RFC 6724 §6 rule 5 (matching label) and rule 6 (precedence:
			// fc00::/7 has 3, ::ffff:0:0/96 has 35): a ULA destination
			// goes after IPv4, so once both answers are in (AAAA inside
			// the Resolution Delay) IPv4 is the first family. (An AAAA
			// that comes first starts at once, RFC 8305 §3, whatever its
			// precedence: the A answer is not known yet.)
			name: "RFC 6724 §6 rule 6: ULA IPv6 (precedence 3) after IPv4 (35): IPv4 goes first",
			aaaa: simAnswer(20*ms, ula), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{ula: simnet.Accepting(10 * ms), v4a: bh},
			want:   []simAt{{v4a, 20 * ms}, {ula, 270 * ms}},
			winner: ula, took: 280 * ms,
		},
		{
			name: "RFC 6724 §6 rule 6: Teredo (2001::/32, precedence 5) after IPv4: IPv4 goes first",
			aaaa: simAnswer(20*ms, teredo), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{teredo: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v4a, 20 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			// Within one family: native IPv6 (label 1, like the source)
			// before 6to4 (label 2), whatever order DNS gave.
			name: "RFC 6724 §6 rule 5: native IPv6 before 6to4 whatever the DNS order",
			aaaa: simAnswer(0, sixToFour, v6a), a: resolver.StaticAnswer{},
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, sixToFour: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {sixToFour, 250 * ms}},
			winner: sixToFour, took: 260 * ms,
		},
		{
			name: "RFC 8305 §4: PreferredFamily IPv4 with no A records: IPv6 is still tried",
			aaaa: simAnswer(0, v6a), a: resolver.StaticAnswer{},
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 10 * ms,
		},
		{
			// §4: "the next address SHOULD be the first address of the
			// other family"; with First Address Family Count 3 and only
			// two IPv6 addresses the IPv4 ones follow in order.
			name: "RFC 8305 §4: First Address Family Count 3, two IPv6 and two IPv4: v6 v6 v4 v4",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v6b: bh, v4a: bh, v4b: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 3 },
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}, {v4a, 500 * ms}, {v4b, 750 * ms}},
			winner: v4b, took: 760 * ms,
		},
	})
}

// TestConformance_RFC8305_Attempts holds cases from RFC 8305 §5
// ("Connection Attempts").
func TestConformance_RFC8305_Attempts(t *testing.T) {
	bh := simnet.BlackHoled()
	refused := wantDialError
	runSimCases(t, []simCase{
		{
			// §5: "as soon as the first connection attempt fails ... the
			// next connection attempt SHOULD be started".
			name: "RFC 8305 §5: a chain of refusals at 100ms: each failure starts the next at once",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a, v4b),
			hosts: map[netip.Addr]simnet.Behavior{
				v6a: simnet.Refusing(100 * ms), v4a: simnet.Refusing(100 * ms),
				v6b: simnet.Refusing(100 * ms), v4b: simnet.Accepting(10 * ms),
			},
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}, {v6b, 200 * ms}, {v4b, 300 * ms}},
			winner: v4b, took: 310 * ms,
		},
		{
			// A failure starts the next attempt counted from the failure,
			// while the older black-holed attempt keeps running.
			name: "RFC 8305 §5: second attempt refused at 350ms: third at once, the first still running",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Refusing(100 * ms), v6b: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 350 * ms}},
			winner: v6b, took: 360 * ms,
		},
		{
			name: "RFC 8305 §5: ConnectionAttemptDelay 2s, the recommended maximum, is honoured",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 2 * time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 2 * time.Second}},
			winner: v4a, took: 2*time.Second + 10*ms,
		},
		{
			name: "RFC 8305 §5: ConnectionAttemptDelay 5s is lowered to 2s, the recommended maximum",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 5 * time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 2 * time.Second}},
			winner: v4a, took: 2*time.Second + 10*ms,
		},
		{
			name: "RFC 8305 §5: ConnectionAttemptDelay 10ms, the minimum, is honoured",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 10 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			winner: v6b, took: 30 * ms,
		},
		{
			name: "RFC 8305 §5: ConnectionAttemptDelay 9ms is raised to 10ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 9 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 20 * ms,
		},
		{
			name: "RFC 8305 §5: every attempt fails: the error comes with the last failure and lists each",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(30 * ms), v4a: simnet.Refusing(300 * ms)},
			want:  []simAt{{v6a, 0}, {v4a, 30 * ms}},
			took:  330 * ms, err: refused([]simAt{{v6a, 0}, {v4a, 30 * ms}}, syscall.ECONNREFUSED),
		},
		{
			// §5: once one attempt succeeds the others are cancelled; the
			// slower one that already ran for 240 ms is not kept.
			name: "RFC 8305 §5: the later attempt wins, the earlier one is cancelled",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(400 * ms), v4a: simnet.Accepting(20 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 270 * ms,
		},
	})
}

// TestConformance_RFC8305_LateAnswers holds cases from RFC 8305 §6
// ("DNS Answer Changes during Happy Eyeballs Connection Setup").
func TestConformance_RFC8305_LateAnswers(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		{
			// §6: late addresses are added to the list of untried
			// addresses, sorted; the family interleaving restarts there.
			name: "RFC 8305 §6: AAAA at 300ms with two IPv4 untried: v4 v6 v4 from then on",
			aaaa: simAnswer(300*ms, v6a), a: simAnswer(0, v4a, v4b, v4c),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: bh, v4b: bh, v6a: bh, v4c: simnet.Accepting(10 * ms)},
			want:   []simAt{{v4a, 50 * ms}, {v4b, 300 * ms}, {v6a, 550 * ms}, {v4c, 800 * ms}},
			winner: v4c, took: 810 * ms,
		},
		{
			name: "RFC 8305 §6: late IPv4 while the lone IPv6 attempt is still running: IPv4 next",
			aaaa: simAnswer(0, v6a), a: simAnswer(100*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 260 * ms,
		},
	})
}

// TestConformance_OtherSuites holds cases carried from other
// implementations' test suites.
func TestConformance_OtherSuites(t *testing.T) {
	bh := simnet.BlackHoled()
	runSimCases(t, []simCase{
		// Go's net package, dial_test.go.
		{
			name: "Go net TestDialParallel: primary connects at once: the fallback never starts",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(0), v4a: simnet.Accepting(0)},
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 0,
		},
		{
			name: "Go net TestDialParallel: slow primary, fast fallback: the fallback wins after the delay",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(400 * ms), v4a: simnet.Accepting(100 * ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 350 * ms,
		},
		{
			name: "Go net TestDialParallel: primary refused at once: the fallback starts without the delay (10ms floor)",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(0), v4a: simnet.Accepting(0)},
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 10 * ms,
		},
		{
			name: "Go net TestDialParallel: both refused: one error naming both",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(0), v4a: simnet.Refusing(0)},
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}},
			took:  10 * ms, err: wantDialError([]simAt{{v6a, 0}, {v4a, 10 * ms}}, syscall.ECONNREFUSED),
		},
		{
			name: "Go net TestDialParallel: both refused well inside a Timeout: a refusal, not a timeout",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(0), v4a: simnet.Refusing(0)},
			config: func(d *Dialer) { d.Timeout = time.Second },
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			took:   10 * ms, err: func(t *testing.T, err error) {
				t.Helper()
				var ne net.Error
				if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("error %q reads as a timeout", err)
				}
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("error %q is not ECONNREFUSED", err)
				}
			},
		},
		{
			// net.Dialer's Timeout covers the lookup: when it ends there,
			// the error is the lookup's, worded as net.Dialer words it.
			name: "Go net TestDialTimeout: Timeout 100ms ends a lookup that never answers: \"lookup …: i/o timeout\"",
			aaaa: simNever, a: simNever,
			config: func(d *Dialer) { d.Timeout = 100 * ms },
			took:   100 * ms, err: func(t *testing.T, err error) {
				t.Helper()
				wantTimeout(t, err)
				wantDNSError(false, true)(t, err)
				if got, want := err.Error(), "dial tcp: lookup example.com: i/o timeout"; got != want {
					t.Errorf("Error() = %q; want %q", got, want)
				}
			},
		},
		{
			name: "Go net TestDialCancel: cancelled during a lookup: \"lookup …: operation was canceled\"",
			aaaa: simNever, a: simNever,
			cancel: 100 * ms,
			took:   100 * ms, err: func(t *testing.T, err error) {
				t.Helper()
				wantCanceled(t, err)
				if got, want := err.Error(), "dial tcp: lookup example.com: operation was canceled"; got != want {
					t.Errorf("Error() = %q; want %q", got, want)
				}
			},
		},
		{
			name: "Go net TestDialerFallbackDelay: a configured 1s delay starts the fallback at 1s",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(0)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = time.Second },
			want:   []simAt{{v6a, 0}, {v4a, time.Second}},
			winner: v4a, took: time.Second,
		},
		{
			name: "Go net TestDialCancel: cancelled at 100ms while black-holed: context.Canceled at 100ms",
			aaaa: simAnswer(0, v6a), a: resolver.StaticAnswer{},
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh},
			cancel: 100 * ms,
			want:   []simAt{{v6a, 0}},
			took:   100 * ms, err: wantCanceled,
		},
		{
			name: "Go net TestDialTimeout: Timeout 100ms, black-holed: a timeout at 100ms",
			aaaa: simAnswer(0, v6a), a: resolver.StaticAnswer{},
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh},
			config: func(d *Dialer) { d.Timeout = 100 * ms },
			// Unlike net.Dialer, the lone address gets two backup attempts
			// on new sockets (see TestHistory_BackupAttempts), paced by
			// the Connection Attempt Delay shortened near the deadline.
			want: []simAt{{v6a, 0}, {v6a, 50 * ms}, {v6a, 75 * ms}},
			took: 100 * ms, err: wantTimeout,
		},
		{
			name: "Go net TestDialTimeoutMaxDuration: Timeout of the largest Duration dials",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms)},
			config: func(d *Dialer) { d.Timeout = 1<<63 - 1 },
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 5 * ms,
		},
		{
			name: "Go net TestDialTimeoutMaxDuration: Deadline the largest Duration away dials",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(5 * ms)},
			config: func(d *Dialer) { d.Deadline = time.Now().Add(1<<63 - 1) },
			want:   []simAt{{v6a, 0}},
			winner: v6a, took: 5 * ms,
		},
		{
			name: "Go net dial.go: a Deadline in the past fails at once as a timeout, nothing tried",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(0)},
			config: func(d *Dialer) { d.Deadline = time.Now().Add(-time.Second) },
			took:   0, err: wantTimeout,
		},

		// Python asyncio, test_staggered.py and the happy eyeballs tests
		// of test_base_events.py.
		{
			name: "asyncio staggered: first fails at 30ms: second starts then, not at the delay",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(30 * ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 100 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 30 * ms}},
			winner: v4a, took: 40 * ms,
		},
		{
			name: "asyncio staggered: delay 100ms, first hangs: second at 100ms wins, first cancelled",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(0)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 100 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 100 * ms}},
			winner: v4a, took: 100 * ms,
		},
		{
			name: "asyncio staggered: none successful: every error kept, in start order",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts: map[netip.Addr]simnet.Behavior{v6a: simnet.Refusing(5 * ms), v4a: simnet.Refusing(5 * ms), v6b: simnet.Refusing(5 * ms)},
			want:  []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}},
			took:  25 * ms, err: wantDialError([]simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}}, syscall.ECONNREFUSED),
		},
		{
			name: "asyncio happy eyeballs: interleave 2 over three of each: v6 v6 v4 v6 v4 v4",
			aaaa: simAnswer(0, v6a, v6b, v6c), a: simAnswer(0, v4a, v4b, v4c),
			hosts: map[netip.Addr]simnet.Behavior{
				v6a: simnet.Refusing(0), v6b: simnet.Refusing(0), v4a: simnet.Refusing(0),
				v6c: simnet.Refusing(0), v4b: simnet.Refusing(0), v4c: simnet.Accepting(0),
			},
			config: func(d *Dialer) { d.FirstAddressFamilyCount = 2 },
			want:   []simAt{{v6a, 0}, {v6b, 10 * ms}, {v4a, 20 * ms}, {v6c, 30 * ms}, {v4b, 40 * ms}, {v4c, 50 * ms}},
			winner: v4c, took: 50 * ms,
		},

		// mxinden/happy-eyeballs (the Rust state machine Firefox uses),
		// tests/integration.rs, HEv3 §4.2 "move on" conditions.
		{
			name: "Rust happy-eyeballs move_on_non_timeout: IPv4 preferred, AAAA first, then A: IPv4 goes first",
			aaaa: simAnswer(0, v6a), a: simAnswer(20*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(ms), v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   []simAt{{v4a, 20 * ms}},
			winner: v4a, took: 30 * ms,
		},
		{
			name: "Rust happy-eyeballs move_on_non_timeout: IPv4 preferred, A negative: IPv6 at once",
			aaaa: simAnswer(0, v6a), a: simNXDomain(10 * ms),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.PreferredFamily = resolver.IPv4 },
			want:   []simAt{{v6a, 10 * ms}},
			winner: v6a, took: 20 * ms,
		},
		{
			name: "Rust happy-eyeballs move_on_timeout: only A, after the Resolution Delay",
			aaaa: simNever, a: simAnswer(5*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			want:   []simAt{{v4a, 55 * ms}},
			winner: v4a, took: 65 * ms,
		},

		// tailscale net/netx racedial_test.go.
		{
			name: "tailscale racedial: all black holes until cancelled: staggered starts, context.Canceled",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: bh},
			cancel: 600 * ms,
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}, {v6b, 500 * ms}},
			took:   600 * ms, err: wantCanceled,
		},
		{
			name: "tailscale racedial: the second address answers first and wins; the first is closed",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(300 * ms), v4a: simnet.Accepting(ms)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 251 * ms,
		},

		// Chromium net/socket/transport_connect_job_unittest.cc.
		{
			name: "Chromium TransportConnectJob IPv6FallbackTimerExpires: IPv6 hangs, IPv4 after the delay",
			aaaa: simAnswer(0, v6a, v6b), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v6b: bh, v4a: simnet.Accepting(0)},
			want:   []simAt{{v6a, 0}, {v4a, 250 * ms}},
			winner: v4a, took: 250 * ms,
		},
		{
			name: "Chromium TransportConnectJob IPv6NoIPv4AddressesToFallbackTo: second IPv6 after the delay",
			aaaa: simAnswer(0, v6a, v6b), a: resolver.StaticAnswer{},
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v6b: simnet.Accepting(10 * ms)},
			want:   []simAt{{v6a, 0}, {v6b, 250 * ms}},
			winner: v6b, took: 260 * ms,
		},
		{
			name: "Chromium TransportConnectJob IPv4HasNoFallback: IPv4-only name, second IPv4 after the delay",
			aaaa: resolver.StaticAnswer{}, a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: bh, v4b: simnet.Accepting(10 * ms)},
			want:   []simAt{{v4a, 0}, {v4b, 250 * ms}},
			winner: v4b, took: 260 * ms,
		},
		{
			name: "Chromium TransportConnectJob IPv6FallbackSynchronousIPv6Failure: IPv4 without the delay",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(5 * ms)}, // v6a unreachable at once
			want:   []simAt{{v6a, 0}, {v4a, 10 * ms}},
			winner: v4a, took: 15 * ms,
		},

		// curl: --happy-eyeballs-timeout-ms, 200 ms by default.
		{
			name: "curl happy-eyeballs-timeout-ms 200: IPv6 hangs, IPv4 at 200ms",
			aaaa: simAnswer(0, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(20 * ms)},
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 200 * ms },
			want:   []simAt{{v6a, 0}, {v4a, 200 * ms}},
			winner: v4a, took: 220 * ms,
		},
	})
}

// TestConformance_RFC8305_NAT64 holds cases from RFC 8305 §7 ("Supporting
// IPv6-Only Networks with NAT64 and DNS64") on a host with only an IPv6
// route and a known Pref64 (2001:db8:64::/96).
func TestConformance_RFC8305_NAT64(t *testing.T) {
	bh := simnet.BlackHoled()
	synth := func(v4 netip.Addr) netip.Addr {
		b := pref64.Addr().As16()
		a4 := v4.As4()
		copy(b[12:], a4[:])
		return netip.AddrFrom16(b)
	}
	nat64 := func(d *Dialer) { d.SourceAddr, d.NAT64Prefix = ipv6Only, pref64 }
	runSimCases(t, []simCase{
		{
			// §7.1: "the client SHOULD synthesize IPv6 addresses" from A
			// records when the network has only IPv6 and a NAT64.
			name: "RFC 8305 §7.1: A-only name, IPv6-only host: the synthesized address is tried at once",
			aaaa: resolver.StaticAnswer{}, a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{synth(v4a): simnet.Accepting(10 * ms)},
			config: nat64,
			want:   []simAt{{synth(v4a), 0}},
			winner: synth(v4a), took: 10 * ms,
		},
		{
			// The IPv4 addresses stay candidates (RFC 6724 rule 1 sorts
			// them last, then §4's interleaving brings the first one to
			// second place: a deliberate choice, see TestPlan); it fails
			// at once with no route, and the next synthesized address
			// follows at the 10 ms floor.
			name: "RFC 8305 §7.1: two A records: both synthesized, in order; the unroutable IPv4 costs 10ms",
			aaaa: resolver.StaticAnswer{}, a: simAnswer(0, v4a, v4b),
			hosts:  map[netip.Addr]simnet.Behavior{synth(v4a): bh, synth(v4b): simnet.Accepting(10 * ms)},
			config: nat64,
			want:   []simAt{{synth(v4a), 0}, {v4a, 250 * ms}, {synth(v4b), 260 * ms}},
			winner: synth(v4b), took: 270 * ms,
		},
		{
			// The Resolution Delay still applies: an A answer first waits
			// for AAAA (§3), though synthesis made IPv6 addresses of it,
			// and a native AAAA then goes first. (Then the unroutable
			// IPv4, failing at once, and the NAT64 address 10 ms later.)
			name: "RFC 8305 §3+§7: A first, native AAAA inside the delay: native IPv6 first, synthesized later",
			aaaa: simAnswer(20*ms, v6a), a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v6a: bh, synth(v4a): simnet.Accepting(10 * ms)},
			config: nat64,
			want:   []simAt{{v6a, 20 * ms}, {v4a, 270 * ms}, {synth(v4a), 280 * ms}},
			winner: synth(v4a), took: 290 * ms,
		},
		{
			name: "RFC 8305 §3+§7: A first, AAAA never: the synthesized address waits the Resolution Delay",
			aaaa: simNever, a: simAnswer(0, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{synth(v4a): simnet.Accepting(10 * ms)},
			config: nat64,
			want:   []simAt{{synth(v4a), 50 * ms}},
			winner: synth(v4a), took: 60 * ms,
		},
	})
}

// TestConformance_FamilyRestricted: "tcp4" and "tcp6" on a name without
// records of that family fail as net.Dialer does: *net.DNSError, not
// found, when that family's answer comes, without waiting for the other.
func TestConformance_FamilyRestricted(t *testing.T) {
	runSimCases(t, []simCase{
		{
			name: "Go net: tcp6 on an IPv4-only name: not found when AAAA answers",
			aaaa: resolver.StaticAnswer{Delay: 10 * ms}, a: simAnswer(0, v4a),
			hosts:   map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(ms)},
			network: "tcp6",
			took:    10 * ms, err: wantDNSError(true, false),
		},
		{
			name: "Go net: tcp4 on an IPv6-only name: not found when A answers",
			aaaa: simAnswer(0, v6a), a: simNXDomain(10 * ms),
			hosts:   map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(ms)},
			network: "tcp4",
			took:    10 * ms, err: wantDNSError(true, false),
		},
	})
}
