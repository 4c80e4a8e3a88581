package nat64

import (
	"errors"
	"fmt"
	"net/netip"
)

// WellKnownPrefix is the NAT64 Well-Known Prefix 64:ff9b::/96 (RFC 6052
// §2.1). It must not embed non-global IPv4 addresses (RFC 6052 §3.1); see
// [Synthesize].
var WellKnownPrefix = netip.MustParsePrefix("64:ff9b::/96")

// uOctet is the index of the address byte that holds bits 64 to 71, which
// RFC 6052 §2.2 reserves (the "u" octet of RFC 4291's interface identifier
// format) and requires to be zero in every IPv4-embedded IPv6 address,
// whatever the prefix length.
const uOctet = 8

// Errors returned by [Synthesize] (wrapped, with the offending values), so
// that callers can tell the causes apart with errors.Is.
var (
	// ErrPrefixLength: RFC 6052 §2.2 defines the embedding only for prefix
	// lengths 32, 40, 48, 56, 64 and 96.
	ErrPrefixLength = errors.New("nat64: Pref64::/n length must be 32, 40, 48, 56, 64 or 96")
	// ErrNotIPv6Prefix: the prefix is missing, IPv4, or inside the
	// IPv4-mapped range ::ffff:0:0/96 (whose addresses are IPv4 ones).
	ErrNotIPv6Prefix = errors.New("nat64: Pref64::/n must be an IPv6 prefix")
	// ErrReservedBits: a /96 prefix sets bits 64 to 71, which RFC 6052 §2.2
	// requires to be zero; no IPv4-embedded address can be formed under it.
	ErrReservedBits = errors.New("nat64: Pref64::/96 must have bits 64 to 71 zero")
	// ErrNotIPv4: the address to embed is missing or IPv6.
	ErrNotIPv4 = errors.New("nat64: address to embed must be IPv4")
	// ErrNonGlobal: RFC 6052 §3.1 forbids representing non-global IPv4
	// addresses with the Well-Known Prefix.
	ErrNonGlobal = errors.New("nat64: the well-known prefix must not embed a non-global IPv4 address")
	// ErrSpecialPrefix: the prefix lies in a range whose addresses cannot
	// be a NAT64's (RFC 6052 §3.1 asks for a prefix the operator owns
	// and routes): ::/96 (unspecified, loopback, IPv4-compatible),
	// IPv4-translated, discard-only, link-local, site-local or multicast.
	// A "Pref64" of ::/96 from a hostile DNS answer would turn the IPv4
	// address 0.0.0.1 into ::1.
	ErrSpecialPrefix = errors.New("nat64: Pref64::/n must not be in the unspecified, loopback, IPv4-compatible, discard, link-local, site-local or multicast ranges")
)

// specialPrefixes are the ranges no Pref64::/n may lie in.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0:0/96"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Synthesize returns the IPv4-embedded IPv6 address of v4 under prefix, laid
// out as RFC 6052 §2.2 specifies for each prefix length: the prefix, then
// the 32 bits of v4 with bits 64 to 71 (the "u" octet) skipped and left zero,
// then a zero suffix. For example 192.0.2.33 under 2001:db8:100::/40 is
// 2001:db8:1c0:2:21::.
//
// Bits of prefix beyond its length are ignored. An IPv4-mapped v4
// (::ffff:a.b.c.d) counts as IPv4. Synthesize fails, with an error wrapping
// one of the Err values of this package, when the prefix length is not one
// of 32, 40, 48, 56, 64, 96, when prefix is not IPv6, when a /96 prefix has
// bits 64 to 71 set, when v4 is not IPv4, and when prefix is
// [WellKnownPrefix] and v4 is not global (RFC 6052 §3.1): "this network"
// 0/8, the RFC 1918 ranges, shared space 100.64/10, loopback, link local,
// 192.0.0.0/24 (except the globally reachable 192.0.0.9 and 192.0.0.10 and
// the ipv4only.arpa addresses), benchmarking 198.18/15, and 240/4 with the
// broadcast address. The documentation ranges are accepted: RFC 6052 §2.4
// itself puts 192.0.2.33 under the Well-Known Prefix.
func Synthesize(prefix netip.Prefix, v4 netip.Addr) (netip.Addr, error) {
	if err := checkPrefix(prefix); err != nil {
		return netip.Addr{}, fmt.Errorf("nat64: synthesize %v in %v: %w", v4, prefix, err)
	}
	v4 = v4.Unmap()
	if !v4.Is4() {
		return netip.Addr{}, fmt.Errorf("nat64: synthesize %v in %v: %w", v4, prefix, ErrNotIPv4)
	}
	prefix = prefix.Masked()
	if prefix == WellKnownPrefix && !isGlobal(v4) {
		return netip.Addr{}, fmt.Errorf("nat64: synthesize %v in %v: %w", v4, prefix, ErrNonGlobal)
	}
	return embed(prefix, v4), nil
}

