package dialer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

func TestPublicOnly(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
	}{
		// IPv4 special-purpose registry (RFC 6890) and multicast.
		{"0.0.0.0", false}, {"0.1.2.3", false}, {"10.1.2.3", false}, {"100.64.0.1", false},
		{"100.127.255.255", false}, {"127.0.0.1", false}, {"127.255.0.1", false}, {"169.254.169.254", false},
		{"172.16.0.1", false}, {"172.31.255.255", false}, {"192.0.0.1", false}, {"192.0.0.170", false},
		{"192.0.2.1", false}, {"192.88.99.1", false}, {"192.168.1.1", false}, {"198.18.0.1", false},
		{"198.19.255.255", false}, {"198.51.100.7", false}, {"203.0.113.9", false}, {"224.0.0.1", false},
		{"239.255.255.250", false}, {"240.0.0.1", false}, {"255.255.255.255", false},
		{"1.1.1.1", true}, {"8.8.8.8", true}, {"100.63.255.255", true}, {"100.128.0.0", true},
		{"172.15.255.255", true}, {"172.32.0.0", true}, {"192.0.0.9", true}, {"192.0.0.10", true},
		{"192.31.196.1", true}, {"198.17.255.255", true}, {"223.255.255.255", true},
		// IPv6 special-purpose registry and multicast.
		{"::", false}, {"::1", false}, {"::1.2.3.4", false}, {"::ffff:0:1.2.3.4", false},
		{"64:ff9b:1::1.2.3.4", false}, {"100::1", false}, {"2001:db8::1", false}, {"2001:2::1", false},
		{"2001:10::1", false}, {"3fff::1", false}, {"5f00::1", false}, {"fc00::1", false},
		{"fd12:3456::1", false}, {"fe80::1", false}, {"fe80::1%eth0", false}, {"fec0::1", false},
		{"ff02::1", false}, {"ff0e::1", false},
		{"2606:4700::1111", true}, {"2001:4860:4860::8888", true}, {"2001:1::1", true}, {"2001:3::1", true},
		{"2001:20::1", true}, {"2001:4:112::1", true}, {"2620:4f:8000::1", true},
		// Addresses that carry an IPv4 address are judged by it too.
		{"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"::ffff:8.8.8.8", true},
		{"64:ff9b::10.0.0.1", false}, {"64:ff9b::127.0.0.1", false}, {"64:ff9b::169.254.169.254", false},
		{"64:ff9b::8.8.8.8", true},
		{"2002:0a00:0001::1", false}, {"2002:7f00:0001::1", false}, {"2002:c0a8:0101::1", false},
		{"2002:0808:0808::1", true},
		// Teredo: server 65.54.227.120 or 10.0.0.1; client 8.8.8.8 (f7f7:f7f7) or 192.168.1.1 (3f57:fefe).
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true}, {"2001:0:4136:e378:8000:63bf:3f57:fefe", false},
		{"2001:0:0a00:0001:8000:63bf:f7f7:f7f7", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := PublicOnly("example.com", netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443))
			if tc.public {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// Addresses from DNS that no connection can go to never reach an attempt,
// with or without a Policy; the live address next to them connects.
func TestDialContext_unusableAnswersDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		live := netip.MustParseAddr("192.0.2.10")
		n.Set(live, simnet.Accepting(5*time.Millisecond))
		bad := []netip.Addr{
			netip.MustParseAddr("::"), netip.MustParseAddr("ff02::1"), netip.MustParseAddr("fe80::1"),
			netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("0.1.2.3"), netip.MustParseAddr("224.0.0.1"),
			netip.MustParseAddr("255.255.255.255"),
		}
		for _, a := range bad {
			n.Set(a, simnet.Accepting(time.Millisecond)) // would connect, if tried
		}
		var rejected []netip.Addr
		ctx := WithTrace(context.Background(), &Trace{AddressRejected: func(i AddressRejectedInfo) {
			assert.ErrorIs(t, i.Err, ErrUnusableAddress)
			rejected = append(rejected, i.Addr.Addr())
		}})
		d := &Dialer{
			Resolver: &resolver.Static{
				AAAA: resolver.StaticAnswer{Addrs: bad[:3]},
				A:    resolver.StaticAnswer{Addrs: append(bad[3:], live)},
			},
			DialAttempt: n.Dial, SourceAddr: simnet.SourceAll,
		}
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		assert.Equal(t, netip.AddrPortFrom(live, 443).String(), c.RemoteAddr().String())
		require.Len(t, n.Attempts(), 1, "attempts: %v", n.Attempts())
		assert.ElementsMatch(t, bad, rejected)

		// Only unusable addresses: an error that says so, nothing tried.
		d.Resolver = &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: bad[:1]}, A: resolver.StaticAnswer{Addrs: bad[3:4]}}
		_, err = d.DialContext(context.Background(), "tcp", "example.com:443")
		require.ErrorIs(t, err, ErrAddressRejected)
		require.ErrorIs(t, err, ErrUnusableAddress)
		var de *DialError
		require.ErrorAs(t, err, &de)
		assert.Len(t, de.Rejected, 2)
		assert.Empty(t, de.Attempts)
		assert.Len(t, n.Attempts(), 1, "nothing more was tried")
	})
}

