package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// run is one dial by one client in one scenario.
type run struct {
	MS float64 `json:"ms"`
	// FirstByteMS is the time to the first HTTPS response byte (HTTPS
	// scenarios only).
	FirstByteMS float64 `json:"first_byte_ms,omitempty"`
	// Capped is true for a failed dial that was still running at the cap.
	Capped   bool   `json:"capped,omitempty"`
	Family   string `json:"family,omitempty"`
	Addr     string `json:"addr,omitempty"`
	Err      string `json:"err,omitempty"`
	Attempts int    `json:"attempts"` // distinct TCP connections begun, counted at the wire
	SYNs     int    `json:"syns"`     // SYN segments, retransmissions included
}

// clientResult is one client's runs in one scenario and their summary.
type clientResult struct {
	Client  string `json:"client"`
	Skipped string `json:"skipped,omitempty"`
	// Stopped says why the client ran fewer than n dials.
	Stopped string `json:"stopped,omitempty"`
	Runs    []run  `json:"runs,omitempty"`

	OK     int     `json:"ok"`
	Failed int     `json:"failed"`
	P50    float64 `json:"p50_ms"`
	// Mean is over the successful dials, like the percentiles.
	Mean  float64 `json:"mean_ms"`
	P90   float64 `json:"p90_ms"`
	P95   float64 `json:"p95_ms"`
	Max   float64 `json:"max_ms"`
	Ratio float64 `json:"p50_over_oracle"`
	// MeanRatio is Mean over the oracle; -1 like Ratio.
	MeanRatio float64 `json:"mean_over_oracle"`
	IPv6      int     `json:"ipv6"`
	IPv4      int     `json:"ipv4"`
	Attempts  int     `json:"attempts"`
	// AttemptsPerSuccess is Attempts divided by OK; -1 when the wire does
	// not count (loopback) or nothing succeeded.
	AttemptsPerSuccess float64 `json:"attempts_per_success"`
	// FirstByte summarizes the time to the first HTTPS response byte, in
	// HTTPS scenarios only.
	FirstByte *firstByteSummary `json:"first_byte,omitempty"`
	// HostWarm is the client's series of fresh processes on a warm host
	// (-host-warm): fresh-process clients in plain TCP scenarios in the
	// emulated network only.
	HostWarm *hostWarmResult `json:"host_warm,omitempty"`
}

// hostWarmResult is one client's series of fresh processes with the
// kernel's TCP metrics saved, from a flushed table: the first process
// finds nothing the host remembers, the later ones find what the earlier
// ones left.
type hostWarmResult struct {
	// Stopped says why the series ran fewer than n dials, or none.
	Stopped string `json:"stopped,omitempty"`
	// Runs are the series' dials in order.
	Runs []run `json:"runs,omitempty"`
	// FirstMS is the first process's time (as cold as any); -1 when it
	// failed or did not run. FirstErr is its error.
	FirstMS  float64 `json:"first_ms"`
	FirstErr string  `json:"first_err,omitempty"`
	// Later summarizes Runs after the first, like a client's summary
	// (Runs left out).
	Later clientResult `json:"later"`
	// TCPMetrics is what `ip tcp_metrics show` listed in the client
	// namespace after the series.
	TCPMetrics []string `json:"tcp_metrics,omitempty"`
}

// ratioCell is the p50 / oracle cell of a table row: "–" when unknown.
func (c clientResult) ratioCell() string {
	if c.Ratio < 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", c.Ratio)
}

// attemptsCell is the attempts-per-success cell: "–" when the wire did not
// count them.
func (c clientResult) attemptsCell() string {
	if c.AttemptsPerSuccess < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", c.AttemptsPerSuccess)
}

// summarize fills in FirstMS and Later from Runs.
func (h *hostWarmResult) summarize(oracleMS float64) {
	h.FirstMS, h.FirstErr = -1, ""
	if len(h.Runs) > 0 {
		if r := h.Runs[0]; r.Err == "" {
			h.FirstMS = r.MS
		} else {
			h.FirstErr = r.Err
		}
	}
	h.Later = clientResult{}
	if len(h.Runs) > 1 {
		h.Later.Runs = h.Runs[1:]
	}
	h.Later.summarize(oracleMS, true)
	h.Later.Runs = nil
}

// firstByteSummary is the time to the first HTTPS response byte over the
// dials that got one (those that failed before are clientResult.Failed).
type firstByteSummary struct {
	OK        int     `json:"ok"`
	P50       float64 `json:"p50_ms"`
	Mean      float64 `json:"mean_ms"`
	P90       float64 `json:"p90_ms"`
	P95       float64 `json:"p95_ms"`
	Max       float64 `json:"max_ms"`
	Ratio     float64 `json:"p50_over_oracle"`  // -1 when none
	MeanRatio float64 `json:"mean_over_oracle"` // -1 when none
	// Capped counts the failed dials that were still running at the cap.
	Capped int `json:"capped"`
}

