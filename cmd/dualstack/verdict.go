package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// What a client pays, for the verdict's texts.
const (
	// connectionAttemptDelay is what Happy Eyeballs waits for an
	// unanswered attempt before it tries the next address (RFC 8305 §5).
	connectionAttemptDelay = dialer.DefaultConnectionAttemptDelay
	// resolutionDelay is how long Happy Eyeballs waits for a missing AAAA
	// answer after the A answer (RFC 8305 §3).
	resolutionDelay = dialer.DefaultResolutionDelay
	// netDialerFallback is net.Dialer's default FallbackDelay (RFC 6555
	// "fast fallback", net/dial.go): what it gives IPv6 before trying IPv4.
	netDialerFallback = 300 * time.Millisecond
)

// famView is what a Report says about one family.
type famView struct {
	name     string // ipv6 or ipv4
	asked    bool
	dns      DNSResult
	has      bool            // the DNS answer holds addresses
	conns    []ConnectResult // to its addresses
	tcpWorks bool            // at least one address connected
	best     float64         // fastest connect, ms
	fail     string          // when has && !tcpWorks: the dominant failure
	failed   []ConnectResult // the connects that failed
	http     *HTTPResult
}

// works reports whether the family connects (and serves the HTTP(S)
// request, when one was made).
func (f *famView) works() bool {
	return f.tcpWorks && (f.http == nil || f.http.Error == "")
}

func view(r Report, fam string) *famView {
	f := &famView{name: fam}
	for _, d := range r.DNS {
		if d.Family == fam {
			f.asked, f.dns, f.has = true, d, len(d.Addrs) > 0
		}
	}
	for _, c := range r.Connect {
		if c.Family != fam {
			continue
		}
		f.conns = append(f.conns, c)
		if c.Result == connOK {
			if !f.tcpWorks || c.Ms < f.best {
				f.best = c.Ms
			}
			f.tcpWorks = true
		} else {
			f.failed = append(f.failed, c)
		}
	}
	f.fail = dominantFailure(f.failed)
	for i := range r.HTTP {
		if r.HTTP[i].Family == fam {
			f.http = &r.HTTP[i]
		}
	}
	return f
}

// dominantFailure is the failure that costs a client most: a black hole
// (waits) over a refusal or an unreachable route (fail at once).
func dominantFailure(failed []ConnectResult) string {
	kinds := map[string]bool{}
	for _, c := range failed {
		kinds[c.Result] = true
	}
	for _, k := range []string{connTimeout, connRefused, connUnreachable, connError, connUnusable} {
		if kinds[k] {
			return k
		}
	}
	return ""
}

// verdict sums a Report up: a label, whether every family that has
// addresses works, and each problem with what it costs a new connection.
// It is a pure function of the Report.
func verdict(r Report) Verdict {
	v6, v4 := view(r, ipv6), view(r, ipv4)
	var ps []Problem
	ps = append(ps, dnsProblems(r, v6, v4)...)
	ps = append(ps, httpsProblems(r, v6, v4)...)
	for _, pair := range [][2]*famView{{v6, v4}, {v4, v6}} {
		ps = append(ps, connectProblems(r, pair[0], pair[1])...)
	}
	v := Verdict{Label: label(v6, v4, ps), OK: true, Problems: ps}
	if v.Problems == nil {
		v.Problems = []Problem{}
	}
	for _, p := range ps {
		if p.Broken {
			v.OK = false
		}
	}
	return v
}