// A Policy that rejects the preferred family does not cost the Resolution
// Delay or a Connection Attempt Delay: IPv4 starts as soon as its answer is
// in (RFC 8305 §3), and the learned history stays on.
func TestDialContext_policyRejectsPreferredFamily(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Accepting(5*time.Millisecond))
		n.Set(v4a, simnet.Accepting(5*time.Millisecond))
		noIPv6 := func(host string, ap netip.AddrPort) error {
			if ap.Addr().Is6() {
				return errors.New("IPv6 not allowed")
			}
			return nil
		}
		d := &Dialer{
			Resolver: &resolver.Static{
				AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{v6a}, Delay: 10 * time.Millisecond},
				A:    resolver.StaticAnswer{Addrs: []netip.Addr{v4a}, Delay: 20 * time.Millisecond},
			},
			DialAttempt: n.Dial, SourceAddr: simnet.SourceAll, Policy: noIPv6,
			History: new(History),
		}
		start := time.Now()
		c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
		require.NoError(t, err)
		c.Close()
		attempts := n.Attempts()
		require.Len(t, attempts, 1)
		assert.Equal(t, v4a, attempts[0].Addr.Addr())
		assert.Equal(t, 20*time.Millisecond, attempts[0].Start.Sub(start), "IPv4 starts on its answer")

		// The history is not switched off by a Policy (it is by Control).
		var s settings
		(&Dialer{Policy: noIPv6}).initSettings(&s, "tcp", "example.com", 443, []resolver.Family{resolver.IPv6, resolver.IPv4}, localAddr{})
		assert.NotNil(t, s.learn, "a Policy keeps the learned history")
	})
}

// Every address rejected by the Policy: a DialError listing each with the
// Policy's reason, and errors.Is finds both the sentinel and the reason.
func TestDialContext_policyRejectsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(netip.MustParseAddr("10.0.0.1"), simnet.Accepting(time.Millisecond))
		n.Set(netip.MustParseAddr("fd00::1"), simnet.Accepting(time.Millisecond))
		d := &Dialer{
			Resolver: &resolver.Static{
				AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("fd00::1")}},
				A:    resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
			},
			DialAttempt: n.Dial, SourceAddr: simnet.SourceAll, Policy: PublicOnly,
		}
		for _, target := range []string{"internal.example:80", "10.0.0.1:80", "[fd00::1]:80", "[::ffff:10.0.0.1]:80"} {
			_, err := d.DialContext(context.Background(), "tcp", target)
			require.Error(t, err, target)
			assert.ErrorIs(t, err, ErrAddressRejected, target)
			var de *DialError
			require.ErrorAs(t, err, &de, target)
			assert.NotEmpty(t, de.Rejected, target)
			assert.Contains(t, err.Error(), "not a public address", target)
		}
		assert.Empty(t, n.Attempts(), "nothing was tried")
	})
}

