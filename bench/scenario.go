package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// hostName is the name every client dials; the scenario's DNS zone
// answers for it. .test is reserved for testing (RFC 6761).
const hostName = "www.example.test"

// port is where the scenario servers listen; tlsPort in HTTPS scenarios.
const (
	port    = 80
	tlsPort = 443
)

// state is what an address does with a connection attempt.
type state int

const (
	listening state = iota // accepts
	refusing               // nobody listens: the kernel answers RST
	blackHole              // the wire drops every packet: SYNs go unanswered
)

func (s state) String() string {
	return [...]string{"listening", "refusing", "black hole"}[s]
}

// endpoint is one address the scenario's DNS answer holds.
type endpoint struct {
	addr  netip.Addr
	state state
	delay time.Duration // one-way, each direction
	// mtu, when positive, makes the path a path-MTU black hole: packets
	// longer than mtu bytes are dropped silently, in both directions.
	// TCP still connects; a TLS handshake does not (the server's flight
	// is larger, see tlsFlightMin).
	mtu int
}

// pmtuBlackHole is the mtu of the path-MTU black hole scenarios: the
// IPv6 minimum link MTU (RFC 8200 §5), what a tunnel on the path might
// leave.
const pmtuBlackHole = 1280

// scenario is one emulated network situation.
type scenario struct {
	name  string
	about string
	// endpoints in the order the DNS answers list them (AAAA and A each
	// keep their own order).
	endpoints []endpoint
	// loss is the probability each packet to or from an endpoint is lost.
	loss float64
	// dnsDelay and dnsDrop are per query type faults of the DNS server.
	dnsDelay map[uint16]time.Duration
	dnsDrop  map[uint16]bool
	// tls makes it an HTTPS scenario: HTTPS servers on tlsPort, the
	// clients' TLS modes, and a connection counts once its TLS handshake
	// is done; the first response byte is timed too.
	tls bool
	// v4only runs the clients on an IPv4-only host: the client namespace
	// has no IPv6 address and no IPv6 route for the scenario.
	v4only bool
	// n is how many times each client dials; 0 means defaultN. -n
	// overrides it for every scenario.
	n int
	// httpsHints makes the DNS zone publish an HTTPS record (RFC 9460)
	// for the host whose ipv6hint and ipv4hint list every endpoint, and
	// answer HTTPS queries at once (HEv3 §4.2.1: hints are early
	// answers). Clients that ask for it know the addresses at once.
	httpsHints bool
}

// defaultN is a scenario's dials per client unless it says otherwise.
const defaultN = 10

// lossN is the dials per client in the loss scenarios: with 20% loss
// each way about one dial in three loses its SYN or SYN-ACK (a 1 s
// retransmission), so the tail needs a few dozen dials to show.
const lossN = 60

// dials returns how many times each client dials in s: override when
// positive, else the scenario's own n.
func (s scenario) dials(override int) int {
	switch {
	case override > 0:
		return override
	case s.n > 0:
		return s.n
	}
	return defaultN
}

// Address pools: scenario i uses v6(1..) and v4(1..). The client is
// 192.0.2.1 and 2001:db8::1 (netem's defaults); the DNS server 192.0.2.53.
var dnsAddr = netip.MustParseAddr("192.0.2.53")

const poolSize = 12

func v6(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(i)})
}
func v4(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}) }

// pool returns every scenario address, for the server namespace.
func pool() []netip.Addr {
	var out []netip.Addr
	for i := 1; i <= poolSize; i++ {
		out = append(out, v6(i), v4(i))
	}
	return out
}

// rtt20 is the default path: 20 ms one-way, 40 ms round trip.
const rtt20 = 20 * time.Millisecond

