package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/bench/internal/netem"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The emulated-network test runs this test binary as its Go client,
	// like the bench runs itself.
	if len(os.Args) > 1 && os.Args[1] == clientCommand {
		os.Exit(goClientMain(os.Args[2:]))
	}
	goleak.VerifyTestMain(m)
}

// checkFDs fails the test if it ends with more open descriptors than it
// began with (after a grace for the poller to let go of closed ones).
func checkFDs(t *testing.T) {
	t.Helper()
	count := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	// The runtime's poller opens its descriptors on first use and keeps
	// them: make sure that has happened before counting.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := count()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for count() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := count(); got > before {
			var open []string
			entries, _ := os.ReadDir("/proc/self/fd")
			for _, e := range entries {
				target, _ := os.Readlink("/proc/self/fd/" + e.Name())
				open = append(open, e.Name()+"→"+target)
			}
			t.Errorf("%d descriptors open after the test; %d before; open: %v", got, before, open)
		}
	})
}

func TestScenarios_valid(t *testing.T) {
	names := map[string]bool{}
	for _, s := range scenarios() {
		if err := s.validate(); err != nil {
			t.Error(err)
		}
		if names[s.name] {
			t.Errorf("scenario %s listed twice", s.name)
		}
		names[s.name] = true
	}
	for _, want := range []string{"healthy", "v6-blackhole", "v6-blackhole-3", "v6-slow", "v4-blackhole", "aaaa-late",
		"aaaa-lost", "a-late-v6-dead", "v6-refused", "loss-5", "loss-20", "loss-20-2x2", "loss-20-single", "aaaa-lost-v4only", "many-dead",
		"tls-healthy", "tls-v6-pmtu-blackhole", "tls-v6-blackhole"} {
		if !names[want] {
			t.Errorf("scenario %s missing", want)
		}
	}
}

// TestScenario_dials: the loss scenarios dial lossN times, the others
// defaultN, and -n overrides both.
func TestScenario_dials(t *testing.T) {
	for _, s := range scenarios() {
		want := defaultN
		if s.loss > 0 {
			want = lossN
		}
		if got := s.dials(0); got != want {
			t.Errorf("%s: dials(0) = %d; want %d", s.name, got, want)
		}
		if got := s.dials(3); got != 3 {
			t.Errorf("%s: dials(3) = %d; want 3", s.name, got)
		}
	}
}

func TestScenario_oracle(t *testing.T) {
	tests := map[string]struct {
		ms     time.Duration
		family string
	}{
		"healthy":          {40 * time.Millisecond, "IPv6"},
		"v6-blackhole":     {40 * time.Millisecond, "IPv4"},
		"v6-slow":          {20 * time.Millisecond, "IPv4"},
		"v4-blackhole":     {40 * time.Millisecond, "IPv6"},
		"aaaa-late":        {40 * time.Millisecond, "IPv4"},
		"aaaa-lost":        {40 * time.Millisecond, "IPv4"},
		"aaaa-lost-v4only": {40 * time.Millisecond, "IPv4"},
		"loss-20-single":   {40 * time.Millisecond, "IPv4"},
		"loss-20-2x2":      {40 * time.Millisecond, "IPv6"},
		"a-late-v6-dead":   {1040 * time.Millisecond, "IPv4"},
		"v6-refused":       {40 * time.Millisecond, "IPv4"},
		"many-dead":        {40 * time.Millisecond, "IPv4"},
	}
	for _, s := range scenarios() {
		want, ok := tests[s.name]
		if !ok {
			continue
		}
		got, addr := s.oracle()
		if got != want.ms || familyOf(addr) != want.family {
			t.Errorf("%s: oracle = %v over %s; want %v over %s", s.name, got, familyOf(addr), want.ms, want.family)
		}
	}
}

