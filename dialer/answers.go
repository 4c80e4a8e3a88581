package dialer

import (
	"net/netip"
	"slices"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// answers is the resolution side of a dial: which sources have still to
// answer (the resolver, once per family asked, and NAT64 synthesis as one
// more source when it runs), what they said, and when the first address
// came. The addresses themselves go to the dial's candidates.
type answers struct {
	named      bool // a name is being resolved (not an IP literal)
	pending    int  // sources not yet in: resolver families plus NAT64 synthesis
	dnsPending int  // resolver families not yet in

	answered [2]bool // by familyIndex
	kept     [2]int  // addresses kept, by familyIndex
	filtered int     // addresses dropped because LocalAddr is of the other family
	first    time.Time
	errs     []error // of the families that gave no address
	rejected []*RejectedError

	dnsDone bool // httptrace's DNSDone has fired

	// What the learned history needs: whether not to wait for the
	// preferred family at all (its answer was late on recent dials),
	// whether this dial waited the Resolution Delay out for the AAAA
	// answer, and when the AAAA answer came.
	noWait    bool
	waitedOut bool
	aaaaIn    bool
	aaaaAt    time.Time

	synthStarted bool
	synth        chan synthesized // NAT64 addresses, while synthesis runs
	synthesized  []netip.Addr     // the addresses synthesis added
}

// maxKeptPerFamily bounds the addresses kept from one answer, whatever
// MaxAddresses says: they are all sorted before MaxAddresses picks the
// ones tried.
const maxKeptPerFamily = 1024

// familyIndex indexes per-family arrays: 0 for IPv6, 1 for IPv4.
func familyIndex(f resolver.Family) int {
	if f == resolver.IPv6 {
		return 0
	}
	return 1
}

// merge takes one family's answer from the resolver, or NAT64-synthesized
// addresses (which are not the resolver's and do not count as its
// answer), adds the addresses the dial may try to the candidates and
// returns them. embedded, for synthesized addresses, holds the IPv4
// address inside each.
func (r *run) merge(a resolver.Answer, synthesized bool, embedded []netip.Addr) (added []netip.Addr) {
	if !synthesized {
		fi := familyIndex(a.Family)
		if r.ans.answered[fi] || !slices.Contains(r.fams, a.Family) {
			return nil // a resolver that answers twice or out of turn is ignored
		}
		r.ans.answered[fi] = true
		r.ans.pending--
		r.ans.dnsPending--
		if r.hooks.m != nil {
			r.hooks.m.dnsAnswer(a, time.Since(r.start))
		}
		if a.Family == resolver.IPv6 {
			r.ans.aaaaIn, r.ans.aaaaAt = true, time.Now()
		}
		r.replaceHints("", a) // HEv3 §7: the host's own answer replaces its hints
	}
	added = r.admit(a, synthesized, embedded)
	if r.hooks.t != nil {
		r.hooks.dnsAnswer(DNSAnswerInfo{Host: r.host, Family: a.Family, Addrs: added, Err: a.Err, Synthesized: synthesized, Elapsed: time.Since(r.start)})
	}
	if len(added) > 0 {
		if r.ans.first.IsZero() {
			r.ans.first = time.Now()
		}
		if r.learn != nil && r.learn.h.HostMemory {
			// The kernel's table, read in the background since the dial
			// began, must be in before these are sorted; after a
			// process's first read this returns at once.
			hostReady(hostMemoryWait)
		}
		r.cands.add(added)
	}
	if synthesized {
		return added
	}
	if len(added) == 0 {
		err := a.Err
		if err == nil {
			err = resolver.NotFoundError(r.host, nil)
		}
		r.ans.errs = append(r.ans.errs, err)
	}
	if r.ans.dnsPending == 0 {
		r.dnsDone(nil)
	}
	return added
}

// admit returns the addresses of a the dial may try and does not know
// yet: valid, of a's family, DNS64 answers de-synthesized, within the
// bound per family, of LocalAddr's family, and allowed by the Policy
// (rejections are recorded). embedded, for synthesized addresses, holds
// the IPv4 address inside each.
func (r *run) admit(a resolver.Answer, synthesized bool, embedded []netip.Addr) (added []netip.Addr) {
	for i, addr := range a.Addrs {
		addr = addr.Unmap()
		if !addr.IsValid() || resolver.Of(addr) != a.Family {
			continue
		}
		if !synthesized && a.Family == resolver.IPv6 {
			// A DNS64 answer for an IPv4-only host: dialed as the IPv4
			// address it stands for when the host can reach that directly.
			addr = r.desynthesize(addr)
		}
		af := familyIndex(resolver.Of(addr))
		if r.ans.kept[af] >= maxKeptPerFamily || slices.Contains(added, addr) || r.cands.known(addr) {
			continue
		}
		if r.only != 0 && resolver.Of(addr) != r.only {
			r.ans.filtered++ // LocalAddr cannot reach this family
			continue
		}
		var v4 netip.Addr
		if i < len(embedded) {
			v4 = embedded[i]
		} else if addr.Is6() {
			v4 = r.nat64Embedded(addr)
		}
		if err := r.vet(addr, v4, true); err != nil {
			r.reject(addr, err)
			continue
		}
		r.ans.kept[af]++
		added = append(added, addr)
	}
	return added
}

// mergeSynthesized adds the NAT64 addresses synthesis produced (none when
// it found no prefix).
func (r *run) mergeSynthesized(syn synthesized) {
	r.ans.pending--
	r.ans.synth = nil
	added := r.merge(resolver.Answer{Family: resolver.IPv6, Addrs: syn.v6}, true, syn.v4)
	r.ans.synthesized = append(r.ans.synthesized, added...)
}

// reject records an address the dial will not try.
func (r *run) reject(addr netip.Addr, err error) {
	re := &RejectedError{Addr: netip.AddrPortFrom(addr, r.port), Err: err}
	r.ans.rejected = append(r.ans.rejected, re)
	r.hooks.m.addressRejected(addr)
	r.hooks.addressRejected(AddressRejectedInfo{Host: r.host, Addr: re.Addr, Err: err, Elapsed: time.Since(r.start)})
}

// resolverClosed handles a resolver that closed its channel without
// answering every family: the missing families count as failed.
func (r *run) resolverClosed() {
	for _, f := range r.fams {
		if !r.ans.answered[familyIndex(f)] {
			r.merge(resolver.Answer{Family: f, Err: errNoAnswer(r.host)}, false, nil)
		}
	}
}

// awaitingPreferred reports whether the first attempt should still wait,
// within the Resolution Delay, for an answer that is outstanding: no
// address known so far is both of the preferred family and usable
// (RFC 8305 §3 waits for AAAA when A comes first; by the same reasoning a
// dial whose only IPv6 addresses are unusable, having no route or having
// been learned unreachable, waits for A).
func (r *run) awaitingPreferred() bool {
	if r.ans.pending == 0 || r.ans.noWait {
		return false
	}
	pf := r.preferred()
	if !slices.Contains(r.fams, pf) {
		return false
	}
	if !r.ans.answered[familyIndex(pf)] && !r.hasRoute(pf) {
		// HEv3: the answer of a family the host has no route for is not
		// waited for. (The query still goes out, and its answer is used:
		// a name may resolve to a loopback, link-local or unique-local
		// address the host can reach.)
		return false
	}
	for _, a := range r.cands.untried {
		if resolver.Of(a) != pf {
			continue
		}
		if pf == resolver.IPv6 && !r.ans.answered[familyIndex(pf)] && slices.Contains(r.ans.synthesized, a) {
			// Made from the A answer (RFC 8305 §7) while AAAA is still
			// out: the A answer came first, and §3 waits for AAAA,
			// whose native addresses go before the NAT64's.
			continue
		}
		if _, ok := r.cands.src(a); ok {
			return false
		}
	}
	return true
}

// awaitingKnown reports whether the first attempt should wait, briefly,
// for a family's answer still outstanding because the host's kernel
// remembers connections over that family (History.HostMemory: a fresh
// entry from the source address the host uses toward it) while none of
// the addresses known so far is known to work. The answer may hold an
// address that worked, which the history rules of RFC 8305 §4 put first.
// Where the kernel keeps no metrics (or holds none from that source), or
// remembers connections over the family that answered too (it works on
// this host, so its addresses start at once as RFC 8305 §3 says), nothing
// changes.
func (r *run) awaitingKnown() bool {
	if r.learn == nil || !r.learn.h.HostMemory || r.ans.pending == 0 || r.cands.learn == nil {
		return false
	}
	for _, a := range r.cands.untried {
		if r.cands.learn.used(a) {
			return false
		}
	}
	wait := false
	for _, f := range r.fams {
		switch answered := r.ans.answered[familyIndex(f)]; {
		case answered && r.learn.hostUsedFamily(f):
			// The family that answered works on this host (for other
			// destinations): RFC 8305 §3 applies as it is, and its
			// addresses start at once.
			return false
		case answered, f == resolver.IPv6 && r.ans.noWait:
			// AAAA answers for this name came late: not waited for.
		case r.learn.hostUsedFamily(f):
			wait = true
		}
	}
	return wait
}

// hasRoute reports whether the host has a route toward global addresses
// of family f (the probe sends no packet; its result is cached briefly).
func (r *run) hasRoute(f resolver.Family) bool {
	probe := networkProbe4
	if f == resolver.IPv6 {
		probe = networkProbe6
	}
	_, ok := r.srcOf(probe)
	return ok
}

// preferred is the family the dial prefers: PreferredFamily, else the
// one learned for the name, else IPv6.
func (r *run) preferred() resolver.Family {
	if r.cands.prefer != 0 {
		return r.cands.prefer
	}
	return resolver.IPv6
}

// noteFirstStart records, as the first attempt starts, whether the dial
// waited the Resolution Delay out for the AAAA answer.
func (r *run) noteFirstStart(awaiting bool) {
	r.ans.waitedOut = awaiting && r.preferred() == resolver.IPv6
}

// applyNameHistory applies what was learned of the host name: the family
// that works goes first (unless PreferredFamily says otherwise), and an
// AAAA answer that was late on recent dials is not waited for.
func (r *run) applyNameHistory() {
	ns := r.learn.nameState()
	now := time.Now()
	if ns.second != 0 && now.Before(ns.secondUntil) && r.cands.prefer == 0 {
		r.cands.prefer = other(ns.second)
	}
	r.ans.noWait = now.Before(ns.aaaaLate)
}

// learnName records what this dial showed of its host name: when winner
// (zero for a failed dial) is of the other family than the first attempt
// and the first family's attempts went unanswered, that family goes second
// next time; a win by the family learned to go second forgets that; and
// whether the AAAA answer missed the Resolution Delay.
func (r *run) learnName(winner netip.AddrPort) {
	if r.learn == nil || !r.ans.named {
		return
	}
	r.learnHTTPS()
	var second resolver.Family
	set := false
	ttl := historyTTL
	if winner.IsValid() && len(r.cands.tried) > 0 {
		first, won := resolver.Of(r.cands.tried[0]), resolver.Of(winner.Addr())
		switch {
		case won != first && r.unanswered(first):
			second, set = first, true
		case won != first && r.refused(first):
			// The service does not listen on that family's addresses
			// (a server bound to IPv4 only): the other family goes first
			// for as long as a refusal is remembered.
			second, set, ttl = first, true, refusedTTL
		case won == other(r.cands.prefer) && r.cands.prefer != r.d.preferredFamily():
			set = true // the family learned to go second won: forget it
		}
	}
	late := r.ans.waitedOut
	onTime := r.ans.aaaaIn && (r.ans.first.IsZero() || !r.ans.aaaaAt.After(r.ans.first.Add(r.sched.resolutionDelay)))
	if !slices.Contains(r.fams, resolver.IPv6) {
		late, onTime = false, false
	}
	r.learn.learnName(second, set, ttl, late && !onTime, onTime)
}

// refused reports whether every attempt of family f was refused (RST:
// the host is there, the service is not listening on that address).
func (r *run) refused(f resolver.Family) bool {
	n := 0
	for _, a := range r.running {
		if resolver.Of(a.addr.Addr()) == f {
			return false
		}
	}
	for _, a := range r.failures {
		if resolver.Of(a.Addr.Addr()) != f {
			continue
		}
		if causeOf(a.Err) != causeRefused {
			return false
		}
		n++
	}
	return n > 0
}

// unanswered reports whether every attempt of family f in this dial went
// unanswered: timed out, found no route, or was still running a whole
// Connection Attempt Delay after it started; and there was one.
func (r *run) unanswered(f resolver.Family) bool {
	n := 0
	for _, a := range r.failures {
		if resolver.Of(a.Addr.Addr()) != f {
			continue
		}
		if c := causeOf(a.Err); c != causeTimeout && c != causeUnreachable {
			return false
		}
		n++
	}
	now := time.Now()
	for _, a := range r.running {
		if resolver.Of(a.addr.Addr()) != f {
			continue
		}
		if now.Sub(a.start) < a.delay {
			return false
		}
		n++
	}
	return n > 0
}

// dnsDone fires httptrace's DNSDone once for a name, when the resolver
// has answered every family or when the dial ends first. err, when set,
// is why the resolution ended early.
func (r *run) dnsDone(err error) {
	if r.ans.dnsDone || !r.ans.named {
		return
	}
	r.ans.dnsDone = true
	if !r.hooks.wantDNSDone() {
		return
	}
	known := r.cands.all()
	if len(known) == 0 && err == nil {
		err = dnsFailure(r.host, r.ans.errs)
	}
	r.hooks.dnsDone(known, err)
}
