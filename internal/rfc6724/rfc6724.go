// Package rfc6724 orders destination addresses by RFC 6724 §6 (Default
// Address Selection for IPv6, destination address selection), the sort
// RFC 8305 §4 requires before a Happy Eyeballs race.
//
// It applies the rules a library can evaluate without kernel state:
// 1 (avoid unusable destinations), 2 (prefer matching scope), 5 (prefer
// matching label), 6 (prefer higher precedence), 8 (prefer smaller scope),
// 9 (longest matching prefix, IPv6 pairs only) and 10 (otherwise keep the
// input order), with the default policy table of RFC 6724 §2.1. Rules 3, 4
// and 7 need to know whether a source address is deprecated, a home address
// or reached through a tunnel, which the socket API does not expose; they
// are skipped, as in Go's own net package.
//
// The source address the host would use for each destination comes from a
// SourceFunc; the default, ProbeSource, asks the kernel with a UDP
// "connect", which sends no packet.
package rfc6724

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

// SourceFunc returns the source address the host would use to reach dst,
// and false when dst is unreachable (no route, or the family is not
// configured). Sort calls it once per destination; it may be called
// concurrently from different sorts.
type SourceFunc func(dst netip.Addr) (src netip.Addr, ok bool)

// Sort sorts dsts in place by RFC 6724 §6 destination address selection
// (rules 1, 2, 5, 6, 8, 9 and 10; see the package documentation) with the
// default policy table. The sort is stable: addresses that no rule tells
// apart keep their input order (rule 10), so DNS round robin survives.
//
// src reports the source address for each destination; nil means
// ProbeSource. It is not called when len(dsts) < 2.
//
// IPv4 addresses may be given plain (4-byte) or IPv4-mapped
// (::ffff:a.b.c.d); both are classified as IPv4-mapped, as RFC 6724 §2.1
// prescribes. Every element is returned exactly as given (same
// representation, same zone); only the order changes. Invalid (zero)
// addresses are treated as unreachable and src is not called for them.
//
// Sort does not allocate for up to 16 addresses beyond what src allocates,
// and allocates once for more.
func Sort(dsts []netip.Addr, src SourceFunc) {
	sortBy(dsts, func(a netip.Addr) netip.Addr { return a }, src, nil)
}

// A RankFunc ranks a destination by what a stateful client knows of it,
// higher first: RFC 8305 §4 asks such a client to add rules between RFC
// 6724 rules 8 and 9 that prefer destinations with a lower historical
// round-trip time, then destinations used before. Zero means nothing is
// known. It may be called from several goroutines at once.
type RankFunc func(dst netip.Addr) uint16

// SortRanked is Sort with the ranks of rank applied between rules 8 and
// 9; a nil rank makes it Sort. Neither src nor rank is kept.
//
// Not inlined: inlined, it would leave callers a call to sortBy's generic
// instance, whose escape analysis they cannot see, and a method value
// passed as src or rank would go to the heap on every call.
//
//go:noinline
func SortRanked(dsts []netip.Addr, src SourceFunc, rank RankFunc) {
	sortBy(dsts, func(a netip.Addr) netip.Addr { return a }, src, rank)
}

// SortAddrPorts is Sort for address-port pairs: it orders dsts by their
// addresses exactly as Sort would and never looks at the ports.
func SortAddrPorts(dsts []netip.AddrPort, src SourceFunc) {
	sortBy(dsts, netip.AddrPort.Addr, src, nil)
}

// inlineEntries is how many addresses Sort handles with a stack buffer.
// DNS answers rarely hold more; 16 entries keep the buffer small enough
// that zeroing it costs little on short lists.
const inlineEntries = 16

// entry is one element to sort with its precomputed sort key, so every
// attribute is derived once per address rather than once per comparison.
type entry[T any] struct {
	v   T
	key uint64
}

