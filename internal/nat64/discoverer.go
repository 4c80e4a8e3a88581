package nat64

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// How long a discovery's result is reused.
const (
	// revalidateEarly is how long before the AAAA answer's TTL runs out
	// discovery is repeated: RFC 7050 §3 asks nodes to cache the answer and
	// repeat discovery ten seconds before its TTL expires, so that the
	// prefix in use never outlives the answer that gave it.
	revalidateEarly = 10 * time.Second
	// minPositiveTTL and maxPositiveTTL bound how long a found prefix is
	// kept. The floor keeps a DNS64 that answers with TTL 0 (or a resolver
	// that does not report TTLs) from costing a query per dial; the ceiling
	// bounds how long a prefix survives a move to another network whose
	// change nobody reported with Reset.
	minPositiveTTL = time.Minute
	maxPositiveTTL = time.Hour
	// negativeTTL is how long "no NAT64 here" (NODATA or NXDOMAIN for
	// ipv4only.arpa, or an answer with no well-known address) is kept:
	// shorter than a positive answer, since a network that gains a DNS64
	// should be noticed soon, yet long enough that an IPv4 literal dialed
	// in a loop does not query each time.
	negativeTTL = 30 * time.Second
	// failureTTL is how long a failed discovery (timeout, SERVFAIL) is kept,
	// so that dials in a burst fail fast instead of each waiting out the
	// resolver's timeout again.
	failureTTL = 5 * time.Second
)

// errNoResolver is returned when Prefix is given a nil Resolver.
var errNoResolver = errors.New("nat64: no resolver to discover Pref64::/n with")

// A Discoverer finds the network's NAT64 prefix (Pref64::/n) by asking its
// resolver for the AAAA records of [WellKnownName] (RFC 7050 §3), and
// remembers the result.
//
// The query must reach the network's own resolver, the DNS64 that
// synthesizes addresses for it (RFC 8880): a public resolver reached over
// another path knows nothing of this network's NAT64. The answer is
// unauthenticated (see [PrefixesFromAnswer]). RFC 8781's PREF64 option in
// router advertisements is the better source when the caller has it: put
// it in Known.
//
// The zero value is ready to use. A Discoverer is safe for concurrent use
// and must not be copied after first use.
type Discoverer struct {
	// Known, when valid, is the Pref64::/n learned from another source,
	// such as RFC 8781's PREF64 router advertisement option (which RFC 9872
	// and the Happy Eyeballs v3 draft prefer over DNS). Prefix then
	// returns it without asking any resolver. It must be a prefix
	// [Synthesize] accepts; a Known that is not makes Prefix fail. Set it
	// before the Discoverer is shared.
	Known netip.Prefix

	mu      sync.Mutex
	cached  result    // the last discovery that completed
	expires time.Time // when cached stops being used; zero: nothing cached
	flight  *flight   // the discovery under way, if any
}

// result is what one discovery found.
type result struct {
	prefix netip.Prefix
	ok     bool
	err    error
}

// flight is one discovery shared by every caller that asked while it ran.
type flight struct {
	done    chan struct{} // closed once res is set
	res     result
	waiters int                // callers still waiting; guarded by Discoverer.mu
	cancel  context.CancelFunc // stops the lookup
}

