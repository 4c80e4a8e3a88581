//go:build linux

package main

// End to end on real sockets: the command runs against endpoints on
// 127.0.0.1 and ::1 that accept, refuse or black-hole connections
// (internal/loopback), with names answered by an in-process DNS server
// with per-type faults (internal/dnstest), named with -resolver.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// zone is every test's DNS data.
var zone = []string{
	"dual.test. 60 IN AAAA ::1",
	"dual.test. 60 IN A 127.0.0.1",
	"v4only.test. 60 IN A 127.0.0.1",
	"v6only.test. 60 IN AAAA ::1",
	"zero.test. 60 IN AAAA ::",
	"zero.test. 60 IN A 127.0.0.1",
	"example.com. 60 IN AAAA ::1",
	"example.com. 60 IN A 127.0.0.1",
	"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
}

// startDNS starts a DNS server for zone with faults per query type.
func startDNS(t *testing.T, faults map[uint16]dnstest.Fault) *dnstest.Server {
	t.Helper()
	return dnstest.Start(t, &dnstest.Faults{Next: dnstest.NewZone(zone...), ByType: faults})
}

// runCheck runs "dualstack check -resolver SRV -json ARGS..." and decodes
// the JSON document.
func runCheck(t *testing.T, srv string, args ...string) (code int, reports []Report, took time.Duration) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code = run(context.Background(), append([]string{"check", "-resolver", srv, "-json"}, args...), &stdout, &stderr)
	took = time.Since(start)
	if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil {
		t.Fatalf("exit %d; stdout is not a JSON array of reports: %v\nstdout: %s\nstderr: %s", code, err, stdout.String(), stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		}
	})
	return code, reports, took
}

// one returns the only report.
func one(t *testing.T, reports []Report) Report {
	t.Helper()
	if len(reports) != 1 {
		t.Fatalf("got %d reports; want 1", len(reports))
	}
	return reports[0]
}

func hostPort(host string, port uint16) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}

func problem(r Report, code string) (Problem, bool) {
	for _, p := range r.Verdict.Problems {
		if p.Code == code {
			return p, true
		}
	}
	return Problem{}, false
}

func dnsFor(r Report, family string) DNSResult {
	for _, d := range r.DNS {
		if d.Family == family {
			return d
		}
	}
	return DNSResult{}
}

func connectFor(r Report, family string) []ConnectResult {
	var cs []ConnectResult
	for _, c := range r.Connect {
		if c.Family == family {
			cs = append(cs, c)
		}
	}
	return cs
}

