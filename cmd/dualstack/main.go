// Command dualstack shows how a service behaves over IPv6 and IPv4, and
// what that costs a client, as the dialer package's Happy Eyeballs
// (RFC 8305) sees it.
//
// Usage:
//
//	dualstack check [flags] TARGET [TARGET...]
//
// A TARGET is HOST, HOST:PORT, [IPv6]:PORT, or an http:// or https:// URL.
// Without a port, 443 is used (80 for an http:// URL). For each target
// check prints:
//
//   - the AAAA and the A answer, each asked on its own and timed: the
//     addresses, the TTL and the outcome (NOERROR, NODATA, NXDOMAIN,
//     SERVFAIL, timeout);
//   - a TCP connect to every address: its time, or why it failed (refused,
//     timeout, unreachable);
//   - for port 80 and 443, for URLs, and with -http, an HTTP(S) request per
//     family, pinned to that family's address: the status, the time to the
//     first byte, the TLS version and the ALPN protocol;
//   - the Happy Eyeballs race as dialer.Dialer runs it (with its learned
//     history off, so that every run is a first connection): each DNS
//     answer, each attempt's start and end in milliseconds since the dial
//     began, and the winner;
//   - the same dial by net.Dialer, for comparison;
//   - a verdict: IPv6-ready, IPv4-only, IPv6-only, IPv6 broken, IPv4
//     broken, DNS problem or unreachable, with what the problem costs each
//     new connection.
//
// Each step is bounded by -timeout (default 5s). -json prints one JSON
// document, an array of reports; -resolver names the DNS server to ask
// instead of /etc/resolv.conf's; -4 and -6 check one family. README.md
// beside this file describes the verdicts and the JSON fields.
//
// Exit status: 0 when every family that has addresses works; 1 when a
// family is broken (its addresses do not connect, or its DNS lookup failed
// or timed out) or the name has no address; 2 for a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
