package nat64

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// synth is Synthesize for fixtures that are known to be valid.
func synth(t *testing.T, prefix, v4 string) netip.Addr {
	t.Helper()
	a, err := Synthesize(pfx(prefix), addr(v4))
	if err != nil {
		t.Fatalf("Synthesize(%s, %s): %v", prefix, v4, err)
	}
	return a
}

func TestPrefixesFromAnswer(t *testing.T) {
	// ambiguous is a /96 prefix that holds the bit pattern of 192.0.0.170
	// where a /32 prefix would put it: 2001:db8:c000:aa::c000:aa embeds
	// 192.0.0.170 both at /32 (under 2001:db8::/32) and at /96.
	const ambiguous = "2001:db8:c000:aa::/96"
	tests := []struct {
		name  string
		addrs func(t *testing.T) []netip.Addr
		want  []string
	}{
		{"nil answer", func(*testing.T) []netip.Addr { return nil }, nil},
		{"well-known prefix, both addresses", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("64:ff9b::c000:aa"), addr("64:ff9b::c000:ab")}
		}, []string{"64:ff9b::/96"}},
		{"network-specific /96", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, "2001:db8:122:344::/96", "192.0.0.170"), synth(t, "2001:db8:122:344::/96", "192.0.0.171")}
		}, []string{"2001:db8:122:344::/96"}},
		{"network-specific /64", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("2001:db8:122:344:c0:0:aa00:0"), addr("2001:db8:122:344:c0:0:ab00:0")}
		}, []string{"2001:db8:122:344::/64"}},
		{"network-specific /56", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, "2001:db8:122:300::/56", "192.0.0.170"), synth(t, "2001:db8:122:300::/56", "192.0.0.171")}
		}, []string{"2001:db8:122:300::/56"}},
		{"network-specific /48", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, "2001:db8:122::/48", "192.0.0.170"), synth(t, "2001:db8:122::/48", "192.0.0.171")}
		}, []string{"2001:db8:122::/48"}},
		{"network-specific /40", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, "2001:db8:100::/40", "192.0.0.170"), synth(t, "2001:db8:100::/40", "192.0.0.171")}
		}, []string{"2001:db8:100::/40"}},
		{"network-specific /32", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("2001:db8:c000:aa::"), addr("2001:db8:c000:ab::")}
		}, []string{"2001:db8::/32"}},
		{"only 192.0.0.170", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("64:ff9b::c000:aa")}
		}, []string{"64:ff9b::/96"}},
		{"only 192.0.0.171", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, "2001:db8:122::/48", "192.0.0.171")}
		}, []string{"2001:db8:122::/48"}},
		{"duplicates", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("64:ff9b::c000:aa"), addr("64:ff9b::c000:aa"), addr("64:ff9b::c000:ab"), addr("64:ff9b::c000:aa")}
		}, []string{"64:ff9b::/96"}},
		{"two prefixes, in answer order", func(t *testing.T) []netip.Addr {
			return []netip.Addr{
				synth(t, "2001:db8:122:344::/64", "192.0.0.171"),
				addr("64:ff9b::c000:aa"),
				synth(t, "2001:db8:122:344::/64", "192.0.0.170"),
				addr("64:ff9b::c000:ab"),
			}
		}, []string{"2001:db8:122:344::/64", "64:ff9b::/96"}},
		{"junk only", func(t *testing.T) []netip.Addr {
			return []netip.Addr{
				addr("2001:db8::1"),                    // a native AAAA record
				addr("64:ff9b::c000:ac"),               // 192.0.0.172: not well-known
				addr("192.0.0.170"),                    // IPv4
				addr("::ffff:192.0.0.170"),             // IPv4-mapped
				addr("2001:db8:c000:aa:100::"),         // 192.0.0.170 at /32 but the u octet set
				addr("2001:db8:122:344:ffc0:0:aa00:0"), // at /64 but the u octet set
				{},                                     // zero Addr
			}
		}, nil},
		{"junk around an answer", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("2001:db8::1"), {}, addr("64:ff9b::c000:ab"), addr("192.0.0.170")}
		}, []string{"64:ff9b::/96"}},
		{"zone ignored", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("64:ff9b::c000:aa%eth0")}
		}, []string{"64:ff9b::/96"}},
		{"nonzero suffix not examined", func(t *testing.T) []netip.Addr {
			return []netip.Addr{addr("2001:db8:c000:aa::1")}
		}, []string{"2001:db8::/32"}},
		{"ambiguous, only 192.0.0.170: ignored", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, ambiguous, "192.0.0.170")}
		}, nil},
		{"ambiguous, resolved by 192.0.0.171 at the same length", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, ambiguous, "192.0.0.170"), synth(t, ambiguous, "192.0.0.171")}
		}, []string{ambiguous}},
		{"ambiguous, 192.0.0.171 first", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, ambiguous, "192.0.0.171"), synth(t, ambiguous, "192.0.0.170")}
		}, []string{ambiguous}},
		{"ambiguous, 192.0.0.171 only under another prefix", func(t *testing.T) []netip.Addr {
			return []netip.Addr{synth(t, ambiguous, "192.0.0.170"), addr("64:ff9b::c000:ab")}
		}, []string{"64:ff9b::/96"}},
		{"ambiguous at two lengths, both addresses at both", func(t *testing.T) []netip.Addr {
			// 2001:db8:c000:aa:c0:0:aa00:0 holds 192.0.0.170 at /32 and
			// at /64; with 192.0.0.171 in every combination, both
			// positions of every address have both addresses: no single
			// one does, so every address stays ambiguous.
			return []netip.Addr{
				addr("2001:db8:c000:aa:c0:0:aa00:0"),
				addr("2001:db8:c000:ab:c0:0:ab00:0"),
				addr("2001:db8:c000:aa:c0:0:ab00:0"),
				addr("2001:db8:c000:ab:c0:0:aa00:0"),
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addrs := tt.addrs(t)
			before := slices.Clone(addrs)
			got := PrefixesFromAnswer(addrs)
			var want []netip.Prefix
			for _, s := range tt.want {
				want = append(want, pfx(s))
			}
			if !slices.Equal(got, want) {
				t.Errorf("PrefixesFromAnswer(%v) = %v; want %v", addrs, got, want)
			}
			if !slices.Equal(addrs, before) {
				t.Errorf("PrefixesFromAnswer changed its argument: %v; was %v", addrs, before)
			}
		})
	}
}

