package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// renderJSON writes reports as one JSON document: an array, one object
// per target.
func renderJSON(w io.Writer, reports []Report) error {
	if reports == nil {
		reports = []Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}

// renderText writes one report for people to read.
func renderText(w io.Writer, r Report) {
	fmt.Fprintf(w, "%s (port %d)\n", r.Target, r.Port)

	fmt.Fprintf(w, "  DNS, from %s\n", r.Resolver)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range r.DNS {
		ttl := ""
		if d.TTL > 0 {
			ttl = fmt.Sprintf("TTL %ds", d.TTL)
		}
		what := strings.Join(d.Addrs, " ")
		if d.Error != "" && d.Status != dnsNoData && d.Status != dnsNXDomain {
			what = d.Error
		}
		line := fmt.Sprintf("    %s\t%s\t%s\t%s", d.Type, d.Status, fmtMsAligned(d.Ms), ttl)
		if what != "" {
			line += "\t" + what
		}
		fmt.Fprintln(tw, line)
	}
	if h := r.HTTPS; h != nil {
		ttl := ""
		if h.TTL > 0 {
			ttl = fmt.Sprintf("TTL %ds", h.TTL)
		}
		what := strings.TrimSuffix(h.Name, ".")
		switch {
		case len(h.Services) > 0:
			what += fmt.Sprintf(": %d service%s", len(h.Services), plural(len(h.Services)))
		case h.Error != "" && h.Status != dnsNoData && h.Status != dnsNXDomain:
			what = h.Error
		}
		fmt.Fprintf(tw, "    HTTPS\t%s\t%s\t%s\t%s\n", h.Status, fmtMsAligned(h.Ms), ttl, what)
	}
	tw.Flush()
	if h := r.HTTPS; h != nil {
		for _, s := range h.Services {
			fmt.Fprintf(w, "      %s\n", describeService(s))
			for _, d := range s.TargetDNS {
				fmt.Fprintf(w, "        %s %s %s\n", strings.TrimSuffix(s.Target, "."), d.Type, describeTargetDNS(d))
			}
		}
	}

	if len(r.Connect) > 0 {
		fmt.Fprintln(w, "  TCP connect, each address")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range r.Connect {
			line := fmt.Sprintf("    %s\t%s\t%s", c.Addr, c.Result, fmtMsAligned(c.Ms))
			if c.Error != "" {
				line += "\t" + c.Error
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}

	if len(r.HTTP) > 0 {
		fmt.Fprintf(w, "  GET %s, each family\n", r.HTTP[0].URL)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, h := range r.HTTP {
			if h.Error != "" {
				fmt.Fprintf(tw, "    %s\t%s\terror\t\t%s\n", h.Family, h.Addr, h.Error)
				continue
			}
			tlsInfo := "no TLS"
			if h.TLSVersion != "" {
				tlsInfo = h.TLSVersion
				if h.ALPN != "" {
					tlsInfo += ", ALPN " + h.ALPN
				}
			}
			fmt.Fprintf(tw, "    %s\t%s\t%d %s\tfirst byte %s\t%s\n", h.Family, h.Addr, h.Status, h.Proto, fmtMsAligned(h.TTFBMs), tlsInfo)
		}
		tw.Flush()
	}

	https := ""
	if r.Race.HTTPSRecords {
		https = ", HTTPS records on"
	}
	fmt.Fprintf(w, "  Happy Eyeballs race (dialer.Dialer, %s%s, learned history off)\n", r.Race.Network, https)
	for _, e := range r.Race.Events {
		fmt.Fprintf(w, "    +%s  %s\n", fmtMsAligned(e.Ms), describeEvent(e))
	}
	if r.Race.HTTPSRecords && !slices.ContainsFunc(r.Race.Events, func(e RaceEvent) bool { return e.Event == evHTTPS }) {
		fmt.Fprintln(w, "    (no HTTPS answer before the dial ended)")
	}
	switch {
	case r.Race.Winner != "":
		fmt.Fprintf(w, "    connected to %s (%s) after %s, %d attempt%s\n",
			r.Race.Winner, r.Race.Family, fmtMs(r.Race.Ms), r.Race.Attempts, plural(r.Race.Attempts))
	default:
		fmt.Fprintf(w, "    failed after %s: %s\n", fmtMs(r.Race.Ms), r.Race.Error)
	}

	switch nd := r.NetDialer; {
	case nd.Winner != "":
		fmt.Fprintf(w, "  net.Dialer, same target: connected to %s (%s) after %s\n", nd.Winner, nd.Family, fmtMs(nd.Ms))
	default:
		fmt.Fprintf(w, "  net.Dialer, same target: failed after %s: %s\n", fmtMs(nd.Ms), nd.Error)
	}

	status := "ok"
	switch {
	case !r.Verdict.OK:
		status = "FAIL"
	case len(r.Verdict.Problems) > 0:
		status = "WARN" // it works, at a cost or with something to fix
	}
	fmt.Fprintf(w, "  Verdict: %s [%s]\n", r.Verdict.Label, status)
	for _, p := range r.Verdict.Problems {
		fmt.Fprintf(w, "    - %s\n", p.Text)
	}
	fmt.Fprintln(w)
}

// describeService prints a service as dig presents an HTTPS record:
// "priority 1  svc.test.  alpn=h2 port=8443 ipv6hint=::1 ech=(70 bytes)".
func describeService(s HTTPSService) string {
	if s.Priority == 0 {
		return fmt.Sprintf("alias %s  (no HTTPS records there: a plain connection to its addresses)", s.Target)
	}
	params := []string{}
	if len(s.ALPN) > 0 {
		params = append(params, "alpn="+strings.Join(s.ALPN, ","))
	}
	if s.NoDefaultALPN {
		params = append(params, "no-default-alpn")
	}
	if s.Port != 0 {
		params = append(params, fmt.Sprintf("port=%d", s.Port))
	}
	if len(s.IPv4Hint) > 0 {
		params = append(params, "ipv4hint="+strings.Join(s.IPv4Hint, ","))
	}
	if s.ECHBytes > 0 {
		params = append(params, fmt.Sprintf("ech=(%d bytes)", s.ECHBytes))
	}
	if len(s.IPv6Hint) > 0 {
		params = append(params, "ipv6hint="+strings.Join(s.IPv6Hint, ","))
	}
	line := fmt.Sprintf("priority %d  %s", s.Priority, s.Target)
	if len(params) > 0 {
		line += "  " + strings.Join(params, " ")
	}
	return line
}

// describeTargetDNS is a target's answer: "NOERROR ::1", "NODATA".
func describeTargetDNS(d DNSResult) string {
	switch {
	case len(d.Addrs) > 0:
		return d.Status + " " + strings.Join(d.Addrs, " ")
	case d.Status == dnsNoData, d.Status == dnsNXDomain:
		return d.Status
	}
	return describeDNS(d)
}

// describeRaceService is what an attempt's HTTPS service changed.
func describeRaceService(e RaceEvent) string {
	var what []string
	if e.Hint {
		what = append(what, "address from "+strings.ToLower(e.Family)+"hint")
	}
	s := e.Service
	what = append(what, fmt.Sprintf("HTTPS service priority %d, target %s", s.Priority, s.Target))
	if s.PortChanged {
		what = append(what, "port from the record")
	}
	if s.ECH {
		what = append(what, "with ECH")
	}
	return strings.Join(what, "; ")
}

func describeEvent(e RaceEvent) string {
	switch e.Event {
	case evHTTPS:
		s := "HTTPS answer"
		if e.Name != "" {
			s += " (" + strings.TrimSuffix(e.Name, ".") + ")"
		}
		if len(e.Services) == 0 {
			return s + ": none (" + e.Detail + ")"
		}
		var svcs []string
		for _, x := range e.Services {
			svcs = append(svcs, describeService(x))
		}
		s += ": " + strings.Join(svcs, "; ")
		if e.Detail != "" {
			s += " (" + e.Detail + ")"
		}
		return s
	case evHintsReplaced:
		qtype := "A"
		if e.Family == ipv6 {
			qtype = "AAAA"
		}
		s := qtype + " answer replaces the hints"
		if e.Name != "" {
			s += " of " + e.Name
		}
		return s + ", dropped: " + strings.Join(e.Addrs, " ")
	case evECH:
		return fmt.Sprintf("ECH with %s: %s", e.Addr, e.Detail)
	case evDNS:
		qtype := "A"
		if e.Family == ipv6 {
			qtype = "AAAA"
		}
		what := qtype + " answer"
		if e.Hint {
			what = strings.ToLower(e.Family) + "hint"
		}
		if e.Name != "" {
			what += " (" + e.Name + ")"
		}
		if len(e.Addrs) > 0 {
			s := what + ": " + strings.Join(e.Addrs, " ")
			if e.Detail != "" {
				s += " (" + e.Detail + ")"
			}
			return s
		}
		return what + ": none (" + e.Detail + ")"
	case evRejected:
		return fmt.Sprintf("rejected %s: %s", e.Addr, e.Detail)
	case evStart:
		s := fmt.Sprintf("attempt %d starts: %s", e.Attempt, e.Addr)
		if e.Service != nil {
			s += " (" + describeRaceService(e) + ")"
		}
		return s
	case evWon:
		return fmt.Sprintf("attempt %d connected (%s): %s wins", e.Attempt, fmtMs(e.RanMs), e.Addr)
	case evCancelled:
		return fmt.Sprintf("attempt %d cancelled after %s: %s", e.Attempt, fmtMs(e.RanMs), e.Addr)
	}
	return fmt.Sprintf("attempt %d failed after %s: %s", e.Attempt, fmtMs(e.RanMs), e.Detail)
}

// fmtMsAligned is fmtMs right-aligned in 8 columns.
func fmtMsAligned(x float64) string { return fmt.Sprintf("%8s", fmtMs(x)) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
