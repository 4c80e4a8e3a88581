package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// tableResolver is a Resolver of one's own: fixed addresses per host, as a
// service registry might give them.
type tableResolver map[string][]netip.Addr

func (t tableResolver) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	out := make(chan resolver.Answer, len(families)) // room for every answer
	defer close(out)
	for _, f := range families {
		a := resolver.Answer{Family: f}
		for _, addr := range t[host] {
			if resolver.Of(addr) == f {
				a.Addrs = append(a.Addrs, addr)
			}
		}
		switch {
		case ctx.Err() != nil:
			a.Addrs, a.Err = nil, resolver.ContextError(host, ctx.Err())
		case len(a.Addrs) == 0 && t[host] == nil:
			a.Err = resolver.NotFoundError(host, resolver.ErrNXDomain) // no such name
		case len(a.Addrs) == 0:
			a.Err = resolver.NotFoundError(host, resolver.ErrNoData) // the name, not this family
		}
		out <- a
	}
	return out
}

// NotFoundError and ContextError give a Resolver of one's own the errors
// this package's Resolvers give, so that callers (and the dialer) read
// them the same way: *net.DNSError, IsNotFound, errors.Is with ErrNXDomain,
// ErrNoData or the context's error.
func ExampleNotFoundError() {
	r := tableResolver{"db.internal": {netip.MustParseAddr("192.0.2.7")}}
	for _, host := range []string{"db.internal", "nowhere.internal"} {
		for a := range r.Resolve(context.Background(), host, resolver.IPv6, resolver.IPv4) {
			fmt.Printf("%s %s: %v %v NODATA=%v NXDOMAIN=%v\n", host, a.Family.QType(), a.Addrs, a.Err,
				errors.Is(a.Err, resolver.ErrNoData), errors.Is(a.Err, resolver.ErrNXDomain))
		}
	}
	// Output:
	// db.internal AAAA: [] lookup db.internal: no such host NODATA=true NXDOMAIN=false
	// db.internal A: [192.0.2.7] <nil> NODATA=false NXDOMAIN=false
	// nowhere.internal AAAA: [] lookup nowhere.internal: no such host NODATA=false NXDOMAIN=true
	// nowhere.internal A: [] lookup nowhere.internal: no such host NODATA=false NXDOMAIN=true
}
