package resolver

import (
	"context"
	"errors"
	"net"
	"slices"
)

// System is a Resolver that asks the Go standard library's resolver one
// family at a time (LookupNetIP with "ip6" and "ip4" concurrently), so it
// follows nsswitch.conf and the cgo resolver when Go would. It cannot report
// TTLs (Answer.TTL is zero) and does no caching of its own.
//
// Go's resolver reports NXDOMAIN and NODATA alike ("no such host"), so
// System tells them apart as well as it can, the same way every time: a
// negative Answer wraps ErrNoData when the name is known to exist (Go
// found addresses of the other family only, as for an IP literal of the
// other family, or the other family of the same Resolve call is
// positive), and ErrNXDomain otherwise (one family asked; the other
// family failed or is negative too; ctx ended first). To know, a "no such
// host" from Go for one family is held until the other family's lookup
// has ended; positive answers and failures are never held.
//
// Localhost names ("localhost", "*.localhost") are loopback of both
// families (RFC 6761 §6.3) whatever the system's resolver says, as with
// Client.
//
// What else it cannot do that Client does: Go's pure-Go resolver keeps a
// cancelled query's socket open until its own resolv.conf timeout (the
// answer to the caller is prompt); and the cgo resolver may not be
// interruptible at all.
//
// Go's resolver cannot look HTTPS records up: the HTTPS family is always
// answered negatively (NODATA, wrapping ErrNoData) at once.
//
// The zero value uses net.DefaultResolver.
type System struct {
	// Resolver is the resolver to ask; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// Resolve implements Resolver.
func (s *System) Resolve(ctx context.Context, host string, families ...Family) <-chan Answer {
	fams := distinct(families)
	out := make(chan Answer, len(fams)) // holds every answer: senders never block
	if i := slices.Index(fams, HTTPS); i >= 0 {
		// Go's resolver has no HTTPS lookup: NODATA at once.
		out <- Answer{Family: HTTPS, Err: NotFoundError(host, ErrNoData)}
		fams = slices.Delete(slices.Clone(fams), i, i+1)
	}
	if len(fams) == 0 {
		close(out)
		return out
	}
	r := net.DefaultResolver
	if s != nil && s.Resolver != nil {
		r = s.Resolver
	}
	// The caller's httptrace hooks must not fire for our lookups.
	lctx := withoutValues(ctx)
	// ended[i] is closed when family i's lookup has ended (nil: not
	// asked); positive[i] is written before.
	var ended [2]chan struct{}
	var positive [2]bool
	for _, f := range fams {
		ended[familyIndex(f)] = make(chan struct{})
	}
	answerEach(out, fams, func(f Family) Answer {
		me := familyIndex(f)
		a, unsure := systemLookup(ctx, lctx, r, f, host)
		positive[me] = a.Positive()
		close(ended[me])
		if !unsure {
			return a
		}
		cause := ErrNXDomain
		if other := ended[1-me]; other != nil {
			select {
			case <-other:
			case <-ctx.Done():
			}
			if isClosed(other) && positive[1-me] {
				cause = ErrNoData
			}
		}
		a.Err = NotFoundError(host, cause)
		return a
	})
	return out
}

// systemLookup asks r for host's addresses of family f. unsure reports a
// "no such host" from Go, which may be NXDOMAIN or NODATA: the caller
// decides which (see System).
func systemLookup(ctx, lctx context.Context, r *net.Resolver, f Family, host string) (a Answer, unsure bool) {
	addrs, err := r.LookupNetIP(lctx, f.Network(), host)
	if isLocalhost(host) {
		// RFC 6761 §6.3: loopback whatever the system says; its loopback
		// entries are kept (see localhostAddrs).
		if ctx.Err() != nil {
			return Answer{Family: f, Err: ContextError(host, ctx.Err())}, false
		}
		return StaticAnswer{Addrs: localhostAddrs(addrs)}.Answer(f, host), false
	}
	if err == nil {
		// Unmapped, of family f, without duplicates; NODATA if none.
		return StaticAnswer{Addrs: addrs}.Answer(f, host), false
	}
	var ae *net.AddrError
	var de *net.DNSError
	switch {
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		err = ContextError(host, ctx.Err())
	case errors.As(err, &ae):
		// Addresses of the other family only (an IP literal, a hosts
		// entry): the name exists. "Not found", as the Answer contract
		// says, not an address error.
		err = NotFoundError(host, ErrNoData)
	case errors.As(err, &de) && de.IsNotFound:
		return Answer{Family: f}, true
	}
	return Answer{Family: f, Err: err}, false
}