// TestCheck_Loopback: each case sets what ::1 and 127.0.0.1 do and how
// DNS misbehaves, and checks the verdict, the exit status, the problem's
// measured cost and the race's winner. The machine is shared and noisy:
// time bounds are wide, each chosen so that the behaviour it rules out
// lands on the other side of it.
func TestCheck_Loopback(t *testing.T) {
	before := loopback.FDs(t)
	tests := []struct {
		name    string
		v4, v6  loopback.Kind
		host    string // dual.test when empty
		faults  map[uint16]dnstest.Fault
		args    []string // before the target
		code    int
		label   string
		problem string  // a problem code the verdict must hold; "" none at all
		costMin float64 // bounds on its cost_ms
		costMax float64
		winner  string // the race winner's family; "" the race fails
		check   func(t *testing.T, r Report)
	}{
		{
			name: "dual stack: IPv6-ready, ::1 wins the race",
			v4:   loopback.Accept, v6: loopback.Accept,
			code: exitOK, label: "IPv6-ready", winner: ipv6,
			check: func(t *testing.T, r Report) {
				d6 := dnsFor(r, ipv6)
				if d6.Type != "AAAA" || d6.Status != dnsNoError || len(d6.Addrs) != 1 || d6.Addrs[0] != "::1" || d6.TTL != 60 {
					t.Errorf("AAAA answer %+v; want NOERROR ::1 TTL 60", d6)
				}
				if len(r.Connect) != 2 || r.Connect[0].Result != connOK || r.Connect[1].Result != connOK {
					t.Errorf("connects %+v; want two, both connected", r.Connect)
				}
				if len(r.HTTP) != 0 {
					t.Errorf("HTTP %+v on a port other than 80 and 443 without -http", r.HTTP)
				}
			},
		},
		{
			name: "no AAAA record: IPv4-only",
			v4:   loopback.Accept, v6: loopback.Refuse, host: "v4only.test",
			code: exitOK, label: "IPv4-only", winner: ipv4,
			check: func(t *testing.T, r Report) {
				if d := dnsFor(r, ipv6); d.Status != dnsNoData {
					t.Errorf("AAAA status %q; want NODATA", d.Status)
				}
				if cs := connectFor(r, ipv6); len(cs) != 0 {
					t.Errorf("IPv6 connects %+v without IPv6 addresses", cs)
				}
			},
		},
		{
			name: "no A record: IPv6-only",
			v4:   loopback.Refuse, v6: loopback.Accept, host: "v6only.test",
			code: exitOK, label: "IPv6-only", winner: ipv6,
		},
		{
			// RFC 8305 §5: the IPv4 attempt starts a Connection Attempt
			// Delay (250 ms) after the unanswered IPv6 one.
			name: "RFC8305/5/IPv6 black hole: broken, costs the Connection Attempt Delay",
			v4:   loopback.Accept, v6: loopback.BlackHole,
			code: exitBroken, label: "IPv6 broken: black hole",
			problem: "ipv6-black-hole", costMin: 200, costMax: 700, winner: ipv4,
			check: func(t *testing.T, r Report) {
				cs := connectFor(r, ipv6)
				if len(cs) != 1 || cs[0].Result != connTimeout || cs[0].Ms < 900 {
					t.Errorf("IPv6 connects %+v; want one timeout after the 1 s -timeout", cs)
				}
			},
		},
		{
			// RFC 8305 §5: a refused attempt starts the next one at once.
			name: "RFC8305/5/IPv6 refused: broken, costs next to nothing",
			v4:   loopback.Accept, v6: loopback.Refuse,
			code: exitBroken, label: "IPv6 broken: refused",
			problem: "ipv6-refused", costMin: 0, costMax: 200, winner: ipv4,
		},
		{
			// An AAAA of :: would reach this host: neither the Dialer nor
			// the check dials it.
			name: "AAAA is [::]: IPv6 broken, unusable address, not dialed",
			v4:   loopback.Accept, v6: loopback.Accept, host: "zero.test",
			code: exitBroken, label: "IPv6 broken: unusable address", problem: "ipv6-unusable", winner: ipv4,
			check: func(t *testing.T, r Report) {
				if cs := connectFor(r, ipv6); len(cs) != 1 || cs[0].Result != connUnusable || cs[0].Ms != 0 {
					t.Errorf("IPv6 connects %+v; want [::] unusable, not dialed", cs)
				}
				if !slices.ContainsFunc(r.Race.Events, func(e RaceEvent) bool { return e.Event == evRejected }) {
					t.Errorf("race events %+v; want the Dialer's rejection of ::", r.Race.Events)
				}
			},
		},
		{
			name: "IPv4 black hole: broken, IPv6 goes first",
			v4:   loopback.BlackHole, v6: loopback.Accept,
			code: exitBroken, label: "IPv4 broken: black hole",
			problem: "ipv4-black-hole", costMin: 0, costMax: 0, winner: ipv6,
		},
		{
			name: "both refused: unreachable",
			v4:   loopback.Refuse, v6: loopback.Refuse,
			code: exitBroken, label: "unreachable", problem: "ipv6-refused",
		},
		{
			// RFC 8305 §3: with the A answer in hand, the dial waits the
			// Resolution Delay (50 ms) for AAAA, then connects over IPv4.
			name: "RFC8305/3/AAAA dropped: DNS problem, costs the Resolution Delay",
			v4:   loopback.Accept, v6: loopback.Accept,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Drop: true}},
			code:   exitBroken, label: "DNS problem: AAAA lost",
			problem: "aaaa-lost", costMin: 30, costMax: 400, winner: ipv4,
			check: func(t *testing.T, r Report) {
				if d := dnsFor(r, ipv6); d.Status != dnsTimeout || d.Ms < 900 {
					t.Errorf("AAAA answer %+v; want a timeout after the 1 s -timeout", d)
				}
				if d := dnsFor(r, ipv4); d.Status != dnsNoError || d.Ms > 500 {
					t.Errorf("A answer %+v; want NOERROR at once", d)
				}
			},
		},
		{
			name: "AAAA SERVFAIL: DNS problem",
			v4:   loopback.Accept, v6: loopback.Accept,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Rcode: dns.RcodeServerFailure}},
			code:   exitBroken, label: "DNS problem: AAAA failed", problem: "aaaa-failed", winner: ipv4,
			check: func(t *testing.T, r Report) {
				if d := dnsFor(r, ipv6); d.Status != dnsServFail {
					t.Errorf("AAAA status %q; want SERVFAIL", d.Status)
				}
			},
		},
		{
			// RFC 8305 §3: a late AAAA answer costs at most the Resolution
			// Delay; everything works.
			name: "RFC8305/3/AAAA 300 ms late: works, costs the Resolution Delay",
			v4:   loopback.Accept, v6: loopback.Accept,
			faults: map[uint16]dnstest.Fault{dns.TypeAAAA: {Delay: 300 * time.Millisecond}},
			code:   exitOK, label: "DNS problem: AAAA late",
			problem: "aaaa-late", costMin: 30, costMax: 250, winner: ipv4,
		},
		{
			name: "NXDOMAIN: DNS problem, nothing dialed",
			v4:   loopback.Accept, v6: loopback.Accept, host: "missing.test",
			code: exitBroken, label: "DNS problem: NXDOMAIN", problem: "nxdomain",
			check: func(t *testing.T, r Report) {
				if len(r.Connect) != 0 || r.Race.Error == "" || r.Race.Attempts != 0 {
					t.Errorf("connects %+v, race %+v; want none and a failed race", r.Connect, r.Race)
				}
			},
		},
		{
			name: "-4: only IPv4 is checked",
			v4:   loopback.Accept, v6: loopback.BlackHole, args: []string{"-4"},
			code: exitOK, label: "IPv4 works", winner: ipv4,
			check: func(t *testing.T, r Report) {
				if len(r.DNS) != 1 || r.DNS[0].Type != "A" || len(connectFor(r, ipv6)) != 0 || r.Race.Network != "tcp4" {
					t.Errorf("DNS %+v, connects %+v, race network %q; want A only, IPv4 only, tcp4", r.DNS, r.Connect, r.Race.Network)
				}
			},
		},
		{
			name: "-6: only IPv6 is checked, and it is black-holed",
			v4:   loopback.Accept, v6: loopback.BlackHole, args: []string{"-6"},
			code: exitBroken, label: "unreachable", problem: "ipv6-black-hole",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loopback.Dual(t, tt.v4, tt.v6)
			srv := startDNS(t, tt.faults)
			host := tt.host
			if host == "" {
				host = "dual.test"
			}
			args := append([]string{"-timeout", "1s"}, tt.args...)
			code, reports, took := runCheck(t, srv.Addr.String(), append(args, hostPort(host, p.Port))...)
			r := one(t, reports)
			if code != tt.code || r.Verdict.Label != tt.label || r.Verdict.OK != (tt.code == exitOK) {
				t.Errorf("exit %d, verdict %q ok=%v; want %d, %q", code, r.Verdict.Label, r.Verdict.OK, tt.code, tt.label)
			}
			if tt.problem == "" && len(r.Verdict.Problems) != 0 {
				t.Errorf("problems %+v; want none", r.Verdict.Problems)
			}
			if tt.problem != "" {
				pr, ok := problem(r, tt.problem)
				if !ok {
					t.Errorf("problems %+v; want %s", r.Verdict.Problems, tt.problem)
				} else if tt.costMax > 0 && (pr.CostMs < tt.costMin || pr.CostMs > tt.costMax) {
					t.Errorf("%s costs %v ms; want %v to %v ms", tt.problem, pr.CostMs, tt.costMin, tt.costMax)
				}
			}
			if r.Race.Family != tt.winner {
				t.Errorf("race won by %q (%s); want %q", r.Race.Family, r.Race.Winner, tt.winner)
			}
			if r.Host != host || r.Port != p.Port || r.Resolver != srv.Addr.String() {
				t.Errorf("report for %s port %d from %s; want %s port %d from %s", r.Host, r.Port, r.Resolver, host, p.Port, srv.Addr)
			}
			// Everything is bounded by -timeout: DNS, connects (at once),
			// the race.
			if took > 5*time.Second {
				t.Errorf("the check took %v with -timeout 1s", took)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_UnreachableResolver: a resolver that refuses (nothing on its
// port) or never answers is named in the verdict, and the check stays
// bounded by -timeout.
func TestCheck_UnreachableResolver(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("nothing listens", func(t *testing.T) {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		closed := c.LocalAddr().(*net.UDPAddr).AddrPort()
		c.Close()
		code, reports, took := runCheck(t, closed.String(), "-timeout", "1s", "dual.test:80")
		r := one(t, reports)
		p, ok := problem(r, "no-dns-answer")
		if code != exitBroken || r.Verdict.Label != "DNS problem: no answer from the resolver" || !ok || !strings.Contains(p.Text, closed.String()) {
			t.Errorf("exit %d, verdict %+v; want 1, DNS problem, no-dns-answer naming %v", code, r.Verdict, closed)
		}
		if d := dnsFor(r, ipv6); d.Status != dnsError || d.Reason != "connection refused" {
			t.Errorf("AAAA %+v; want status error, reason connection refused", d)
		}
		if took > time.Second {
			t.Errorf("took %v; a refused resolver should be reported at once", took)
		}
	})
	t.Run("never answers", func(t *testing.T) {
		srv := startDNS(t, map[uint16]dnstest.Fault{dns.TypeA: {Drop: true}, dns.TypeAAAA: {Drop: true}})
		code, reports, took := runCheck(t, srv.Addr.String(), "-timeout", "500ms", "dual.test:80")
		r := one(t, reports)
		if _, ok := problem(r, "no-dns-answer"); code != exitBroken || !ok {
			t.Errorf("exit %d, verdict %+v; want 1 and no-dns-answer", code, r.Verdict)
		}
		if d := dnsFor(r, ipv4); d.Status != dnsTimeout {
			t.Errorf("A %+v; want a timeout", d)
		}
		if took > 3*time.Second {
			t.Errorf("took %v with -timeout 500ms", took)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_SeveralTargets: one JSON array, one report per target in
// the order given; the exit status is 1 when any target is broken.
func TestCheck_SeveralTargets(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		good := loopback.Dual(t, loopback.Accept, loopback.Accept)
		bad := loopback.Dual(t, loopback.Accept, loopback.Refuse)
		srv := startDNS(t, nil)
		code, reports, _ := runCheck(t, srv.Addr.String(), "-timeout", "1s",
			hostPort("dual.test", good.Port), hostPort("dual.test", bad.Port), hostPort("::1", good.Port))
		if len(reports) != 3 {
			t.Fatalf("got %d reports; want 3", len(reports))
		}
		var got []string
		for _, r := range reports {
			got = append(got, r.Verdict.Label)
		}
		want := []string{"IPv6-ready", "IPv6 broken: refused", "IPv6-only"}
		if code != exitBroken || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("exit %d, verdicts %q; want 1, %q", code, got, want)
		}
		if reports[2].Host != "::1" || reports[2].Race.Winner != hostPort("::1", good.Port) {
			t.Errorf("IP literal target: %+v", reports[2])
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_Hosts: -hosts names a hosts file consulted before the DNS
// server; its answers carry no TTL.
func TestCheck_Hosts(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		srv := startDNS(t, nil)
		hosts := filepath.Join(t.TempDir(), "hosts")
		os.WriteFile(hosts, []byte("::1 from-hosts.test\n127.0.0.1 from-hosts.test\n"), 0o600)
		code, reports, _ := runCheck(t, srv.Addr.String(), "-hosts", hosts, hostPort("from-hosts.test", p.Port))
		r := one(t, reports)
		// The two queries the server sees are net.Dialer's: Go's
		// resolver reads /etc/hosts, not -hosts.
		if code != exitOK || r.Verdict.Label != "IPv6-ready" || dnsFor(r, ipv6).TTL != 0 || srv.Count(0, "") != 2 {
			t.Errorf("exit %d, verdict %q, DNS %+v, %d queries to the server; want 0, IPv6-ready, no TTL, only net.Dialer's 2",
				code, r.Verdict.Label, r.DNS, srv.Count(0, ""))
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// startHTTPS serves HTTPS with HTTP/2 on both endpoints of p.
func startHTTPS(t *testing.T, p *loopback.Pair) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s\n", r.Proto)
	})
	var first *httptest.Server
	for _, e := range []*loopback.Endpoint{p.V6, p.V4} {
		s := httptest.NewUnstartedServer(h)
		s.Listener.Close() // its own 127.0.0.1:0 listener, replaced
		s.Listener = e.Listener()
		s.EnableHTTP2 = true
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the connects' bare TCP handshakes are no news
		s.StartTLS()
		t.Cleanup(s.Close)
		if first == nil {
			first = s
		}
	}
	return first
}

// TestCheck_HTTPS: a request per family pinned to its address, TLS 1.3
// with h2 negotiated, verified with -cacert or skipped with -insecure.
func TestCheck_HTTPS(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("-insecure", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		startHTTPS(t, p)
		srv := startDNS(t, nil)
		code, reports, _ := runCheck(t, srv.Addr.String(), "-timeout", "2s", "-insecure", fmt.Sprintf("https://dual.test:%d/health", p.Port))
		r := one(t, reports)
		if code != exitOK || r.Verdict.Label != "IPv6-ready" || len(r.HTTP) != 2 {
			t.Fatalf("exit %d, verdict %+v, HTTP %+v; want 0, IPv6-ready and two requests", code, r.Verdict, r.HTTP)
		}
		for i, fam := range []string{ipv6, ipv4} {
			h := r.HTTP[i]
			if h.Family != fam || h.Status != 200 || h.TLSVersion != "TLS 1.3" || h.ALPN != "h2" || h.Proto != "HTTP/2.0" || h.TTFBMs <= 0 || h.Error != "" {
				t.Errorf("HTTP over %s: %+v; want 200 over HTTP/2.0, TLS 1.3, ALPN h2, a first-byte time", fam, h)
			}
		}
		if !strings.HasPrefix(r.HTTP[0].Addr, "[::1]:") || !strings.HasPrefix(r.HTTP[1].Addr, "127.0.0.1:") {
			t.Errorf("requests went to %s and %s; want ::1 then 127.0.0.1", r.HTTP[0].Addr, r.HTTP[1].Addr)
		}
	})
	t.Run("-cacert", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		s := startHTTPS(t, p)
		ca := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600)
		srv := startDNS(t, nil)
		// httptest's certificate names example.com, which the zone puts
		// on loopback.
		// -http on a port other than 443 speaks plain HTTP; Go's TLS
		// server answers it with 400, and an answer is an answer.
		code, reports, _ := runCheck(t, srv.Addr.String(), "-timeout", "2s", "-cacert", ca, hostPort("example.com", p.Port), "-http")
		r := one(t, reports)
		if code != exitOK || len(r.HTTP) != 2 || r.HTTP[0].Status != 400 || r.HTTP[0].TLSVersion != "" {
			t.Errorf("plain HTTP to an HTTPS port: exit %d, HTTP %+v; want 0 and the server's 400 without TLS", code, r.HTTP)
		}
		code, reports, _ = runCheck(t, srv.Addr.String(), "-timeout", "2s", "-cacert", ca, fmt.Sprintf("https://example.com:%d/", p.Port))
		r = one(t, reports)
		if code != exitOK || len(r.HTTP) != 2 || r.HTTP[0].Status != 200 || r.HTTP[1].Status != 200 {
			t.Errorf("exit %d, HTTP %+v; want 0 and two 200s verified with -cacert", code, r.HTTP)
		}
	})
	t.Run("unverified certificate", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		startHTTPS(t, p)
		srv := startDNS(t, nil)
		code, reports, _ := runCheck(t, srv.Addr.String(), "-timeout", "2s", fmt.Sprintf("https://dual.test:%d/", p.Port))
		r := one(t, reports)
		if _, ok := problem(r, "ipv6-http-failed"); code != exitBroken || !ok || r.Verdict.Label != "HTTP fails" || !strings.Contains(r.HTTP[0].Error, "certificate") {
			t.Errorf("exit %d, verdict %+v, HTTP %+v; want 1, ipv6-http-failed, a certificate error", code, r.Verdict, r.HTTP)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_Text: the text report shows each step and the verdict.
func TestCheck_Text(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.BlackHole)
		srv := startDNS(t, nil)
		var stdout, stderr bytes.Buffer
		target := hostPort("dual.test", p.Port)
		code := run(context.Background(), []string{"check", "-resolver", srv.Addr.String(), "-timeout", "1s", target}, &stdout, &stderr)
		out := stdout.String()
		for _, want := range []string{
			target + " (port ",
			"DNS, from " + srv.Addr.String(),
			"AAAA  NOERROR",
			"TTL 60s  ::1",
			fmt.Sprintf("[::1]:%d      timeout", p.Port),
			fmt.Sprintf("127.0.0.1:%d  connected", p.Port),
			"Happy Eyeballs race (dialer.Dialer, tcp, learned history off)",
			fmt.Sprintf("attempt 1 starts: [::1]:%d", p.Port),
			"attempt 2 connected",
			fmt.Sprintf("connected to 127.0.0.1:%d (IPv4) after", p.Port),
			"Verdict: IPv6 broken: black hole [FAIL]",
			"net.Dialer pays 300 ms",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if code != exitBroken || stderr.Len() != 0 || t.Failed() {
			t.Errorf("exit %d, stderr %q; want 1 and nothing; stdout:\n%s", code, stderr.String(), out)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestRun_Cancelled: an interrupt (the context ends) cuts a long check
// short and skips the targets left, with exit status 1 and a word on
// stderr, and leaves nothing running.
func TestRun_Cancelled(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.BlackHole, loopback.BlackHole)
		srv := startDNS(t, map[uint16]dnstest.Fault{dns.TypeAAAA: {Drop: true}})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(ctx, []string{"check", "-resolver", srv.Addr.String(), "-timeout", "30s",
			"-json", hostPort("dual.test", p.Port), hostPort("dual.test", p.Port)}, &stdout, &stderr)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %v after an interrupt at 300 ms with -timeout 30s", took)
		}
		var reports []Report
		if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil || len(reports) != 1 {
			t.Errorf("stdout %q: %v; want the first target's report, cut short, and not the second's", stdout.String(), err)
		}
		if code != exitBroken || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, stderr.String())
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_JSONFields pins the JSON field names, which scripts depend
// on: each object's keys, with lists that are [] rather than null.
func TestCheck_JSONFields(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Refuse)
		startHTTPS(t, p)
		srv := startDNS(t, nil)
		var stdout, stderr bytes.Buffer
		run(context.Background(), []string{"check", "-resolver", srv.Addr.String(), "-json", "-insecure",
			fmt.Sprintf("https://dual.test:%d/", p.Port)}, &stdout, &stderr)
		var docs []map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("%v: %s", err, stdout.String())
		}
		doc := docs[0]
		obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
		first := func(v any) map[string]any {
			l, _ := v.([]any)
			if len(l) == 0 {
				return nil
			}
			return obj(l[0])
		}
		firstDNS := func(v any) map[string]any {
			l, _ := v.([]any)
			for _, e := range l {
				if obj(e)["event"] == evDNS {
					return obj(e)
				}
			}
			return nil
		}
		race := obj(doc["race"])
		for _, tt := range []struct {
			what string
			m    map[string]any
			keys string
		}{
			// https: an https:// URL gets the HTTPS record query on any port.
			{"report", doc, "connect dns host http https net_dialer port race resolver target verdict"},
			{"dns[0]", first(doc["dns"]), "addrs family ms status ttl_s type"},
			{"connect[0] (refused)", first(doc["connect"]), "addr error family ms result"},
			{"http[0]", first(doc["http"]), "addr alpn family proto status tls_version ttfb_ms url"},
			{"race", race, "attempts events family https_records ms network winner"},
			// The first dns event: an https event may come before it.
			{"race.events[] (dns)", firstDNS(race["events"]), "addrs event family ms"},
			{"net_dialer", obj(doc["net_dialer"]), "family ms winner"},
			{"verdict", obj(doc["verdict"]), "label ok problems"},
			{"verdict.problems[0]", first(obj(doc["verdict"])["problems"]), "broken code cost_ms text"},
		} {
			var keys []string
			for k := range tt.m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if got := strings.Join(keys, " "); got != tt.keys {
				t.Errorf("%s keys: got %q; want %q", tt.what, got, tt.keys)
			}
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_IPv6Resolver: -resolver takes an IPv6 server in brackets.
func TestCheck_IPv6Resolver(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		srv := dnstest.Start6(t, dnstest.NewZone(zone...))
		code, reports, _ := runCheck(t, srv.Addr.String(), hostPort("dual.test", p.Port))
		if r := one(t, reports); code != exitOK || r.Verdict.Label != "IPv6-ready" || r.Resolver != srv.Addr.String() {
			t.Errorf("exit %d, verdict %q from %s; want 0, IPv6-ready from %s", code, r.Verdict.Label, r.Resolver, srv.Addr)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_SystemResolver: without -resolver the check follows the
// system's resolv.conf and hosts file; "localhost" is loopback of both
// families without DNS (RFC 6761 §6.3), so this runs on any machine.
func TestCheck_SystemResolver(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"check", "-json", hostPort("localhost", p.Port)}, &stdout, &stderr)
		var reports []Report
		if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil {
			t.Fatalf("%v: %s %s", err, stdout.String(), stderr.String())
		}
		r := one(t, reports)
		if code != exitOK || r.Verdict.Label != "IPv6-ready" || r.Resolver != "system (/etc/resolv.conf)" || r.Race.Family != ipv6 {
			t.Errorf("exit %d, verdict %q from %q, race won by %q; want 0, IPv6-ready from the system's resolver, IPv6",
				code, r.Verdict.Label, r.Resolver, r.Race.Family)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}
