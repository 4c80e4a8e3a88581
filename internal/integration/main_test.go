package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// requiredEnv, set to "required", turns every skip for a missing server,
// root or ::1 into a failure, so that CI cannot pass by skipping.
const requiredEnv = "HAPPYEYEBALLS_INTEGRATION"

// reportEnv names a file the time-to-connect table is written to.
const reportEnv = "HAPPYEYEBALLS_INTEGRATION_REPORT"

// zoneSuffix is under .test, reserved for testing (RFC 6761 §6.2).
const zoneSuffix = ".happyeyeballs.test"

// Bounds for the race checks. The Connection Attempt Delay is 250 ms
// (RFC 8305 §5); the bounds leave room for a loaded machine and -race.
const (
	firstMin  = 200 * time.Millisecond
	firstMax  = 600 * time.Millisecond
	secondMax = 100 * time.Millisecond
)

var (
	// zone and dnsServer answer for every test's name; names are added by
	// newTarget.
	zone      = dnstest.NewZone()
	dnsServer *dnstest.Server

	// testResolver is what the recipes' Dialers use: this library's DNS
	// client, asking only dnsServer (no /etc/hosts).
	testResolver *resolver.Client

	// naiveResolver is Go's own resolver asking dnsServer: what
	// net.Dialer, pgx's default LookupFunc and gRPC's dns resolver use, pointed
	// at the test's DNS server.
	naiveResolver *net.Resolver
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	srv, err := dnstest.New(loopback.V4, zone)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: DNS server:", err)
		return 1
	}
	dnsServer = srv
	testResolver = &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{srv.Addr}, Timeout: 2 * time.Second, Attempts: 1},
		HostsPath: "/nonexistent",
	}
	naiveResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr.String())
		},
	}
	code := m.Run()
	writeReport()
	testResolver.Close()
	srv.Close()
	if code == 0 {
		// Every client was closed and every server stopped: nothing of
		// theirs, nor any losing attempt of a race, may still run.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "integration: leaked goroutines:", err)
			return 1
		}
	}
	return code
}

// need skips the test with why, or fails it when CI requires every
// integration to run.
func need(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requiredEnv) == "required" {
		t.Fatalf("%s (%s=required: integration tests must run)", msg, requiredEnv)
	}
	t.Skipf("%s (set %s=required to fail instead)", msg, requiredEnv)
}

// needRoot is need for the servers that run as root or as another user.
func needRoot(t *testing.T) {
	t.Helper()
	need(t, os.Geteuid() == 0, "not root: the server runs as root or its own user")
}

// A target is a name that resolves to ::1 and 127.0.0.1 and a port that is
// black-holed on ::1 and free on 127.0.0.1 for the real server.
type target struct {
	Name string // e.g. postgres.happyeyeballs.test
	Port uint16
}

// Addr returns "name:port".
func (tg target) Addr() string { return net.JoinHostPort(tg.Name, fmt.Sprint(tg.Port)) }

// V4 returns 127.0.0.1:port, where the real server listens.
func (tg target) V4() netip.AddrPort { return netip.AddrPortFrom(loopback.V4, tg.Port) }

// V6 returns [::1]:port, the black hole.
func (tg target) V6() netip.AddrPort { return netip.AddrPortFrom(loopback.V6, tg.Port) }

// newTarget picks a port free on 127.0.0.1, black-holes it on ::1 for the
// rest of the test, and makes label.happyeyeballs.test resolve to ::1 and
// 127.0.0.1. Each test uses its own port, so what the Dialer learns about
// one test's black hole does not affect another test.
func newTarget(t *testing.T, label string) target {
	t.Helper()
	need(t, loopback.HasIPv6(), "no IPv6 loopback (::1) to black-hole")
	var lastErr error
	for range 20 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		bh, err := loopback.Open(loopback.V6, port, loopback.BlackHole)
		if errors.Is(err, loopback.ErrNoBlackHole) {
			need(t, false, "%v", err)
		}
		if err != nil {
			lastErr = err
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			break
		}
		t.Cleanup(bh.Close)
		tg := target{Name: label + zoneSuffix, Port: port}
		zone.Add(
			dnstest.MustRR(tg.Name+". 300 IN AAAA ::1"),
			dnstest.MustRR(tg.Name+". 300 IN A 127.0.0.1"),
		)
		return tg
	}
	t.Fatalf("no port free on 127.0.0.1 whose ::1 twin could be black-holed: %v", lastErr)
	return target{}
}

