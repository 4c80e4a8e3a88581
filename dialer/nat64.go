package dialer

import (
	"context"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/nat64"
)

// NAT64 (RFC 8305 §7). On an IPv6-only network, IPv4 destinations are
// reached through the network's NAT64: the Dialer learns its prefix
// (Pref64::/n) from NAT64Prefix or by RFC 7050 discovery, synthesizes an
// IPv6 address for each IPv4 address (RFC 6052), and races those like any
// other IPv6 address. A network is IPv6-only for a destination when the
// host has no route to the IPv4 address but has one to the synthesized
// IPv6 address; on any other network nothing changes.

// sharedDiscoverer serves Dialers that use the default resolver, so the
// prefix is discovered once per process (and re-validated on its TTL).
var sharedDiscoverer nat64.Discoverer

// discoverer returns where this dial gets the NAT64 prefix from, or nil
// when NAT64 is off for it.
func (s *settings) discoverer() *nat64.Discoverer {
	switch {
	case s.d.DisableNAT64 || s.network != "tcp":
		// "tcp4" and "tcp6" ask for one family; synthesis would turn IPv4
		// addresses into IPv6 ones.
		return nil
	case s.d.NAT64Prefix.IsValid():
		return &nat64.Discoverer{Known: s.d.NAT64Prefix}
	case s.d.Resolver == nil:
		return &sharedDiscoverer
	}
	// A Dialer with its own Resolver: no cache shared with other Dialers,
	// whose resolvers may see another network.
	return new(nat64.Discoverer)
}

// needsNAT64 reports whether v4 is unreachable over IPv4 but would be
// reachable through a NAT64, as on an IPv6-only network (RFC 8305 §7.1).
// It uses the raw source lookup, not the learned history: a learned
// unreachable IPv4 address on a dual-stack network is not IPv6-only.
func (s *settings) needsNAT64(v4 netip.Addr) bool {
	if !v4.Is4() {
		return false
	}
	if _, ok := s.srcOf(v4); ok {
		return false
	}
	probe, err := nat64.Synthesize(nat64.WellKnownPrefix, v4)
	if err != nil {
		// Non-global IPv4 cannot use the well-known prefix; any global
		// IPv6 route will do for the check.
		probe = netip.MustParseAddr("64:ff9b::c000:aa")
	}
	_, ok := s.srcOf(probe)
	return ok
}

// synthesized are NAT64 addresses, each with the IPv4 address inside it.
type synthesized struct {
	v6, v4 []netip.Addr
}

// synthesize returns the NAT64 addresses for v4s under the network's
// prefix, none when there is no NAT64 or its prefix cannot be learned.
func (s *settings) synthesize(ctx context.Context, disc *nat64.Discoverer, v4s []netip.Addr) synthesized {
	var out synthesized
	prefix, ok, err := disc.Prefix(ctx, s.d.resolver())
	if err != nil || !ok {
		return out
	}
	for _, a := range v4s {
		if v6, err := nat64.Synthesize(prefix, a); err == nil {
			out.v6 = append(out.v6, v6)
			out.v4 = append(out.v4, a)
		}
	}
	return out
}

// pref64 returns the network's NAT64 prefix as far as the Dialer knows it
// without asking: NAT64Prefix, or a prefix discovered earlier.
func (s *settings) pref64() (netip.Prefix, bool) {
	switch {
	case s.d.NAT64Prefix.IsValid():
		return s.d.NAT64Prefix, true
	case s.d.Resolver == nil && !s.d.DisableNAT64:
		// Only the shared discoverer remembers across dials (see
		// discoverer); its Cached asks nothing.
		return sharedDiscoverer.Cached()
	}
	return netip.Prefix{}, false
}

// nat64Embedded returns the IPv4 address inside addr when addr is under
// the network's NAT64 prefix (see pref64), so that a Policy can judge
// where the NAT64 would connect a DNS64 answer; the zero Addr otherwise.
// (The Well-Known Prefix needs no prefix: PublicOnly looks inside it.)
func (s *settings) nat64Embedded(addr netip.Addr) netip.Addr {
	if s.d.Policy == nil || !addr.Is6() {
		return netip.Addr{}
	}
	prefix, ok := s.pref64()
	if !ok {
		return netip.Addr{}
	}
	v4, _ := nat64.Extract(prefix, addr)
	return v4
}

// desynthesize returns the IPv4 address a DNS64-synthesized IPv6 address
// stands for, when addr is under the network's known NAT64 prefix and the
// host has a route to that IPv4 address (Happy Eyeballs v3: de-synthesize
// before sorting; a synthesized address is used only where IPv4 has no
// route); otherwise addr. Only "tcp" dials, which may use both families.
func (s *settings) desynthesize(addr netip.Addr) netip.Addr {
	if s.network != "tcp" {
		return addr
	}
	prefix, ok := s.pref64()
	if !ok {
		return addr
	}
	v4, ok := nat64.Extract(prefix, addr)
	if !ok {
		return addr
	}
	if _, ok := s.srcOf(v4); !ok {
		return addr // no IPv4 route: the NAT64 is the way there
	}
	return v4
}

// startSynthesis begins, in the background, the NAT64 synthesis for an A
// answer's addresses when this network needs it. Its result arrives on
// r.ans.synth as one more answer the dial waits for; ctx ends it.
func (r *run) startSynthesis(ctx context.Context, v4s []netip.Addr) {
	if r.ans.synthStarted || !r.needsNAT64(v4s[0]) {
		return
	}
	disc := r.discoverer()
	if disc == nil {
		return
	}
	r.ans.synthStarted = true
	r.ans.pending++
	synth := make(chan synthesized, 1) // one result, never blocks the sender
	r.ans.synth = synth
	go func() { synth <- r.synthesize(ctx, disc, v4s) }()
}
