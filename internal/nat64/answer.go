package nat64

import (
	"net/netip"
	"slices"
)

// WellKnownName is the name whose AAAA answer reveals the network's
// Pref64::/n (RFC 7050 §2, RFC 8880): it has only A records,
// 192.0.0.170 and 192.0.0.171, so any AAAA record for it was synthesized by
// a DNS64. It is rooted so that no search domain is appended.
const WellKnownName = "ipv4only.arpa."

// The well-known IPv4 addresses of WellKnownName (RFC 7050 §2).
var (
	wellKnownAddr170 = netip.AddrFrom4([4]byte{192, 0, 0, 170})
	wellKnownAddr171 = netip.AddrFrom4([4]byte{192, 0, 0, 171})
)

// prefixLengths are the Pref64::/n lengths RFC 6052 §2.2 defines, which are
// the positions RFC 7050 §3 searches for the well-known addresses.
var prefixLengths = [...]int{32, 40, 48, 56, 64, 96}

// Which well-known addresses were found; a bit set.
const (
	found170 uint8 = 1 << iota
	found171
	foundBoth = found170 | found171
)

// position is one place a well-known address appears in an AAAA record:
// the Pref64::/n that place implies, and which address it was.
type position struct {
	prefix netip.Prefix
	found  uint8
}

// PrefixesFromAnswer returns the distinct Pref64::/n found in the AAAA
// answer for [WellKnownName], in the order of the addresses that reveal
// them (RFC 7050 §3). It returns nil when there is none.
//
// Each address is searched for 192.0.0.170 and 192.0.0.171 at the
// positions RFC 6052 §2.2 gives for the lengths /32, /40, /48, /56, /64 and
// /96, with bits 64 to 71 zero (RFC 6052 requires that of every
// IPv4-embedded address; the suffix is not examined). Found at exactly one
// position, the well-known address tells the prefix and its length. Found
// at more than one, which happens when Pref64::/n itself contains the bit
// pattern of a well-known address, the position is ambiguous, and RFC 7050
// §3 resolves it with the other well-known address: the position that
// counts is the one where both 192.0.0.170 and 192.0.0.171 appear in the
// answer under the same prefix. An address still ambiguous after that, and
// an address that embeds neither well-known address (a native AAAA record,
// an IPv4 or IPv4-mapped address, junk), is ignored.
//
// The answer is whatever the network's resolver said, and it is
// unauthenticated: RFC 7050 §3.1 validation needs a DNSSEC-signed name the
// network operator configures, which a library cannot know, so the
// spoofing RFC 7050 §7 describes applies. Whoever can answer the host's DNS
// queries can choose the prefix, just as they can choose any other address
// the host connects to.
//
// RFC 7050 §3 has a node use every prefix it learns; the dialer uses the
// first ([Discoverer.Prefix]), and the rest are returned for callers that
// want more.
func PrefixesFromAnswer(addrs []netip.Addr) []netip.Prefix {
	positions := make([][]position, len(addrs))
	seen := make(map[netip.Prefix]uint8) // prefix → well-known addresses found under it anywhere
	for i, a := range addrs {
		positions[i] = wellKnownPositions(a)
		for _, p := range positions[i] {
			seen[p.prefix] |= p.found
		}
	}
	var out []netip.Prefix
	for _, ps := range positions {
		var pick netip.Prefix
		switch len(ps) {
		case 0:
			continue
		case 1:
			pick = ps[0].prefix
		default:
			n := 0
			for _, p := range ps {
				if seen[p.prefix] == foundBoth {
					pick = p.prefix
					n++
				}
			}
			if n != 1 {
				continue
			}
		}
		if !slices.Contains(out, pick) {
			out = append(out, pick)
		}
	}
	return out
}

// wellKnownPositions returns every RFC 6052 position at which a embeds
// 192.0.0.170 or 192.0.0.171, shortest prefix first.
func wellKnownPositions(a netip.Addr) []position {
	a = a.WithZone("")
	if !a.Is6() || a.Is4In6() {
		return nil
	}
	b := a.As16()
	if b[uOctet] != 0 {
		// Bits 64 to 71 are zero in every IPv4-embedded address: a
		// position before them leaves them outside the IPv4 address, and
		// a /96 prefix must have them zero (RFC 6052 §2.2).
		return nil
	}
	var out []position
	for _, bits := range prefixLengths {
		var found uint8
		switch embedded(bits, b) {
		case wellKnownAddr170:
			found = found170
		case wellKnownAddr171:
			found = found171
		default:
			continue
		}
		p := netip.PrefixFrom(a, bits).Masked()
		if checkPrefix(p) != nil {
			continue // ::/96 and other prefixes no NAT64 can have
		}
		out = append(out, position{p, found})
	}
	return out
}