// scenarios returns every scenario, in table order.
func scenarios() []scenario {
	ok := func(a netip.Addr) endpoint { return endpoint{addr: a, state: listening, delay: rtt20} }
	dead := func(a netip.Addr) endpoint { return endpoint{addr: a, state: blackHole, delay: rtt20} }
	many := []endpoint{}
	for i := 1; i <= 6; i++ {
		many = append(many, dead(v6(i)))
	}
	for i := 1; i <= 5; i++ {
		many = append(many, dead(v4(i)))
	}
	many = append(many, ok(v4(6)))
	return []scenario{
		{name: "healthy", about: "both families work, 40 ms RTT",
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))}},
		{name: "v6-blackhole", about: "the one IPv6 address drops every packet",
			endpoints: []endpoint{dead(v6(1)), ok(v4(1))}},
		{name: "v6-blackhole-3", about: "three IPv6 addresses, all drop every packet",
			endpoints: []endpoint{dead(v6(1)), dead(v6(2)), dead(v6(3)), ok(v4(1))}},
		{name: "v6-slow", about: "IPv6 150 ms one-way, IPv4 10 ms",
			endpoints: []endpoint{{addr: v6(1), state: listening, delay: 150 * time.Millisecond}, {addr: v4(1), state: listening, delay: 10 * time.Millisecond}}},
		{name: "v4-blackhole", about: "the IPv4 address drops every packet",
			endpoints: []endpoint{ok(v6(1)), dead(v4(1))}},
		{name: "aaaa-late", about: "the AAAA answer comes 1 s after the A answer",
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))},
			dnsDelay:  map[uint16]time.Duration{dns.TypeAAAA: time.Second}},
		{name: "aaaa-lost", about: "AAAA queries are never answered",
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))},
			dnsDrop:   map[uint16]bool{dns.TypeAAAA: true}},
		{name: "a-late-v6-dead", about: "the A answer comes 1 s late and IPv6 drops every packet",
			endpoints: []endpoint{dead(v6(1)), ok(v4(1))},
			dnsDelay:  map[uint16]time.Duration{dns.TypeA: time.Second}},
		{name: "v6-refused", about: "IPv6 answers RST (nothing listens)",
			endpoints: []endpoint{{addr: v6(1), state: refusing, delay: rtt20}, ok(v4(1))}},
		{name: "loss-5", about: "5% loss each way on every path",
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))}, loss: 0.05, n: lossN},
		{name: "loss-20", about: "20% loss each way on every path",
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))}, loss: 0.20, n: lossN},
		{name: "loss-20-2x2", about: "two addresses per family, 20% loss each way on every path",
			endpoints: []endpoint{ok(v6(1)), ok(v6(2)), ok(v4(1)), ok(v4(2))}, loss: 0.20, n: lossN},
		{name: "loss-20-single", about: "one IPv4 address (AAAA NODATA), 20% loss each way",
			endpoints: []endpoint{ok(v4(1))}, loss: 0.20, n: lossN},
		{name: "aaaa-lost-v4only", about: "IPv4-only client (no IPv6 address or route); AAAA queries are never answered", v4only: true,
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))},
			dnsDrop:   map[uint16]bool{dns.TypeAAAA: true}},
		{name: "many-dead", about: "6 AAAA and 6 A; only the last A works",
			endpoints: many},
		{name: "tls-healthy", about: "HTTPS; both families work, 40 ms RTT", tls: true,
			endpoints: []endpoint{ok(v6(1)), ok(v4(1))}},
		{name: "tls-v6-pmtu-blackhole", about: "HTTPS; IPv6 drops packets over 1280 bytes (TCP connects, the TLS flights never arrive)", tls: true,
			endpoints: []endpoint{{addr: v6(1), state: listening, delay: rtt20, mtu: pmtuBlackHole}, ok(v4(1))}},
		{name: "tls-v6-blackhole", about: "HTTPS; the one IPv6 address drops every packet", tls: true,
			endpoints: []endpoint{dead(v6(1)), ok(v4(1))}},
		{name: "tls-https-hints", about: "HTTPS; AAAA and A answer 1 s late, the HTTPS record with address hints at once", tls: true,
			endpoints:  []endpoint{ok(v6(1)), ok(v4(1))},
			dnsDelay:   map[uint16]time.Duration{dns.TypeAAAA: time.Second, dns.TypeA: time.Second},
			httpsHints: true},
	}
}

