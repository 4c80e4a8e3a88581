package dialer

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// hostsResolver answers per host name; unknown names are NXDOMAIN.
type hostsResolver struct {
	hosts   map[string]*resolver.Static
	queries atomic.Int32
}

func (h *hostsResolver) Resolve(ctx context.Context, host string, fams ...resolver.Family) <-chan resolver.Answer {
	h.queries.Add(1)
	s, ok := h.hosts[strings.TrimSuffix(host, ".")]
	if !ok {
		s = &resolver.Static{}
	}
	return s.Resolve(ctx, host, fams...)
}

// ipv6Only is a SourceAddr for a host with only an IPv6 route.
func ipv6Only(dst netip.Addr) (netip.Addr, bool) {
	if dst.Unmap().Is4() {
		return netip.Addr{}, false
	}
	return netip.MustParseAddr("2001:db8::100"), true
}

var (
	pref64     = netip.MustParsePrefix("2001:db8:64::/96")
	dns64Names = map[string]*resolver.Static{
		"ipv4only.arpa": {AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{
			netip.MustParseAddr("2001:db8:64::c000:aa"), netip.MustParseAddr("2001:db8:64::c000:ab"),
		}, Delay: 3 * time.Millisecond}},
	}
	synth4a = netip.MustParseAddr("2001:db8:64::c000:201") // 192.0.2.1 under pref64
)

func TestNAT64(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		a      []netip.Addr // A answer for v4only.example
		src    func(netip.Addr) (netip.Addr, bool)
		config func(*Dialer)
		want   netip.Addr    // winner
		took   time.Duration // virtual
	}{
		{
			name: "IPv4 literal on an IPv6-only network: discovered prefix",
			addr: "192.0.2.1:443", src: ipv6Only,
			want: synth4a, took: 3*time.Millisecond + 10*time.Millisecond,
		},
		{
			name: "IPv4 literal with a configured prefix: no discovery",
			addr: "192.0.2.1:443", src: ipv6Only,
			config: func(d *Dialer) { d.NAT64Prefix = pref64 },
			want:   synth4a, took: 10 * time.Millisecond,
		},
		{
			name: "A-only name on an IPv6-only network",
			addr: "v4only.example:443", a: []netip.Addr{v4a}, src: ipv6Only,
			want: synth4a, took: 3*time.Millisecond + 10*time.Millisecond,
		},
		{
			name: "dual-stack network: no synthesis",
			addr: "192.0.2.1:443", src: simnet.SourceAll,
			want: v4a, took: 20 * time.Millisecond,
		},
		{
			name: "DisableNAT64: the literal is dialed as it is",
			addr: "192.0.2.1:443", src: ipv6Only,
			config: func(d *Dialer) { d.DisableNAT64 = true },
			want:   v4a, took: 20 * time.Millisecond,
		},
		{
			name: "no DNS64 (ipv4only.arpa not found): the literal is dialed as it is",
			addr: "192.0.2.1:443", src: ipv6Only,
			config: func(d *Dialer) { d.Resolver = &hostsResolver{} },
			want:   v4a, took: 20 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n simnet.Network
				n.Set(synth4a, simnet.Accepting(10*time.Millisecond))
				n.Set(v4a, simnet.Accepting(20*time.Millisecond))
				hosts := map[string]*resolver.Static{"v4only.example": {A: resolver.StaticAnswer{Addrs: tc.a}}}
				for k, v := range dns64Names {
					hosts[k] = v
				}
				r := &hostsResolver{hosts: hosts}
				d := &Dialer{Resolver: r, DialAttempt: n.Dial, SourceAddr: tc.src}
				if tc.config != nil {
					tc.config(d)
				}
				start := time.Now()
				c, err := d.DialContext(context.Background(), "tcp", tc.addr)
				require.NoError(t, err)
				defer c.Close()
				got := c.RemoteAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Addr()
				if got != tc.want || time.Since(start) != tc.took {
					t.Errorf("connected to %v after %v; want %v after %v (attempts %v)", got, time.Since(start), tc.want, tc.took, n.Attempts())
				}
			})
		})
	}
}

// TestNAT64_TCP4 checks that "tcp4" asks only for IPv4 and never dials a
// synthesized IPv6 address.
func TestNAT64_TCP4(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(synth4a, simnet.Accepting(10*time.Millisecond))
		d := &Dialer{Resolver: &hostsResolver{hosts: dns64Names}, DialAttempt: n.Dial, SourceAddr: ipv6Only}
		if c, err := d.DialContext(context.Background(), "tcp4", "192.0.2.1:443"); err == nil {
			c.Close()
			t.Fatal("tcp4 dial connected; want ENETUNREACH from the only IPv4 attempt")
		}
		for _, a := range n.Attempts() {
			if a.Addr.Addr().Is6() {
				t.Errorf("tcp4 dial attempted %v", a.Addr)
			}
		}
	})
}

// DNS64 de-synthesis (Happy Eyeballs v3): an AAAA answer under the
// network's NAT64 prefix stands for an IPv4 address; with an IPv4 route
// the dial goes there directly, not through the NAT64. Without one, the
// synthesized address is the way and is kept.
func TestNAT64_Desynthesis(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  func(netip.Addr) (netip.Addr, bool)
		want netip.Addr
	}{
		{"dual-stack host: the IPv4 address itself", simnet.SourceAll, v4a},
		{"IPv6-only host: through the NAT64", ipv6Only, synth4a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n simnet.Network
				n.Set(v4a, simnet.Accepting(10*ms))
				n.Set(synth4a, simnet.Accepting(30*ms))
				d := simDialer(&n, &resolver.Static{AAAA: simAnswer(0, synth4a)})
				d.SourceAddr, d.NAT64Prefix = tc.src, pref64
				var answers []DNSAnswerInfo
				ctx := WithTrace(context.Background(), &Trace{DNSAnswer: func(i DNSAnswerInfo) { answers = append(answers, i) }})
				c, err := d.DialContext(ctx, "tcp", "dns64.example:443")
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); got != tc.want {
					t.Errorf("connected to %v; want %v", got, tc.want)
				}
				if at := n.Attempts(); len(at) != 1 {
					t.Errorf("attempts %v; want one", at)
				}
				if len(answers) == 0 || len(answers[0].Addrs) != 1 || answers[0].Addrs[0] != tc.want {
					t.Errorf("AAAA answer traced as %+v; want %v", answers, tc.want)
				}
			})
		})
	}
}
