// Command bench measures time to a working connection under emulated
// network faults, for this module's Dialer and for other Happy Eyeballs
// clients side by side: Go's net.Dialer, curl, Node and Python asyncio.
//
// Usage:
//
//	go run ./bench [-n N] [-seed 1] [-scenarios a,b] [-clients x,y] [-json FILE] [-baseline BIN] [-host-warm=false]
//
// As root, with /dev/net/tun, it builds an emulated network
// (internal/netem): a client and a server namespace joined by a
// user-space wire that adds delay, loss and black holes per address, a
// DNS server with per-query-type delay and loss in the server namespace,
// and TCP servers on every scenario address. Every client runs inside the
// client namespace with /etc/resolv.conf pointing at that DNS server, and
// reports its own time from just before name resolution to connected.
// The wire counts the connection attempts (distinct SYNs).
//
// The HTTPS scenarios (tls-*) serve HTTPS instead (Go's net/http, a
// certificate made at start that the clients trust) and time each
// client's TLS mode twice: to the TLS handshake done and to the first
// byte of the response. One of them black-holes IPv6 packets larger than
// 1280 bytes: TCP connects there, TLS never completes.
//
// Without root or TUN it says so and runs the subset it can on loopback.
//
// Each client dials 10 times per scenario, 60 in the loss scenarios; -n
// sets one number for all. In the emulated network, every fresh-process
// client then runs a second series in plain TCP scenarios, "fresh
// process, warm host": n fresh processes in a row with the client
// namespace's kernel TCP metrics saved (net.ipv4.tcp_no_metrics_save=0,
// the Linux default; off everywhere else in the bench), the table
// flushed before each client's series; -host-warm=false skips it. -baseline BIN runs the Go client of another
// build of the bench (another commit of this module) as base-cold and
// base-warm beside ours, for before/after numbers from one session.
//
// The markdown table goes to stdout; -json writes every run for
// machines.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/bench/internal/netem"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == clientCommand {
		os.Exit(goClientMain(os.Args[2:]))
	}
	os.Exit(benchMain(os.Args[1:]))
}

// options are the command-line flags.
type options struct {
	n         int
	seed      uint64
	scenarios string
	clients   string
	jsonFile  string
	cap       time.Duration
	loopback  bool
	verbose   bool
	// baseline is a bench binary whose Go client runs as base-cold and
	// base-warm; "" for none.
	baseline string
	// hostWarm runs, in the emulated network, every fresh-process client
	// a second time with the kernel's TCP metrics saved (see
	// runHostWarm).
	hostWarm bool
}