// Prefix returns the network's Pref64::/n and true; false with a nil error
// when the network has none (the resolver answered, with no synthesized
// address); or an error when the resolver could not be asked or did not
// answer, or ctx ended first.
//
// A result is reused: a prefix for the TTL of the answer that gave it (RFC
// 7050 §3), repeated ten seconds early and kept between one minute and one
// hour; "none" for 30 seconds; a failure for 5 seconds. Callers that ask
// while a discovery is under way share it; the lookup goes on when one of
// them gives up and stops only when all of them have. An error that comes
// from ctx is never remembered.
func (d *Discoverer) Prefix(ctx context.Context, r resolver.Resolver) (netip.Prefix, bool, error) {
	if d.Known.IsValid() {
		if err := checkPrefix(d.Known); err != nil {
			return netip.Prefix{}, false, fmt.Errorf("nat64: Discoverer.Known %v: %w", d.Known, err)
		}
		return d.Known.Masked(), true, nil
	}
	d.mu.Lock()
	if time.Now().Before(d.expires) {
		res := d.cached
		d.mu.Unlock()
		return res.prefix, res.ok, res.err
	}
	if r == nil {
		d.mu.Unlock()
		return netip.Prefix{}, false, errNoResolver
	}
	if err := ctx.Err(); err != nil {
		d.mu.Unlock()
		return netip.Prefix{}, false, ctxError(err)
	}
	f := d.flight
	if f == nil {
		// The lookup belongs to every caller that joins it, so no single
		// caller's cancellation may end it: it keeps the first caller's
		// values but has its own cancellation, used when the last waiter
		// leaves.
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		d.flight = f
		go d.run(lctx, r, f)
	}
	f.waiters++
	d.mu.Unlock()

	select {
	case <-f.done:
		return f.res.prefix, f.res.ok, f.res.err
	case <-ctx.Done():
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-f.done: // finished as ctx ended: the answer is worth more
		return f.res.prefix, f.res.ok, f.res.err
	default:
	}
	f.waiters--
	if f.waiters == 0 {
		if d.flight == f {
			d.flight = nil
		}
		f.cancel()
	}
	return netip.Prefix{}, false, ctxError(ctx.Err())
}

// Cached returns, without asking anything, the prefix Prefix would return
// now from Known or from a discovery it remembers; false when there is
// none or it would have to ask.
func (d *Discoverer) Cached() (netip.Prefix, bool) {
	if d.Known.IsValid() {
		return d.Known.Masked(), checkPrefix(d.Known) == nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.expires) && d.cached.ok {
		return d.cached.prefix, true
	}
	return netip.Prefix{}, false
}

// Reset forgets the remembered result, so that the next Prefix asks again;
// call it when the network changes. A discovery under way is not stopped,
// but its result is given only to the callers already waiting for it.
func (d *Discoverer) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cached, d.expires, d.flight = result{}, time.Time{}, nil
}

// run performs f's discovery, then hands the result to f's waiters and,
// unless f was abandoned or reset meanwhile, to later callers.
func (d *Discoverer) run(ctx context.Context, r resolver.Resolver, f *flight) {
	defer f.cancel()
	res, ttl := discover(ctx, r)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.flight == f {
		d.flight = nil
		if ctx.Err() == nil {
			d.cached, d.expires = res, time.Now().Add(ttl)
		}
	}
	f.res = res
	close(f.done)
}

// discover asks r once and returns the result and how long to keep it.
func discover(ctx context.Context, r resolver.Resolver) (result, time.Duration) {
	answers := r.Resolve(ctx, WellKnownName, resolver.IPv6)
	for {
		select {
		case <-ctx.Done():
			return result{err: ctxError(ctx.Err())}, 0
		case a, open := <-answers:
			if !open {
				return result{err: fmt.Errorf("nat64: resolving %s: the resolver gave no AAAA answer", WellKnownName)}, failureTTL
			}
			if a.Family == resolver.IPv6 {
				return fromAnswer(a)
			}
		}
	}
}

// fromAnswer turns the AAAA answer for WellKnownName into a result and how
// long to keep it.
func fromAnswer(a resolver.Answer) (result, time.Duration) {
	if len(a.Addrs) == 0 {
		var dnsErr *net.DNSError
		if a.Err == nil || errors.As(a.Err, &dnsErr) && dnsErr.IsNotFound {
			return result{}, negativeTTL // NODATA or NXDOMAIN: no DNS64
		}
		return result{err: fmt.Errorf("nat64: resolving %s: %w", WellKnownName, a.Err)}, failureTTL
	}
	prefixes := PrefixesFromAnswer(a.Addrs)
	if len(prefixes) == 0 {
		return result{}, negativeTTL
	}
	return result{prefix: prefixes[0], ok: true}, positiveTTL(a.TTL)
}

// positiveTTL is how long a prefix from an answer with the given TTL (zero
// when unknown) is kept.
func positiveTTL(ttl time.Duration) time.Duration {
	return min(max(ttl-revalidateEarly, minPositiveTTL), maxPositiveTTL)
}

// ctxError wraps the error of a context that ended, keeping errors.Is
// with context.Canceled and context.DeadlineExceeded.
func ctxError(err error) error {
	return fmt.Errorf("nat64: discovering Pref64::/n: %w", err)
}
