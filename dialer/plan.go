package dialer

import (
	"net/netip"
	"slices"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// candidates are a dial's addresses: those tried, in the order they
// started, and those not yet tried, in the order plan gives them.
type candidates struct {
	untried, tried []netip.Addr

	firstCount int                // First Address Family Count (RFC 8305 §4)
	prefer     resolver.Family    // PreferredFamily, or learned; zero: RFC 6724 decides
	rawSrc     rfc6724.SourceFunc // RFC 6724 source addresses, without the history
	// learn, when the dial learns, adds the history's rules (see src,
	// learner.rank, learner.used); nil: none. The first attempt goes to
	// the family that has an address known to have connected recently
	// when the family sorted first has none. (A pointer and methods
	// rather than func fields: method values made where they are passed
	// stay on the stack, where stored ones would cost a dial an
	// allocation each.)
	learn *learner
	// group, once an HTTPS answer is in, is the group of an address
	// (HEv3 §5.1, §5.2): lower groups are tried first. nil: one group.
	group func(netip.Addr) int
}

// src is the RFC 6724 source address toward dst, with the learned
// history: a destination marked unreachable has none.
func (c *candidates) src(dst netip.Addr) (netip.Addr, bool) {
	if c.learn != nil {
		return c.learn.source(dst)
	}
	return c.rawSrc(dst)
}

// add merges new addresses into the untried ones and plans their order
// again (RFC 8305 §6: late answers join the addresses not yet tried).
func (c *candidates) add(addrs []netip.Addr) {
	prefer := c.prefer
	if prefer == 0 && len(c.tried) == 0 && c.learn != nil {
		prefer = c.usedFamily(addrs)
	}
	var rank rfc6724.RankFunc // the learned history's rules; nil: none
	if c.learn != nil {
		rank = c.learn.rank
	}
	if c.group != nil {
		c.untried = planGroups(append(c.untried, addrs...), c.tried, c.firstCount, prefer, c.src, rank, c.group)
		return
	}
	c.untried = plan(append(c.untried, addrs...), c.tried, c.firstCount, prefer, c.src, rank)
}

// usedFamily returns the family to go first by what the history knows,
// before anything was tried: the one family with an address that
// connected recently (the other has none), or zero to let RFC 6724
// decide. A black-holed family leaves no such address; a working one does,
// in this process or, with History.HostMemory, in the host's kernel.
func (c *candidates) usedFamily(added []netip.Addr) resolver.Family {
	var used [2]bool
	for _, list := range [][]netip.Addr{c.untried, added} {
		for _, a := range list {
			if !used[familyIndex(resolver.Of(a))] && c.learn.used(a) {
				used[familyIndex(resolver.Of(a))] = true
			}
		}
	}
	switch {
	case used[0] && !used[1]:
		return resolver.IPv6
	case used[1] && !used[0]:
		return resolver.IPv4
	}
	return 0
}

// known reports whether addr is already among the candidates.
func (c *candidates) known(addr netip.Addr) bool {
	return slices.Contains(c.untried, addr) || slices.Contains(c.tried, addr)
}

// next moves the first untried address to the tried ones and returns it.
func (c *candidates) next() netip.Addr {
	addr := c.untried[0]
	c.untried = c.untried[1:]
	c.tried = append(c.tried, addr)
	return addr
}

// all returns every candidate, tried ones first.
func (c *candidates) all() []netip.Addr {
	return append(slices.Clip(c.tried), c.untried...)
}

// plan returns the order in which to try the addresses not yet tried:
// RFC 6724 destination sorting (RFC 8305 §4, MUST), then the families
// interleaved. tried are the addresses already attempted in this dial, in
// order; they decide where the interleaving resumes, so that a late answer
// slots in as RFC 8305 §6 asks (a late IPv4 address goes next after an
// IPv6 attempt). rank, when set, adds the history rules of RFC 8305 §4.
// untried is sorted in place; the result may share its backing array.
// plan is a pure function of its inputs, src and rank.
func plan(untried, tried []netip.Addr, firstCount int, prefer resolver.Family, src rfc6724.SourceFunc, rank rfc6724.RankFunc) []netip.Addr {
	if len(untried) == 0 {
		return untried
	}
	rfc6724.SortRanked(untried, src, rank)
	first, count := nextFamilies(untried, tried, firstCount, prefer)
	return interleave(untried, first, count)
}

// nextFamilies decides which family the interleaving starts with and how
// many of it come before the other family.
func nextFamilies(sorted, tried []netip.Addr, firstCount int, prefer resolver.Family) (resolver.Family, int) {
	if len(tried) == 0 {
		first := prefer
		if first == 0 {
			first = resolver.Of(sorted[0])
		}
		return first, firstCount
	}
	// Still inside the run of First Address Family Count addresses of the
	// first family? Then finish that run. The first family is the one
	// preferred now (PreferredFamily, else the best address's family): a
	// family that went first only because the other's answer missed the
	// Resolution Delay does not get the run.
	first := prefer
	if first == 0 {
		first = resolver.Of(sorted[0])
	}
	f0 := resolver.Of(tried[0])
	run := 0
	for run < len(tried) && resolver.Of(tried[run]) == f0 {
		run++
	}
	if run == len(tried) && run < firstCount && f0 == first {
		return f0, firstCount - run
	}
	// Otherwise alternate: the family not tried last goes next.
	return other(resolver.Of(tried[len(tried)-1])), 1
}

// interleave reorders sorted (addresses in preference order), in place, so that
// firstCount addresses of family first come first, then the families
// alternate, starting with the other one (RFC 8305 §4). The order within
// each family is kept. When one family runs out, the rest of the other
// follows.
func interleave(sorted []netip.Addr, first resolver.Family, firstCount int) []netip.Addr {
	var a, b []netip.Addr // first family, other family
	for _, addr := range sorted {
		if resolver.Of(addr) == first {
			a = append(a, addr)
		} else {
			b = append(b, addr)
		}
	}
	out := sorted[:0] // in place: a and b hold the addresses
	n := min(max(firstCount, 1), len(a))
	out = append(out, a[:n]...)
	a = a[n:]
	for len(a) > 0 || len(b) > 0 {
		if len(b) > 0 {
			out = append(out, b[0])
			b = b[1:]
		}
		if len(a) > 0 {
			out = append(out, a[0])
			a = a[1:]
		}
	}
	return out
}

func other(f resolver.Family) resolver.Family {
	if f == resolver.IPv6 {
		return resolver.IPv4
	}
	return resolver.IPv6
}