// scenarioResult is one scenario's oracle and clients.
type scenarioResult struct {
	Scenario string `json:"scenario"`
	About    string `json:"about"`
	// N is how many times each client was to dial (Runs holds fewer when
	// a client was stopped or skipped).
	N int `json:"n"`
	// IPv4Only marks a scenario run on an IPv4-only client host.
	IPv4Only     bool    `json:"ipv4_only,omitempty"`
	OracleMS     float64 `json:"oracle_ms"`
	OracleFamily string  `json:"oracle_family"`
	// TLS marks an HTTPS scenario: OracleMS is then the best time to a
	// completed TLS handshake, and OracleFirstByteMS the best time to
	// the first response byte.
	TLS               bool           `json:"tls,omitempty"`
	OracleFirstByteMS float64        `json:"oracle_first_byte_ms,omitempty"`
	Seconds           float64        `json:"seconds"`
	Clients           []clientResult `json:"clients"`
}

// report is a whole bench run.
type report struct {
	Mode    string `json:"mode"` // "netem" or "loopback"
	Command string `json:"command"`
	Seed    uint64 `json:"seed"`
	// N is -n: dials per client in every scenario, or 0 when each
	// scenario used its own (scenarioResult.N).
	N         int               `json:"n"`
	CapMS     float64           `json:"cap_ms"`
	Started   time.Time         `json:"started"`
	Seconds   float64           `json:"seconds"`
	Versions  map[string]string `json:"versions"`
	Notes     []string          `json:"notes,omitempty"`
	Scenarios []scenarioResult  `json:"scenarios"`
}

// summarize fills in the summary fields from Runs. countAttempts is false
// when nothing counted the attempts.
func (c *clientResult) summarize(oracleMS float64, countAttempts bool) {
	var ok []float64
	c.OK, c.Failed, c.IPv6, c.IPv4, c.Attempts = 0, 0, 0, 0, 0
	for _, r := range c.Runs {
		c.Attempts += r.Attempts
		if r.Err != "" {
			c.Failed++
			continue
		}
		c.OK++
		ok = append(ok, r.MS)
		switch r.Family {
		case "IPv6":
			c.IPv6++
		case "IPv4":
			c.IPv4++
		}
	}
	slices.Sort(ok)
	c.P50, c.P90, c.P95, c.Max = percentile(ok, 50), percentile(ok, 90), percentile(ok, 95), percentile(ok, 100)
	c.Mean = mean(ok)
	c.Ratio, c.MeanRatio = -1, -1
	if len(ok) > 0 && oracleMS > 0 {
		c.Ratio, c.MeanRatio = c.P50/oracleMS, c.Mean/oracleMS
	}
	c.AttemptsPerSuccess = -1
	if countAttempts && c.OK > 0 {
		c.AttemptsPerSuccess = float64(c.Attempts) / float64(c.OK)
	}
}

// summarizeFirstByte fills in FirstByte from Runs.
func (c *clientResult) summarizeFirstByte(oracleMS float64) {
	fb := &firstByteSummary{Ratio: -1, MeanRatio: -1}
	var ok []float64
	for _, r := range c.Runs {
		if r.Capped {
			fb.Capped++
		}
		if r.Err == "" && r.FirstByteMS > 0 {
			ok = append(ok, r.FirstByteMS)
		}
	}
	slices.Sort(ok)
	fb.OK = len(ok)
	fb.P50, fb.P90, fb.P95, fb.Max = percentile(ok, 50), percentile(ok, 90), percentile(ok, 95), percentile(ok, 100)
	fb.Mean = mean(ok)
	if len(ok) > 0 && oracleMS > 0 {
		fb.Ratio, fb.MeanRatio = fb.P50/oracleMS, fb.Mean/oracleMS
	}
	c.FirstByte = fb
}

