package resolver

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"
)

// TestClient_ServerStagger checks RFC 8305 §3.1's Happy Eyeballs over DNS
// servers in virtual time: the next server is asked after serverStagger, or
// at once when the previous one fails; the first answer wins; outpaced
// servers go to the back.
func TestClient_ServerStagger(t *testing.T) {
	ms := time.Millisecond
	s1, s2, s3 := netip.MustParseAddrPort("[2001:db8::53]:53"), netip.MustParseAddrPort("192.0.2.53:53"), netip.MustParseAddrPort("192.0.2.54:53")
	type step struct {
		host    string
		wantAt  time.Duration
		wantPos bool
		wantTo  []netip.AddrPort // servers asked, in order
	}
	tests := []struct {
		name    string
		servers []netip.AddrPort
		delay   map[netip.AddrPort]time.Duration // -1: never answers
		rcode   map[netip.AddrPort]int           // reply with this rcode instead
		steps   []step
	}{
		{
			name:    "first server dead: the second answers after the stagger, then goes first",
			servers: []netip.AddrPort{s1, s2},
			delay:   map[netip.AddrPort]time.Duration{s1: -1, s2: 5 * ms},
			steps: []step{
				{"dual.test", serverStagger + 5*ms, true, []netip.AddrPort{s1, s2}},
				{"v4.test", 5 * ms, true, []netip.AddrPort{s2}},
			},
		},
		{
			name:    "SERVFAIL: the next server at once",
			servers: []netip.AddrPort{s1, s2},
			delay:   map[netip.AddrPort]time.Duration{s1: 10 * ms, s2: 5 * ms},
			rcode:   map[netip.AddrPort]int{s1: dns.RcodeServerFailure},
			steps: []step{
				{"dual.test", 15 * ms, true, []netip.AddrPort{s1, s2}},
				// SERVFAIL is an answer from a live server: no penalty.
				{"v4.test", 15 * ms, true, []netip.AddrPort{s1, s2}},
			},
		},
		{
			name:    "all slow: one query per server per stagger, the first reply wins",
			servers: []netip.AddrPort{s1, s2, s3},
			delay:   map[netip.AddrPort]time.Duration{s1: 600 * ms, s2: 600 * ms, s3: 600 * ms},
			steps:   []step{{"dual.test", 600 * ms, true, []netip.AddrPort{s1, s2, s3}}},
		},
		{
			name:    "outpaced: the faster second server wins and goes first",
			servers: []netip.AddrPort{s1, s2},
			delay:   map[netip.AddrPort]time.Duration{s1: 400 * ms, s2: 10 * ms},
			steps: []step{
				{"dual.test", serverStagger + 10*ms, true, []netip.AddrPort{s1, s2}},
				{"v4.test", 10 * ms, true, []netip.AddrPort{s2}},
			},
		},
		{
			name:    "NXDOMAIN from the first server is final",
			servers: []netip.AddrPort{s1, s2},
			delay:   map[netip.AddrPort]time.Duration{s1: 5 * ms, s2: 5 * ms},
			steps:   []step{{"missing.test", 5 * ms, false, []netip.AddrPort{s1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var asked []netip.AddrPort
				zone := fakeZone()
				exchange := func(ctx context.Context, server netip.AddrPort, q query) (*dns.Msg, error) {
					mu.Lock()
					asked = append(asked, server)
					mu.Unlock()
					ctx, cancel := context.WithTimeout(ctx, q.timeout)
					defer cancel()
					var timer <-chan time.Time
					if d := tt.delay[server]; d >= 0 {
						timer = time.After(d)
					}
					select {
					case <-timer:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
					m := zone.Reply(new(dns.Msg).SetQuestion(q.name, q.qtype))
					if rc, ok := tt.rcode[server]; ok {
						m.Rcode, m.Answer = rc, nil
					}
					return m, nil
				}
				c := &Client{Config: &Config{Servers: tt.servers, Timeout: time.Second, Attempts: 1}, HostsPath: "/nonexistent"}
				c.state().exchange = exchange
				defer c.Close()
				for _, st := range tt.steps {
					mu.Lock()
					asked = nil
					mu.Unlock()
					g := answersAt(context.Background(), c, st.host, IPv4)
					synctest.Wait()
					mu.Lock()
					got := slices.Clone(asked)
					mu.Unlock()
					if g[IPv4].at != st.wantAt || g[IPv4].Positive() != st.wantPos || !slices.Equal(got, st.wantTo) {
						t.Errorf("%s: positive=%v at %v asking %v (%v); want positive=%v at %v asking %v",
							st.host, g[IPv4].Positive(), g[IPv4].at, got, g[IPv4].Err, st.wantPos, st.wantAt, st.wantTo)
					}
				}
			})
		})
	}
}

// TestServerOrder: IPv6 servers first (RFC 8305 §3.1), rotation, servers
// that stopped answering last.
func TestServerOrder(t *testing.T) {
	s := aps("192.0.2.1:53", "[2001:db8::1]:53", "192.0.2.2:53", "[2001:db8::2]:53")
	bad := func(a netip.AddrPort) bool { return a == s[1] }
	tests := []struct {
		name   string
		offset int
		bad    func(netip.AddrPort) bool
		want   []netip.AddrPort
	}{
		{"IPv6 first", 0, nil, aps("[2001:db8::1]:53", "[2001:db8::2]:53", "192.0.2.1:53", "192.0.2.2:53")},
		{"rotated", 1, nil, aps("[2001:db8::2]:53", "192.0.2.1:53", "192.0.2.2:53", "[2001:db8::1]:53")},
		{"rotated wraps", 5, nil, aps("[2001:db8::2]:53", "192.0.2.1:53", "192.0.2.2:53", "[2001:db8::1]:53")},
		{"bad last", 0, bad, aps("[2001:db8::2]:53", "192.0.2.1:53", "192.0.2.2:53", "[2001:db8::1]:53")},
	}
	for _, tt := range tests {
		if got := serverOrder(s, tt.offset, tt.bad); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v; want %v", tt.name, got, tt.want)
		}
	}
}
