package resolver

import (
	"context"
	"errors"
	"net"
)

// System is a Resolver that asks the Go standard library's resolver one
// family at a time (LookupNetIP with "ip6" and "ip4" concurrently), so it
// follows nsswitch.conf and the cgo resolver when Go would. It cannot report
// TTLs (Answer.TTL is zero) and does no caching of its own. What it cannot
// do that Client does: it never tells NXDOMAIN from NODATA (both are
// IsNotFound); Go's pure-Go resolver keeps a cancelled query's socket open
// until its own resolv.conf timeout (the answer to the caller is prompt);
// and the cgo resolver may not be interruptible at all.
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
	answerEach(out, fams, func(f Family) Answer {
		addrs, err := r.LookupNetIP(lctx, f.Network(), host)
		if err == nil {
			// Unmapped, of family f, without duplicates; NODATA if none.
			return StaticAnswer{Addrs: addrs}.Answer(f, host)
		}
		var ae *net.AddrError
		switch {
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			err = ctxError(ctx, host)
		case errors.As(err, &ae):
			// An IP literal of the other family: "not found", as the
			// Answer contract says, not an address error.
			err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true, UnwrapErr: err}
		}
		return Answer{Family: f, Err: err}
	})
	return out
}