func TestSelect(t *testing.T) {
	scs, err := selectScenarios(scenarios(), "healthy, many-dead")
	if err != nil || len(scs) != 2 || scs[1].name != "many-dead" {
		t.Errorf("selectScenarios = %v, %v", scs, err)
	}
	if _, err := selectScenarios(scenarios(), "healthy,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown scenario: err = %v", err)
	}
	cls, err := selectClients(clients("/bin/true"), "curl,ours-warm")
	if err != nil || len(cls) != 2 || !cls[1].warm {
		t.Errorf("selectClients = %v, %v", cls, err)
	}
	if _, err := selectClients(clients("/bin/true"), "lynx"); err == nil {
		t.Error("unknown client accepted")
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]float64{50: 5, 90: 9, 95: 10, 100: 10, 10: 1, 0: 1} {
		if got := percentile(v, p); got != want {
			t.Errorf("percentile(1..10, %v) = %v; want %v", p, got, want)
		}
	}
	if got := percentile(nil, 50); got != -1 {
		t.Errorf("percentile(nil) = %v; want -1", got)
	}
}

func TestClientResult_summarize(t *testing.T) {
	c := clientResult{Runs: []run{
		{MS: 300, Family: "IPv4", Attempts: 2},
		{MS: 100, Family: "IPv6", Attempts: 1},
		{MS: 10000, Err: "timeout", Attempts: 5},
		{MS: 200, Family: "IPv4", Attempts: 2},
	}}
	c.summarize(50, true)
	if c.OK != 3 || c.Failed != 1 || c.P50 != 200 || c.P90 != 300 || c.Max != 300 || c.Ratio != 4 || c.IPv6 != 1 || c.IPv4 != 2 || c.AttemptsPerSuccess != 10.0/3 {
		t.Errorf("summarize = %+v", c)
	}
	// The mean is over the successes, like the percentiles.
	if c.Mean != 200 || c.MeanRatio != 4 {
		t.Errorf("mean = %v (%v × oracle); want 200 (4 ×)", c.Mean, c.MeanRatio)
	}
	c.summarize(50, false)
	if c.AttemptsPerSuccess != -1 {
		t.Errorf("without a wire, attempts per success = %v; want -1", c.AttemptsPerSuccess)
	}
	none := clientResult{Runs: []run{{Err: "x"}}}
	none.summarize(50, true)
	if none.P50 != -1 || none.Mean != -1 || none.P90 != -1 || none.Ratio != -1 || none.MeanRatio != -1 || none.AttemptsPerSuccess != -1 {
		t.Errorf("all failed: %+v", none)
	}
}

