package dialer

// Fixtures shared by the tests of this package.

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

var (
	v6a = netip.MustParseAddr("2001:db8::1")
	v6b = netip.MustParseAddr("2001:db8::2")
	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("192.0.2.2")
)

// dualStatic answers AAAA with v6 and A with v4, at once: the usual
// dual-stack name, for tests where DNS timing is not the point.
func dualStatic(v6, v4 netip.Addr) *resolver.Static {
	return &resolver.Static{
		AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{v6}},
		A:    resolver.StaticAnswer{Addrs: []netip.Addr{v4}},
	}
}

func simDialer(n *simnet.Network, r resolver.Resolver) *Dialer {
	return &Dialer{Resolver: r, DialAttempt: n.Dial, SourceAddr: simnet.SourceAll}
}

// recordingResolver is resolver.Static that also logs every lookup it is
// asked for, for tests of what the dialer asks.
type recordingResolver struct {
	resolver.Static

	mu      sync.Mutex
	queries []query
}

// query is the log entry of one lookup.
type query struct {
	Host     string
	Families []resolver.Family
	Time     time.Time
}

// Resolve logs the lookup and answers as Static does.
func (r *recordingResolver) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	r.mu.Lock()
	r.queries = append(r.queries, query{Host: host, Families: slices.Clone(families), Time: time.Now()})
	r.mu.Unlock()
	return r.Static.Resolve(ctx, host, families...)
}

// Queries returns a copy of the lookup log, in order.
func (r *recordingResolver) Queries() []query {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.queries)
}
