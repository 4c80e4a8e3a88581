package main

import (
	"math"
	"time"
)

// Report is what check found for one target. Its JSON field names are
// stable; durations are milliseconds (numbers, 0.1 ms resolution).
type Report struct {
	Target   string `json:"target"` // as given on the command line
	Host     string `json:"host"`
	Port     uint16 `json:"port"`
	Resolver string `json:"resolver"` // the DNS server asked, or "system (/etc/resolv.conf)"
	// DNS holds one answer per family checked, AAAA first.
	DNS []DNSResult `json:"dns"`
	// Connect holds one TCP connect per address, IPv6 first.
	Connect []ConnectResult `json:"connect"`
	// HTTP holds one request per family that has an address, when the
	// target gets an HTTP(S) check.
	HTTP []HTTPResult `json:"http,omitempty"`
	// Race is the Happy Eyeballs dial of the name.
	Race RaceResult `json:"race"`
	// NetDialer is the same dial by Go's net.Dialer, for comparison.
	NetDialer NetDialResult `json:"net_dialer"`
	Verdict   Verdict       `json:"verdict"`
}

// Family names, as resolver.Family prints them.
const (
	ipv6 = "IPv6"
	ipv4 = "IPv4"
)

// DNS statuses.
const (
	dnsNoError  = "NOERROR"  // addresses
	dnsNoData   = "NODATA"   // the name exists, no records of this type
	dnsNXDomain = "NXDOMAIN" // the name does not exist
	dnsServFail = "SERVFAIL"
	dnsRefused  = "REFUSED" // or another error rcode: "server misbehaving"
	dnsTimeout  = "timeout" // no answer in time
	dnsError    = "error"   // the server could not be asked (unreachable, ...)
)

// DNSResult is one family's answer.
type DNSResult struct {
	Family string   `json:"family"` // "IPv6" or "IPv4"
	Type   string   `json:"type"`   // "AAAA" or "A"
	Status string   `json:"status"` // NOERROR, NODATA, NXDOMAIN, SERVFAIL, REFUSED, timeout, error
	Addrs  []string `json:"addrs"`
	TTL    int64    `json:"ttl_s"` // seconds; 0 when unknown (hosts file, IP literal)
	Ms     float64  `json:"ms"`    // from the query to the answer
	Error  string   `json:"error,omitempty"`
	// Reason is the innermost cause of Error: "connection refused",
	// "i/o timeout", "server misbehaving".
	Reason string `json:"reason,omitempty"`
}

// failed reports a lookup that did not learn the answer: neither
// addresses nor a negative answer.
func (d DNSResult) failed() bool {
	switch d.Status {
	case dnsNoError, dnsNoData, dnsNXDomain:
		return false
	}
	return true
}

// Connect results.
const (
	connOK          = "connected"
	connRefused     = "refused"     // RST: nothing listens
	connTimeout     = "timeout"     // no answer to the SYN: a black hole
	connUnreachable = "unreachable" // no route, or no source address of the family
	connError       = "error"
	// connUnusable is an address from DNS that no connection can go to
	// (::, 0.0.0.0, multicast, …: dialer.ErrUnusableAddress); it is not
	// dialed, as the Dialer does not dial it.
	connUnusable = "unusable"
)

// ConnectResult is one TCP connect to one address.
type ConnectResult struct {
	Family string  `json:"family"`
	Addr   string  `json:"addr"`   // IP:port
	Result string  `json:"result"` // connected, refused, timeout, unreachable, error, unusable
	Ms     float64 `json:"ms"`
	Error  string  `json:"error,omitempty"`
}

// HTTPResult is one HTTP(S) request over one family, pinned to one of its
// addresses.
type HTTPResult struct {
	Family     string  `json:"family"`
	Addr       string  `json:"addr"`
	URL        string  `json:"url"`
	Status     int     `json:"status"` // 0 when the request failed
	Proto      string  `json:"proto,omitempty"`
	TLSVersion string  `json:"tls_version,omitempty"`
	ALPN       string  `json:"alpn,omitempty"`
	TTFBMs     float64 `json:"ttfb_ms"` // from the start of the request to the first response byte
	Error      string  `json:"error,omitempty"`
}

// RaceResult is the Happy Eyeballs dial as dialer.Dialer ran it, with
// its history off.
type RaceResult struct {
	Network  string      `json:"network"`          // tcp, tcp4 or tcp6
	Winner   string      `json:"winner,omitempty"` // IP:port; "" when the dial failed
	Family   string      `json:"family,omitempty"` // the winner's
	Ms       float64     `json:"ms"`               // until DialContext returned
	Attempts int         `json:"attempts"`
	Error    string      `json:"error,omitempty"`
	Events   []RaceEvent `json:"events"`
}

// NetDialResult is one dial of the target by net.Dialer (RFC 6555 fast
// fallback: both answers awaited, then IPv6 with 300 ms head start).
type NetDialResult struct {
	Winner string  `json:"winner,omitempty"` // IP:port; "" when the dial failed
	Family string  `json:"family,omitempty"`
	Ms     float64 `json:"ms"`
	Error  string  `json:"error,omitempty"`
}

// Race event kinds.
const (
	evDNS       = "dns"
	evRejected  = "rejected"
	evStart     = "start"
	evWon       = "won"
	evFailed    = "failed"
	evCancelled = "cancelled"
)

// RaceEvent is one step of the race.
type RaceEvent struct {
	Ms      float64 `json:"ms"`    // since the dial began
	Event   string  `json:"event"` // dns, rejected, start, won, failed, cancelled
	Family  string  `json:"family,omitempty"`
	Addr    string  `json:"addr,omitempty"`
	Attempt int     `json:"attempt,omitempty"` // 1, 2, … for attempt events
	// Addrs are a DNS answer's addresses.
	Addrs []string `json:"addrs,omitempty"`
	// RanMs is how long an attempt ran (won, failed, cancelled).
	RanMs  float64 `json:"ran_ms,omitempty"`
	Detail string  `json:"detail,omitempty"` // why a DNS answer is negative, why an attempt failed
}

// Verdict sums a Report up.
type Verdict struct {
	// Label is one of IPv6-ready, IPv4-only, IPv6-only, "IPv6 broken: …"
	// and "IPv4 broken: …" (black hole, refused, unreachable, slow,
	// connect fails, HTTP fails), "DNS problem: …" (AAAA lost, AAAA late,
	// NXDOMAIN, no answer from the resolver, …), unreachable, HTTP fails;
	// with -4 or -6, IPv4 works or IPv6 works.
	Label string `json:"label"`
	// OK is false when a family is broken or the name has no address:
	// the exit status is then 1.
	OK       bool      `json:"ok"`
	Problems []Problem `json:"problems"`
}

// Problem is one thing wrong, with what it costs.
type Problem struct {
	Code   string  `json:"code"`   // stable: ipv6-black-hole, aaaa-lost, …
	Broken bool    `json:"broken"` // a family does not work; false: it works, at a cost
	Text   string  `json:"text"`
	CostMs float64 `json:"cost_ms"` // what each new Happy Eyeballs connection pays
}

// ms converts d to milliseconds with 0.1 ms resolution.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}