// answerDelay is when the DNS answer for addr's family arrives, and false
// when it never does; with HTTPS hints, when the HTTPS answer does.
func (s scenario) answerDelay(addr netip.Addr) (time.Duration, bool) {
	if s.httpsHints && !s.dnsDrop[dns.TypeHTTPS] {
		return s.dnsDelay[dns.TypeHTTPS], true
	}
	qtype := dns.TypeA
	if addr.Is6() {
		qtype = dns.TypeAAAA
	}
	if s.dnsDrop[qtype] {
		return 0, false
	}
	return s.dnsDelay[qtype], true
}

// oracle is the best time to connect any client could reach: for each
// working address, when its family's answer arrives plus its handshake
// round trips (TCP's; in an HTTPS scenario TLS 1.3's too, one more); the
// smallest of these. It ignores loss (the lucky case) and the few tenths
// of a millisecond the DNS exchange and the TLS computations take.
func (s scenario) oracle() (time.Duration, netip.Addr) {
	best, bestAddr := time.Duration(-1), netip.Addr{}
	rtts := time.Duration(1)
	if s.tls {
		rtts = 2
	}
	for _, e := range s.endpoints {
		if !s.works(e) {
			continue
		}
		at, ok := s.answerDelay(e.addr)
		if !ok {
			continue
		}
		if t := at + rtts*2*e.delay; best < 0 || t < best {
			best, bestAddr = t, e.addr
		}
	}
	return best, bestAddr
}

// oracleFirstByte is the best time to the first byte of the HTTPS
// response: the oracle's connection plus one round trip for the request.
// -1 outside HTTPS scenarios.
func (s scenario) oracleFirstByte() time.Duration {
	best, addr := s.oracle()
	if !s.tls || best < 0 {
		return -1
	}
	for _, e := range s.endpoints {
		if e.addr == addr {
			return best + 2*e.delay
		}
	}
	return -1
}

// works reports whether a client can get a connection through e: it
// listens, and, in an HTTPS scenario, its path carries the TLS flights.
func (s scenario) works(e endpoint) bool {
	return e.state == listening && !(s.tls && e.mtu > 0 && e.mtu < tlsFlightMin)
}

// records returns the DNS zone's addresses for hostName.
func (s scenario) records() []netip.Addr {
	var out []netip.Addr
	for _, e := range s.endpoints {
		out = append(out, e.addr)
	}
	return out
}

// httpsRecords returns the HTTPS RDATA the zone publishes for the host
// (nil without httpsHints): one ServiceMode record, TargetName ".", with
// every endpoint's address as a hint.
func (s scenario) httpsRecords() []string {
	if !s.httpsHints {
		return nil
	}
	var v6s, v4s []string
	for _, e := range s.endpoints {
		if e.addr.Is6() {
			v6s = append(v6s, e.addr.String())
		} else {
			v4s = append(v4s, e.addr.String())
		}
	}
	rdata := "1 . alpn=h2"
	if len(v4s) > 0 {
		rdata += " ipv4hint=" + strings.Join(v4s, ",")
	}
	if len(v6s) > 0 {
		rdata += " ipv6hint=" + strings.Join(v6s, ",")
	}
	return []string{rdata}
}

// validate checks that a scenario only uses pool addresses, once each.
func (s scenario) validate() error {
	seen := make(map[netip.Addr]bool)
	for _, e := range s.endpoints {
		if !slices.Contains(pool(), e.addr) || seen[e.addr] {
			return fmt.Errorf("scenario %s: address %s outside the pool or repeated", s.name, e.addr)
		}
		seen[e.addr] = true
	}
	if _, a := s.oracle(); !a.IsValid() {
		return fmt.Errorf("scenario %s: no working address", s.name)
	}
	return nil
}

// selectScenarios picks scenarios by comma-separated names ("" or "all"
// for every one).
func selectScenarios(all []scenario, list string) ([]scenario, error) {
	if list == "" || list == "all" {
		return all, nil
	}
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == name })
		if i < 0 {
			var names []string
			for _, s := range all {
				names = append(names, s.name)
			}
			return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
