package dialer

// Fixtures shared by the tests of this package.

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

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
