package resolver

import (
	"context"
	"net/netip"
	"time"
)

// This file walks the search list for the two families together, by the
// rule in the Client doc. searchStep decides; resolveFamily (the network,
// both families concurrently) and fromCache (the cache alone) only fetch
// the results it asks for.

// Outcomes that are not a result yet, as searchStep's inputs.
const (
	pending kind = 0x80 + iota // not known yet: the lookup is still in flight
	unasked                    // that family is not looked up at all
)

// step is what one family does next at one candidate of the search list.
type step uint8

const (
	askMine      step = iota // wait for this family's own result here
	skipMine                 // take the other family's NXDOMAIN as this family's, without waiting
	askOther                 // the other family's result here decides
	answerAddrs              // the search ends: this family's addresses are its answer
	answerNoData             // the search ends: the other family has records here, this family none
	nextCand                 // go on to the next candidate (after the last: the negative answer)
)

func (s step) String() string {
	switch s {
	case askMine:
		return "askMine"
	case skipMine:
		return "skipMine"
	case askOther:
		return "askOther"
	case answerAddrs:
		return "answerAddrs"
	case answerNoData:
		return "answerNoData"
	case nextCand:
		return "nextCand"
	}
	return "step(?)"
}

// searchStep is the search-list rule of the Client doc for one family at
// one candidate name: mine is this family's outcome there, other the other
// family's (pending while unknown, unasked when only one family is looked
// up), last whether the candidate is the last of the list. Pure, for table
// tests.
//
//   - A candidate with records of either family ends the search for both:
//     both families always describe the same name.
//   - NXDOMAIN for one family is NXDOMAIN for the other (the name does not
//     exist for any type), so the other family need not wait for its own
//     reply. Not on the last candidate, whose answer is final: some
//     servers answer NXDOMAIN for AAAA while the A record exists (RFC 4074
//     §4.2).
//   - A failure (timeout, SERVFAIL) is passed over like NODATA, as Go's
//     resolver does.
func searchStep(mine, other kind, last bool) step {
	switch mine {
	case pending:
		if other == nxdomain && !last {
			return skipMine
		}
		return askMine
	case positive:
		return answerAddrs
	case nxdomain:
		return nextCand
	}
	// NODATA or failure: unless it is the last candidate, the search ends
	// here if the other family has records.
	switch {
	case last || other == unasked:
		return nextCand
	case other == pending:
		return askOther
	case other == positive:
		return answerNoData
	}
	return nextCand
}

// finalAnswer is family f's Answer when searchStep ended the search with
// s (answerAddrs or answerNoData) at a candidate where f's result was r.
func finalAnswer(s step, f Family, host string, r result) Answer {
	if s == answerAddrs {
		// A copy: the cached addresses are shared, the caller's are its own.
		return Answer{Family: f, Addrs: append([]netip.Addr(nil), r.addrs...), TTL: r.ttl}
	}
	return Answer{Family: f, Err: renamed(r.err, host), TTL: r.ttl}
}

// pair lets the two families' lookups of one host see each other's outcome
// for each candidate name, to apply the search-list rule in the Client doc.
type pair struct {
	slots [2][]slot // by familyIndex
	both  bool
	first [2]joined // the first candidate's lookups, joined by Resolve
}

// joined is what cache.join gave: a result, or a flight to wait on.
type joined struct {
	r  result
	fl *flight
}

// slot is one family's outcome for one candidate; k and err are written
// before done is closed.
type slot struct {
	done chan struct{}
	k    kind
	err  error
}

func newPair(n int, fams []Family) *pair {
	p := &pair{both: len(fams) == 2}
	for _, f := range fams {
		s := make([]slot, n)
		for i := range s {
			s[i].done = make(chan struct{})
		}
		p.slots[familyIndex(f)] = s
	}
	return p
}