func benchMain(args []string) int {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 0, fmt.Sprintf("dials per client in every scenario (0: each scenario's own, %d or %d in the loss scenarios)", defaultN, lossN))
	fs.Uint64Var(&o.seed, "seed", 1, "seed for the wire's loss and jitter")
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenarios to run (\"list\" to list them)")
	fs.StringVar(&o.clients, "clients", "all", "comma-separated clients to run (\"list\" to list them)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the full results as JSON to this file")
	fs.DurationVar(&o.cap, "cap", 10*time.Second, "give up on one dial after this long (counted as a failure)")
	fs.BoolVar(&o.loopback, "loopback", false, "run the loopback subset even when the emulated network is available")
	fs.BoolVar(&o.verbose, "v", false, "log every dial to stderr")
	fs.BoolVar(&o.hostWarm, "host-warm", true, "also run each fresh-process client as a series of fresh processes on a warm host: the client namespace's kernel TCP metrics saved (net.ipv4.tcp_no_metrics_save=0), flushed before each client's series (plain TCP scenarios, emulated network only)")
	fs.StringVar(&o.baseline, "baseline", "", "a bench binary built from another commit: its Go client (this module's Dialer there) runs as base-cold and base-warm")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.n < 0 || o.cap <= 0 {
		fmt.Fprintln(os.Stderr, "bench: -n must not be negative and -cap must be positive")
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: cannot find this binary to run the Go clients: %v\n", err)
		return 1
	}
	all := clients(self)
	if o.baseline != "" {
		base, err := baselineClients(o.baseline)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -baseline:", err)
			return 2
		}
		// Beside ours, so that the table shows them together.
		all = slices.Insert(all, 2, base...)
	}
	if o.scenarios == "list" || o.clients == "list" {
		for _, s := range scenarios() {
			fmt.Printf("scenario %-22s %s (n=%d)\n", s.name, s.about, s.dials(o.n))
		}
		for _, c := range all {
			fmt.Printf("client   %-22s %s\n", c.name, c.about)
		}
		return 0
	}
	cls, err := selectClients(all, o.clients)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := &report{
		Command:  "go run ./bench " + strings.Join(args, " "),
		Seed:     o.seed,
		N:        o.n,
		CapMS:    float64(o.cap) / float64(time.Millisecond),
		Started:  time.Now(),
		Versions: map[string]string{},
	}
	r.Command = strings.TrimSpace(r.Command)
	for _, c := range cls {
		if c.version != nil {
			r.Versions[c.name] = c.version()
		}
	}
	if uname, err := exec.Command("uname", "-sr").Output(); err == nil {
		r.Versions["kernel"] = strings.TrimSpace(string(uname))
	}
	// Which commit of this module ran, when the bench runs from a checkout.
	if rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		v := strings.TrimSpace(string(rev))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			v += " (with uncommitted changes)"
		}
		r.Versions["module"] = v
	}

	unavailable := netem.Available()
	switch {
	case o.loopback:
		err = runLoopback(ctx, r, cls, o)
	case unavailable != nil:
		fmt.Fprintf(os.Stderr, "bench: the emulated network is unavailable (%v); running the loopback subset only: no latency, loss or black holes, no attempt counts\n", unavailable)
		r.Notes = append(r.Notes, fmt.Sprintf("emulated network unavailable (%v): loopback subset only", unavailable))
		err = runLoopback(ctx, r, cls, o)
	default:
		var scs []scenario
		scs, err = selectScenarios(scenarios(), o.scenarios)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		err = runEmulated(ctx, r, scs, cls, o)
	}
	r.Seconds = time.Since(r.Started).Seconds()
	if len(r.Scenarios) > 0 {
		writeMarkdown(os.Stdout, r)
	}
	if o.jsonFile != "" && len(r.Scenarios) > 0 {
		b, _ := json.MarshalIndent(r, "", "  ")
		if werr := os.WriteFile(o.jsonFile, append(b, '\n'), 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// resolvConf is the client namespace's resolver configuration. A short
// timeout with two attempts keeps a lost AAAA query from costing glibc
// clients (curl, Node, Python) three times the default 5 s: they wait out
// the timeout on every attempt. Go's resolver waits it out once per
// attempt too.
const resolvConf = "nameserver 192.0.2.53\noptions timeout:2 attempts:2\n"

// hostsFile has no entry for the scenario name, so every lookup goes to
// the DNS server.
const hostsFile = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"

// maxCapped is how many dials in a row may hit the cap before a client is
// not run again in the scenario.
const maxCapped = 3

// settle is the pause between dials, so that one dial's closing packets
// do not overlap the next dial.
const settle = 25 * time.Millisecond

// runEmulated runs every scenario in the emulated network.
func runEmulated(ctx context.Context, r *report, scs []scenario, cls []client, o options) error {
	r.Mode = "netem"
	r.Notes = append(r.Notes,
		"emulated: client and server network namespaces joined by a user-space TUN wire (internal/netem); real kernel TCP both ends",
		"resolv.conf in the client namespace: `"+strings.ReplaceAll(strings.TrimSpace(resolvConf), "\n", "; ")+"`; DNS answers have TTL 0 and cross the wire without delay",
		"time = inside each client, from just before name resolution to connected; oracle = when the fastest working address is known + its handshake RTT",
		"attempts = distinct TCP connections begun (first SYNs) counted at the wire, per successful dial",
	)
	if o.hostWarm {
		r.Notes = append(r.Notes, hostWarmNote)
	}
	for _, s := range scs {
		if err := s.validate(); err != nil {
			return err
		}
	}
	var id *tlsIdentity
	if slices.ContainsFunc(scs, func(s scenario) bool { return s.tls }) {
		r.Notes = append(r.Notes,
			"HTTPS scenarios: Go net/http servers, HTTP/1.1, a leaf certificate and its CA (RSA 2048, about 1.7 KB sent) made at start; connect = TLS handshake done (TLS 1.3, full handshake, no resumption); first byte = first byte of the response to one GET; oracles: answer + 2 round trips, + 3",
			fmt.Sprintf("path-MTU black hole: the wire drops packets over %d bytes on that path, both directions, with no ICMPv6 Packet Too Big; the TUN devices' MTU is 1500 and tcp_mtu_probing is 0, so TCP connects but the TLS flights never arrive (the server's, about 2.2 KB; a Go client's ClientHello too, 1.5 KB with its ML-KEM key share); the servers wait %v for a handshake", pmtuBlackHole, httpsTimeout(o.cap)),
		)
		var err error
		if id, err = newTLSIdentity(hostName); err != nil {
			return err
		}
		defer id.close()
	}
	n, err := netem.New(netem.Config{Server: append(pool(), dnsAddr), Seed: o.seed})
	if err != nil {
		return err
	}
	defer n.Close()
	dnsSrv, err := n.ListenDNS(dnsAddr)
	if err != nil {
		return err
	}
	defer dnsSrv.Close()
	if err := n.WriteEtc(netem.Client, "resolv.conf", resolvConf); err != nil {
		return err
	}
	if err := n.WriteEtc(netem.Client, "hosts", hostsFile); err != nil {
		return err
	}
	launch := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cmd := n.Command(ctx, netem.Client, name, args...)
		if o.verbose {
			cmd.Env = append(os.Environ(), traceEnv+"=1")
		}
		return cmd
	}
	listen := func(a netip.AddrPort) (ln net.Listener, err error) {
		err = n.Run(netem.Server, func() error {
			ln, err = net.Listen("tcp", a.String())
			return err
		})
		return ln, err
	}
	for si, s := range scs {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := runScenario(ctx, env{net: n, dns: dnsSrv, launch: launch, listen: listen, host: hostName, port: port, tls: id}, s, si, cls, o)
		if res != nil {
			r.Scenarios = append(r.Scenarios, *res)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// env is where scenarios run: the emulated network, or loopback (net and
// dns nil).
type env struct {
	net    *netem.Network
	dns    *netem.DNSServer
	launch launcher
	listen listenFunc
	host   string
	port   int
	// tls is what HTTPS scenarios need; nil when none runs.
	tls *tlsIdentity
}

// runScenario sets the network up for s and runs every client n times,
// round-robin so that slow drifts of the shared machine hit all clients
// alike.
func runScenario(ctx context.Context, e env, s scenario, si int, cls []client, o options) (*scenarioResult, error) {
	if s.tls {
		if e.tls == nil {
			return nil, fmt.Errorf("scenario %s: HTTPS without a TLS identity", s.name)
		}
		e.port = tlsPort
		cls = slices.Clone(cls)
		for i := range cls {
			cls[i] = cls[i].forTLS(e.tls.caFile)
		}
	}
	var listenOn []netip.AddrPort
	var rules []netem.Rule
	endpointAddrs := map[netip.Addr]bool{}
	for _, ep := range s.endpoints {
		endpointAddrs[ep.addr] = true
		if ep.state != refusing {
			listenOn = append(listenOn, netip.AddrPortFrom(ep.addr, uint16(e.port)))
		}
		rules = append(rules, netem.Rule{
			Prefix:    netip.PrefixFrom(ep.addr, ep.addr.BitLen()),
			Delay:     ep.delay,
			Loss:      s.loss,
			BlackHole: ep.state == blackHole,
			MTU:       ep.mtu,
		})
	}
	if s.v4only {
		if e.net == nil {
			return nil, fmt.Errorf("scenario %s: an IPv4-only client needs the emulated network", s.name)
		}
		if err := e.net.SetIPv6(netem.Client, false); err != nil {
			return nil, err
		}
		defer e.net.SetIPv6(netem.Client, true)
	}
	var servers interface{ close() }
	var err error
	if s.tls {
		servers, err = startHTTPS(e.listen, listenOn, e.tls, httpsTimeout(o.cap))
	} else {
		servers, err = startServers(e.listen, listenOn)
	}
	if err != nil {
		return nil, err
	}
	defer servers.close()
	if e.dns != nil {
		e.dns.SetZone(netem.Zone{
			Records: map[string][]netip.Addr{e.host: s.records()},
			Delay:   s.dnsDelay,
			Drop:    s.dnsDrop,
			HTTPS:   map[string][]string{e.host: s.httpsRecords()},
		})
	}
	oracle, oracleAddr := s.oracle()
	n := s.dials(o.n)
	res := &scenarioResult{Scenario: s.name, About: s.about, N: n, OracleMS: float64(oracle) / float64(time.Millisecond), OracleFamily: familyOf(oracleAddr), TLS: s.tls, IPv4Only: s.v4only}
	if s.tls {
		res.OracleFirstByteMS = float64(s.oracleFirstByte()) / float64(time.Millisecond)
	}
	res.Clients = make([]clientResult, len(cls))
	warm := make([]*process, len(cls))
	defer func() {
		for _, p := range warm {
			if p != nil {
				p.stop(time.Second)
			}
		}
	}()
	for i, c := range cls {
		res.Clients[i].Client = c.name
		if _, _, err := c.command(e.host, e.port, o.cap); err != nil {
			res.Clients[i].Skipped = err.Error()
		}
	}
	// Clients give up at the cap themselves (curl has no such option that
	// leaves its behaviour alone, so it is killed here); the slack covers
	// process start-up.
	wait := o.cap + 2*time.Second
	capped := make([]int, len(cls)) // consecutive dials that hit the cap, per client
	started := time.Now()
	// Summarize whatever ran, also when an interrupt cuts the scenario
	// short, so that a partial report is still right.
	defer func() {
		res.Seconds = time.Since(started).Seconds()
		for i := range res.Clients {
			if res.Clients[i].Skipped == "" {
				res.Clients[i].summarize(res.OracleMS, e.net != nil)
				if hw := res.Clients[i].HostWarm; hw != nil {
					hw.summarize(res.OracleMS)
				}
				if s.tls {
					res.Clients[i].summarizeFirstByte(res.OracleFirstByteMS)
				}
			}
		}
	}()
	m := measurer{e: e, rules: rules, endpoints: endpointAddrs, cap: o.cap, wait: wait}
	for i := range n {
		for ci, c := range cls {
			cr := &res.Clients[ci]
			if cr.Skipped != "" || cr.Stopped != "" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			seed := o.seed ^ uint64(si)<<32 ^ uint64(i)<<16 ^ uint64(c.seedIndex)
			one, err := m.measure(ctx, c, &warm[ci], seed)
			if errors.Is(err, errNoStart) {
				if len(cr.Runs) == 0 {
					cr.Skipped = err.Error()
				} else {
					cr.Stopped = err.Error()
				}
				continue
			}
			if err != nil {
				return res, err
			}
			cr.Runs = append(cr.Runs, one)
			// A client that hits the cap again and again will go on doing
			// so: running it n times would only add minutes to the bench.
			if one.Capped {
				if capped[ci]++; capped[ci] == maxCapped && i < n-1 {
					cr.Stopped = fmt.Sprintf("stopped after %d dials in a row hit the %v cap", maxCapped, o.cap)
				}
			} else {
				capped[ci] = 0
			}
			if o.verbose {
				fmt.Fprintf(os.Stderr, "%s %s #%d: %.1f ms %s %s attempts=%d %s\n", s.name, c.name, i+1, one.MS, one.Family, one.Addr, one.Attempts, one.Err)
			}
		}
	}
	if o.hostWarm && e.net != nil && !s.tls {
		if err := m.runHostWarm(ctx, s, si, cls, res, o); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: %s done in %.0f s\n", s.name, time.Since(started).Seconds())
	return res, nil
}

// measurer makes one measured dial in a scenario.
type measurer struct {
	e         env
	rules     []netem.Rule
	endpoints map[netip.Addr]bool // the scenario's addresses, whose attempts count
	cap, wait time.Duration
}

// measure sets the wire for one dial (its rules reseeded with seed),
// lets the previous dial settle, and runs one dial of c (see env.dial).
// A harness failure is a failed run; err is errNoStart (wrapped) when the
// client could not be started, or the context's error when interrupted
// (the dial then says nothing about the client).
func (m measurer) measure(ctx context.Context, c client, warm **process, seed uint64) (run, error) {
	e := m.e
	if e.net != nil {
		if err := e.net.SetRules(seed, m.rules...); err != nil {
			return run{}, err
		}
	}
	time.Sleep(settle)
	if e.net != nil {
		e.net.ResetCounters()
	}
	rr, err := e.dial(ctx, c, warm, m.cap, m.wait)
	if errors.Is(err, errNoStart) {
		return run{}, err
	}
	if ctx.Err() != nil {
		return run{}, ctx.Err()
	}
	if err != nil {
		rr = result{MS: float64(m.wait) / float64(time.Millisecond), Err: err.Error()}
	}
	one := run{MS: rr.MS, FirstByteMS: rr.FirstMS, Family: rr.family(), Addr: rr.Addr, Err: rr.Err}
	if e.net != nil {
		for a, cnt := range e.net.Counters() {
			if m.endpoints[a] {
				one.Attempts += cnt.Attempts
				one.SYNs += cnt.SYNs
			}
		}
	}
	// A dial (or, in HTTPS scenarios, its request) that was still
	// running at the cap.
	one.Capped = one.Err != "" && max(one.MS, one.FirstByteMS) >= 0.99*float64(m.cap)/float64(time.Millisecond)
	return one, nil
}

// tcpSettleTimeout bounds the wait for the client namespace's
// connections to finish closing (a FIN exchange is one round trip; the
// slowest scenario path is 300 ms).
const tcpSettleTimeout = 3 * time.Second

// hostWarmNote says in the report what the host-warm table is.
const hostWarmNote = "fresh process, warm host: after the round-robin dials (metrics off, as on every other row), each fresh-process client again as n fresh processes in a row with the client namespace's kernel TCP metrics saved (net.ipv4.tcp_no_metrics_save=0, as on a host with the defaults), the table flushed (ip tcp_metrics flush all) before each client's series; the first process of a series meets an empty table, like cold; later = the others"

// runHostWarm runs, after the round-robin dials, every fresh-process
// client of s again as a series of n fresh processes in a row, on a host
// whose kernel keeps its per-destination TCP metrics as it does by
// default (net.ipv4.tcp_no_metrics_save=0 in the client namespace): a
// connection that closes leaves its destination and round trip in the
// kernel's table, where the next process may look. The table is flushed
// before each client's series, so that every client starts from the same
// empty table (the first process of a series is as cold as any), and
// after the last; saving goes off again when the phase ends, so the next
// scenario's dials are as cold as before. Before each dial the previous
// process's connections are let finish closing (their entries are saved
// then), as between two commands a user runs. Each series runs in one block,
// not round-robin: interleaved clients would warm the host for each
// other. Dial i draws the same losses as dial i of the round-robin. A
// client that was stopped in the round-robin is not run again.
func (m measurer) runHostWarm(ctx context.Context, s scenario, si int, cls []client, res *scenarioResult, o options) (err error) {
	nw := m.e.net
	// Connections still closing save their entry when they reach
	// TIME_WAIT, reading the sysctl then: let the round-robin's finish
	// closing before saving goes on, and each series' before the flush
	// that starts the next. A connection that does not settle is
	// reported, not waited for.
	settleTCP := func() {
		if err := nw.WaitTCPSettled(netem.Client, tcpSettleTimeout); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s host-warm: %v\n", s.name, err)
		}
	}
	settleTCP()
	if err := nw.SetTCPMetricsSave(netem.Client, true); err != nil {
		return err
	}
	defer func() {
		settleTCP()
		err = errors.Join(err, nw.SetTCPMetricsSave(netem.Client, false), nw.FlushTCPMetrics(netem.Client))
	}()
	n := res.N
	for ci, c := range cls {
		cr := &res.Clients[ci]
		if c.warm || cr.Skipped != "" {
			continue
		}
		hw := &hostWarmResult{}
		cr.HostWarm = hw
		if cr.Stopped != "" {
			hw.Stopped = "not run: stopped in the round-robin"
			continue
		}
		settleTCP()
		if err := nw.FlushTCPMetrics(netem.Client); err != nil {
			return err
		}
		capped := 0
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if i > 0 {
				// The previous process's connection must have closed, and
				// its entry be saved, for this one to find it.
				settleTCP()
			}
			seed := o.seed ^ uint64(si)<<32 ^ uint64(i)<<16 ^ uint64(c.seedIndex)
			one, err := m.measure(ctx, c, nil, seed)
			if errors.Is(err, errNoStart) {
				hw.Stopped = err.Error()
				break
			}
			if err != nil {
				return err
			}
			hw.Runs = append(hw.Runs, one)
			if o.verbose {
				fmt.Fprintf(os.Stderr, "%s %s host-warm #%d: %.1f ms %s %s attempts=%d %s\n", s.name, c.name, i+1, one.MS, one.Family, one.Addr, one.Attempts, one.Err)
			}
			if one.Capped {
				if capped++; capped == maxCapped && i < n-1 {
					hw.Stopped = fmt.Sprintf("stopped after %d dials in a row hit the %v cap", maxCapped, o.cap)
					break
				}
			} else {
				capped = 0
			}
		}
		// What the kernel remembered after the series, for the record:
		// each line a destination the client's connections reached.
		hw.TCPMetrics, err = nw.TCPMetrics(netem.Client)
		if err != nil {
			return err
		}
		if o.verbose {
			fmt.Fprintf(os.Stderr, "%s %s host-warm: kernel TCP metrics after the series: %q\n", s.name, c.name, hw.TCPMetrics)
		}
	}
	return nil
}

// errNoStart marks a client whose program could not be started.
var errNoStart = errors.New("cannot start")

// dial runs one dial of client c and returns its result. A warm client's
// process is kept in *warm between dials and started on first use; a cold
// client gets a fresh process. err is a failure of the harness (no result
// line within wait, the process gone), not of the dial.
func (e env) dial(ctx context.Context, c client, warm **process, cap, wait time.Duration) (result, error) {
	if !c.warm {
		p, err := start(ctx, e.launch, c, e.host, e.port, cap)
		if err != nil {
			return result{}, fmt.Errorf("%w: %v", errNoStart, err)
		}
		r, err := p.next(c.requests, wait)
		// Nothing more is needed from the process: a short grace to exit on
		// its own (curl may linger for seconds in its resolver thread), then
		// a kill.
		p.stop(200 * time.Millisecond)
		return r, err
	}
	if *warm == nil {
		p, err := start(ctx, e.launch, c, e.host, e.port, cap)
		if err != nil {
			return result{}, fmt.Errorf("%w: %v", errNoStart, err)
		}
		*warm = p
	}
	r, err := (*warm).next(true, wait)
	time.Sleep(20 * time.Millisecond) // let the dial's last packets reach the wire's counters
	if err != nil || strings.HasPrefix(r.Err, "no connection within") {
		// The process is gone or leaving (a Go client exits when a dial
		// outlives the cap): the next dial starts a new one.
		(*warm).stop(time.Second)
		*warm = nil
	}
	return r, err
}

func familyOf(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return ""
	case a.Unmap().Is4():
		return "IPv4"
	default:
		return "IPv6"
	}
}
