package dialer

// Dialer.DialContext in virtual time: what it does with its input (networks,
// IP literals, malformed addresses, local addresses), with its context and
// deadlines, and with resolvers and DialAttempt hooks that misbehave.

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
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestDialer_DialContext_Families: "tcp4" and "tcp6" ask only their family, "tcp"
// asks AAAA then A (RFC 8305 §3).
func TestDialer_DialContext_Families(t *testing.T) {
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
				r := &recordingResolver{Static: resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)}}
				start := time.Now()
				c, err := simDialer(n, r).DialContext(t.Context(), tc.network, "example.com:443")
				require.NoError(t, err)
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

// TestDialer_DialContext_Literals: an IP literal is one attempt with no DNS.
func TestDialer_DialContext_Literals(t *testing.T) {
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
				require.NoError(t, err)
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

// TestDialer_DialContext_LiteralRefused: a refused literal gives a DialError with
// its one attempt and no DNS error.
func TestDialer_DialContext_LiteralRefused(t *testing.T) {
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

// TestDialer_DialContext_NameLength: a 253-byte name (254 with the root dot) is
// looked up; one longer is not.
func TestDialer_DialContext_NameLength(t *testing.T) {
	label := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label, label, label, strings.Repeat("b", 61)}, ".")
	if len(name253) != 253 {
		t.Fatalf("len = %d", len(name253))
	}
	for _, host := range []string{name253, name253 + "."} {
		synctest.Test(t, func(t *testing.T) {
			n := new(simnet.Network)
			n.Set(v4a, simnet.Accepting(ms))
			r := &recordingResolver{Static: resolver.Static{A: simAnswer(0, v4a)}}
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

// TestDialer_DialContext_NilContext: a nil context is an error, not a panic.
func TestDialer_DialContext_NilContext(t *testing.T) {
	d := simDialer(new(simnet.Network), simFailResolver{t})
	//lint:ignore SA1012 the nil context is the point of the test
	c, err := d.DialContext(nil, "tcp", "example.com:443") //nolint:staticcheck
	if err == nil {
		c.Close()
		t.Fatal("dial with a nil context succeeded")
	}
	checkOpError(t, err)
}

// TestDialer_DialContext_EmptyHost: ":port" means the local system, as for
// net.Dialer; it is handed to net.Dialer on the real network, without DNS.
func TestDialer_DialContext_EmptyHost(t *testing.T) {
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

// TestDialer_DialContext_ServiceName: a service name is looked up as net.Dialer
// does; an unknown one fails before any DNS or attempt. It runs in real
// time: the lookup may use cgo, whose thread limiter must not be created
// inside a synctest bubble.
func TestDialer_DialContext_ServiceName(t *testing.T) {
	n := new(simnet.Network)
	n.Set(v4a, simnet.Accepting(0))
	d := simDialer(n, &resolver.Static{AAAA: resolver.StaticAnswer{}, A: simAnswer(0, v4a)})
	d.ResolutionDelay = -1
	c, err := d.DialContext(t.Context(), "tcp", "example.com:https")
	require.NoError(t, err)
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

// TestDialer_DialContext_LocalAddr: a LocalAddr with an IP limits the attempts to
// its family (both families are still asked, as net.Dialer does, so that a
// name with only the other family gets "no suitable address"); one of
// another type is an error.
func TestDialer_DialContext_LocalAddr(t *testing.T) {
	for _, tc := range []struct {
		name    string
		local   net.Addr
		address string
		want    string // families asked, or the error
	}{
		{"IPv4 local address tries only IPv4", &net.TCPAddr{IP: net.ParseIP("192.0.2.100")}, "example.com:443", "[[IPv6 IPv4]] tried [192.0.2.1:443]"},
		{"IPv6 local address tries only IPv6", &net.TCPAddr{IP: net.ParseIP("2001:db8::100")}, "example.com:443", "[[IPv6 IPv4]] tried [[2001:db8::1]:443]"},
		{"port-only local address tries both", &net.TCPAddr{Port: 5000}, "example.com:443", "[[IPv6 IPv4]] tried [[2001:db8::1]:443]"},
		{"typed nil local address is none", (*net.TCPAddr)(nil), "example.com:443", "[[IPv6 IPv4]] tried [[2001:db8::1]:443]"},
		{"IPv4 local address, IPv6 literal", &net.TCPAddr{IP: net.ParseIP("192.0.2.100")}, "[2001:db8::1]:443", "no suitable address"},
		{"UDP local address", &net.UDPAddr{IP: net.ParseIP("192.0.2.100")}, "example.com:443", "mismatched local address type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(v6a, simnet.Accepting(ms))
				n.Set(v4a, simnet.Accepting(ms))
				r := &recordingResolver{Static: resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a)}}
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
				require.NoError(t, err)
				c.Close()
				var asked [][]resolver.Family
				for _, q := range r.Queries() {
					asked = append(asked, q.Families)
				}
				var tried []string
				for _, a := range n.Attempts() {
					tried = append(tried, a.Addr.String())
				}
				if got := fmt.Sprint(asked) + " tried " + fmt.Sprint(tried); got != tc.want {
					t.Errorf("families asked %s; want %s", got, tc.want)
				}
			})
		})
	}
}

// TestDialer_DialContext_HostileResolver: whatever a resolver sends, the dial uses
// only valid, deduplicated addresses of the family asked, one answer per
// family, and treats a family left unanswered as failed.
func TestDialer_DialContext_HostileResolver(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:192.0.2.2")
	for _, tc := range []struct {
		name    string
		network string // "tcp" when empty
		r       resolver.Resolver
		want    []simAt
		took    time.Duration
		check   func(*testing.T, error)
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
			name:    "an answer for a family not asked is ignored (tcp6)",
			network: "tcp6",
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
				start := time.Now()
				c, err := simDialer(n, tc.r).DialContext(t.Context(), cmp.Or(tc.network, "tcp"), "example.com:443")
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

// TestDialer_DialAttempt_Contract: a DialAttempt hook that returns
// neither a connection nor an error, or both, is a failed attempt (the
// connection closed), and the race goes on.
func TestDialer_DialAttempt_Contract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(ms))
		n.Set(v6b, simnet.Accepting(ms))
		n.Set(v4a, simnet.Accepting(ms))
		d := simDialer(n, &resolver.Static{AAAA: simAnswer(0, v6a, v6b), A: simAnswer(0, v4a)})
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
		require.NoError(t, err)
		defer c.Close()
		if got := c.RemoteAddr().String(); got != "[2001:db8::2]:443" || time.Since(start) != 21*ms {
			t.Errorf("won by %s at %v; want [2001:db8::2]:443 at 21ms", got, time.Since(start))
		}
		synctest.Wait()
		checkSimAttempts(t, n, start, time.Since(start), c, []simAt{{v6a, 0}, {v4a, 10 * ms}, {v6b, 20 * ms}})
	})
}