// label names the situation. A broken connection outranks a DNS
// problem, which outranks readiness.
func label(v6, v4 *famView, ps []Problem) string {
	bad := func(f *famView) bool {
		slow := slices.ContainsFunc(ps, func(p Problem) bool { return p.Code == strings.ToLower(f.name)+"-slow" && p.Broken })
		return f.has && !f.works() || slow
	}
	switch {
	case (v6.has || v4.has) && !v6.works() && !v4.works() && (v6.tcpWorks || v4.tcpWorks):
		return "HTTP fails" // TCP connects, the request does not: over either family
	case (v6.has || v4.has) && !v6.works() && !v4.works():
		return "unreachable"
	case bad(v6):
		return "IPv6 broken: " + brokenHow(v6, ps)
	case bad(v4):
		return "IPv4 broken: " + brokenHow(v4, ps)
	}
	for _, p := range ps {
		if how, ok := dnsLabels[p.Code]; ok {
			return "DNS problem: " + how
		}
	}
	switch {
	case !v6.asked:
		return "IPv4 works"
	case !v4.asked:
		return "IPv6 works"
	case v6.works() && v4.works():
		return "IPv6-ready"
	case v4.works():
		return "IPv4-only"
	case v6.works():
		return "IPv6-only"
	}
	return "DNS problem: no addresses" // not reached: no address is a problem above
}

// dnsLabels are the label details of DNS problems, by problem code.
var dnsLabels = map[string]string{
	"no-dns-answer": "no answer from the resolver",
	"aaaa-lost":     "AAAA lost",
	"aaaa-failed":   "AAAA failed",
	"a-lost":        "A lost",
	"a-failed":      "A failed",
	"nxdomain":      "NXDOMAIN",
	"no-addresses":  "no addresses",
	"aaaa-late":     "AAAA late",
	"a-late":        "A late",
	"https-lost":    "HTTPS lost",
	"https-failed":  "HTTPS failed",
}

