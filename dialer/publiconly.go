package dialer

import (
	"fmt"
	"net/netip"
)

// PublicOnly is a ready-made Policy for connections to destinations an
// untrusted party chose (a URL a user submitted, a webhook): the guard
// against server-side request forgery. It rejects every address that is
// not globally reachable according to the IANA IPv4 and IPv6
// Special-Purpose Address Registries (RFC 6890): loopback, private and
// unique-local, link-local, shared (CGNAT), unspecified, multicast,
// documentation, benchmarking, reserved and the like. It also looks inside
// addresses that carry an IPv4 address, and rejects IPv4-mapped, NAT64
// (64:ff9b::/96; the local-use 64:ff9b:1::/48 always), 6to4 and Teredo
// addresses whose IPv4 address it would reject. A Dialer also judges the
// addresses it synthesizes for its own network's NAT64 prefix by the IPv4
// address inside them.
//
// Because it judges each candidate address inside the race, a dial keeps
// Happy Eyeballs: a rejected IPv6 address does not stop the IPv4 ones.
// The error it returns names the range and the RFC that reserves it.
func PublicOnly(host string, addr netip.AddrPort) error {
	if reason := nonPublic(addr.Addr()); reason != "" {
		return fmt.Errorf("%v is not a public address: %s", addr.Addr(), reason)
	}
	return nil
}

type reservedRange struct {
	prefix netip.Prefix
	reason string
}

func reserved(prefix, reason string) reservedRange {
	return reservedRange{netip.MustParsePrefix(prefix), reason}
}

// reservedV4 are the IPv4 ranges that are not globally reachable (IANA
// IPv4 Special-Purpose Address Registry, and multicast).
var reservedV4 = []reservedRange{
	reserved("0.0.0.0/8", `"this network" (RFC 791)`),
	reserved("10.0.0.0/8", "private use (RFC 1918)"),
	reserved("100.64.0.0/10", "shared address space, CGNAT (RFC 6598)"),
	reserved("127.0.0.0/8", "loopback (RFC 1122)"),
	reserved("169.254.0.0/16", "link-local (RFC 3927)"),
	reserved("172.16.0.0/12", "private use (RFC 1918)"),
	reserved("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
	reserved("192.0.2.0/24", "documentation (RFC 5737)"),
	reserved("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
	reserved("192.168.0.0/16", "private use (RFC 1918)"),
	reserved("198.18.0.0/15", "benchmarking (RFC 2544)"),
	reserved("198.51.100.0/24", "documentation (RFC 5737)"),
	reserved("203.0.113.0/24", "documentation (RFC 5737)"),
	reserved("224.0.0.0/4", "multicast (RFC 5771)"),
	reserved("240.0.0.0/4", "reserved (RFC 1112), limited broadcast (RFC 919)"),
}

// globalV4 are the globally reachable exceptions inside reservedV4.
var globalV4 = []netip.Addr{
	netip.MustParseAddr("192.0.0.9"),  // PCP anycast (RFC 7723)
	netip.MustParseAddr("192.0.0.10"), // TURN anycast (RFC 8155)
}

// reservedV6 are the IPv6 ranges that are not globally reachable (IANA
// IPv6 Special-Purpose Address Registry, and multicast). Ranges that carry
// an IPv4 address are handled before this list.
var reservedV6 = []reservedRange{
	reserved("::/128", "unspecified (RFC 4291)"),
	reserved("::1/128", "loopback (RFC 4291)"),
	reserved("::/96", "IPv4-compatible, deprecated (RFC 4291)"),
	reserved("::ffff:0:0:0/96", "IPv4-translated (RFC 2765)"),
	reserved("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
	reserved("100::/64", "discard-only (RFC 6666)"),
	reserved("100:0:0:1::/64", "dummy IPv6 prefix (RFC 9780)"),
	reserved("2001:db8::/32", "documentation (RFC 3849)"),
	reserved("2001::/23", "IETF protocol assignments (RFC 2928)"),
	reserved("3fff::/20", "documentation (RFC 9637)"),
	reserved("5f00::/16", "segment routing SIDs (RFC 9602)"),
	reserved("fc00::/7", "unique local (RFC 4193)"),
	reserved("fe80::/10", "link-local (RFC 4291)"),
	reserved("fec0::/10", "site-local, deprecated (RFC 3879)"),
	reserved("ff00::/8", "multicast (RFC 4291)"),
}

// globalV6 are the globally reachable exceptions inside 2001::/23.
var globalV6 = []netip.Prefix{
	netip.MustParsePrefix("2001:1::1/128"),   // PCP anycast (RFC 7723)
	netip.MustParsePrefix("2001:1::2/128"),   // TURN anycast (RFC 8155)
	netip.MustParsePrefix("2001:1::3/128"),   // DNS-SD SRP anycast (RFC 9665)
	netip.MustParsePrefix("2001:3::/32"),     // AMT (RFC 7450)
	netip.MustParsePrefix("2001:4:112::/48"), // AS112-v6 (RFC 7535)
	netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2 (RFC 7343)
	netip.MustParsePrefix("2001:30::/28"),    // drone remote ID (RFC 9374)
}

var (
	wellKnownNAT64 = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 §2.1
	sixToFour      = netip.MustParsePrefix("2002::/16")    // RFC 3056
	teredo         = netip.MustParsePrefix("2001::/32")    // RFC 4380
)

// nonPublic returns why addr is not globally reachable, or "" when it is.
func nonPublic(addr netip.Addr) string {
	if !addr.IsValid() {
		return "invalid address"
	}
	if addr.Is4In6() {
		if r := nonPublic(addr.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	}
	if addr.Is4() {
		for _, a := range globalV4 {
			if addr == a {
				return ""
			}
		}
		for _, r := range reservedV4 {
			if r.prefix.Contains(addr) {
				return r.reason
			}
		}
		return ""
	}
	addr = addr.WithZone("")
	b := addr.As16()
	switch {
	case wellKnownNAT64.Contains(addr):
		return embeddedReason("NAT64 (RFC 6052)", netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(addr):
		return embeddedReason("6to4 (RFC 3056)", netip.AddrFrom4([4]byte(b[2:6])))
	case teredo.Contains(addr):
		// RFC 4380 §4: the server's IPv4 address in bits 32-63, the
		// client's, inverted, in the last 32 bits.
		if r := embeddedReason("Teredo server (RFC 4380)", netip.AddrFrom4([4]byte(b[4:8]))); r != "" {
			return r
		}
		return embeddedReason("Teredo client (RFC 4380)", netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	}
	for _, p := range globalV6 {
		if p.Contains(addr) {
			return ""
		}
	}
	for _, r := range reservedV6 {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}

func embeddedReason(kind string, v4 netip.Addr) string {
	if r := nonPublic(v4); r != "" {
		return fmt.Sprintf("%s address of %v, %s", kind, v4, r)
	}
	return ""
}
