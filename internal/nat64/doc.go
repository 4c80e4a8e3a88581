// Package nat64 gives the dialer what RFC 8305 §7 needs on IPv6-only
// networks that reach IPv4 through a NAT64 (RFC 6146) and usually a DNS64
// (RFC 6147):
//
//   - [Synthesize] and [Extract] convert between an IPv4 address and its
//     IPv4-embedded IPv6 address under a Pref64::/n, as RFC 6052 §2.2 lays
//     them out, so that an IPv4 literal (or an A answer with no IPv4 route)
//     can be dialed over IPv6, and an AAAA answer synthesized by DNS64 can
//     be recognised as the IPv4 address it stands for.
//   - [PrefixesFromAnswer] finds the Pref64::/n in the AAAA answer for
//     "ipv4only.arpa" (RFC 7050 §3).
//   - [Discoverer] asks the network's resolver for that answer, caches the
//     result, and coalesces concurrent discoveries; a prefix learned from
//     router advertisements (RFC 8781 PREF64) can be given to it instead.
//
// Everything except [Discoverer] is a pure function of [netip] values.
package nat64