// dialLog records one client operation's dials through a dialer.Trace.
type dialLog struct {
	mu       sync.Mutex
	answers  []dialer.DNSAnswerInfo
	attempts []dialer.AttemptStartInfo
	done     []dialer.DialDoneInfo
}

func (l *dialLog) trace() *dialer.Trace {
	return &dialer.Trace{
		DNSAnswer: func(i dialer.DNSAnswerInfo) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.answers = append(l.answers, i)
		},
		AttemptStart: func(i dialer.AttemptStartInfo) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.attempts = append(l.attempts, i)
		},
		DialDone: func(i dialer.DialDoneInfo) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.done = append(l.done, i)
		},
	}
}

// snapshot returns copies of the events so far.
func (l *dialLog) snapshot() (answers []dialer.DNSAnswerInfo, attempts []dialer.AttemptStartInfo, done []dialer.DialDoneInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.answers), slices.Clone(l.attempts), slices.Clone(l.done)
}

// String lists the events, for failure messages.
func (l *dialLog) String() string {
	answers, attempts, done := l.snapshot()
	var b strings.Builder
	for _, a := range answers {
		fmt.Fprintf(&b, "\n  %v DNS %v %q: %v %v", a.Elapsed.Round(time.Millisecond), a.Family, a.Host, a.Addrs, a.Err)
	}
	for _, a := range attempts {
		fmt.Fprintf(&b, "\n  %v attempt %d %v", a.Elapsed.Round(time.Millisecond), a.Index, a.Addr)
	}
	for _, d := range done {
		fmt.Fprintf(&b, "\n  %v done %q %v attempts=%d err=%v", d.Elapsed.Round(time.Millisecond), d.Host, d.Addr, d.Attempts, d.Err)
	}
	return b.String()
}

// measured is one client operation with the recipe wiring: its wall time
// and the Dialer's own time to connect.
type measured struct {
	Wall, Dial time.Duration
}

// operate runs op (a client's connect and first request) with a fresh
// Trace in its context and returns the log and the wall time.
func operate(t *testing.T, op func(ctx context.Context) error) (*dialLog, time.Duration) {
	t.Helper()
	l := new(dialLog)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = dialer.WithTrace(ctx, l.trace())
	start := time.Now()
	if err := op(ctx); err != nil {
		t.Fatalf("client operation: %v\ntrace:%s", err, l)
	}
	return l, time.Since(start)
}

// checkRace runs op twice, each time as a new connection, and checks that
// the Dialer got tg's name and raced as RFC 8305 says: the first dial
// tries ::1 first and connects to 127.0.0.1 after about one Connection
// Attempt Delay (§5); the second connects to 127.0.0.1 at once, because
// the unanswered ::1 destination is now sorted last (RFC 6724 rule 1, the
// Dialer's history).
func checkRace(t *testing.T, tg target, op func(ctx context.Context) error) (first, second measured) {
	t.Helper()
	l, wall := operate(t, op)
	d := l.check(t, tg, "first")
	if d < firstMin || d > firstMax {
		t.Errorf("first dial connected after %v; want about one Connection Attempt Delay (%v–%v)\ntrace:%s", d, firstMin, firstMax, l)
	}
	if _, attempts, _ := l.snapshot(); len(attempts) < 2 || attempts[0].Addr != tg.V6() ||
		!slices.ContainsFunc(attempts, func(a dialer.AttemptStartInfo) bool { return a.Addr == tg.V4() }) {
		t.Errorf("first dial: want an attempt to %v, then to %v\ntrace:%s", tg.V6(), tg.V4(), l)
	}
	first = measured{Wall: wall, Dial: d}

	l, wall = operate(t, op)
	d = l.check(t, tg, "second")
	if d > secondMax {
		t.Errorf("second dial connected after %v; want at once (< %v): the history should sort the black hole last\ntrace:%s", d, secondMax, l)
	}
	if _, attempts, _ := l.snapshot(); len(attempts) == 0 || attempts[0].Addr != tg.V4() {
		t.Errorf("second dial: want the first attempt to %v\ntrace:%s", tg.V4(), l)
	}
	second = measured{Wall: wall, Dial: d}
	t.Logf("recipe: first dial %v (client operation %v), second dial %v (client operation %v)",
		first.Dial.Round(time.Millisecond), first.Wall.Round(time.Millisecond),
		second.Dial.Round(time.Millisecond), second.Wall.Round(time.Millisecond))
	return first, second
}

