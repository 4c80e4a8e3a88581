package dialer

// The Trace and httptrace hooks (trace.go), and LogTrace, in virtual time.

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

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

// TestTrace: every hook fires once per event, in order, with
// exact offsets; losers report Cancelled after the dial returns.
func TestTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if !time.Now().Equal(simEpoch) {
			t.Fatalf("synctest epoch is %v; the test assumes %v", time.Now(), simEpoch)
		}
		n := new(simnet.Network)
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Refusing(5*ms))
		n.Set(v4b, simnet.Accepting(10*ms))
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(10*ms, v6a), A: simAnswer(30*ms, v4a, v4b)})
		var ev, hev simEvents
		ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
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

// TestTrace_Failure: a failed dial reports negative answers with
// their error and one DialDone with the error; httptrace's DNSDone carries
// the error when no address was found.
func TestTrace_Failure(t *testing.T) {
	t.Run("all refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := new(simnet.Network)
			n.Set(v4a, simnet.Refusing(5*ms))
			d := simDialer(n, &resolver.Static{AAAA: simNXDomain(5 * ms), A: simAnswer(20*ms, v4a)})
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
			d := simDialer(new(simnet.Network), &resolver.Static{AAAA: simNXDomain(5 * ms), A: simNXDomain(8 * ms)})
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
			d := simDialer(new(simnet.Network), &resolver.Static{AAAA: simNever, A: simNever})
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

// TestTrace_Literal: an IP literal fires no DNS hooks.
func TestTrace_Literal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v4a, simnet.Accepting(3*ms))
		var ev, hev simEvents
		ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
		c, err := simDialer(n, simFailResolver{t}).DialContext(ctx, "tcp", "192.0.2.1:443")
		require.NoError(t, err)
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

// TestTrace_WinBeforeDNSDone: a dial that wins while a family is
// still unanswered fires httptrace's DNSDone once, at the win, with the
// addresses known then; the missing family never reports a DNSAnswer.
func TestTrace_WinBeforeDNSDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(10*ms))
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(5*ms, v6a), A: simNever})
		var ev, hev simEvents
		ctx := httptrace.WithClientTrace(WithTrace(t.Context(), ev.trace()), hev.httpTrace())
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		synctest.Wait()
		diffLines(t, "Trace", ev.take(), []string{
			"DNSAnswer IPv6 example.com [2001:db8::1] err=false @5ms",
			"AttemptStart #0 [2001:db8::1]:443 @5ms",
			"AttemptDone #0 [2001:db8::1]:443 won=true cancelled=false err=false @15ms ran 10ms",
			"DialDone example.com [2001:db8::1]:443 attempts=1 err=false @15ms",
		})
		diffLines(t, "httptrace", hev.take(), []string{
			"DNSStart example.com @0s",
			"ConnectStart tcp6 [2001:db8::1]:443 @5ms",
			"ConnectDone tcp6 [2001:db8::1]:443 err=false @15ms",
			"DNSDone [2001:db8::1] err=false @15ms",
		})
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
		d.History = new(History)
		var lines []string
		var mu sync.Mutex
		logf := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
		}
		ctx := WithTrace(context.Background(), LogTrace(logf))
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
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
		assert.Equal(t, want, lines, "log")
		lines = nil
		mu.Unlock()

		// The next dial knows: IPv6 went unanswered, IPv4 connected in
		// 20 ms. The line says what the history changed.
		c, err = d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		synctest.Wait()
		want = []string{
			"happyeyeballs: +0s example.com AAAA answer: [2001:db8::1]",
			"happyeyeballs: +5ms example.com A answer: [192.0.2.1]",
			"happyeyeballs: +5ms attempt 0 to 192.0.2.1:443 started, known history, moved ahead by history, next in 100ms (RTT from history)",
			"happyeyeballs: +25ms attempt 0 to 192.0.2.1:443 connected in 20ms and won",
			"happyeyeballs: +25ms dial to example.com connected to 192.0.2.1:443 after 1 attempt(s)",
		}
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, want, lines, "log")
	})
}
