package main

import (
	"slices"
	"testing"
)

// Fixture pieces for verdict tables: a Report is assembled from DNS
// answers, connects and race events written out by hand.

func aaaa(status string, msec float64, addrs ...string) DNSResult {
	return DNSResult{Family: ipv6, Type: "AAAA", Status: status, Ms: msec, Addrs: addrs}
}

func a(status string, msec float64, addrs ...string) DNSResult {
	return DNSResult{Family: ipv4, Type: "A", Status: status, Ms: msec, Addrs: addrs}
}

func conn(addr, result string, msec float64) ConnectResult {
	fam := ipv4
	if addr[0] == '[' {
		fam = ipv6
	}
	c := ConnectResult{Family: fam, Addr: addr, Result: result, Ms: msec}
	if result != connOK {
		c.Error = "dial tcp " + addr + ": " + result
	}
	return c
}

const (
	v6addr = "[2001:db8::1]:443"
	v4addr = "192.0.2.1:443"
)

// raceV4After is a race in which the IPv6 attempt started at 1 ms and the
// IPv4 attempt, which won, at start ms.
func raceV4After(start float64) RaceResult {
	return RaceResult{Network: "tcp", Winner: v4addr, Family: ipv4, Ms: start + 1, Attempts: 2, Events: []RaceEvent{
		{Ms: 0.5, Event: evDNS, Family: ipv4, Addrs: []string{"192.0.2.1"}},
		{Ms: 1, Event: evStart, Family: ipv6, Addr: v6addr, Attempt: 1},
		{Ms: start, Event: evStart, Family: ipv4, Addr: v4addr, Attempt: 2},
		{Ms: start + 1, Event: evWon, Family: ipv4, Addr: v4addr, Attempt: 2},
	}}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name   string
		r      Report
		label  string
		ok     bool
		codes  []string  // problem codes, in order
		costMs []float64 // their costs; nil: not checked
	}{
		{
			name: "both families connect: IPv6-ready",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 21)},
			},
			label: "IPv6-ready", ok: true,
		},
		{
			name: "NODATA for AAAA: IPv4-only",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoData, 3), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v4addr, connOK, 21)},
			},
			label: "IPv4-only", ok: true,
		},
		{
			name: "NODATA for A: IPv6-only",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoData, 3)},
				Connect: []ConnectResult{conn(v6addr, connOK, 21)},
			},
			label: "IPv6-only", ok: true,
		},
		{
			// RFC 8305 §5: the IPv4 attempt starts a Connection Attempt
			// Delay after the unanswered IPv6 one; the cost is measured
			// from the race.
			name: "RFC8305/5/IPv6 black hole costs the Connection Attempt Delay",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connTimeout, 5000), conn(v4addr, connOK, 21)},
				Race:    raceV4After(252),
			},
			label: "IPv6 broken: black hole", ok: false,
			codes: []string{"ipv6-black-hole"}, costMs: []float64{251},
		},
		{
			name: "RFC8305/5/IPv6 black hole without a race: the model's 250 ms",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connTimeout, 5000), conn(v4addr, connOK, 21)},
			},
			label: "IPv6 broken: black hole", ok: false,
			codes: []string{"ipv6-black-hole"}, costMs: []float64{250},
		},
		{
			// RFC 8305 §5: a failed attempt starts the next one at once.
			name: "RFC8305/5/IPv6 refused costs the refusal",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connRefused, 0.2), conn(v4addr, connOK, 21)},
				Race:    raceV4After(1.3),
			},
			label: "IPv6 broken: refused", ok: false,
			codes: []string{"ipv6-refused"}, costMs: []float64{0.3},
		},
		{
			name: "IPv6 unreachable",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connUnreachable, 0.1), conn(v4addr, connOK, 21)},
			},
			label: "IPv6 broken: unreachable", ok: false,
			codes: []string{"ipv6-unreachable"},
		},
		{
			name: "AAAA is ::, not dialed: IPv6 broken, at no cost",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "::"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn("[::]:443", connUnusable, 0), conn(v4addr, connOK, 21)},
			},
			label: "IPv6 broken: unusable address", ok: false,
			codes: []string{"ipv6-unusable"}, costMs: []float64{0},
		},
		{
			name: "RFC8305/5/IPv6 slower than IPv4 by more than the Connection Attempt Delay",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 400), conn(v4addr, connOK, 20)},
			},
			label: "IPv6 broken: slow", ok: false,
			codes: []string{"ipv6-slow"}, costMs: []float64{250},
		},
		{
			name: "IPv6 slower than IPv4 by less than the Connection Attempt Delay: ready",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 200), conn(v4addr, connOK, 20)},
			},
			label: "IPv6-ready", ok: true,
		},
		{
			name: "IPv4 much slower than IPv6: ready, IPv6 goes first",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 400)},
			},
			label: "IPv6-ready", ok: true,
			codes: []string{"ipv4-slow"}, costMs: []float64{0},
		},
		{
			name: "IPv4 black hole: IPv6 goes first, no cost",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connTimeout, 5000)},
			},
			label: "IPv4 broken: black hole", ok: false,
			codes: []string{"ipv4-black-hole"}, costMs: []float64{0},
		},
		{
			name: "both families fail: unreachable",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connRefused, 0.1), conn(v4addr, connTimeout, 5000)},
			},
			label: "unreachable", ok: false,
			codes: []string{"ipv6-refused", "ipv4-black-hole"},
		},
		{
			name: "one of two IPv6 addresses black-holed: ready, with a cost",
			r: Report{
				DNS: []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1", "2001:db8::2"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connTimeout, 5000), conn("[2001:db8::2]:443", connOK, 20),
					conn(v4addr, connOK, 20)},
			},
			label: "IPv6-ready", ok: true,
			codes: []string{"ipv6-partial"}, costMs: []float64{250},
		},
		{
			name: "IPv6 connects but HTTP fails over it",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 20)},
				HTTP: []HTTPResult{{Family: ipv6, Addr: v6addr, Error: "remote error: tls: handshake failure"},
					{Family: ipv4, Addr: v4addr, Status: 200}},
			},
			label: "IPv6 broken: HTTP fails", ok: false,
			codes: []string{"ipv6-http-failed"},
		},
		{
			name: "TCP connects over both families, the request fails over both",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 20)},
				HTTP: []HTTPResult{{Family: ipv6, Addr: v6addr, Error: "x509: certificate signed by unknown authority"},
					{Family: ipv4, Addr: v4addr, Error: "x509: certificate signed by unknown authority"}},
			},
			label: "HTTP fails", ok: false,
			codes: []string{"ipv6-http-failed", "ipv4-http-failed"},
		},
		{
			// RFC 8305 §3: with the A answer in hand, wait at most the
			// Resolution Delay for AAAA.
			name: "RFC8305/3/AAAA lost costs the Resolution Delay",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsTimeout, 5000), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v4addr, connOK, 20)},
				Race: RaceResult{Winner: v4addr, Family: ipv4, Events: []RaceEvent{
					{Ms: 3, Event: evDNS, Family: ipv4, Addrs: []string{"192.0.2.1"}},
					{Ms: 53.5, Event: evStart, Family: ipv4, Addr: v4addr, Attempt: 1},
				}},
			},
			label: "DNS problem: AAAA lost", ok: false,
			codes: []string{"aaaa-lost"}, costMs: []float64{50.5},
		},
		{
			name: "AAAA SERVFAIL: IPv6 lost, quickly",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsServFail, 2), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v4addr, connOK, 20)},
			},
			label: "DNS problem: AAAA failed", ok: false,
			codes: []string{"aaaa-failed"}, costMs: []float64{0},
		},
		{
			name: "A lost: IPv6 starts at once",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsTimeout, 5000)},
				Connect: []ConnectResult{conn(v6addr, connOK, 20)},
			},
			label: "DNS problem: A lost", ok: false,
			codes: []string{"a-lost"}, costMs: []float64{0},
		},
		{
			name: "RFC8305/3/AAAA late by more than the Resolution Delay: works, at a cost",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 303, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 20)},
			},
			label: "DNS problem: AAAA late", ok: true,
			codes: []string{"aaaa-late"}, costMs: []float64{50},
		},
		{
			name: "AAAA late by less than the Resolution Delay: ready",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 40, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 20)},
			},
			label: "IPv6-ready", ok: true,
		},
		{
			name:  "NXDOMAIN",
			r:     Report{DNS: []DNSResult{aaaa(dnsNXDomain, 3), a(dnsNXDomain, 3)}},
			label: "DNS problem: NXDOMAIN", ok: false,
			codes: []string{"nxdomain"},
		},
		{
			name:  "NODATA for both",
			r:     Report{DNS: []DNSResult{aaaa(dnsNoData, 3), a(dnsNoData, 3)}},
			label: "DNS problem: no addresses", ok: false,
			codes: []string{"no-addresses"},
		},
		{
			name:  "resolver unreachable",
			r:     Report{Resolver: "127.0.0.1:1", DNS: []DNSResult{aaaa(dnsError, 0.3), a(dnsError, 0.3)}},
			label: "DNS problem: no answer from the resolver", ok: false,
			codes: []string{"no-dns-answer"},
		},
		{
			name: "-4: IPv4 works",
			r: Report{
				DNS:     []DNSResult{a(dnsNoError, 3, "192.0.2.1")},
				Connect: []ConnectResult{conn(v4addr, connOK, 20)},
			},
			label: "IPv4 works", ok: true,
		},
		{
			name: "-6: IPv6 black hole, nothing to fall back to",
			r: Report{
				DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1")},
				Connect: []ConnectResult{conn(v6addr, connTimeout, 5000)},
			},
			label: "unreachable", ok: false,
			codes: []string{"ipv6-black-hole"}, costMs: []float64{0},
		},
		{
			name:  "RFC9460/7.3/HTTPS hints match the answers: nothing to say",
			r:     httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError, Services: []HTTPSService{svc(1, "example.test.", "2001:db8::1", "192.0.2.1")}}),
			label: "IPv6-ready", ok: true,
		},
		{
			name: "RFC9460/7.3/ipv6hint not in the AAAA answer: a warning at no cost",
			r: httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError,
				Services: []HTTPSService{svc(1, "example.test.", "2001:db8::2", "192.0.2.1")}}),
			label: "IPv6-ready", ok: true, codes: []string{"https-ipv6hint-mismatch"}, costMs: []float64{0},
		},
		{
			name: "RFC9460/7.3/ipv4hint while A is NODATA: a mismatch",
			r: func() Report {
				r := httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError, Services: []HTTPSService{svc(1, "example.test.", "", "192.0.2.1")}})
				r.DNS[1], r.Connect = a(dnsNoData, 3), r.Connect[:1]
				return r
			}(),
			label: "IPv6-only", ok: true, codes: []string{"https-ipv4hint-mismatch"},
		},
		{
			name: "hints against a failed A lookup: nothing to hold them against",
			r: func() Report {
				r := httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError, Services: []HTTPSService{svc(1, "example.test.", "2001:db8::1", "192.0.2.9")}})
				r.DNS[1], r.Connect = a(dnsServFail, 3), r.Connect[:1]
				return r
			}(),
			label: "DNS problem: A failed", ok: false, codes: []string{"a-failed"},
		},
		{
			name: "service on another target and port: its own answers hold its hints",
			r: httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError, Services: []HTTPSService{func() HTTPSService {
				s := svc(1, "cdn.test.", "", "198.51.100.7")
				s.Port = 8443
				s.TargetDNS = []DNSResult{aaaa(dnsNoData, 2), a(dnsNoError, 2, "198.51.100.8")}
				return s
			}()}}),
			label: "IPv6-ready", ok: true, codes: []string{"https-ipv4hint-mismatch", "https-port", "https-target"},
		},
		{
			name: "AliasMode to another name: the target noted, no hints",
			r: httpsReport(&HTTPSResult{Name: "example.test", Status: dnsNoError, Services: []HTTPSService{{Target: "cdn.test.",
				TargetDNS: []DNSResult{aaaa(dnsNoError, 2, "2001:db8::7"), a(dnsNoError, 2, "198.51.100.7")}}}}),
			label: "IPv6-ready", ok: true, codes: []string{"https-target"},
		},
		{
			// HEv3 §4.2: the first attempt waits for the HTTPS answer up
			// to the Resolution Delay; the race measures it.
			name: "HEv3/4.2/HTTPS query lost: DNS problem, costs what the race waited",
			r: func() Report {
				r := httpsReport(&HTTPSResult{Name: "example.test", Status: dnsTimeout, Ms: 5000, Error: "lookup example.test: i/o timeout"})
				r.Race = RaceResult{Network: "tcp", Winner: v6addr, Family: ipv6, Ms: 53, Attempts: 1, HTTPSRecords: true, Events: []RaceEvent{
					{Ms: 2, Event: evDNS, Family: ipv6, Addrs: []string{"2001:db8::1"}},
					{Ms: 52, Event: evStart, Family: ipv6, Addr: v6addr, Attempt: 1},
					{Ms: 53, Event: evWon, Family: ipv6, Addr: v6addr, Attempt: 1},
				}}
				return r
			}(),
			label: "DNS problem: HTTPS lost", ok: true, codes: []string{"https-lost"}, costMs: []float64{50},
		},
		{
			name:  "HTTPS SERVFAIL: DNS problem, no cost",
			r:     httpsReport(&HTTPSResult{Name: "example.test", Status: dnsServFail, Error: "lookup example.test: server misbehaving"}),
			label: "DNS problem: HTTPS failed", ok: true, codes: []string{"https-failed"}, costMs: []float64{0},
		},
		{
			name:  "HTTPS NODATA or NXDOMAIN: nothing to say",
			r:     httpsReport(&HTTPSResult{Name: "_8443._https.example.test", Status: dnsNXDomain}),
			label: "IPv6-ready", ok: true,
		},
		{
			name: "resolver unreachable: the HTTPS failure is not listed again",
			r: func() Report {
				r := httpsReport(&HTTPSResult{Name: "example.test", Status: dnsError, Reason: "connection refused"})
				r.DNS = []DNSResult{aaaa(dnsError, 1), a(dnsError, 1)}
				r.Connect = nil
				return r
			}(),
			label: "DNS problem: no answer from the resolver", ok: false, codes: []string{"no-dns-answer"},
		},
		{
			name: "AAAA lost outranks HTTPS lost in the label",
			r: func() Report {
				r := httpsReport(&HTTPSResult{Name: "example.test", Status: dnsTimeout, Ms: 5000})
				r.DNS[0], r.Connect = aaaa(dnsTimeout, 5000), r.Connect[1:]
				return r
			}(),
			label: "DNS problem: AAAA lost", ok: false, codes: []string{"aaaa-lost", "https-lost"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verdict(tt.r)
			var codes []string
			var costs []float64
			for _, p := range v.Problems {
				codes = append(codes, p.Code)
				costs = append(costs, p.CostMs)
				if p.Text == "" {
					t.Errorf("problem %s has no text", p.Code)
				}
			}
			if v.Label != tt.label || v.OK != tt.ok || !slices.Equal(codes, tt.codes) {
				t.Errorf("got %q ok=%v %v; want %q ok=%v %v", v.Label, v.OK, codes, tt.label, tt.ok, tt.codes)
			}
			if tt.costMs != nil && !slices.Equal(costs, tt.costMs) {
				t.Errorf("got costs %v ms; want %v", costs, tt.costMs)
			}
			if v.Problems == nil {
				t.Errorf("Problems is nil; want an empty list (JSON [])")
			}
			if t.Failed() {
				for _, p := range v.Problems {
					t.Logf("%s: %s", p.Code, p.Text)
				}
			}
		})
	}
}

// httpsReport is a dual-stack Report for example.test on port 443, both
// families connecting, with HTTPS answer h.
func httpsReport(h *HTTPSResult) Report {
	return Report{
		Host: "example.test", Port: 443,
		DNS:     []DNSResult{aaaa(dnsNoError, 3, "2001:db8::1"), a(dnsNoError, 3, "192.0.2.1")},
		HTTPS:   h,
		Connect: []ConnectResult{conn(v6addr, connOK, 20), conn(v4addr, connOK, 21)},
	}
}

// svc is a ServiceMode record with at most one hint of each family ("":
// none).
func svc(priority uint16, target, v6hint, v4hint string) HTTPSService {
	s := HTTPSService{Priority: priority, Target: target, ALPN: []string{"h2"}, IPv4Hint: []string{}, IPv6Hint: []string{}}
	if v6hint != "" {
		s.IPv6Hint = append(s.IPv6Hint, v6hint)
	}
	if v4hint != "" {
		s.IPv4Hint = append(s.IPv4Hint, v4hint)
	}
	return s
}