func TestParseCurl(t *testing.T) {
	r, err := parseCurl(`0.241312|192.0.2.101|0|`)
	if err != nil || r.MS < 241.3 || r.MS > 241.32 || r.Addr != "192.0.2.101" || r.Err != "" || r.family() != "IPv4" {
		t.Errorf("success: %+v, %v", r, err)
	}
	r, err = parseCurl(`0.000000||7|Failed to connect | oops`)
	if err != nil || r.Err != "Failed to connect | oops" {
		t.Errorf("failure: %+v, %v", r, err)
	}
	for _, bad := range []string{"not curl", "x|1.2.3.4|0|"} {
		if _, err := parseCurl(bad); err == nil {
			t.Errorf("parseCurl(%q) accepted", bad)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	r := &report{Mode: "netem", Command: "go run ./bench", Seed: 3, CapMS: 10000, Started: time.Unix(0, 0),
		Scenarios: []scenarioResult{
			{Scenario: "healthy", About: "fine", N: 2, OracleMS: 40, OracleFamily: "IPv6", Clients: []clientResult{
				{Client: "curl", Runs: []run{{MS: 41, Family: "IPv6", Attempts: 1}, {MS: 45, Family: "IPv6", Attempts: 1}}},
				{Client: "node", Skipped: "not installed"},
			}},
			{Scenario: "loss-20", About: "lossy", N: 6, OracleMS: 40, OracleFamily: "IPv6"},
			{Scenario: "loss-5", About: "lossy", N: 6, OracleMS: 40, OracleFamily: "IPv6"},
		}}
	r.Scenarios[0].Clients[0].summarize(40, true)
	var b bytes.Buffer
	writeMarkdown(&b, r)
	for _, want := range []string{
		"seed 3 · n=6 per client and scenario (2 in healthy) ·",
		"| scenario | client | p50 ms | mean ms | p90 ms | max ms | p50 / oracle |",
		"| **healthy** | *oracle* (IPv6) | 40.0 |",
		"| | curl | 41.0 | 43.0 | 45.0 | 45.0 | 1.02 | 2 | 0 | 2 / 0 | 1.0 |",
		"skipped: not installed",
		"- **loss-20**: lossy (n=6,",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// runEmulatedTest runs the named scenarios with the named clients in an
// emulated network (skipping the test where there is none) and returns
// the report. The Go clients are this test binary re-executed, as the
// bench does.
func runEmulatedTest(t *testing.T, clientList, scenarioList string, opts options) *report {
	t.Helper()
	if err := netem.Available(); err != nil {
		t.Skipf("emulated network unavailable: %v", err)
	}
	checkFDs(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cls, err := selectClients(clients(self), clientList)
	if err != nil {
		t.Fatal(err)
	}
	scs, err := selectScenarios(scenarios(), scenarioList)
	if err != nil {
		t.Fatal(err)
	}
	r := &report{}
	if err := runEmulated(context.Background(), r, scs, cls, opts); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEmulated runs two scenarios end to end in an emulated network with
// the Go clients (this test binary re-executed, as the bench does): the
// numbers must come out where the scenario puts them.
func TestEmulated(t *testing.T) {
	r := runEmulatedTest(t, "ours-cold,ours-warm,net.Dialer", "healthy,v6-blackhole", options{n: 2, seed: 1, cap: 5 * time.Second})
	if len(r.Scenarios) != 2 {
		t.Fatalf("got %d scenarios", len(r.Scenarios))
	}
	for _, s := range r.Scenarios {
		for _, c := range s.Clients {
			if c.Failed != 0 || c.OK != 2 {
				t.Errorf("%s/%s: %d ok, %d failed: %+v", s.Scenario, c.Client, c.OK, c.Failed, c.Runs)
				continue
			}
			// Every client connects no sooner than the oracle allows, and
			// over the family the scenario leaves working.
			if c.P50 < s.OracleMS {
				t.Errorf("%s/%s: p50 %.1f ms beats the oracle %.1f ms", s.Scenario, c.Client, c.P50, s.OracleMS)
			}
			if s.Scenario == "v6-blackhole" && c.IPv4 != 2 {
				t.Errorf("%s/%s: connected over IPv6 %d times through a black hole", s.Scenario, c.Client, c.IPv6)
			}
			if s.Scenario == "healthy" && (c.IPv6 != 2 || c.AttemptsPerSuccess != 1) {
				t.Errorf("%s/%s: %d IPv6 of 2, %.1f attempts per success; want IPv6 in one attempt", s.Scenario, c.Client, c.IPv6, c.AttemptsPerSuccess)
			}
		}
	}
	// A cold Happy Eyeballs client behind an IPv6 black hole waits one
	// Connection Attempt Delay, then one IPv4 round trip.
	cold := r.Scenarios[1].Clients[0]
	if cold.Max < 250+40 || cold.AttemptsPerSuccess != 2 {
		t.Errorf("ours-cold behind a v6 black hole: max %.1f ms, %.1f attempts per success; want ≥ 290 ms and 2", cold.Max, cold.AttemptsPerSuccess)
	}
	if _, err := os.Stat("/etc/netns"); err == nil {
		entries, _ := os.ReadDir("/etc/netns")
		for _, e := range entries {
			if strings.Contains(e.Name(), "-"+strconv.Itoa(os.Getpid())+"-") {
				t.Errorf("/etc/netns/%s left behind", e.Name())
			}
		}
	}
}

// TestLoopback runs the subset the bench falls back to without root, with
// the Go clients and one whose program does not exist: that one is
// skipped with a note, not an error.
func TestLoopback(t *testing.T) {
	checkFDs(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cls, err := selectClients(clients(self), "ours-cold,ours-warm,net.Dialer")
	if err != nil {
		t.Fatal(err)
	}
	cls = append(cls, client{name: "missing", command: func(string, int, time.Duration) (string, []string, error) {
		path, err := exec.LookPath("no-such-client-program")
		return path, nil, err
	}})
	r := &report{}
	if err := runLoopback(context.Background(), r, cls, options{n: 2, seed: 1, cap: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if r.Mode != "loopback" || len(r.Scenarios) == 0 {
		t.Fatalf("report: %+v", r)
	}
	for _, s := range r.Scenarios {
		for _, c := range s.Clients {
			if c.Client == "missing" {
				if c.Skipped == "" || len(c.Runs) != 0 {
					t.Errorf("%s: missing client not skipped: %+v", s.Scenario, c)
				}
				continue
			}
			if c.OK != 2 || c.Failed != 0 || c.AttemptsPerSuccess != -1 {
				t.Errorf("%s/%s: %+v", s.Scenario, c.Client, c)
			}
		}
	}
}

// TestBaselineClients: a bench binary's Go client becomes base-cold and
// base-warm, with its HTTPS mode when its client has a -tls flag (this
// test binary's has); a program that is no bench binary is refused.
func TestBaselineClients(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cls, err := baselineClients(self)
	if err != nil {
		t.Fatal(err)
	}
	if len(cls) != 2 || cls[0].name != "base-cold" || cls[0].warm || cls[1].name != "base-warm" || !cls[1].warm {
		t.Fatalf("baselineClients = %+v", cls)
	}
	// Each shares its counterpart's loss draws.
	ours := clients(self)
	if cls[0].seedIndex != ours[0].seedIndex || ours[0].name != "ours-cold" || cls[1].seedIndex != ours[1].seedIndex || ours[1].name != "ours-warm" {
		t.Errorf("seed indexes: base %d, %d; ours %d, %d", cls[0].seedIndex, cls[1].seedIndex, ours[0].seedIndex, ours[1].seedIndex)
	}
	for _, c := range cls {
		name, args, err := c.command("h.test", 80, time.Second)
		if err != nil || name != self || strings.Join(args, " ") != clientCommand+" -impl ours -addr h.test:80 -cap 1s" {
			t.Errorf("%s: command = %s %v, %v", c.name, name, args, err)
		}
		if c.tlsCommand == nil {
			t.Errorf("%s: no HTTPS mode", c.name)
		}
		if v := c.version(); !strings.HasPrefix(v, self+", go1.") {
			t.Errorf("%s: version = %q", c.name, v)
		}
	}
	if _, err := baselineClients("/bin/true"); err == nil {
		t.Error("/bin/true accepted as a bench binary")
	}
}

func TestHostWarmResult_summarize(t *testing.T) {
	h := hostWarmResult{Runs: []run{
		{MS: 292, Family: "IPv4", Attempts: 2},
		{MS: 45, Family: "IPv4", Attempts: 1},
		{MS: 52, Family: "IPv4", Attempts: 2},
		{MS: 10000, Err: "no connection within 10s", Capped: true},
	}}
	h.summarize(40)
	if h.FirstMS != 292 || h.FirstErr != "" {
		t.Errorf("first = %v, %q; want 292, none", h.FirstMS, h.FirstErr)
	}
	l := h.Later
	if l.OK != 2 || l.Failed != 1 || l.P50 != 45 || l.Max != 52 || l.Ratio != 45.0/40 || l.AttemptsPerSuccess != 1.5 || l.Runs != nil {
		t.Errorf("later = %+v", l)
	}
	if len(h.Runs) != 4 {
		t.Errorf("summarize changed Runs: %d", len(h.Runs))
	}
	failed := hostWarmResult{Runs: []run{{MS: 3, Err: "refused"}}}
	failed.summarize(40)
	if failed.FirstMS != -1 || failed.FirstErr != "refused" || failed.Later.OK != 0 || failed.Later.Ratio != -1 {
		t.Errorf("a failed first process: %+v", failed)
	}
}

func TestWriteMarkdown_hostWarm(t *testing.T) {
	s := scenarioResult{Scenario: "v6-blackhole", About: "dead v6", N: 3, OracleMS: 40, OracleFamily: "IPv4", Clients: []clientResult{
		{Client: "ours-cold", Runs: []run{{MS: 292, Family: "IPv4", Attempts: 2}}, HostWarm: &hostWarmResult{Runs: []run{
			{MS: 293, Family: "IPv4", Attempts: 2}, {MS: 45, Family: "IPv4", Attempts: 1}, {MS: 52, Family: "IPv4", Attempts: 2}}}},
		{Client: "ours-warm", Runs: []run{{MS: 41, Family: "IPv4", Attempts: 1}}},
		{Client: "curl", Runs: []run{{MS: 242, Family: "IPv4", Attempts: 2}}, HostWarm: &hostWarmResult{Stopped: "not run: stopped in the round-robin"}},
	}}
	for i := range s.Clients {
		s.Clients[i].summarize(40, true)
		if h := s.Clients[i].HostWarm; h != nil {
			h.summarize(40)
		}
	}
	var b bytes.Buffer
	writeMarkdown(&b, &report{Mode: "netem", Scenarios: []scenarioResult{s}})
	for _, want := range []string{
		"| scenario | client | cold p50 ms | host-warm first ms | later p50 ms |",
		"| **v6-blackhole** | *oracle* (IPv4) | 40.0 | | | | | | | | | | |",
		"| | ours-cold | 292.0 | 293.0 | 45.0 | 48.5 | 52.0 | 1.12 | 2 | 0 | 0 / 2 | 1.5 | 41.0 |",
		"| | curl | 242.0 | not run: stopped in the round-robin | | | | | | | | | – |",
		"- v6-blackhole / curl (host-warm): not run: stopped in the round-robin",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	// Without host-warm series, no such table.
	b.Reset()
	s.Clients[0].HostWarm, s.Clients[2].HostWarm = nil, nil
	writeMarkdown(&b, &report{Mode: "netem", Scenarios: []scenarioResult{s}})
	if strings.Contains(b.String(), "host-warm first") {
		t.Errorf("a host-warm table without host-warm series:\n%s", b.String())
	}
}

// TestEmulated_hostWarm runs the fresh-process, warm-host series end to
// end: behind an IPv6 black hole, the first fresh process of ours pays
// the Connection Attempt Delay, the later ones find the IPv4 address in
// the kernel's TCP metrics and start it first (well inside the 250 ms
// delay); net.Dialer, which ignores the kernel's table, does not change.
func TestEmulated_hostWarm(t *testing.T) {
	r := runEmulatedTest(t, "ours-cold,net.Dialer", "v6-blackhole", options{n: 3, seed: 1, cap: 5 * time.Second, hostWarm: true})
	s := r.Scenarios[0]
	for _, c := range s.Clients {
		h := c.HostWarm
		if h == nil || len(h.Runs) != 3 {
			t.Fatalf("%s: host-warm series %+v; want 3 runs", c.Client, h)
		}
		if h.FirstMS < 250+40 || h.Later.OK != 2 {
			t.Errorf("%s: first process %.1f ms, later %d ok; want ≥ 290 ms (nothing remembered), 2 ok", c.Client, h.FirstMS, h.Later.OK)
		}
		if len(h.TCPMetrics) != 1 || !strings.HasPrefix(h.TCPMetrics[0], v4(1).String()+" ") {
			t.Errorf("%s: kernel TCP metrics after the series %q; want one entry, for %v", c.Client, h.TCPMetrics, v4(1))
		}
		switch c.Client {
		case "ours-cold":
			if h.Later.Max > 150 {
				t.Errorf("ours: later fresh processes took up to %.1f ms; want well under the 250 ms delay", h.Later.Max)
			}
		case "net.Dialer":
			if h.Later.P50 < 300 {
				t.Errorf("net.Dialer: later fresh processes %.1f ms; want its cold 340 ms", h.Later.P50)
			}
		}
	}
}