// TestPrefixesFromAnswer_Random checks that whatever the prefix, including
// prefixes whose bits happen to hold a well-known address, the answer a
// DNS64 gives for ipv4only.arpa reveals exactly that prefix.
func TestPrefixesFromAnswer_Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(8305, 7050))
	wka := [...]netip.Addr{wellKnownAddr170, wellKnownAddr171}
	for _, bits := range prefixLengths {
		for range 2000 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if rng.IntN(4) == 0 {
				// Plant a well-known address where a shorter prefix would
				// put it, to provoke ambiguity.
				short := prefixLengths[rng.IntN(len(prefixLengths))]
				for i, x := range wka[rng.IntN(2)].As4() {
					b[v4Index(short, i)] = x
				}
			}
			b[uOctet] = 0
			if b[0] == 0 || b[0] == 0xff || b[0] == 0xfe && b[1] >= 0x80 || b[0] == 1 && b[1] == 0 {
				// Keep clear of the ranges no NAT64 prefix may be in
				// (::/96, ::ffff:0:0/96, discard, link-local, site-local,
				// multicast).
				b[0] = 0x20
			}
			prefix := netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
			answer := []netip.Addr{embed(prefix, wka[0]), embed(prefix, wka[1])}
			rng.Shuffle(len(answer), func(i, j int) { answer[i], answer[j] = answer[j], answer[i] })
			got := PrefixesFromAnswer(answer)
			if len(got) != 1 || got[0] != prefix {
				t.Fatalf("PrefixesFromAnswer(%v) = %v; want [%v]", answer, got, prefix)
			}
		}
	}
}

// A hostile or broken DNS64 answer cannot make a prefix of a range no
// NAT64 can have (RFC 6052 §3.1): with ::/96, the IPv4 address 0.0.0.1
// would be synthesized as ::1, the host itself.
func TestPrefixesFromAnswer_specialPrefixesIgnored(t *testing.T) {
	for _, s := range []string{"::c000:aa", "::ffff:0:c000:aa", "fe80::c000:aa", "ff02::c000:aa", "fec0::c000:aa"} {
		if got := PrefixesFromAnswer([]netip.Addr{netip.MustParseAddr(s)}); got != nil {
			t.Errorf("PrefixesFromAnswer(%s) = %v; want none", s, got)
		}
	}
	if _, err := Synthesize(netip.MustParsePrefix("::/96"), netip.MustParseAddr("0.0.0.1")); !errors.Is(err, ErrSpecialPrefix) {
		t.Errorf("Synthesize(::/96, 0.0.0.1): %v; want ErrSpecialPrefix", err)
	}
}