// percentile returns the nearest-rank p-th percentile of sorted values,
// or -1 when there are none.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// mean returns the mean of values, or -1 when there are none.
func mean(values []float64) float64 {
	if len(values) == 0 {
		return -1
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}

// ms formats a millisecond value for the table; negative means none.
func ms(v float64) string {
	switch {
	case v < 0:
		return "–"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// writeMarkdown prints the report as a markdown table with a header that
// says how it was made.
func writeMarkdown(w io.Writer, r *report) {
	fmt.Fprintf(w, "## Time to connect (%s)\n\n", r.Mode)
	fmt.Fprintf(w, "`%s` · seed %d · %s · cap %s per dial · %s · took %s\n\n",
		r.Command, r.Seed, dialsPerClient(r), time.Duration(r.CapMS*float64(time.Millisecond)), r.Started.UTC().Format("2006-01-02 15:04 MST"),
		time.Duration(r.Seconds*float64(time.Second)).Round(time.Second).String())
	var names []string
	for k := range r.Versions {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(w, "- %s: %s\n", k, r.Versions[k])
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	var plain, https []scenarioResult
	for _, s := range r.Scenarios {
		if s.TLS {
			https = append(https, s)
		} else {
			plain = append(plain, s)
		}
	}
	if len(plain) > 0 {
		writeConnectTable(w, plain)
	}
	if len(https) > 0 {
		writeHTTPSTable(w, https)
	}
	if slices.ContainsFunc(plain, func(s scenarioResult) bool {
		return slices.ContainsFunc(s.Clients, func(c clientResult) bool { return c.HostWarm != nil })
	}) {
		writeHostWarmTable(w, plain)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Scenarios:")
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "- **%s**: %s (n=%d, %.0f s)\n", s.Scenario, s.About, s.N, s.Seconds)
	}
	var failures []string
	for _, s := range r.Scenarios {
		for _, c := range s.Clients {
			if c.Stopped != "" {
				failures = append(failures, fmt.Sprintf("- %s / %s: %s", s.Scenario, c.Client, c.Stopped))
			}
			if c.HostWarm != nil && c.HostWarm.Stopped != "" {
				failures = append(failures, fmt.Sprintf("- %s / %s (host-warm): %s", s.Scenario, c.Client, c.HostWarm.Stopped))
			}
			seen := map[string]bool{}
			runs := c.Runs
			if c.HostWarm != nil {
				runs = append(slices.Clip(runs), c.HostWarm.Runs...)
			}
			for _, run := range runs {
				if run.Err != "" && !seen[run.Err] {
					seen[run.Err] = true
					failures = append(failures, fmt.Sprintf("- %s / %s: %s", s.Scenario, c.Client, oneLine(run.Err)))
				}
			}
		}
	}
	if len(failures) > 0 {
		fmt.Fprintln(w, "\nFailures (first of each kind):")
		for _, f := range failures {
			fmt.Fprintln(w, f)
		}
	}
}

// dialsPerClient says how many dials each client made per scenario: one
// number when all scenarios agree, else the common one and the others.
func dialsPerClient(r *report) string {
	byN := map[int][]string{}
	for _, s := range r.Scenarios {
		byN[s.N] = append(byN[s.N], s.Scenario)
	}
	if len(byN) <= 1 {
		n := r.N
		for k := range byN {
			n = k
		}
		return fmt.Sprintf("n=%d per client and scenario", n)
	}
	ns := slices.Collect(maps.Keys(byN))
	// The most common n first, then the others in increasing order.
	slices.SortFunc(ns, func(a, b int) int {
		if d := len(byN[b]) - len(byN[a]); d != 0 {
			return d
		}
		return a - b
	})
	var parts []string
	for _, n := range ns[1:] {
		parts = append(parts, fmt.Sprintf("%d in %s", n, strings.Join(byN[n], ", ")))
	}
	return fmt.Sprintf("n=%d per client and scenario (%s)", ns[0], strings.Join(parts, "; "))
}

// oneLine shortens an error for the report.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// writeConnectTable prints the time-to-connect table of plain TCP
// scenarios.
func writeConnectTable(w io.Writer, scs []scenarioResult) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | client | p50 ms | mean ms | p90 ms | max ms | p50 / oracle | ok | fail | IPv6 / IPv4 | attempts / ok |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|:-:|--:|")
	for _, s := range scs {
		fmt.Fprintf(w, "| **%s** | *oracle* (%s) | %s | | | | | | | | |\n", s.Scenario, s.OracleFamily, ms(s.OracleMS))
		for _, c := range s.Clients {
			if c.Skipped != "" {
				fmt.Fprintf(w, "| | %s | skipped: %s | | | | | | | | |\n", c.Client, c.Skipped)
				continue
			}
			ratio, att := c.ratioCell(), c.attemptsCell()
			fail := fmt.Sprint(c.Failed)
			if c.Stopped != "" {
				fail += " (stopped)"
			}
			fmt.Fprintf(w, "| | %s | %s | %s | %s | %s | %s | %d | %s | %d / %d | %s |\n",
				c.Client, ms(c.P50), ms(c.Mean), ms(c.P90), ms(c.Max), ratio, c.OK, fail, c.IPv6, c.IPv4, att)
		}
	}
}

// writeHTTPSTable prints the table of HTTPS scenarios: time to connect
// (TLS handshake done) and to the first response byte, each beside its
// oracle. A client none of whose dials got through, with some still
// running at the cap, "fails (cap)".
func writeHTTPSTable(w io.Writer, scs []scenarioResult) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "HTTPS: connect = TLS handshake done; first byte = first byte of the response")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | client | connect p50 ms | mean ms | p90 ms | p50 / oracle | first byte p50 ms | mean ms | p90 ms | p50 / oracle | ok | fail | IPv6 / IPv4 | attempts / ok |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|")
	for _, s := range scs {
		fmt.Fprintf(w, "| **%s** | *oracle* (%s) | %s | | | | %s | | | | | | | |\n", s.Scenario, s.OracleFamily, ms(s.OracleMS), ms(s.OracleFirstByteMS))
		for _, c := range s.Clients {
			if c.Skipped != "" {
				fmt.Fprintf(w, "| | %s | skipped: %s | | | | | | | | | | | |\n", c.Client, c.Skipped)
				continue
			}
			fb := c.FirstByte
			if fb == nil {
				fb = &firstByteSummary{P50: -1, Mean: -1, P90: -1, P95: -1, Ratio: -1, MeanRatio: -1}
			}
			ratio := func(v float64) string {
				if v < 0 {
					return "–"
				}
				return fmt.Sprintf("%.2f", v)
			}
			p50, fbP50 := ms(c.P50), ms(fb.P50)
			if c.OK == 0 && fb.Capped > 0 {
				p50 = "fails (cap)"
			}
			if fb.OK == 0 && fb.Capped > 0 {
				fbP50 = "fails (cap)"
			}
			att := c.attemptsCell()
			var why []string
			switch {
			case fb.Capped > 0 && fb.Capped == c.Failed:
				why = append(why, "cap")
			case fb.Capped > 0:
				why = append(why, fmt.Sprintf("%d cap", fb.Capped))
			}
			if c.Stopped != "" {
				why = append(why, "stopped")
			}
			fail := fmt.Sprint(c.Failed)
			if len(why) > 0 {
				fail += " (" + strings.Join(why, ", ") + ")"
			}
			fmt.Fprintf(w, "| | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %d / %d | %s |\n",
				c.Client, p50, ms(c.Mean), ms(c.P90), ratio(c.Ratio), fbP50, ms(fb.Mean), ms(fb.P90), ratio(fb.Ratio), c.OK, fail, c.IPv6, c.IPv4, att)
		}
	}
}