// TestDialer_DialContext_Cancel: a cancelled dial returns at the same virtual
// instant, starts nothing more, and stops every attempt in flight.
func TestDialer_DialContext_Cancel(t *testing.T) {
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

// TestDialer_DialContext_DoneContext: a context that is already done fails the
// dial at once, with no attempt.
func TestDialer_DialContext_DoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(0))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		for _, addr := range []string{"example.com:443", "[2001:db8::1]:443"} {
			_, err := simDialer(n, dualStatic(v6a, v4a)).DialContext(ctx, "tcp", addr)
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

// TestDialer_DialContext_Deadline covers Timeout, Deadline and the context's
// deadline: the earliest wins, and it covers DNS and connecting. Near the
// deadline the waits shrink so that every address is still tried: the
// Connection Attempt Delay (RFC 8305 §5) and the Resolution Delay (§3)
// last at most the time left divided by one more than the number of
// addresses not yet tried (half of it when one is left), and never less
// than the 10 ms minimum of §5.
func TestDialer_DialContext_Deadline(t *testing.T) {
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
			name: "RFC8305/3/Resolution Delay shortened near the deadline: IPv4 still tried",
			aaaa: simNever, a: simAnswer(50*ms, v4a),
			hosts:  map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.Timeout = 100 * ms },
			want:   []simAt{{v4a, 75 * ms}},
			winner: v4a, took: 85 * ms,
		},
		{
			name: "RFC8305/3/Timeout 1s, far from the deadline: the full Resolution Delay",
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

// TestDialer_DialContext_ResolverIgnoresContext: a resolver that never answers and
// ignores cancellation does not keep a cancelled dial waiting.
func TestDialer_DialContext_ResolverIgnoresContext(t *testing.T) {
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

// TestDialer_DialContext_Concurrent: one Dialer used by many dials at once;
// each keeps its own schedule (the Dialer holds no per-dial state).
func TestDialer_DialContext_Concurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(n, dualStatic(v6a, v4a))
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