func hasProblem(ps []Problem, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

// brokenHow is the label's detail for a broken family.
func brokenHow(f *famView, ps []Problem) string {
	switch {
	case hasProblem(ps, strings.ToLower(f.name)+"-slow"):
		return "slow"
	case !f.tcpWorks && f.fail == connTimeout:
		return "black hole"
	case !f.tcpWorks && f.fail == connRefused:
		return "refused"
	case !f.tcpWorks && f.fail == connUnreachable:
		return "unreachable"
	case !f.tcpWorks && f.fail == connUnusable:
		return "unusable address"
	case !f.tcpWorks:
		return "connect fails"
	}
	return "HTTP fails"
}

// dnsProblems judges the answers: lost or failed lookups, a late AAAA,
// no address at all.
func dnsProblems(r Report, v6, v4 *famView) []Problem {
	var ps []Problem
	if v6.asked && v4.asked && v6.dns.failed() && v4.dns.failed() {
		return []Problem{{Code: "no-dns-answer", Broken: true, Text: fmt.Sprintf(
			"the resolver %s answered neither query (AAAA: %s; A: %s): is it running and reachable?",
			r.Resolver, describeDNS(v6.dns), describeDNS(v4.dns))}}
	}
	firstStart, startOK := raceFirstStart(r)
	if f := v6; f.asked && f.dns.failed() {
		p := Problem{Code: "aaaa-failed", Broken: true}
		if f.dns.Status == dnsTimeout {
			p.Code = "aaaa-lost"
			p.Text = fmt.Sprintf("the AAAA query got no answer (%s), so IPv6 is lost for this name.", describeDNS(f.dns))
			if v4.has {
				p.CostMs = ms(resolutionDelay)
				if a, ok := firstPositiveAnswer(r); ok && startOK && firstStart >= a {
					p.CostMs = firstStart - a
				}
				p.Text += fmt.Sprintf(" Happy Eyeballs waits the Resolution Delay after the A answer (%s, RFC 8305 §3; measured %s) and connects over IPv4; "+
					"net.Dialer and getaddrinfo wait for the AAAA answer on every new connection, up to the resolver's timeout%s.",
					fmtDur(resolutionDelay), fmtMs(p.CostMs), netDialerSays(r))
			}
		} else {
			p.Text = fmt.Sprintf("the AAAA lookup failed (%s): clients get no IPv6 address for this name", describeDNS(f.dns))
			if v4.has {
				p.Text += "; the failure is quick, so they connect over IPv4 at no cost"
			}
		}
		ps = append(ps, p)
	}
	if f := v4; f.asked && f.dns.failed() {
		p := Problem{Code: "a-failed", Broken: true}
		if f.dns.Status == dnsTimeout {
			p.Code = "a-lost"
			p.Text = fmt.Sprintf("the A query got no answer (%s), so IPv4 is lost for this name.", describeDNS(f.dns))
			if v6.has {
				p.Text += fmt.Sprintf(" Happy Eyeballs starts on the AAAA answer at once (no cost); net.Dialer and getaddrinfo wait for the A answer, up to the resolver's timeout%s.", netDialerSays(r))
			}
		} else {
			p.Text = fmt.Sprintf("the A lookup failed (%s): IPv4-only clients get no address for this name", describeDNS(f.dns))
		}
		ps = append(ps, p)
	}
	if (v6.asked || v4.asked) && !v6.has && !v4.has && !v6.dns.failed() && !v4.dns.failed() {
		p := Problem{Code: "no-addresses", Broken: true, Text: "the name has no address: " + strings.Join(negatives(v6, v4), ", ")}
		if v6.dns.Status == dnsNXDomain || v4.dns.Status == dnsNXDomain {
			p.Code, p.Text = "nxdomain", "the name does not exist (NXDOMAIN)"
		}
		ps = append(ps, p)
	}
	if v6.has && v4.has {
		if late := v6.dns.Ms - v4.dns.Ms; late > ms(resolutionDelay) {
			p := Problem{Code: "aaaa-late", CostMs: ms(resolutionDelay)}
			if a, ok := firstPositiveAnswer(r); ok && startOK && firstStart >= a {
				p.CostMs = firstStart - a
			}
			p.Text = fmt.Sprintf("the AAAA answer came %s after the A answer: Happy Eyeballs waits the Resolution Delay (%s, RFC 8305 §3; measured %s), starts on IPv4 and adds IPv6 when it arrives; net.Dialer waits the whole %s on every new connection%s",
				fmtMs(late), fmtDur(resolutionDelay), fmtMs(p.CostMs), fmtMs(late), netDialerSays(r))
			ps = append(ps, p)
		}
		if late := v4.dns.Ms - v6.dns.Ms; late > ms(resolutionDelay) {
			ps = append(ps, Problem{Code: "a-late", Text: fmt.Sprintf(
				"the A answer came %s after the AAAA answer: Happy Eyeballs starts on IPv6 at once (no cost); net.Dialer waits the whole %s on every new connection%s",
				fmtMs(late), fmtMs(late), netDialerSays(r))})
		}
	}
	return ps
}

// httpsProblems judges the HTTPS answer (RFC 9460): a lost or failed
// query, hints that disagree with their target's addresses, services
// that send clients to another port or name. None breaks a family: a
// client without HTTPS records still connects, and HTTPS records only
// add to the addresses (HEv3 §4).
func httpsProblems(r Report, v6, v4 *famView) []Problem {
	h := r.HTTPS
	if h == nil {
		return nil
	}
	var ps []Problem
	switch {
	case v6.asked && v4.asked && v6.dns.failed() && v4.dns.failed():
		// no-dns-answer says it: the resolver answers nothing.
	case h.Status == dnsTimeout:
		p := Problem{Code: "https-lost", CostMs: ms(resolutionDelay)}
		if first, ok := raceFirstStart(r); ok {
			if a, ok := firstPositiveAnswer(r); ok && first >= a {
				p.CostMs = first - a
			}
		}
		p.Text = fmt.Sprintf("the HTTPS query for %s got no answer (%s): a resolver or middlebox drops type 65. "+
			"Happy Eyeballs v3 waits for it up to the Resolution Delay after the addresses (%s, HEv3 §4.2; measured %s) on the first dial to each name "+
			"(a client that waits for the HTTPS answer before it connects stalls up to its resolver's timeout), and clients get no ALPN, port or ECH from DNS.",
			strings.TrimSuffix(h.Name, "."), describeDNS(dnsOf(h)), fmtDur(resolutionDelay), fmtMs(p.CostMs))
		ps = append(ps, p)
	case dnsOf(h).failed():
		ps = append(ps, Problem{Code: "https-failed", Text: fmt.Sprintf(
			"the HTTPS query for %s failed (%s): clients connect on the A and AAAA answers at no cost, but get no ALPN, port or ECH from DNS; "+
				"a client whose DNS is encrypted SHOULD NOT fall back to A and AAAA on such a failure (RFC 9460 §3), so it may not connect at all",
			strings.TrimSuffix(h.Name, "."), describeDNS(dnsOf(h)))})
	}
	for _, s := range h.Services {
		if s.Priority > 0 { // 0: an AliasMode target without HTTPS records: no hints, no port
			ps = append(ps, hintProblems(r, s, v6, v4)...)
		}
		if s.Port != 0 && s.Port != r.Port {
			ps = append(ps, Problem{Code: "https-port", Text: fmt.Sprintf(
				"the HTTPS service priority %d (%s) says port %d: clients that use HTTPS records connect to port %d, others to %d (RFC 9460 §7.2); the connects above checked %d only",
				s.Priority, s.Target, s.Port, s.Port, r.Port, r.Port)})
		}
		if !sameName(s.Target, r.Host) && !sameName(s.Target, h.Name) {
			what := fmt.Sprintf("the HTTPS service priority %d", s.Priority)
			if s.Priority == 0 {
				what = "the HTTPS AliasMode record"
			}
			ps = append(ps, Problem{Code: "https-target", Text: fmt.Sprintf(
				"%s sends clients that use HTTPS records to %s (%s), not to %s's own addresses (RFC 9460 §2.5); the connects above checked %s's",
				what, s.Target, targetSays(s), r.Host, r.Host)})
		}
	}
	return ps
}

// dnsOf is the HTTPS answer as a DNSResult, for describeDNS and failed.
func dnsOf(h *HTTPSResult) DNSResult {
	return DNSResult{Type: "HTTPS", Status: h.Status, Ms: h.Ms, Error: h.Error, Reason: h.Reason}
}

// targetSays sums up a service target's own answers: "AAAA ::1, A NODATA".
func targetSays(s HTTPSService) string {
	if len(s.TargetDNS) == 0 {
		return "not looked up"
	}
	var parts []string
	for _, d := range s.TargetDNS {
		parts = append(parts, d.Type+" "+describeTargetDNS(d))
	}
	return strings.Join(parts, ", ")
}

// hintProblems holds a service's ipv4hint and ipv6hint against the A and
// AAAA answers of its target: RFC 9460 §7.3 asks that they match, and a
// client that connects on a hint before the answer arrives (HEv3 §4.2.1)
// reaches an address DNS does not give.
func hintProblems(r Report, s HTTPSService, v6, v4 *famView) []Problem {
	var ps []Problem
	for _, fam := range []*famView{v6, v4} {
		hints, key := s.IPv6Hint, "ipv6hint"
		if fam.name == ipv4 {
			hints, key = s.IPv4Hint, "ipv4hint"
		}
		if len(hints) == 0 || !fam.asked {
			continue
		}
		answer, ok, name := fam.dns, true, r.Host
		if !sameName(s.Target, r.Host) && !sameName(s.Target, r.HTTPS.Name) {
			name = strings.TrimSuffix(s.Target, ".")
			ok = false
			for _, d := range s.TargetDNS {
				if d.Family == fam.name {
					answer, ok = d, true
				}
			}
		}
		if !ok || answer.failed() {
			continue // nothing to hold them against
		}
		var extra, missing []string
		for _, a := range hints {
			if !slices.Contains(answer.Addrs, a) {
				extra = append(extra, a)
			}
		}
		for _, a := range answer.Addrs {
			if !slices.Contains(hints, a) {
				missing = append(missing, a)
			}
		}
		if len(extra) == 0 && len(missing) == 0 {
			continue
		}
		got := answer.Status
		if len(answer.Addrs) > 0 {
			got = strings.Join(answer.Addrs, " ")
		}
		text := fmt.Sprintf("the %s of the HTTPS service priority %d (%s) disagrees with %s's %s answer (%s)",
			key, s.Priority, strings.Join(hints, " "), name, answer.Type, got)
		var what []string
		if len(extra) > 0 {
			what = append(what, fmt.Sprintf("%s not in the answer: a client that connects on the hint before the answer arrives (HEv3 §4.2.1) reaches an address DNS does not give, and one that waits drops it", strings.Join(extra, " ")))
		}
		if len(missing) > 0 {
			what = append(what, fmt.Sprintf("%s not in the hint: early attempts miss it", strings.Join(missing, " ")))
		}
		text += ": " + strings.Join(what, "; ") + ". RFC 9460 §7.3 asks that hints match the addresses."
		if n := hintsDropped(r, fam.name); n > 0 {
			text += fmt.Sprintf(" In the race, the %s answer dropped %d hint%s.", answer.Type, n, plural(n))
		}
		ps = append(ps, Problem{Code: "https-" + key + "-mismatch", Text: text})
	}
	return ps
}

// hintsDropped counts the hints of family fam the race's answers dropped.
func hintsDropped(r Report, fam string) int {
	n := 0
	for _, e := range r.Race.Events {
		if e.Event == evHintsReplaced && e.Family == fam {
			n += len(e.Addrs)
		}
	}
	return n
}

func negatives(fs ...*famView) []string {
	var s []string
	for _, f := range fs {
		if f.asked {
			s = append(s, f.dns.Type+" "+f.dns.Status)
		}
	}
	return s
}

// describeDNS says how a lookup ended: "SERVFAIL in 2.1 ms".
func describeDNS(d DNSResult) string {
	s := d.Status
	if d.Status == dnsTimeout {
		s = "timeout"
	}
	s += " after " + fmtMs(d.Ms)
	if d.Status == dnsError && d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	return s
}

// connectProblems judges family f's connects, against the other family o.
func connectProblems(r Report, f, o *famView) []Problem {
	if !f.has {
		return nil
	}
	code := strings.ToLower(f.name) + "-"
	preferred := f.name == ipv6 // Happy Eyeballs tries IPv6 first (RFC 6724)
	fallback := o.has && o.works()
	var ps []Problem
	switch {
	case !f.tcpWorks:
		c := f.failed[0]
		for _, x := range f.failed {
			if x.Result == f.fail {
				c = x
				break
			}
		}
		p := Problem{Broken: true}
		switch f.fail {
		case connTimeout:
			p.Code = code + "black-hole"
			p.Text = fmt.Sprintf("%s black hole: connects to %s get no answer (gave up after %s).", f.name, c.Addr, fmtMs(c.Ms))
			if fallback && preferred {
				p.CostMs = raceCost(r, f, ms(connectionAttemptDelay))
				p.Text += fmt.Sprintf(" It costs %s per new connection (the Connection Attempt Delay, RFC 8305 §5; measured in the race: %s); "+
					"net.Dialer pays %s (its fallback delay%s); a client that tries %s alone waits out its connect timeout.",
					fmtDur(connectionAttemptDelay), fmtMs(p.CostMs), fmtDur(netDialerFallback), netDialerSays(r), f.name)
			}
		case connUnusable:
			p.Code = code + "unusable"
			p.Text = fmt.Sprintf("%s unusable address: DNS gives %s, which no connection can go to; Happy Eyeballs drops it at no cost, a client that dials it reaches this host or nothing.", f.name, c.Addr)
		case connRefused, connUnreachable, connError:
			p.Code = code + map[string]string{connRefused: "refused", connUnreachable: "unreachable", connError: "failed"}[f.fail]
			p.Text = fmt.Sprintf("%s %s: the connect to %s failed in %s (%s).", f.name, brokenHow(f, nil), c.Addr, fmtMs(c.Ms), shortErr(c))
			if fallback && preferred {
				p.CostMs = raceCost(r, f, c.Ms)
				p.Text += fmt.Sprintf(" The failure is immediate, so Happy Eyeballs and net.Dialer try %s at once: it costs %s per new connection (measured in the race); %s-only clients cannot connect.",
					o.name, fmtMs(p.CostMs), f.name)
			}
		}
		if fallback && !preferred {
			p.Text += fmt.Sprintf(" Clients that try %s first do not notice; %s-only clients cannot connect.", o.name, f.name)
		}
		ps = append(ps, p)
	case f.http != nil && f.http.Error != "":
		ps = append(ps, Problem{Code: code + "http-failed", Broken: true, Text: fmt.Sprintf(
			"%s connects, but the request over %s fails: %s", f.name, f.http.Addr, f.http.Error)})
	default:
		if n := len(f.failed); n > 0 {
			p := Problem{Code: code + "partial", Text: fmt.Sprintf("%d of %d %s addresses do not connect (%s: %s)",
				n, len(f.conns), f.name, f.failed[0].Addr, f.failed[0].Result)}
			if f.fail == connTimeout {
				p.CostMs = ms(connectionAttemptDelay)
				p.Text += fmt.Sprintf("; a client that tries one first pays the Connection Attempt Delay (%s)", fmtDur(connectionAttemptDelay))
			}
			ps = append(ps, p)
		}
		if o.tcpWorks && f.best-o.best > ms(connectionAttemptDelay) {
			p := Problem{Code: code + "slow", Text: fmt.Sprintf("%s connects in %s, %s in %s.", f.name, fmtMs(f.best), o.name, fmtMs(o.best))}
			if preferred {
				p.Broken = true
				p.CostMs = raceCost(r, f, ms(connectionAttemptDelay))
				p.Text += fmt.Sprintf(" Happy Eyeballs stops waiting for %s after the Connection Attempt Delay (%s, RFC 8305 §5) and connects over %s: it costs %s per new connection (measured in the race); net.Dialer pays %s (its fallback delay%s).",
					f.name, fmtDur(connectionAttemptDelay), o.name, fmtMs(p.CostMs), fmtDur(netDialerFallback), netDialerSays(r))
			} else {
				p.Text += fmt.Sprintf(" Clients that try %s first do not notice.", o.name)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// raceCost is what family f cost the race: how long after the first
// attempt (f's) the winning attempt of the other family started. It is
// model when the race did not show it.
func raceCost(r Report, f *famView, model float64) float64 {
	first, ok := raceFirstStart(r)
	if !ok || r.Race.Winner == "" || r.Race.Family == f.name {
		return model
	}
	for _, e := range r.Race.Events {
		if e.Event == evStart && e.Addr == r.Race.Winner {
			return ms(time.Duration((e.Ms - first) * float64(time.Millisecond)))
		}
	}
	return model
}

// raceFirstStart is when the race's first attempt started.
func raceFirstStart(r Report) (float64, bool) {
	for _, e := range r.Race.Events {
		if e.Event == evStart {
			return e.Ms, true
		}
	}
	return 0, false
}

// firstPositiveAnswer is when the race's first answer with addresses
// arrived.
func firstPositiveAnswer(r Report) (float64, bool) {
	for _, e := range r.Race.Events {
		if e.Event == evDNS && len(e.Addrs) > 0 {
			return e.Ms, true
		}
	}
	return 0, false
}

// fmtMs prints milliseconds: "0.3 ms", "251 ms", "5.00 s".
func fmtMs(x float64) string {
	switch {
	case x >= 1000:
		return fmt.Sprintf("%.2f s", x/1000)
	case x >= 10:
		return fmt.Sprintf("%.0f ms", x)
	}
	return fmt.Sprintf("%.1f ms", x)
}

func fmtDur(d time.Duration) string { return fmtMs(ms(d)) }

// shortErr is a connect's error without the "dial tcp ADDR: " that the
// text already says.
func shortErr(c ConnectResult) string {
	return strings.TrimPrefix(c.Error, "dial tcp "+c.Addr+": ")
}

// netDialerSays is "; measured: net.Dialer connected after 302 ms" (or
// failed), or "" when the Report has no net.Dialer dial.
func netDialerSays(r Report) string {
	nd := r.NetDialer
	switch {
	case nd.Winner != "":
		return fmt.Sprintf("; measured: net.Dialer connected after %s", fmtMs(nd.Ms))
	case nd.Error != "":
		return fmt.Sprintf("; measured: net.Dialer failed after %s", fmtMs(nd.Ms))
	}
	return ""
}
