package dialer

// HTTPS records (RFC 9460) in a dial: Happy Eyeballs version 3
// (draft-ietf-happy-happyeyeballs-v3, the working group's copy after -04).
//
//   - The HTTPS query goes out with the AAAA and A queries, just before
//     them (HEv3 §4.1 orders it first), for HTTPSQueryName(host, port)
//     (RFC 9460 §9.1).
//   - The first attempt waits, within the Resolution Delay, for the HTTPS
//     answer as for the AAAA one (HEv3 §4.2); an answer that missed the
//     delay on a recent dial to the name is not waited for again (learned
//     in the History, like a late AAAA answer).
//   - ipv4hint and ipv6hint addresses are early answers for their target
//     until its A and AAAA answers arrive, which replace them: a hint that
//     is not in the answer and was not tried yet is dropped (HEv3 §4.2.1,
//     §7; RFC 9460 §7.3).
//   - A ServiceMode record's TargetName and port change what is dialed
//     (RFC 9460 §2.5, §7.2); the TLS server name stays the host asked
//     for (RFC 9460 §2.3, HEv3 §5.1).
//   - Candidates are grouped by the caller's application protocols, then
//     by SvcPriority, then sorted by RFC 6724 with the families
//     interleaved inside each group (HEv3 §5); services whose ALPN set
//     holds no protocol the caller speaks are not used (HEv3 §6.2, RFC
//     9460 §7.1.2).
//   - In a TLSDialer, the service's ech parameter becomes the attempt's
//     tls.Config.EncryptedClientHelloConfigList, and a rejection with
//     retry configurations is retried once with them (see tls.go).