// writeHostWarmTable prints, per fresh-process client, its three
// conditions side by side: cold (the round-robin, metrics off), fresh
// process on a warm host (the series with the kernel's TCP metrics saved:
// its first process, then the later ones), and warm (one process: the
// client's -warm partner, ours-warm for ours-cold; none for the peers).
func writeHostWarmTable(w io.Writer, scs []scenarioResult) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Fresh process, warm host: each fresh-process client again as n fresh processes in a row with the kernel's TCP metrics saved, flushed before each client's series; first = the first process (an empty table), later = the others; cold and warm p50 from the table above")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | client | cold p50 ms | host-warm first ms | later p50 ms | later mean ms | later p90 ms | later p50 / oracle | later ok | later fail | later IPv6 / IPv4 | later attempts / ok | warm p50 ms |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|")
	for _, s := range scs {
		fmt.Fprintf(w, "| **%s** | *oracle* (%s) | %s | | | | | | | | | | |\n", s.Scenario, s.OracleFamily, ms(s.OracleMS))
		for _, c := range s.Clients {
			h := c.HostWarm
			if h == nil {
				continue
			}
			cold := ms(c.P50)
			if c.OK == 0 {
				cold = "–"
			}
			warm := "–"
			if i := slices.IndexFunc(s.Clients, func(o clientResult) bool { return o.Client == warmPartner(c.Client) }); i >= 0 && s.Clients[i].OK > 0 {
				warm = ms(s.Clients[i].P50)
			}
			if h.Stopped != "" && len(h.Runs) == 0 {
				fmt.Fprintf(w, "| | %s | %s | %s | | | | | | | | | %s |\n", c.Client, cold, h.Stopped, warm)
				continue
			}
			first := ms(h.FirstMS)
			if h.FirstMS < 0 {
				first = "failed"
			}
			l := h.Later
			ratio, att := l.ratioCell(), l.attemptsCell()
			fail := fmt.Sprint(l.Failed)
			if h.Stopped != "" {
				fail += " (stopped)"
			}
			fmt.Fprintf(w, "| | %s | %s | %s | %s | %s | %s | %s | %d | %s | %d / %d | %s | %s |\n",
				c.Client, cold, first, ms(l.P50), ms(l.Mean), ms(l.P90), ratio, l.OK, fail, l.IPv6, l.IPv4, att, warm)
		}
	}
}

// warmPartner names the one-process client that pairs with a fresh-process
// one: ours-warm for ours-cold, base-warm for base-cold; "" for the others.
func warmPartner(client string) string {
	if base, ok := strings.CutSuffix(client, "-cold"); ok {
		return base + "-warm"
	}
	return ""
}