func sortBy[T any](dsts []T, addrOf func(T) netip.Addr, src SourceFunc, rank RankFunc) {
	if len(dsts) < 2 {
		return
	}
	if src == nil {
		src = ProbeSource
	}
	var buf [inlineEntries]entry[T]
	var es []entry[T]
	if len(dsts) <= len(buf) {
		es = buf[:len(dsts)]
	} else {
		es = make([]entry[T], len(dsts))
	}
	for i, v := range dsts {
		d := addrOf(v)
		var s netip.Addr
		ok := false
		if d.IsValid() {
			s, ok = src(d)
		}
		a := attrsOf(d, s, ok)
		if rank != nil && d.IsValid() {
			a.rank = rank(d)
		}
		es[i] = entry[T]{v: v, key: a.key()}
	}
	// Higher key first; stable, so equal keys keep their order (rule 10).
	slices.SortStableFunc(es, func(a, b entry[T]) int { return cmp.Compare(b.key, a.key) })
	for i := range es {
		dsts[i] = es[i].v
	}
}

// attrs are the per-destination facts the §6 rules compare. Each rule
// that Sort applies compares one field of DA with the same field of DB,
// so the rules together are a lexicographic order over these fields,
// which key packs into one integer.
type attrs struct {
	usable     bool   // rule 1: Source(D) is defined
	matchScope bool   // rule 2: Scope(D) = Scope(Source(D))
	matchLabel bool   // rule 5: Label(D) = Label(Source(D))
	precedence uint8  // rule 6: Precedence(D)
	scope      scope  // rule 8: Scope(D)
	rank       uint16 // RFC 8305 §4's history rules, between rules 8 and 9
	commonLen  uint8  // rule 9: CommonPrefixLen(Source(D), D); 0 unless both are IPv6
}

// attrsOf derives the attributes of destination d whose source is s
// (meaningful only when ok).
//
// Rule 9 compares prefix lengths only between two IPv6 destinations (on
// IPv4 it would defeat DNS round robin: golang/go#13283, #18518). Giving
// IPv4 destinations a length of 0 is the same thing: with the default
// policy table an IPv4 destination (precedence 35) never ties an IPv6 one
// (precedences 50, 40, 30, 5, 3, 1) at rule 6, so rule 9 only ever
// decides between two IPv4 destinations (both 0: a tie, as required) or
// two IPv6 ones.
//
// An unusable destination gets no credit from the rules that need a
// source (2, 5, 9), so two unusable destinations are still ordered by
// precedence and scope (rules 6 and 8), which need none. Go's net package
// treats them as equal instead; ordering them lets the dialer try the
// likelier one first when the probe cannot see any route at all.
func attrsOf(d, s netip.Addr, ok bool) attrs {
	prec, label := classifyPolicy(d)
	a := attrs{
		precedence: prec,
		scope:      classifyScope(d),
	}
	if !ok || !s.IsValid() {
		return a
	}
	_, srcLabel := classifyPolicy(s)
	a.usable = true
	a.matchScope = a.scope == classifyScope(s)
	a.matchLabel = label == srcLabel
	if isIPv6(d) && isIPv6(s) {
		a.commonLen = commonPrefixLen(d, s)
	}
	return a
}

// key packs a into an integer that is larger for the preferred
// destination, the fields in rule order from the most significant bits.
func (a attrs) key() uint64 {
	var k uint64
	if a.usable {
		k |= 1 << 38
	}
	if a.matchScope {
		k |= 1 << 37
	}
	if a.matchLabel {
		k |= 1 << 36
	}
	k |= uint64(a.precedence) << 28
	k |= uint64(0xf-a.scope&0xf) << 24 // smaller scope is preferred
	k |= uint64(a.rank) << 8
	k |= uint64(a.commonLen) // 0..64
	return k
}

// isIPv6 reports whether a is an IPv6 address that is not IPv4-mapped.
func isIPv6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// commonPrefixLen is CommonPrefixLen(S, D) of RFC 6724 §2.2 for two IPv6
// addresses: the leading bits they share, looking only at the first 64
// bits (the prefix part; the interface identifier never counts).
func commonPrefixLen(a, b netip.Addr) uint8 {
	a16, b16 := a.As16(), b.As16()
	x := binary.BigEndian.Uint64(a16[:8]) ^ binary.BigEndian.Uint64(b16[:8])
	return uint8(bits.LeadingZeros64(x))
}

// policyEntry is one row of the RFC 6724 §2.1 policy table.
type policyEntry struct {
	prefix     netip.Prefix
	precedence uint8
	label      uint8
}

