package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	tw.Flush()

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

	fmt.Fprintf(w, "  Happy Eyeballs race (dialer.Dialer, %s, learned history off)\n", r.Race.Network)
	for _, e := range r.Race.Events {
		fmt.Fprintf(w, "    +%s  %s\n", fmtMsAligned(e.Ms), describeEvent(e))
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
	if !r.Verdict.OK {
		status = "FAIL"
	}
	fmt.Fprintf(w, "  Verdict: %s [%s]\n", r.Verdict.Label, status)
	for _, p := range r.Verdict.Problems {
		fmt.Fprintf(w, "    - %s\n", p.Text)
	}
	fmt.Fprintln(w)
}

func describeEvent(e RaceEvent) string {
	switch e.Event {
	case evDNS:
		qtype := "A"
		if e.Family == ipv6 {
			qtype = "AAAA"
		}
		if len(e.Addrs) > 0 {
			s := qtype + " answer: " + strings.Join(e.Addrs, " ")
			if e.Detail != "" {
				s += " (" + e.Detail + ")"
			}
			return s
		}
		return qtype + " answer: none (" + e.Detail + ")"
	case evRejected:
		return fmt.Sprintf("rejected %s: %s", e.Addr, e.Detail)
	case evStart:
		return fmt.Sprintf("attempt %d starts: %s", e.Attempt, e.Addr)
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
