// Package dialer connects to TCP services over whichever of IPv6 and IPv4
// works first, implementing Happy Eyeballs version 2 (RFC 8305).
//
// Go's net.Dialer implements the older RFC 6555 "fast fallback": it waits
// for both the A and the AAAA answer before dialing (a slow or lost AAAA
// query stalls every dial), tries at most one address per family at a
// time, and always gives IPv6 300 ms before starting IPv4. A Dialer from
// this package instead:
//
//   - asks for AAAA and A at once and starts as soon as an answer arrives
//     (waiting at most the Resolution Delay, 50 ms, for AAAA when A comes
//     first; RFC 8305 §3);
//   - sorts the addresses by RFC 6724 destination address selection and
//     interleaves the families (§4);
//   - starts a new attempt every Connection Attempt Delay (250 ms), or at
//     once when the previous attempt fails, without aborting the earlier
//     ones, and returns the first connection made, closing the others (§5);
//   - merges answers that arrive mid-race into the untried addresses (§6);
//   - on an IPv6-only network, reaches IPv4 destinations through the
//     network's NAT64 (§7).
//
// It also learns across dials (see History): destinations whose attempts
// went unanswered are sorted after working ones (RFC 6724 rule 1), a host
// name's family that does not answer goes second, a late AAAA answer is
// not waited for again, and measured round trips order destinations and
// set the Connection Attempt Delay; so a broken IPv6 path costs one delay
// once rather than on every connection. An attempt that has not answered
// within its delay while no other address waits gets up to two backup
// attempts on new sockets (with round-trip history, or when the host has
// a single address), so that a lost SYN costs one delay rather than the
// kernel's 1 s retransmission. On Linux a fresh process starts from what
// the kernel remembers of recent connections.
//
// TLSDialer lets the TLS handshake decide the race; Dialer.Policy vets
// every candidate address inside the race, so a guard against server-side
// request forgery (PublicOnly) no longer costs the dual-stack fallback;
// Metrics counts what dials do, by address family.
//
// With HTTPS records (Dialer.HTTPSRecords; on by default in a TLSDialer
// dialing HTTPS, off for plain TCP and TLS for other protocols) a dial
// follows Happy Eyeballs version 3
// (draft-ietf-happy-happyeyeballs-v3): the HTTPS query (RFC 9460) goes
// out with AAAA and A and is waited for within the Resolution Delay;
// address hints are early answers, replaced by the A and AAAA answers;
// a service's TargetName and port change what is dialed; candidates are
// grouped by the protocols the caller speaks and by service priority
// before RFC 6724 sorting; and a TLSDialer hands the service's Encrypted
// Client Hello configuration to crypto/tls.
//
// The zero Dialer is ready to use and is a drop-in replacement for
// net.Dialer, for example as http.Transport.DialContext or a database
// driver's dial hook:
//
//	var d dialer.Dialer
//	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTP/2
//	tr.DialContext = d.DialContext
//
// # Clients that resolve names themselves
//
// The race happens only when the Dialer is given the host name. Some
// clients resolve the name first and call the dial hook once per IP
// address, in order, which loses Happy Eyeballs (a black-holed first
// address then costs the client's whole timeout):
//
//   - pgx (github.com/jackc/pgx/v5): set pgconn.Config.LookupFunc to a
//     function that returns the host unchanged, and DialFunc to
//     DialContext.
//   - gRPC: the default "dns:///" target resolves and races IP literals
//     itself; use a "passthrough:///host:port" target with
//     grpc.WithContextDialer(d.DialTCP).
//
// go-redis (Options.Dialer), go-sql-driver/mysql (RegisterDialContext with
// DialTCP), golang.org/x/net/proxy (as the forward dialer) and net/http
// (Transport.DialContext, or a TLSDialer's DialContext as DialTLSContext)
// pass the name through. Two traps there: a bare &http.Transport{} with a
// custom dial function speaks only HTTP/1.1 (clone http.DefaultTransport,
// which sets ForceAttemptHTTP2), and go-redis with a custom Dialer does
// not add TLS for "rediss" URLs (use a TLSDialer).
//
// Why a dial took as long as it did is visible through a Trace installed
// with WithTrace, through httptrace's DNS and Connect hooks, and in the
// error of a failed dial, which lists every attempt with its start time.
package dialer
