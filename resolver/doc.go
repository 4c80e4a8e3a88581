// Package resolver looks up host addresses one family at a time and hands
// each family's answer over the moment it is known, so that a Happy
// Eyeballs dialer (RFC 8305) can start connecting on the first useful
// answer instead of waiting for both.
//
// The Resolver interface is what the dialer consumes. Implementations:
//
//   - Client: a caching DNS stub resolver (the default, see Default). It
//     reads /etc/resolv.conf and /etc/hosts with glibc's semantics (search
//     list and ndots, timeout, attempts, rotate, use-vc, no-aaaa, ...),
//     sends the AAAA query before the A query, accepts only replies that
//     match the query's ID, question and server, retries truncated replies
//     over TCP, races servers the way a Happy Eyeballs dialer races
//     addresses (IPv6 servers first, the next one after 250 ms or at once on
//     a failure, RFC 8305 §3.1), caches answers per (name, family) with
//     their TTL, negative answers per RFC 2308, and shares identical
//     lookups in flight. Asked for the HTTPS pseudo-family, it also
//     looks HTTPS records up (RFC 9460: Service, AliasMode followed) for
//     Happy Eyeballs v3, with the same caching.
//   - System: Go's own resolver (nsswitch.conf, cgo), one family at a time;
//     no TTLs, no HTTPS records.
//   - Static: fixed answers with per-family delays, for examples and tests.
//
// Every Answer's error is a *net.DNSError: IsNotFound when the name or its
// records of that type do not exist, IsTimeout when no server answered in
// time, and wrapping the context's error when the caller gave up.
//
// resolv.conf options not supported, and why: sortlist (the dialer sorts
// destinations by RFC 6724 instead); inet6 (deprecated by glibc); debug,
// trust-ad (no effect on addresses). single-request and
// single-request-reopen are accepted but change nothing: every query has
// its own socket already, and the AAAA and A queries stay parallel as RFC
// 8305 requires. Per-query timeouts do not grow between attempts the way
// glibc's do; like Go's resolver, each query waits the configured timeout.
// Unlike both, the next server is asked after 250 ms without an answer
// (the earlier query still counts), not after the whole timeout.
package resolver