// Extract is the inverse of [Synthesize] (RFC 6052 §2.3): when v6 is the
// address Synthesize(prefix, v4) returns for some v4, Extract returns that
// v4 and true. For anything else (an address outside prefix, one with the
// "u" octet or the suffix not zero, a non-global IPv4 address under
// [WellKnownPrefix], an unusable prefix) it returns false. A zone on v6 is
// ignored.
//
// De-synthesis lets the dialer treat an AAAA answer that DNS64 made up for
// an IPv4-only host as the IPv4 address it stands for (Happy Eyeballs v3).
func Extract(prefix netip.Prefix, v6 netip.Addr) (netip.Addr, bool) {
	if checkPrefix(prefix) != nil {
		return netip.Addr{}, false
	}
	prefix = prefix.Masked()
	v6 = v6.WithZone("")
	if !v6.Is6() || !prefix.Contains(v6) {
		return netip.Addr{}, false
	}
	v4 := embedded(prefix.Bits(), v6.As16())
	// Round trip rather than a second list of conditions: the u octet,
	// the suffix and the RFC 6052 §3.1 rule are all Synthesize's.
	if back, err := Synthesize(prefix, v4); err != nil || back != v6 {
		return netip.Addr{}, false
	}
	return v4, true
}

// checkPrefix reports why prefix cannot be a Pref64::/n, or nil.
func checkPrefix(prefix netip.Prefix) error {
	if !prefix.IsValid() || !prefix.Addr().Is6() || prefix.Addr().Is4In6() {
		return ErrNotIPv6Prefix
	}
	switch prefix.Bits() {
	case 32, 40, 48, 56, 64:
	case 96:
		if prefix.Addr().As16()[uOctet] != 0 {
			return ErrReservedBits
		}
	default:
		return ErrPrefixLength
	}
	for _, sp := range specialPrefixes {
		if sp.Contains(prefix.Addr()) {
			return ErrSpecialPrefix
		}
	}
	return nil
}

// v4Index is the index in the IPv6 address of byte i (0 to 3) of the
// IPv4 address embedded after a prefix of bits bits (RFC 6052 §2.2): the
// bytes follow the prefix, stepping over the u octet when they reach it.
// For /96 the prefix itself covers the u octet.
func v4Index(bits, i int) int {
	j := bits/8 + i
	if bits <= 64 && j >= uOctet {
		j++
	}
	return j
}

// embed lays v4 out under a checked, masked prefix.
func embed(prefix netip.Prefix, v4 netip.Addr) netip.Addr {
	a := prefix.Addr().As16() // masked: the u octet and suffix are zero
	b := v4.As4()
	for i := range b {
		a[v4Index(prefix.Bits(), i)] = b[i]
	}
	return netip.AddrFrom16(a)
}

// embedded reads the IPv4 address at the position a prefix of bits bits
// puts it, without checking anything else.
func embedded(bits int, a [16]byte) netip.Addr {
	var b [4]byte
	for i := range b {
		b[i] = a[v4Index(bits, i)]
	}
	return netip.AddrFrom4(b)
}
