package nat64

import "net/netip"

// nonGlobal lists the IPv4 ranges that the Well-Known Prefix must not
// represent (RFC 6052 §3.1: "non-global IPv4 addresses"). Each is marked
// "Globally Reachable: False" in the IANA IPv4 Special-Purpose Address
// Registry that RFC 6890 §2.2.2 set up.
//
// Left out on purpose, although the registry marks them non-global:
//   - the documentation blocks 192.0.2.0/24, 198.51.100.0/24 and
//     203.0.113.0/24 (RFC 5737): RFC 6052 §2.4 itself shows 192.0.2.33
//     under 64:ff9b::/96, they are never routed, so refusing them protects
//     nothing, and they are the addresses examples and tests must use;
//   - see globalExceptions for the parts of 192.0.0.0/24 that stay allowed.
var nonGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network" (RFC 791, RFC 6890 §2.2.2)
	netip.MustParsePrefix("10.0.0.0/8"),     // private use (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space for CGN (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback (RFC 1122 §3.2.1.3)
	netip.MustParsePrefix("169.254.0.0/16"), // link local (RFC 3927)
	netip.MustParsePrefix("172.16.0.0/12"),  // private use (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments (RFC 6890 §2.2.2)
	netip.MustParsePrefix("192.168.0.0/16"), // private use (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved (RFC 1112 §4), holds 255.255.255.255 (RFC 919)
}

// globalExceptions are addresses inside nonGlobal that the Well-Known
// Prefix may embed all the same.
var globalExceptions = []netip.Addr{
	netip.MustParseAddr("192.0.0.9"),  // PCP anycast, globally reachable (RFC 7723)
	netip.MustParseAddr("192.0.0.10"), // TURN anycast, globally reachable (RFC 8155)
	// The RFC 7050 §2 well-known IPv4 addresses of ipv4only.arpa. A
	// DNS64 using the Well-Known Prefix synthesizes them under it: that
	// answer is how RFC 7050 discovery finds 64:ff9b::/96, so Extract must
	// accept it.
	wellKnownAddr170,
	wellKnownAddr171,
}

// isGlobal reports whether the IPv4 address v4 may be represented with the
// Well-Known Prefix (RFC 6052 §3.1).
func isGlobal(v4 netip.Addr) bool {
	for _, a := range globalExceptions {
		if v4 == a {
			return true
		}
	}
	for _, p := range nonGlobal {
		if p.Contains(v4) {
			return false
		}
	}
	return true
}
