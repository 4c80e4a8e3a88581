package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/detach"
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
	lctx := detach.Values(ctx)
	done := make(chan struct{}, len(fams)) // one token per family sent
	for _, f := range fams {
		go func() {
			addrs, err := r.LookupNetIP(lctx, f.Network(), host)
			a := Answer{Family: f}
			if err == nil {
				seen := make(map[netip.Addr]bool)
				for _, addr := range addrs {
					addr = addr.Unmap()
					if Of(addr) == f && !seen[addr] {
						seen[addr] = true
						a.Addrs = append(a.Addrs, addr)
					}
				}
				if len(a.Addrs) == 0 {
					err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
				}
			}
			if err != nil {
				var ae *net.AddrError
				switch {
				case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
					err = ctxError(ctx, host)
				case errors.As(err, &ae):
					// An IP literal of the other family: "not found", as
					// the Answer contract says, not an address error.
					err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true, UnwrapErr: err}
				}
				a.Addrs, a.Err = nil, err
			}
			out <- a
			done <- struct{}{}
		}()
	}
	go func() {
		for range fams {
			<-done
		}
		close(out)
	}()
	return out
}