// check verifies that the Dialer resolved tg's name itself, got both
// families, and connected to 127.0.0.1; it returns the Dialer's time to
// connect.
func (l *dialLog) check(t *testing.T, tg target, which string) time.Duration {
	t.Helper()
	answers, _, done := l.snapshot()
	var v6, v4 bool
	for _, a := range answers {
		if a.Host != tg.Name {
			continue
		}
		v6 = v6 || slices.Contains(a.Addrs, loopback.V6)
		v4 = v4 || slices.Contains(a.Addrs, loopback.V4)
	}
	if !v6 || !v4 {
		t.Errorf("%s dial: want DNS answers for %q with ::1 and 127.0.0.1 (the name must reach the Dialer)\ntrace:%s", which, tg.Name, l)
	}
	for _, d := range done {
		if d.Host == tg.Name && d.Err == nil {
			if d.Addr != tg.V4() {
				t.Errorf("%s dial connected to %v; want %v", which, d.Addr, tg.V4())
			}
			return d.Elapsed
		}
	}
	t.Fatalf("%s dial: no successful dial of %q in the trace:%s", which, tg.Name, l)
	return 0
}

// traced returns dial with the Trace of ctx added to each dial's context,
// for clients that dial on a context of their own, which carries none of
// the caller's values: go-redis v9 (its pool dials in the background, on
// context.Background). tracedTCP is the same for DialTCP's shape, for gRPC
// (which dials on the ClientConn's context).
func traced(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	tr := dialer.ContextTrace(ctx)
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		return dial(dialer.WithTrace(dctx, tr), network, addr)
	}
}

func tracedTCP(ctx context.Context, dial func(ctx context.Context, addr string) (net.Conn, error)) func(context.Context, string) (net.Conn, error) {
	tr := dialer.ContextTrace(ctx)
	return func(dctx context.Context, addr string) (net.Conn, error) {
		return dial(dialer.WithTrace(dctx, tr), addr)
	}
}

// timeOp runs op (with a naive wiring, no Trace) and returns its wall time.
func timeOp(t *testing.T, op func(ctx context.Context) error) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := op(ctx); err != nil {
		t.Fatalf("client operation: %v", err)
	}
	return time.Since(start)
}

// naive times two client operations with a default or naive wiring, for
// comparison, and records them.
func naive(t *testing.T, integration, wiring string, op func(ctx context.Context) error) {
	t.Helper()
	first := timeOp(t, op)
	second := timeOp(t, op)
	t.Logf("%s: first %v, second %v", wiring, first.Round(time.Millisecond), second.Round(time.Millisecond))
	report(row{integration: integration, wiring: wiring, first: measured{Wall: first}, second: measured{Wall: second}})
}

// A row of the time-to-connect table.
type row struct {
	integration, wiring string
	first, second       measured
}

var results struct {
	sync.Mutex
	rows []row
}

func report(r row) {
	results.Lock()
	defer results.Unlock()
	results.rows = append(results.rows, r)
}

// recipe records the recipe wiring's measurements.
func recipe(integration, wiring string, first, second measured) {
	report(row{integration: integration, wiring: wiring, first: first, second: second})
}

// writeReport prints the time-to-connect table (and writes it to the file
// named by $HAPPYEYEBALLS_INTEGRATION_REPORT): per integration and wiring,
// the client operation's wall time for the first and second connection,
// and for the recipes the Dialer's own time to connect.
func writeReport() {
	results.Lock()
	defer results.Unlock()
	if len(results.rows) == 0 {
		return
	}
	slices.SortStableFunc(results.rows, func(a, b row) int {
		return strings.Compare(a.integration, b.integration)
	})
	ms := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
	}
	var b strings.Builder
	b.WriteString("Time to connect with ::1 black-holed, ms (client operation; in brackets the Dialer's dial):\n\n")
	b.WriteString("| integration | wiring | 1st connection | 2nd connection |\n|---|---|--:|--:|\n")
	for _, r := range results.rows {
		cell := func(m measured) string {
			if m.Dial == 0 {
				return ms(m.Wall)
			}
			return fmt.Sprintf("%s (%s)", ms(m.Wall), ms(m.Dial))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.integration, r.wiring, cell(r.first), cell(r.second))
	}
	fmt.Print("\n", b.String())
	if path := os.Getenv(reportEnv); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "integration: report:", err)
		}
	}
}
