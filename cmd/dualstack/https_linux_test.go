//go:build linux

package main

// The HTTPS record side of the check (RFC 9460, Happy Eyeballs v3): the
// HTTPS query in the DNS step, the race with HTTPS records on, and the
// verdict's notes, against the in-process DNS server. Hints hold
// loopback addresses only: the race may dial a hint before the A and
// AAAA answers replace it, and nothing may leave this host.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// echConfig is 70 bytes standing for an ECHConfigList: the check reports
// its length, and the race (a plain TCP dial) does not parse it.
var echConfig = func() string {
	b := make([]byte, 70)
	for i := range b {
		b[i] = byte(i)
	}
	return base64.StdEncoding.EncodeToString(b)
}()

// startDNSWith starts a DNS server for zone and extra records, with
// faults per query type.
func startDNSWith(t *testing.T, extra []string, faults map[uint16]dnstest.Fault) *dnstest.Server {
	t.Helper()
	return dnstest.Start(t, &dnstest.Faults{Next: dnstest.NewZone(append(slices.Clone(zone), extra...)...), ByType: faults})
}

func raceEvents(r Report, kind string) []RaceEvent {
	var out []RaceEvent
	for _, e := range r.Race.Events {
		if e.Event == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestCheck_HTTPSRecords: each case serves HTTPS records (or loses or
// fails the query) for the port-prefixed name of a loopback port, asked
// with -https, and checks the HTTPS answer, the verdict and the race.
func TestCheck_HTTPSRecords(t *testing.T) {
	before := loopback.FDs(t)
	tests := []struct {
		name   string
		host   string // dual.test when empty
		other  bool   // a second port, {other} in zone ({port} is the first)
		zone   []string
		faults map[uint16]dnstest.Fault
		args   []string
		code   int
		label  string
		status string   // of the HTTPS answer; "" none asked
		codes  []string // the verdict's problem codes, in order
		check  func(t *testing.T, r Report, port, other uint16)
	}{
		{
			name: "hints match the answers, ECH present: IPv6-ready, nothing to say",
			zone: []string{`_{port}._https.dual.test. 300 IN HTTPS 1 . alpn=h2,http/1.1 ipv4hint=127.0.0.1 ech="` + echConfig + `" ipv6hint=::1`},
			args: []string{"-https"},
			code: exitOK, label: "IPv6-ready", status: dnsNoError,
			check: func(t *testing.T, r Report, port, _ uint16) {
				h := r.HTTPS
				if want := fmt.Sprintf("_%d._https.dual.test", port); h.Name != want || h.TTL != 300 || len(h.Services) != 1 {
					t.Fatalf("HTTPS %+v; want %s, TTL 300, one service", h, want)
				}
				s := h.Services[0]
				if s.Priority != 1 || s.Target != h.Name+"." || !slices.Equal(s.ALPN, []string{"h2", "http/1.1"}) || s.NoDefaultALPN || s.Port != 0 ||
					!slices.Equal(s.IPv4Hint, []string{"127.0.0.1"}) || !slices.Equal(s.IPv6Hint, []string{"::1"}) || s.ECHBytes != 70 || s.TargetDNS != nil {
					t.Errorf("service %+v; want priority 1, the owner as target, alpn h2,http/1.1, both hints, 70 bytes of ECH, no target lookup", s)
				}
				if !r.Race.HTTPSRecords || len(raceEvents(r, evHTTPS)) != 1 {
					t.Errorf("race with HTTPS records %v, https events %+v; want on and one", r.Race.HTTPSRecords, raceEvents(r, evHTTPS))
				}
				if r.Race.Family != ipv6 {
					t.Errorf("race won by %q; want IPv6", r.Race.Family)
				}
				for _, e := range raceEvents(r, evStart) {
					if e.Service == nil || e.Service.Priority != 1 || e.Service.PortChanged {
						t.Errorf("attempt %+v; want it marked as the priority 1 service's, port unchanged", e)
					}
				}
			},
		},
		{
			// RFC 9460 §7.3: hints should match the A and AAAA answers.
			// 127.0.0.2 is loopback too: the race may dial it.
			name: "RFC9460/7.3/ipv4hint disagrees with A: WARN, label unchanged",
			zone: []string{`_{port}._https.dual.test. 60 IN HTTPS 1 . alpn=h2 ipv4hint=127.0.0.2 ipv6hint=::1`},
			args: []string{"-https"},
			code: exitOK, label: "IPv6-ready", status: dnsNoError, codes: []string{"https-ipv4hint-mismatch"},
			check: func(t *testing.T, r Report, _, _ uint16) {
				p, _ := problem(r, "https-ipv4hint-mismatch")
				for _, want := range []string{"127.0.0.2 not in the answer", "127.0.0.1 not in the hint", "RFC 9460 §7.3"} {
					if !strings.Contains(p.Text, want) {
						t.Errorf("problem %q lacks %q", p.Text, want)
					}
				}
				if p.Broken || p.CostMs != 0 {
					t.Errorf("problem %+v; want a warning at no cost", p)
				}
			},
		},
		{
			// The service's target has an address of its own (127.0.0.2,
			// loopback too), so that its endpoint is not one of the
			// host's: the Dialer keeps one candidate per address.
			name:  "service on another target and port: its addresses looked up, both noted, the race goes there",
			other: true,
			zone: []string{
				`_{port}._https.dual.test. 60 IN HTTPS 1 svc.test. alpn=h2 no-default-alpn port={other} ipv4hint=127.0.0.2`,
				"svc.test. 60 IN A 127.0.0.2",
			},
			args: []string{"-https"},
			code: exitOK, label: "IPv6-ready", status: dnsNoError, codes: []string{"https-port", "https-target"},
			check: func(t *testing.T, r Report, _, other uint16) {
				s := r.HTTPS.Services[0]
				if s.Target != "svc.test." || s.Port != other || !s.NoDefaultALPN || len(s.TargetDNS) != 2 ||
					s.TargetDNS[0].Status != dnsNoData || !slices.Equal(s.TargetDNS[1].Addrs, []string{"127.0.0.2"}) {
					t.Errorf("service %+v; want svc.test. on port %d, no-default-alpn, its AAAA NODATA and A 127.0.0.2", s, other)
				}
				if want := hostPort("127.0.0.2", other); r.Race.Winner != want {
					t.Errorf("race won by %q; want %s, the service's endpoint", r.Race.Winner, want)
				}
				starts := raceEvents(r, evStart)
				if len(starts) == 0 || starts[0].Service == nil || !starts[0].Service.PortChanged || starts[0].Service.Target != "svc.test" {
					t.Errorf("first attempt %+v; want the service's, port changed, target svc.test", starts)
				}
				if p, _ := problem(r, "https-target"); !strings.Contains(p.Text, "svc.test. (AAAA NODATA, A NOERROR 127.0.0.2)") {
					t.Errorf("https-target %q; want the target's answers named", p.Text)
				}
			},
		},
		{
			name: "AliasMode to a target without HTTPS records: shown as the target",
			zone: []string{`_{port}._https.dual.test. 60 IN HTTPS 0 svc.test.`, "svc.test. 60 IN AAAA ::1", "svc.test. 60 IN A 127.0.0.1"},
			args: []string{"-https"},
			code: exitOK, label: "IPv6-ready", status: dnsNoError, codes: []string{"https-target"},
			check: func(t *testing.T, r Report, _, _ uint16) {
				if s := r.HTTPS.Services; len(s) != 1 || s[0].Priority != 0 || s[0].Target != "svc.test." || len(s[0].TargetDNS) != 2 {
					t.Errorf("services %+v; want the alias target svc.test. with its answers", s)
				}
			},
		},
		{
			// A resolver that drops type 65: Happy Eyeballs v3 waits for
			// the HTTPS answer up to the Resolution Delay (HEv3 §4.2).
			name:   "HEv3/4.2/HTTPS query dropped: DNS problem, costs the Resolution Delay on a first dial",
			faults: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Drop: true}},
			args:   []string{"-https"},
			code:   exitOK, label: "DNS problem: HTTPS lost", status: dnsTimeout, codes: []string{"https-lost"},
			check: func(t *testing.T, r Report, _, _ uint16) {
				if r.HTTPS.Ms < 900 || !strings.Contains(r.HTTPS.Error, "timeout") {
					t.Errorf("HTTPS %+v; want a timeout after the 1 s -timeout", r.HTTPS)
				}
				p, _ := problem(r, "https-lost")
				if p.Broken || p.CostMs < 30 || p.CostMs > 500 || !strings.Contains(p.Text, "type 65") {
					t.Errorf("problem %+v; want a warning that costs about the Resolution Delay (50 ms)", p)
				}
				if r.Race.Winner == "" {
					t.Errorf("race failed: %s; want a connection without the HTTPS answer", r.Race.Error)
				}
			},
		},
		{
			name:   "HTTPS SERVFAIL: DNS problem, no cost",
			faults: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Rcode: dns.RcodeServerFailure}},
			args:   []string{"-https"},
			code:   exitOK, label: "DNS problem: HTTPS failed", status: dnsServFail, codes: []string{"https-failed"},
			check: func(t *testing.T, r Report, _, _ uint16) {
				if p, _ := problem(r, "https-failed"); p.Broken || p.CostMs != 0 || !strings.Contains(p.Text, "RFC 9460 §3") {
					t.Errorf("problem %+v; want a warning at no cost that names RFC 9460 §3", p)
				}
			},
		},
		{
			name: "no HTTPS records for the port: NXDOMAIN, nothing to say",
			args: []string{"-https"},
			code: exitOK, label: "IPv6-ready", status: dnsNXDomain,
			check: func(t *testing.T, r Report, _, _ uint16) {
				if len(r.HTTPS.Services) != 0 || !r.Race.HTTPSRecords {
					t.Errorf("HTTPS %+v, race with HTTPS records %v; want none, and on", r.HTTPS, r.Race.HTTPSRecords)
				}
				if e := raceEvents(r, evHTTPS); len(e) != 1 || len(e[0].Services) != 0 {
					t.Errorf("https events %+v; want one without services", e)
				}
			},
		},
		{
			name: "without -https on a port other than 443: not asked, the race without HTTPS records",
			zone: []string{`_{port}._https.dual.test. 60 IN HTTPS 1 . ipv4hint=127.0.0.2`},
			code: exitOK, label: "IPv6-ready",
			check: func(t *testing.T, r Report, _, _ uint16) {
				if r.HTTPS != nil || r.Race.HTTPSRecords || len(raceEvents(r, evHTTPS)) != 0 {
					t.Errorf("HTTPS %+v, race with HTTPS records %v; want neither", r.HTTPS, r.Race.HTTPSRecords)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loopback.Dual(t, loopback.Accept, loopback.Accept)
			var other uint16
			if tt.other {
				other = loopback.Single(t, netip.MustParseAddr("127.0.0.2"), loopback.Accept).Addr.Port()
			}
			var recs []string
			for _, z := range tt.zone {
				recs = append(recs, strings.NewReplacer("{port}", fmt.Sprint(p.Port), "{other}", fmt.Sprint(other)).Replace(z))
			}
			srv := startDNSWith(t, recs, tt.faults)
			host := tt.host
			if host == "" {
				host = "dual.test"
			}
			args := append([]string{"-timeout", "1s"}, tt.args...)
			code, reports, _ := runCheck(t, srv.Addr.String(), append(args, hostPort(host, p.Port))...)
			r := one(t, reports)
			var codes []string
			for _, p := range r.Verdict.Problems {
				codes = append(codes, p.Code)
			}
			if code != tt.code || r.Verdict.Label != tt.label || !slices.Equal(codes, tt.codes) {
				t.Errorf("exit %d, verdict %q, problems %q; want %d, %q, %q", code, r.Verdict.Label, codes, tt.code, tt.label, tt.codes)
			}
			switch {
			case tt.status == "" && r.HTTPS != nil:
				t.Errorf("HTTPS asked: %+v", r.HTTPS)
			case tt.status != "" && (r.HTTPS == nil || r.HTTPS.Status != tt.status):
				t.Fatalf("HTTPS %+v; want status %s", r.HTTPS, tt.status)
			}
			if tt.check != nil {
				tt.check(t, r, p.Port, other)
			}
			if t.Failed() {
				var b bytes.Buffer
				renderText(&b, r)
				t.Logf("as text:\n%s", b.String())
			}
		})
	}
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_HTTPSText: the text report shows the HTTPS answer, its
// services, the race's HTTPS events and the warnings: hints that
// disagree with the A answer, and an HTTPS query that is dropped. With
// -v it prints the output (the README's HTTPS sample).
func TestCheck_HTTPSText(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		z := dnstest.NewZone(append(slices.Clone(zone),
			fmt.Sprintf(`_%d._https.dual.test. 300 IN HTTPS 1 . alpn=h2 ipv4hint=127.0.0.2 ech="%s" ipv6hint=::1`, p.Port, echConfig),
			"lost-https.test. 60 IN AAAA ::1",
			"lost-https.test. 60 IN A 127.0.0.1")...)
		srv := dnstest.Start(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			if q := r.Question; len(q) == 1 && q[0].Qtype == dns.TypeHTTPS && strings.HasSuffix(q[0].Name, "._https.lost-https.test.") {
				return // the HTTPS query is lost
			}
			z.ServeDNS(w, r)
		}))
		var stdout, stderr bytes.Buffer
		args := []string{"check", "-resolver", srv.Addr.String(), "-timeout", "1s", "-https",
			hostPort("dual.test", p.Port), hostPort("lost-https.test", p.Port)}
		code := run(context.Background(), args, &stdout, &stderr)
		out := stdout.String()
		t.Logf("$ dualstack %s\n%s", strings.Join(args, " "), out)
		for _, want := range []string{
			"HTTPS  NOERROR",
			fmt.Sprintf("TTL 300s  _%d._https.dual.test: 1 service", p.Port),
			fmt.Sprintf("      priority 1  _%d._https.dual.test.  alpn=h2 ipv4hint=127.0.0.2 ech=(70 bytes) ipv6hint=::1\n", p.Port),
			"Happy Eyeballs race (dialer.Dialer, tcp, HTTPS records on, learned history off)",
			fmt.Sprintf("HTTPS answer (_%d._https.dual.test): priority 1", p.Port),
			"HTTPS service priority 1, target dual.test)", // the owner of "." is the host's service
			"Verdict: IPv6-ready [WARN]",
			"- the ipv4hint of the HTTPS service priority 1 (127.0.0.2) disagrees with dual.test's A answer (127.0.0.1)",
			"HTTPS  timeout    1.00 s",
			fmt.Sprintf("lookup _%d._https.lost-https.test", p.Port),
			"no HTTPS answer before the dial ended",
			"Verdict: DNS problem: HTTPS lost [WARN]",
			"drops type 65",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if code != exitOK || stderr.Len() != 0 || t.Failed() {
			t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}

// TestCheck_HTTPSJSONFields pins the HTTPS field names.
func TestCheck_HTTPSJSONFields(t *testing.T) {
	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		p := loopback.Dual(t, loopback.Accept, loopback.Accept)
		svc := loopback.Single(t, netip.MustParseAddr("127.0.0.2"), loopback.Accept)
		srv := startDNSWith(t, []string{
			fmt.Sprintf(`_%d._https.dual.test. 60 IN HTTPS 1 svc.test. alpn=h2 port=%d ipv4hint=127.0.0.2 ech="%s"`, p.Port, svc.Addr.Port(), echConfig),
			"svc.test. 60 IN A 127.0.0.2",
		}, nil)
		var stdout, stderr bytes.Buffer
		run(context.Background(), []string{"check", "-resolver", srv.Addr.String(), "-json", "-https", hostPort("dual.test", p.Port)}, &stdout, &stderr)
		var docs []map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("%v: %s", err, stdout.String())
		}
		obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
		first := func(v any) map[string]any {
			l, _ := v.([]any)
			if len(l) == 0 {
				return nil
			}
			return obj(l[0])
		}
		// find returns the first event of a kind that has key.
		find := func(v any, event, key string) map[string]any {
			l, _ := v.([]any)
			for _, e := range l {
				if _, ok := obj(e)[key]; ok && obj(e)["event"] == event {
					return obj(e)
				}
			}
			return nil
		}
		without := func(m map[string]any, key string) map[string]any {
			m = maps.Clone(m)
			delete(m, key)
			return m
		}
		https := obj(docs[0]["https"])
		race := obj(docs[0]["race"])
		for _, tt := range []struct {
			what string
			m    map[string]any
			keys string
		}{
			{"https", https, "ms name services status ttl_s"},
			{"https.services[0]", first(https["services"]), "alpn ech_bytes ipv4hint ipv6hint no_default_alpn port priority target target_dns"},
			{"https.services[0].target_dns[0] (AAAA NODATA)", first(first(https["services"])["target_dns"]), "addrs error family ms reason status ttl_s type"},
			{"race", race, "attempts events family https_records ms network winner"},
			{"race.events (https)", find(race["events"], evHTTPS, "services"), "event ms name services"},
			// hint is there when the attempt's address came from a hint
			// (the A answer of svc.test may come first): left out.
			{"race.events (start)", without(find(race["events"], evStart, "service"), "hint"), "addr attempt event family ms service"},
			{"race.events (start).service", obj(find(race["events"], evStart, "service")["service"]), "ech port_changed priority target"},
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
		if t.Failed() {
			t.Logf("stdout:\n%s", stdout.String())
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}