// kindNow is what is known now of s's outcome: pending until it is
// published.
func (s *slot) kindNow() kind {
	if !isClosed(s.done) {
		return pending
	}
	return s.k
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// resolveFamily walks the candidate names for one family and returns its
// answer, concurrently with the other family's walk over p.
func (st *state) resolveFamily(ctx context.Context, conf *Config, host, name string, cands []string, f Family, p *pair) Answer {
	me := p.slots[familyIndex(f)]
	var other []slot
	if p.both {
		other = p.slots[1-familyIndex(f)]
	}
	next := 0 // my first slot not yet published
	defer func() {
		// Whatever happens, publish every remaining slot so that the
		// other family never waits for us.
		for i := next; i < len(me); i++ {
			me[i].k = failed
			close(me[i].done)
		}
	}()
	// otherNow is what is known now of the other family's outcome for
	// candidate i.
	otherNow := func(i int) kind {
		if other == nil {
			return unasked
		}
		return other[i].kindNow()
	}
	qtype := qtypeOf(f)
	neg := negatives{host: host, name: name}
	for i, cand := range cands {
		last := i == len(cands)-1
		var otherDone chan struct{}
		if other != nil {
			otherDone = other[i].done
		}
		var r result
		var fl *flight
		if i == 0 {
			r, fl = p.first[familyIndex(f)].r, p.first[familyIndex(f)].fl
		} else if searchStep(pending, otherNow(i), last) == skipMine {
			// Do not even ask.
			r = result{kind: nxdomain, err: other[i].err}
		} else {
			r, fl, _ = st.cache.join(cacheKey{cand, qtype}, time.Now(), st.startFlight(conf, cand, qtype, nil, nil))
		}
		if fl != nil {
		wait:
			for {
				select {
				case <-fl.done:
					r = fl.res
					break wait
				case <-ctx.Done():
					st.cache.leave(fl, st.lateWindow)
					return Answer{Family: f, Err: ContextError(host, ctx.Err())}
				case <-otherDone:
					otherDone = nil
					if searchStep(pending, other[i].k, last) == skipMine && !isClosed(fl.done) {
						// Stop waiting for this family's reply.
						r = result{kind: nxdomain, err: other[i].err}
						break wait
					}
				}
			}
			st.cache.leave(fl, st.lateWindow)
		}
		me[i].k, me[i].err = r.kind, r.err
		close(me[i].done)
		next = i + 1
		s := searchStep(r.kind, otherNow(i), last)
		if s == askOther {
			select {
			case <-other[i].done:
			case <-ctx.Done():
				return Answer{Family: f, Err: ContextError(host, ctx.Err())}
			}
			s = searchStep(r.kind, other[i].k, last)
		}
		if s != nextCand {
			return finalAnswer(s, f, host, r)
		}
		neg.add(cand, r)
	}
	return neg.answer(f)
}

// fromCache answers every family of fams from the cache alone, by the same
// searchStep as resolveFamily, or reports false when some result it needs
// is not cached. It spares cached lookups the goroutines.
func (st *state) fromCache(host, name string, cands []string, fams []Family, out chan<- Answer) bool {
	now := time.Now()
	other := unasked // what is known of the other family before it is read
	if len(fams) == 2 {
		other = pending
	}
	var answers [2]Answer
	for fi, f := range fams {
		neg := negatives{host: host, name: name}
		decided := false
		for i, cand := range cands {
			last := i == len(cands)-1
			r, ok := st.cache.get(cacheKey{cand, qtypeOf(f)}, now)
			if !ok {
				return false
			}
			s := searchStep(r.kind, other, last)
			if s == askOther {
				o, ok := st.cache.get(cacheKey{cand, qtypeOf(fams[1-fi])}, now)
				if !ok {
					return false
				}
				s = searchStep(r.kind, o.kind, last)
			}
			if s != nextCand {
				answers[fi] = finalAnswer(s, f, host, r)
				decided = true
				break
			}
			neg.add(cand, r)
		}
		if !decided {
			answers[fi] = neg.answer(f)
		}
	}
	for fi := range fams {
		out <- answers[fi]
	}
	return true
}

// negatives gathers one family's negative results over the candidates and
// makes its final negative Answer the way Go's resolver reports it: the
// error for the name as given (rooted) if it was tried, else the first
// one, renamed to the host the caller asked for. The TTL is the smallest
// of the parts (a failure has none).
type negatives struct {
	host, name        string // as asked; canonical
	firstErr, rootErr error
	ttl               time.Duration
	n                 int
}

func (ng *negatives) add(cand string, r result) {
	if ng.firstErr == nil {
		ng.firstErr = r.err
	}
	if isRootedOf(cand, ng.name) {
		ng.rootErr = r.err
	}
	if ng.n == 0 || r.ttl < ng.ttl {
		ng.ttl = r.ttl
	}
	ng.n++
}

func (ng *negatives) answer(f Family) Answer {
	err := ng.rootErr
	if err == nil {
		err = ng.firstErr
	}
	if err == nil {
		err = NotFoundError(ng.host, ErrNXDomain)
	}
	return Answer{Family: f, Err: renamed(err, ng.host), TTL: ng.ttl}
}