// defaultPolicy is the default policy table of RFC 6724 §2.1, longest
// prefix first so the first match is the longest match.
var defaultPolicy = [...]policyEntry{
	{netip.MustParsePrefix("::1/128"), 50, 0},       // loopback
	{netip.MustParsePrefix("::ffff:0:0/96"), 35, 4}, // IPv4-mapped: every IPv4 address
	{netip.MustParsePrefix("::/96"), 1, 3},          // IPv4-compatible (deprecated)
	{netip.MustParsePrefix("2001::/32"), 5, 5},      // Teredo
	{netip.MustParsePrefix("2002::/16"), 30, 2},     // 6to4
	{netip.MustParsePrefix("3ffe::/16"), 1, 12},     // 6bone (returned)
	{netip.MustParsePrefix("fec0::/10"), 1, 11},     // site-local (deprecated)
	{netip.MustParsePrefix("fc00::/7"), 3, 13},      // unique local
	{netip.MustParsePrefix("::/0"), 40, 1},          // all other IPv6
}

// policyMatch is a policy table row compiled to 128-bit mask arithmetic,
// so classifying an address costs a few integer operations per row.
type policyMatch struct {
	hi, lo     uint64 // the prefix, masked
	mhi, mlo   uint64 // the prefix mask
	precedence uint8
	label      uint8
}

// defaultMatch is defaultPolicy compiled, in the same order.
var defaultMatch = compilePolicy(defaultPolicy[:])

func compilePolicy(table []policyEntry) []policyMatch {
	out := make([]policyMatch, len(table))
	for i, e := range table {
		b := e.prefix.Addr().As16()
		n := e.prefix.Bits()
		// Shifting a uint64 by 64 or more gives 0, which is the mask
		// wanted for the half a short prefix does not reach.
		mhi := ^uint64(0) << (64 - min(n, 64))
		mlo := ^uint64(0) << (128 - max(n, 64))
		out[i] = policyMatch{
			hi:  binary.BigEndian.Uint64(b[:8]) & mhi,
			lo:  binary.BigEndian.Uint64(b[8:]) & mlo,
			mhi: mhi, mlo: mlo,
			precedence: e.precedence,
			label:      e.label,
		}
	}
	return out
}

// classifyPolicy returns the precedence and label of a from the default
// policy table. IPv4 addresses are looked up as IPv4-mapped (As16 maps
// them); zones are ignored.
func classifyPolicy(a netip.Addr) (precedence, label uint8) {
	if !a.IsValid() {
		return 0, 0
	}
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for _, m := range defaultMatch {
		if hi&m.mhi == m.hi && lo&m.mlo == m.lo {
			return m.precedence, m.label
		}
	}
	return 0, 0 // unreachable: ::/0 matches every address
}

// scope is an address scope as numbered in RFC 6724 §3.1 (the IPv6
// multicast scope values of RFC 4291 §2.7).
type scope uint8

const (
	scopeInterfaceLocal scope = 0x1
	scopeLinkLocal      scope = 0x2
	scopeAdminLocal     scope = 0x4
	scopeSiteLocal      scope = 0x5
	scopeOrgLocal       scope = 0x8
	scopeGlobal         scope = 0xe
)

// classifyScope returns the scope of a. IPv4 (plain or mapped) follows
// RFC 6724 §3.2: loopback 127.0.0.0/8 and 169.254.0.0/16 are link-local,
// everything else, private ranges included, is global. IPv6 loopback is
// link-local (RFC 4007 §4), fe80::/10 link-local, the deprecated fec0::/10
// site-local, multicast takes the scope field of the address, and the rest
// (unique local addresses included, RFC 4193) is global.
func classifyScope(a netip.Addr) scope {
	if !a.IsValid() {
		return 0
	}
	if u := a.Unmap(); u.Is4() {
		if u.IsLoopback() || u.IsLinkLocalUnicast() {
			return scopeLinkLocal
		}
		return scopeGlobal
	}
	b := a.As16()
	switch {
	case a.IsLoopback() || a.IsLinkLocalUnicast():
		return scopeLinkLocal
	case a.IsMulticast():
		return scope(b[1] & 0xf)
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0:
		return scopeSiteLocal
	}
	return scopeGlobal
}
