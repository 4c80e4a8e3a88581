package resolver

import (
	"cmp"
	"context"
	"math"
	"net/netip"
	"slices"
	"time"
)

// Static is a Resolver with fixed answers, the same for every host. Each
// family may be delayed, which makes Static useful for examples and tests
// of the RFC 8305 timing rules. The zero value answers every family
// negatively (NODATA) at once.
type Static struct {
	AAAA  StaticAnswer // answer for IPv6
	A     StaticAnswer // answer for IPv4
	HTTPS StaticAnswer // answer for HTTPS: its Services (not Addrs)
}

// StaticAnswer is one family's fixed answer.
type StaticAnswer struct {
	// Addrs are the addresses returned; IPv4-mapped addresses are unmapped
	// and addresses of the wrong family are dropped.
	Addrs []netip.Addr
	// Services are the HTTPS family's services, returned (copied) as they
	// are; ignored for the address families.
	Services []Service
	// Err, when set and Addrs (Services) is empty, is returned as the
	// answer's error.
	Err error
	// Delay is how long after Resolve the answer arrives. Zero means at
	// once: the answer is in the channel when Resolve returns, in the order
	// the families were asked. Negative means never: the family is
	// answered only when the context is done.
	Delay time.Duration
}

// Resolve implements Resolver. Answers due at the same instant arrive in
// the order the families were asked (AAAA before A, RFC 8305 §3), so that
// tests in virtual time see one order, never a random one.
func (s *Static) Resolve(ctx context.Context, host string, families ...Family) <-chan Answer {
	fams := distinct(families)
	out := make(chan Answer, len(fams)) // holds every answer: the sender never blocks
	type due struct {
		f     Family
		delay time.Duration // < 0: never
	}
	var later []due
	for _, f := range fams {
		sa := s.answerFor(f)
		if sa.Delay != 0 {
			later = append(later, due{f, sa.Delay})
			continue
		}
		// Answered at once, in the order asked: in the channel when
		// Resolve returns, and no zero-length timer (golang/go#78156
		// under race + synctest).
		if err := ctx.Err(); err != nil {
			out <- Answer{Family: f, Err: ContextError(host, err)}
		} else {
			out <- sa.Answer(f, host)
		}
	}
	if len(later) == 0 {
		close(out)
		return out
	}
	// Earliest first; equal delays keep the order asked; never last.
	at := func(d due) time.Duration {
		if d.delay < 0 {
			return math.MaxInt64
		}
		return d.delay
	}
	slices.SortStableFunc(later, func(x, y due) int { return cmp.Compare(at(x), at(y)) })
	start := time.Now()
	go func() {
		defer close(out)
		for i, d := range later {
			if d.delay < 0 {
				<-ctx.Done()
			} else if wait := time.Until(start.Add(d.delay)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
			}
			if err := ctx.Err(); err != nil {
				for _, rest := range later[i:] {
					out <- Answer{Family: rest.f, Err: ContextError(host, err)}
				}
				return
			}
			out <- s.answerFor(d.f).Answer(d.f, host)
		}
	}()
	return out
}

// answerFor returns the fixed answer for family f.
func (s *Static) answerFor(f Family) StaticAnswer {
	switch f {
	case IPv6:
		return s.AAAA
	case HTTPS:
		return s.HTTPS
	}
	return s.A
}

// Answer returns the Answer sa gives for family f of host: its addresses
// of family f, unmapped and without duplicates (for HTTPS: a copy of its
// Services), or, when there are none, its Err (NotFoundError(host,
// ErrNoData) when Err is nil). Other Resolvers built on fixed answers,
// such as test doubles, use it to answer as Static does.
func (sa StaticAnswer) Answer(f Family, host string) Answer {
	a := Answer{Family: f}
	if f == HTTPS {
		if len(sa.Services) > 0 {
			a.Services = cloneServices(sa.Services)
			return a
		}
		a.Err = sa.Err
		if a.Err == nil {
			a.Err = NotFoundError(host, ErrNoData)
		}
		return a
	}
	seen := make(map[netip.Addr]bool)
	for _, addr := range sa.Addrs {
		addr = addr.Unmap()
		if !addr.IsValid() || Of(addr) != f || seen[addr] {
			continue
		}
		seen[addr] = true
		a.Addrs = append(a.Addrs, addr)
	}
	if len(a.Addrs) == 0 {
		a.Err = sa.Err
		if a.Err == nil {
			a.Err = NotFoundError(host, ErrNoData)
		}
	}
	return a
}
