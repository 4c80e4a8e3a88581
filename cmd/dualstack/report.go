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
	// HTTPS is the HTTPS record query (RFC 9460), when it is asked: for
	// port 443, https:// URLs, and any port with -https.
	HTTPS *HTTPSResult `json:"https,omitempty"`
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

// HTTPSResult is the answer to the HTTPS query (type 65, RFC 9460) of a
// target: its ServiceMode records after AliasMode records were followed.
type HTTPSResult struct {
	// Name is the name asked: the host for port 443, "_PORT._https.HOST"
	// for another port (RFC 9460 §9.1, §2.3).
	Name   string  `json:"name"`
	Status string  `json:"status"` // as DNSResult's; NOERROR with services
	TTL    int64   `json:"ttl_s"`  // seconds; 0 when unknown
	Ms     float64 `json:"ms"`     // from the query to the answer
	Error  string  `json:"error,omitempty"`
	Reason string  `json:"reason,omitempty"`
	// Services are the records, lowest priority first.
	Services []HTTPSService `json:"services"`
}

// HTTPSService is one ServiceMode HTTPS record (resolver.Service).
type HTTPSService struct {
	// Priority is the SvcPriority; 0 is the end of an AliasMode chain
	// whose target has no HTTPS records: a plain connection to Target.
	Priority uint16 `json:"priority"`
	// Target is the name whose addresses serve, rooted: the record's
	// TargetName (the AliasMode target when one was followed), or its
	// owner for ".".
	Target        string   `json:"target"`
	ALPN          []string `json:"alpn"`
	NoDefaultALPN bool     `json:"no_default_alpn"`
	Port          uint16   `json:"port"` // 0: the port checked
	IPv4Hint      []string `json:"ipv4hint"`
	IPv6Hint      []string `json:"ipv6hint"`
	// ECHBytes is the length of the ech parameter (an ECHConfigList);
	// 0 when there is none.
	ECHBytes int `json:"ech_bytes"`
	// TargetDNS holds the AAAA and A answers of a Target other than the
	// host (the host's are in dns[]), at most four targets per report.
	TargetDNS []DNSResult `json:"target_dns,omitempty"`
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
	Network string `json:"network"` // tcp, tcp4 or tcp6
	// HTTPSRecords reports that the Dialer asked for HTTPS records
	// (dialer.HTTPSOn): whenever the check asks the HTTPS query.
	HTTPSRecords bool        `json:"https_records"`
	Winner       string      `json:"winner,omitempty"` // IP:port; "" when the dial failed
	Family       string      `json:"family,omitempty"` // the winner's
	Ms           float64     `json:"ms"`               // until DialContext returned
	Attempts     int         `json:"attempts"`
	Error        string      `json:"error,omitempty"`
	Events       []RaceEvent `json:"events"`
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
	// HTTPS records (dialer.Trace's HTTPS hooks).
	evHTTPS         = "https"          // the HTTPS answer
	evHintsReplaced = "hints-replaced" // hints dropped by the A or AAAA answer
	evECH           = "ech"            // a TLS handshake with ECH (TLSDialer only)
)

// RaceEvent is one step of the race.
type RaceEvent struct {
	Ms      float64 `json:"ms"`    // since the dial began
	Event   string  `json:"event"` // dns, rejected, start, won, failed, cancelled, https, hints-replaced, ech
	Family  string  `json:"family,omitempty"`
	Addr    string  `json:"addr,omitempty"`
	Attempt int     `json:"attempt,omitempty"` // 1, 2, … for attempt events
	// Addrs are a DNS answer's addresses.
	Addrs []string `json:"addrs,omitempty"`
	// RanMs is how long an attempt ran (won, failed, cancelled).
	RanMs  float64 `json:"ran_ms,omitempty"`
	Detail string  `json:"detail,omitempty"` // why a DNS answer is negative, why an attempt failed
	// Name is the name a dns, https or hints-replaced event is about,
	// when it is not the host: a service's target, the HTTPS query name.
	Name string `json:"name,omitempty"`
	// Hint marks a dns event made of an HTTPS record's ipv4hint or
	// ipv6hint, and a start event to a hint address.
	Hint bool `json:"hint,omitempty"`
	// Service is, on a start event, the HTTPS service the attempt's
	// address belongs to.
	Service *RaceService `json:"service,omitempty"`
	// Services are an https event's services, in the order the dial
	// uses them.
	Services []HTTPSService `json:"services,omitempty"`
}

// RaceService is the HTTPS service behind an attempt
// (dialer.HTTPSAttemptInfo).
type RaceService struct {
	Priority    uint16 `json:"priority"`
	Target      string `json:"target"`
	PortChanged bool   `json:"port_changed"` // the record's port replaced the port dialed
	ECH         bool   `json:"ech"`          // the TLS handshake is given the record's ECH configuration
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