import (
	"cmp"
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// HTTPSMode says which dials of a Dialer ask for HTTPS records (RFC 9460),
// the service records of Happy Eyeballs version 3.
type HTTPSMode int8

const (
	// HTTPSAuto, the zero value, asks for HTTPS records in TLSDialer
	// dials that are HTTPS: to port 443, or offering an HTTP protocol in
	// tls.Config.NextProtos ("h2", "http/1.1", "http/1.0", "h3"). HTTPS
	// records describe HTTPS origins (RFC 9460 §9): a TLS dial for
	// another protocol (Redis, PostgreSQL, gRPC without HTTP ALPN on
	// another port) and a plain TCP dial ask for AAAA and A alone, as
	// they always did.
	HTTPSAuto HTTPSMode = iota
	// HTTPSOn asks for HTTPS records in every dial to a host name, plain
	// TCP ones included (for example a Dialer given to
	// http.Transport.DialContext, which runs TLS on top itself).
	HTTPSOn
	// HTTPSOff never asks for HTTPS records, in TLSDialer dials neither.
	HTTPSOff
)

// defaultPlainALPN is what a plain TCP dial with HTTPSOn is taken to
// speak: what net/http's Transport negotiates over TCP.
var defaultPlainALPN = []string{"h2", "http/1.1"}

// defaultALPN is the protocol every HTTPS service supports unless its
// record says no-default-alpn (RFC 9460 §7.1.1, §9.1).
const defaultALPN = "http/1.1"

// maxServiceTargets bounds the TargetNames whose addresses one dial looks
// up (each a lookup of its own); services beyond it use their hints only.
const maxServiceTargets = 4

// tlsDial is what a TLSDialer tells the Dialer of its dial.
type tlsDial struct {
	nextProtos []string // the tls.Config's, in preference order
}

// httpsSettings are a dial's HTTPS settings; nil when it does not ask.
type httpsSettings struct {
	qname string   // the name asked (HTTPSQueryName)
	alpn  []string // the protocols the caller speaks, preferred first
	tls   bool     // ECH configurations reach the TLS handshake
}

// httpsSettings decides whether a dial to host:port asks for HTTPS
// records, and how; td is nil for a plain TCP dial.
func (d *Dialer) httpsSettings(host string, port uint16, td *tlsDial) *httpsSettings {
	switch {
	case d.HTTPSRecords == HTTPSOff, d.HTTPSRecords == HTTPSAuto && (td == nil || !td.isHTTPS(port)):
		return nil
	}
	s := &httpsSettings{qname: resolver.HTTPSQueryName(strings.TrimSuffix(host, "."), port), alpn: defaultPlainALPN}
	if td != nil {
		s.tls = true
		s.alpn = td.nextProtos
		if len(s.alpn) == 0 {
			// No ALPN offered: the server speaks its default protocol.
			s.alpn = []string{defaultALPN}
		}
	}
	return s
}

// isHTTPS reports whether a TLS dial to port is an HTTPS one, for
// HTTPSAuto: the HTTPS port, or an HTTP protocol offered in ALPN.
func (td *tlsDial) isHTTPS(port uint16) bool {
	if port == 443 {
		return true
	}
	return slices.ContainsFunc(td.nextProtos, func(p string) bool {
		switch p {
		case "h2", "http/1.1", "http/1.0", "h3":
			return true
		}
		return false
	})
}

// httpsDial is the HTTPS side of one dial, owned by the collector.
type httpsDial struct {
	set *httpsSettings
	// events carries the HTTPS answer and the address answers of the
	// TargetNames, from one forwarding goroutine per lookup.
	events chan targetAnswer
	ctx    context.Context // the lookups'; done when the dial returns

	answered       bool               // the HTTPS answer is in
	answeredAt     time.Time          // when
	noWait         bool               // it was late on recent dials: not waited for
	targetsPending int                // target address answers not yet in
	services       []resolver.Service // usable, in group order (see order)
	skipped        int                // services no protocol of the caller's fits
	targets        map[string]*target // by canonical name; the host's is ""

	// origin maps an address to its target's name when it came from a
	// target other than the host or from a hint; hint marks hint
	// addresses not (yet) confirmed by an A or AAAA answer.
	origin map[netip.Addr]string
	hint   map[netip.Addr]bool

	shuffle func(n int, swap func(i, j int)) // equal priorities; rand.Shuffle
}

// target is one TargetName the services point to.
type target struct {
	rank     int               // of its best service: the group its addresses join
	svc      *resolver.Service // its best service
	answered [2]bool           // its A/AAAA answers are in, by familyIndex
}

// targetAnswer is one answer the HTTPS side waits for: the HTTPS answer
// (name ""), or an address answer of a target.
type targetAnswer struct {
	name string
	a    resolver.Answer
}

// eventsC returns the channel of HTTPS-side answers; nil (never ready) for
// a dial that did not ask.
func (h *httpsDial) eventsC() <-chan targetAnswer {
	if h == nil {
		return nil
	}
	return h.events
}

// startHTTPS sends the HTTPS query of a dial that asks for it (just
// before the AAAA and A queries, HEv3 §4.1). ctx ends with the dial.
func (r *run) startHTTPS(ctx context.Context) {
	if r.https == nil {
		return
	}
	r.svc = &httpsDial{
		set:     r.https,
		events:  make(chan targetAnswer), // unbuffered: the forwarders stop on ctx
		ctx:     ctx,
		targets: map[string]*target{},
		origin:  map[netip.Addr]string{},
		hint:    map[netip.Addr]bool{},
		shuffle: rand.Shuffle,
	}
	if r.d.shuffle != nil {
		r.svc.shuffle = r.d.shuffle
	}
	r.svc.noWait = time.Now().Before(r.learn.nameState().httpsLate)
	r.lookup("", r.https.qname, resolver.HTTPS)
}

// lookup resolves name for fams and forwards every answer, tagged with
// tag, to the collector; a family the resolver leaves out is answered
// with an error. Each family counts as a pending source until it is in.
func (r *run) lookup(tag, name string, fams ...resolver.Family) {
	r.ans.pending += len(fams)
	if tag != "" {
		r.svc.targetsPending += len(fams)
	}
	ch := r.d.resolver().Resolve(r.svc.ctx, name, fams...)
	events, ctx := r.svc.events, r.svc.ctx
	go func() {
		left := slices.Clone(fams)
		send := func(a resolver.Answer) bool {
			select {
			case events <- targetAnswer{tag, a}:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if ch != nil {
			for a := range ch {
				i := slices.Index(left, a.Family)
				if i < 0 {
					continue // a family not asked, or answered twice
				}
				left = slices.Delete(left, i, i+1)
				if !send(a) {
					return
				}
			}
		}
		for _, f := range left {
			if !send(resolver.Answer{Family: f, Err: errNoAnswer(name)}) {
				return
			}
		}
	}()
}

// httpsEvent takes one answer of the HTTPS side. ctx is the dial's work
// context, for NAT64 synthesis.
func (r *run) httpsEvent(ctx context.Context, ev targetAnswer) {
	r.ans.pending--
	if ev.name == "" {
		r.httpsAnswer(ctx, ev.a)
		return
	}
	r.svc.targetsPending--
	t := r.svc.targets[ev.name]
	fi := familyIndex(ev.a.Family)
	t.answered[fi] = true
	r.replaceHints(ev.name, ev.a)
	r.adopt(ev.name, t, ev.a.Addrs, false)
	added := r.admit(ev.a, false, nil)
	for _, a := range added {
		r.svc.origin[a] = ev.name
	}
	r.hooks.dnsAnswer(DNSAnswerInfo{Host: strings.TrimSuffix(ev.name, "."), Family: ev.a.Family, Addrs: added, Err: ev.a.Err, Elapsed: time.Since(r.start)})
	r.addCandidates(added)
	if ev.a.Family == resolver.IPv4 && len(added) > 0 {
		r.startSynthesis(ctx, added) // HEv3 §8.2: on an IPv6-only network
	}
}

// adopt gives target t (named name) the addresses among addrs that the
// dial knows already from another source and has not tried, when t's
// service ranks better than the one they came with (or they came with
// none): the same address may be the host's and a service's, and then it
// is dialed as the better service's endpoint (its port, its ECH), in that
// service's group (HEv3 §5.1), whichever answer came first. The untried
// addresses are ordered again if any moved.
func (r *run) adopt(name string, t *target, addrs []netip.Addr, hint bool) {
	moved := false
	for _, a := range addrs {
		a = a.Unmap()
		if !slices.Contains(r.cands.untried, a) || r.svc.origin[a] == name {
			continue
		}
		if cur, _ := r.targetOf(a); cur != nil && cur.rank <= t.rank {
			continue
		}
		r.svc.origin[a] = name
		if hint {
			r.svc.hint[a] = true
		} else {
			delete(r.svc.hint, a)
		}
		moved = true
	}
	if moved {
		r.cands.add(nil)
	}
}

// addCandidates adds addresses to the candidates (RFC 8305 §6, HEv3 §7).
func (r *run) addCandidates(added []netip.Addr) {
	if len(added) == 0 {
		return
	}
	if r.ans.first.IsZero() {
		r.ans.first = time.Now()
	}
	r.cands.add(added)
}

// httpsAnswer takes the HTTPS answer: it orders the services, gives each
// target's hints as early answers, looks up the targets other than the
// host, and regroups the candidates.
func (r *run) httpsAnswer(ctx context.Context, a resolver.Answer) {
	h := r.svc
	h.answered, h.answeredAt = true, time.Now()
	r.hooks.m.httpsAnswer(a, time.Since(r.start))
	h.services, h.skipped = order(a.Services, h.set.alpn, h.shuffle)
	r.hooks.httpsAnswer(HTTPSAnswerInfo{
		Host: h.set.qname, Services: h.services, Skipped: h.skipped,
		Err: a.Err, Elapsed: time.Since(r.start),
	})
	lookups := 0
	hostName := canonicalName(r.host)
	qname := canonicalName(h.set.qname)
	for i := range h.services {
		s := &h.services[i]
		name := canonicalName(s.Target)
		if name == hostName || name == qname {
			name = "" // the host's own addresses (RFC 9460 §2.5.2; see HTTPSQueryName)
		}
		t, seen := h.targets[name]
		if !seen {
			t = &target{rank: i, svc: s}
			if name != "" {
				if lookups == maxServiceTargets {
					continue
				}
				lookups++
				r.lookup(name, s.Target, r.fams...)
			}
			h.targets[name] = t
		}
		r.addHints(ctx, name, t, s)
	}
	r.cands.group = r.groupOf
	r.cands.add(nil) // regroup what is known
}

// addHints adds a service's address hints for the families whose answer
// for its target is not in yet (HEv3 §4.2.1). On an IPv6-only network,
// IPv4 hints are synthesized into NAT64 addresses as A answers are (HEv3
// §8.2).
func (r *run) addHints(ctx context.Context, name string, t *target, s *resolver.Service) {
	for _, f := range r.fams {
		if r.targetAnswered(name, t, f) {
			continue
		}
		hints := s.IPv6Hint
		if f == resolver.IPv4 {
			hints = s.IPv4Hint
		}
		if len(hints) == 0 {
			continue
		}
		r.adopt(name, t, hints, true)
		added := r.admit(resolver.Answer{Family: f, Addrs: hints}, false, nil)
		for _, a := range added {
			r.svc.origin[a] = name
			r.svc.hint[a] = true
		}
		if len(added) > 0 {
			r.hooks.dnsAnswer(DNSAnswerInfo{Host: hostOf(r, name), Family: f, Addrs: added, Hint: true, Elapsed: time.Since(r.start)})
		}
		r.addCandidates(added)
		if f == resolver.IPv4 && len(added) > 0 {
			r.startSynthesis(ctx, added)
		}
	}
}

// targetAnswered reports whether target name's answer of family f is in
// (name "" is the host, whose answers come with the dial's own).
func (r *run) targetAnswered(name string, t *target, f resolver.Family) bool {
	if name == "" {
		return r.ans.answered[familyIndex(f)]
	}
	return t.answered[familyIndex(f)]
}

// hostOf is the name a target stands for in trace events.
func hostOf(r *run, name string) string {
	if name == "" {
		return r.host
	}
	return strings.TrimSuffix(name, ".")
}

// replaceHints takes target name's answer a (name "" for the host's own)
// in place of the hints of its family: hints a does not hold are dropped
// unless tried (HEv3 §7, RFC 9460 §7.3); those it holds stop being hints.
func (r *run) replaceHints(name string, a resolver.Answer) {
	h := r.svc
	if h == nil || len(h.hint) == 0 {
		return
	}
	var dropped []netip.Addr
	for addr := range h.hint {
		if h.origin[addr] != name || resolver.Of(addr) != a.Family {
			continue
		}
		delete(h.hint, addr)
		if slices.Contains(a.Addrs, addr) {
			delete(h.origin, addr) // an answer now: where it came from is the answer's
			if name != "" {
				h.origin[addr] = name
			}
			continue
		}
		if i := slices.Index(r.cands.untried, addr); i >= 0 {
			r.cands.untried = slices.Delete(r.cands.untried, i, i+1)
			dropped = append(dropped, addr)
		}
	}
	if len(dropped) > 0 {
		slices.SortFunc(dropped, netip.Addr.Compare)
		r.hooks.hintsReplaced(HintsReplacedInfo{Host: hostOf(r, name), Family: a.Family, Dropped: dropped, Elapsed: time.Since(r.start)})
	}
}

// awaitingHTTPS reports whether the first attempt still waits, within the
// Resolution Delay, for the HTTPS answer (HEv3 §4.2); or, the answer in,
// for the addresses of its targets while no address any service covers
// is known (HEv3 is silent; RFC 9460 §3 has SVCB endpoints tried before
// the host's own addresses, which are only the last group, HEv3 §5.2).
func (r *run) awaitingHTTPS() bool {
	switch {
	case r.svc == nil:
		return false
	case !r.svc.answered:
		return !r.svc.noWait
	case r.svc.targetsPending == 0:
		return false
	}
	for _, a := range r.cands.untried {
		if r.groupOf(a) < len(r.svc.services) {
			return false
		}
	}
	return true
}

// learnHTTPS records, as the dial ends, whether the HTTPS answer missed
// the Resolution Delay (counted from the first address) or came within
// it. An answer that missed it on a recent dial is not waited for again
// (it is still asked for and used), as for a late AAAA answer (see
// History); one in time brings the wait back.
func (r *run) learnHTTPS() {
	if r.svc == nil || r.learn == nil || r.ans.first.IsZero() {
		return
	}
	due := r.ans.first.Add(r.sched.resolutionDelay)
	late := (!r.svc.answered && time.Now().After(due)) || (r.svc.answered && r.svc.answeredAt.After(due))
	onTime := r.svc.answered && !r.svc.answeredAt.After(due)
	if !late && !onTime {
		return
	}
	r.learn.h.updateName(r.learn.nameKey(), func(st *nameState) {
		if late {
			st.httpsLate = time.Now().Add(historyTTL)
		} else {
			st.httpsLate = time.Time{}
		}
	})
}

// targetOf returns the target an address belongs to (nil: none, before
// the HTTPS answer or when no service targets the host) and its name.
func (r *run) targetOf(addr netip.Addr) (*target, string) {
	name, ok := r.svc.origin[addr]
	if !ok {
		name = ""
	}
	return r.svc.targets[name], name
}

// groupOf is the group of addr (HEv3 §5.1, §5.2): the rank of its
// target's best service; addresses no service covers go last.
func (r *run) groupOf(addr netip.Addr) int {
	if t, _ := r.targetOf(addr); t != nil {
		return t.rank
	}
	return len(r.svc.services)
}

// portFor is the port an attempt to addr dials: its service's port
// parameter (RFC 9460 §7.2), or the dial's port. The Dialer's Policy
// vetted addr with the dial's port; a service port it rejects is not
// used (DNS must not steer a dial to a port the Policy forbids), the
// dial's port is.
func (r *run) portFor(addr netip.Addr) uint16 {
	if r.svc == nil {
		return r.port
	}
	t, _ := r.targetOf(addr)
	if t == nil || t.svc.Port == 0 || t.svc.Port == r.port {
		return r.port
	}
	if r.d.Policy != nil && r.d.Policy(r.host, netip.AddrPortFrom(addr, t.svc.Port)) != nil {
		return r.port
	}
	return t.svc.Port
}

// endpointKey carries an attempt's *endpoint in its context, for the TLS
// handshake.
type endpointKey struct{}

// endpoint is what an attempt's TLS handshake takes from the service its
// address belongs to.
type endpoint struct {
	ech    []byte                                  // ECHConfigList; nil: none
	redial func(context.Context) (net.Conn, error) // a new connection to the same address, for the ECH retry
	report func(ECHInfo)                           // to the Trace
}

// attemptContext returns the context of the attempt index to ap: it
// reports the service the address came from to the Trace and, in a TLS
// dial to a service with ECH, carries the ECH configuration.
func (r *run) attemptContext(ctx context.Context, index int, ap netip.AddrPort) context.Context {
	if r.svc == nil {
		return ctx
	}
	t, name := r.targetOf(ap.Addr())
	if t == nil {
		return ctx
	}
	if r.hooks.t != nil && r.hooks.t.HTTPSAttempt != nil {
		r.hooks.t.HTTPSAttempt(HTTPSAttemptInfo{
			Addr: ap, Index: index, Target: hostOf(r, name), Priority: t.svc.Priority,
			Hint: r.svc.hint[ap.Addr()], PortChanged: ap.Port() != r.port, ECH: r.svc.set.tls && len(t.svc.ECH) > 0,
			Elapsed: time.Since(r.start),
		})
	}
	if !r.svc.set.tls || len(t.svc.ECH) == 0 {
		return ctx
	}
	hooks, start := r.hooks, r.start
	return context.WithValue(ctx, endpointKey{}, &endpoint{
		ech: t.svc.ECH,
		redial: func(ctx context.Context) (net.Conn, error) {
			hooks.connectStart(ap)
			return r.dialOne(ctx, &r.nd, ap)
		},
		report: func(i ECHInfo) {
			i.Addr, i.Elapsed = ap, time.Since(start)
			hooks.ech(i)
		},
	})
}

// order returns the services a caller speaking alpn (preferred first) may
// use, in the order their addresses are tried: by application protocol
// group (the caller's most preferred protocol the service supports, HEv3
// §5.1), then SvcPriority (HEv3 §5.2), equal priorities in the order
// shuffle leaves them (HEv3 §5.2: SHOULD shuffle); and how many it left
// out because no protocol fits (HEv3 §6.2, RFC 9460 §7.1.2). Priority 0
// (the end of an AliasMode chain, resolver.Service) sorts as the lowest
// priority there is.
func order(svcs []resolver.Service, alpn []string, shuffle func(int, func(i, j int))) (out []resolver.Service, skipped int) {
	type ranked struct {
		s     resolver.Service
		group int
	}
	var rs []ranked
	for _, s := range svcs {
		g := alpnGroup(s, alpn)
		if g < 0 {
			skipped++
			continue
		}
		rs = append(rs, ranked{s, g})
	}
	if shuffle != nil {
		shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	}
	prio := func(p uint16) int {
		if p == 0 {
			return 1 << 16
		}
		return int(p)
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(prio(a.s.Priority), prio(b.s.Priority)))
	})
	for _, r := range rs {
		out = append(out, r.s)
	}
	return out, skipped
}

// alpnGroup is the index in alpn of the caller's most preferred protocol
// that s supports (its SVCB ALPN set: ALPN, plus "http/1.1" unless
// NoDefaultALPN, RFC 9460 §7.1.2), or -1 when there is none.
func alpnGroup(s resolver.Service, alpn []string) int {
	for i, p := range alpn {
		if slices.Contains(s.ALPN, p) || (p == defaultALPN && !s.NoDefaultALPN) {
			return i
		}
	}
	return -1
}

// planGroups is plan for grouped candidates (HEv3 §5): the addresses are
// grouped by group, the groups kept in their order, and each group
// planned (RFC 6724 sorting, then interleaving) as if the groups before
// it had been tried, so that the families still alternate across a
// group's edge. A pure function of its inputs.
func planGroups(untried, tried []netip.Addr, firstCount int, prefer resolver.Family, src rfc6724.SourceFunc, rank rfc6724.RankFunc, group func(netip.Addr) int) []netip.Addr {
	if len(untried) == 0 {
		return untried
	}
	slices.SortStableFunc(untried, func(a, b netip.Addr) int { return cmp.Compare(group(a), group(b)) })
	out := make([]netip.Addr, 0, len(untried))
	before := slices.Clip(tried)
	for i := 0; i < len(untried); {
		j := i + 1
		for j < len(untried) && group(untried[j]) == group(untried[i]) {
			j++
		}
		part := plan(slices.Clone(untried[i:j]), before, firstCount, prefer, src, rank)
		out = append(out, part...)
		before = append(before, part...)
		i = j
	}
	return out
}

// canonicalName is name lower-case and rooted, as resolver.Service.Target.
func canonicalName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