// NAT64 addresses are judged by the IPv4 address inside them as well: on
// an IPv6-only network the private 10.1.2.3 is not reached through the
// NAT64 (RFC 8305 §7), whether the Dialer synthesized the address or a
// DNS64 did under the configured prefix.
func TestDialContext_policyJudgesNAT64ByIPv4(t *testing.T) {
	private := netip.MustParseAddr("10.1.2.3")
	synthPrivate := netip.MustParseAddr("2001:db8:64::a01:203") // 10.1.2.3 under pref64
	tests := []struct {
		name     string
		resolver resolver.Resolver
		target   string
	}{
		{"synthesized for an A answer", &resolver.Static{A: resolver.StaticAnswer{Addrs: []netip.Addr{private}}}, "v4only.example:80"},
		{"synthesized for an IPv4 literal", &resolver.Static{}, "10.1.2.3:80"},
		{"DNS64 answer under the configured prefix", &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{synthPrivate}}}, "dns64.example:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n simnet.Network
				n.Set(synthPrivate, simnet.Accepting(time.Millisecond))
				// Only the IPv4 inside is private: the IPv6 address passes.
				policy := func(host string, ap netip.AddrPort) error {
					if ap.Addr() == private {
						return fmt.Errorf("%v is private", ap.Addr())
					}
					return nil
				}
				d := &Dialer{
					Resolver: tc.resolver, DialAttempt: n.Dial, SourceAddr: ipv6Only,
					NAT64Prefix: pref64, Policy: policy,
				}
				_, err := d.DialContext(context.Background(), "tcp", tc.target)
				require.ErrorIs(t, err, ErrAddressRejected)
				assert.Contains(t, err.Error(), "10.1.2.3 is private")
				for _, a := range n.Attempts() {
					assert.NotEqual(t, synthPrivate, a.Addr.Addr(), "the NAT64 address of a private IPv4 was tried")
				}
			})
		})
	}
}

func FuzzPublicOnly(f *testing.F) {
	for _, s := range []string{"::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:3f57:fefe", "8.8.8.8", "fe80::1%eth0"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 16 {
			return
		}
		a := netip.AddrFrom16([16]byte(b))
		err := PublicOnly("h", netip.AddrPortFrom(a, 1))
		// An IPv4-mapped address gets the verdict of the IPv4 address.
		if a.Is4In6() {
			err4 := PublicOnly("h", netip.AddrPortFrom(a.Unmap(), 1))
			if (err == nil) != (err4 == nil) {
				t.Fatalf("%v: %v; unmapped: %v", a, err, err4)
			}
		}
		// Nothing usable() drops is public.
		if !usable(a.Unmap()) && err == nil {
			t.Fatalf("%v is unusable but public", a)
		}
	})
}

// FuzzDialContext_answers feeds arbitrary DNS answers to a dial in
// virtual time where every address would connect: the dial never panics
// or hangs, never tries an unusable address, and tries each address once.
func FuzzDialContext_answers(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 192, 0, 2, 1}, []byte{})
	f.Add([]byte{255, 255, 255, 255, 224, 0, 0, 1}, []byte{0xfe, 0x80, 15: 1, 16: 0xff, 0x02, 31: 1})
	f.Fuzz(func(t *testing.T, v4, v6 []byte) {
		var a, aaaa []netip.Addr
		for i := 0; i+4 <= len(v4) && len(a) < 64; i += 4 {
			a = append(a, netip.AddrFrom4([4]byte(v4[i:i+4])))
		}
		for i := 0; i+16 <= len(v6) && len(aaaa) < 64; i += 16 {
			aaaa = append(aaaa, netip.AddrFrom16([16]byte(v6[i:i+16])))
		}
		synctest.Test(t, func(t *testing.T) {
			var n simnet.Network
			for _, addr := range append(slices.Clone(a), aaaa...) {
				n.Set(addr.Unmap(), simnet.Refusing(time.Millisecond))
			}
			d := &Dialer{
				Resolver:    &resolver.Static{AAAA: resolver.StaticAnswer{Addrs: aaaa}, A: resolver.StaticAnswer{Addrs: a}},
				DialAttempt: n.Dial, SourceAddr: simnet.SourceAll, DisableNAT64: true,
			}
			c, err := d.DialContext(context.Background(), "tcp", "fuzz.example:443")
			if err == nil {
				c.Close()
				t.Fatal("a dial to refusing addresses connected")
			}
			seen := map[netip.Addr]bool{}
			for _, at := range n.Attempts() {
				addr := at.Addr.Addr()
				if !usable(addr) {
					t.Errorf("unusable %v was tried", addr)
				}
				if seen[addr] {
					t.Errorf("%v was tried twice", addr)
				}
				seen[addr] = true
			}
		})
	})
}
