package simnet

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// Resolver is an in-memory resolver.Resolver for tests in virtual time:
// each host has an answer per family, each with its own delay, and every
// lookup is logged. Unlike resolver.Static it answers per host, and one
// goroutine serves each lookup, so answers due at the same instant arrive
// in the order the families were asked (AAAA before A), never in a random
// one. A host without answers gets NXDOMAIN for every family at once.
//
// The zero value knows no host. It is safe for concurrent use.
type Resolver struct {
	mu      sync.Mutex
	hosts   map[string][2]resolver.StaticAnswer // [AAAA, A]
	queries []Query
}

// Query is the log entry of one lookup.
type Query struct {
	Host     string
	Families []resolver.Family
	Time     time.Time
}

// Set gives host its AAAA and A answers. The fields mean what they mean
// for resolver.Static: the addresses (IPv4-mapped ones unmapped, those of
// the wrong family dropped), the error of a negative answer (nil means
// NXDOMAIN/NODATA as a *net.DNSError with IsNotFound), and the delay after
// the lookup (negative: the answer never comes, only the context's error
// when the lookup is cancelled).
func (r *Resolver) Set(host string, aaaa, a resolver.StaticAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hosts == nil {
		r.hosts = make(map[string][2]resolver.StaticAnswer)
	}
	r.hosts[host] = [2]resolver.StaticAnswer{aaaa, a}
}

// Queries returns a copy of the lookup log, in order.
func (r *Resolver) Queries() []Query {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.queries)
}

// Resolve implements resolver.Resolver.
func (r *Resolver) Resolve(ctx context.Context, host string, families ...resolver.Family) <-chan resolver.Answer {
	var fams []resolver.Family
	for _, f := range families {
		if (f == resolver.IPv6 || f == resolver.IPv4) && !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	start := time.Now()
	r.mu.Lock()
	r.queries = append(r.queries, Query{Host: host, Families: slices.Clone(fams), Time: start})
	answers, known := r.hosts[host]
	r.mu.Unlock()

	type pending struct {
		ans   resolver.Answer
		delay time.Duration // < 0: never
	}
	var todo []pending
	for _, f := range fams {
		sa := resolver.StaticAnswer{Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		if known {
			sa = answers[1]
			if f == resolver.IPv6 {
				sa = answers[0]
			}
		}
		todo = append(todo, pending{sa.Answer(f, host), sa.Delay})
	}
	// Earliest first; equal delays keep the order asked; never-answered last.
	slices.SortStableFunc(todo, func(x, y pending) int {
		switch {
		case x.delay < 0 && y.delay < 0:
			return 0
		case x.delay < 0:
			return 1
		case y.delay < 0:
			return -1
		}
		return int(x.delay - y.delay)
	})

	out := make(chan resolver.Answer, len(todo)) // holds every answer: the sender never blocks
	go func() {
		defer close(out)
		for i, p := range todo {
			if p.delay < 0 {
				<-ctx.Done()
			} else if wait := time.Until(start.Add(p.delay)); wait > 0 {
				// A zero-length timer is avoided on purpose: selecting on
				// a timer that expired before anyone waited on it runs it
				// on the system stack, which under the race detector in a
				// synctest bubble can crash (golang/go#78156).
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
			if ctx.Err() != nil {
				for _, q := range todo[i:] {
					out <- resolver.Answer{Family: q.ans.Family, Err: &net.DNSError{
						Err: ctx.Err().Error(), Name: host, UnwrapErr: ctx.Err(),
						IsTimeout: ctx.Err() == context.DeadlineExceeded,
					}}
				}
				return
			}
			out <- p.ans
		}
	}()
	return out
}

var _ resolver.Resolver = (*Resolver)(nil)
