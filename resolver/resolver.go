package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Family is an address family: IPv6 (AAAA records) or IPv4 (A records);
// or the HTTPS pseudo-family (HTTPS records).
type Family uint8

const (
	// IPv6 is the AAAA family. It is listed first because RFC 8305 §3
	// sends the AAAA query first.
	IPv6 Family = 6
	// IPv4 is the A family.
	IPv4 Family = 4
	// HTTPS is the pseudo-family of HTTPS records (RFC 9460 §9), the
	// Happy Eyeballs v3 service records: asking Resolve for it sends the
	// HTTPS query (type 65) with the AAAA and A queries, after them on the
	// wire, and its Answer carries Services instead of Addrs. Resolvers
	// that cannot look HTTPS records up answer it negatively (NODATA) at
	// once, so asking for it never delays or fails a dial.
	HTTPS Family = 65
)

// String returns "IPv6", "IPv4", "HTTPS", or "Family(N)".
func (f Family) String() string {
	switch f {
	case IPv6:
		return "IPv6"
	case IPv4:
		return "IPv4"
	case HTTPS:
		return "HTTPS"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// Network returns the net package's name for the family: "ip6" or "ip4";
// "" for HTTPS, which has no addresses.
func (f Family) Network() string {
	switch f {
	case IPv6:
		return "ip6"
	case HTTPS:
		return ""
	}
	return "ip4"
}

// QType returns the DNS record type name for the family: "AAAA", "A" or
// "HTTPS".
func (f Family) QType() string {
	switch f {
	case IPv6:
		return "AAAA"
	case HTTPS:
		return "HTTPS"
	}
	return "A"
}

// familyIndex is f's index in per-family arrays: 0 for IPv6, 1 for IPv4
// (not for HTTPS).
func familyIndex(f Family) int {
	if f == IPv6 {
		return 0
	}
	return 1
}

// qtypeOf is the DNS query type of f.
func qtypeOf(f Family) uint16 {
	switch f {
	case IPv6:
		return dns.TypeAAAA
	case HTTPS:
		return dns.TypeHTTPS
	}
	return dns.TypeA
}

// distinct returns families without duplicates or unknown values, keeping
// the caller's order.
func distinct(families []Family) []Family {
	var out []Family
	for _, f := range families {
		if (f == IPv6 || f == IPv4 || f == HTTPS) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Of returns the family of addr (IPv4-mapped IPv6 addresses count as
// IPv4); never HTTPS.
func Of(addr netip.Addr) Family {
	if addr.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// Answer is one address family's result for one host, or the HTTPS
// pseudo-family's.
//
// An Answer with addresses (for HTTPS: services) is positive. An Answer
// without them is negative: Err then says why. Err is nil or a *net.DNSError with IsNotFound
// (see NotFoundError) for a name that exists without records of this type
// (NODATA, wrapping ErrNoData) or does not exist (NXDOMAIN, wrapping
// ErrNXDomain); any other Err (timeout, SERVFAIL, cancellation; see
// ContextError) is a failure to learn the answer. RFC 8305 §3 treats all of
// them alike: the family has nothing to offer to this dial.
type Answer struct {
	Family Family
	// Addrs holds unmapped addresses of Family in the order the source gave
	// them, without duplicates.
	Addrs []netip.Addr
	// Services holds, for Family HTTPS only, the host's ServiceMode HTTPS
	// records after AliasMode records were followed (RFC 9460 §2.4.2),
	// lowest Priority first, equal priorities in the order the server
	// gave them. Records that could not be used were left out (RFC 9460
	// §8); none left is NODATA.
	Services []Service
	// TTL is how long the answer may be cached; zero when unknown.
	TTL time.Duration
	// Err is why Addrs (Services) is empty; nil when it is not.
	Err error
}

// Positive reports whether the answer holds at least one address, or
// for HTTPS one service.
func (a Answer) Positive() bool { return len(a.Addrs) > 0 || len(a.Services) > 0 }

// A Resolver looks up a host's addresses one family at a time and hands
// each family's answer over as soon as it arrives, so that a dialer can
// start connecting without waiting for the slower family (RFC 8305 §3).
type Resolver interface {
	// Resolve looks up host for each of families, sending the queries in
	// the order given (AAAA before A when both are asked) without waiting
	// between them. It returns at once. The returned channel receives
	// exactly one Answer per distinct family, in the order the answers
	// arrive, and is then closed. It is buffered to hold every answer, so
	// the resolver never blocks on a caller that stops reading.
	//
	// When ctx is done, every family still outstanding is answered promptly
	// with an error that wraps ctx.Err(). Hooks carried in ctx (such as
	// httptrace's) must not fire for the resolver's own DNS traffic.
	//
	// families belongs to the caller, which may share it between calls:
	// Resolve must not modify it.
	Resolve(ctx context.Context, host string, families ...Family) <-chan Answer
}

// answerEach sends, for each of fams, answer(f) on out from a goroutine of
// its own, so that each family's answer goes out the moment it is known,
// and closes out after the last. out must have room for every answer.
func answerEach(out chan<- Answer, fams []Family, answer func(Family) Answer) {
	if len(fams) == 0 {
		close(out)
		return
	}
	var left atomic.Int32
	left.Store(int32(len(fams)))
	for _, f := range fams {
		go func() {
			out <- answer(f)
			if left.Add(-1) == 0 {
				close(out)
			}
		}()
	}
}
