package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is one dial as a client reports it: one JSON line on stdout.
type result struct {
	// MS is the time from just before name resolution to connected (or
	// to the failure), measured inside the client's process. In HTTPS
	// scenarios connected means the TLS handshake is done.
	MS float64 `json:"ms"`
	// FirstMS is, in HTTPS scenarios, the time from the same start to the
	// first byte of the HTTP response (or to the request's failure, when
	// Err says so); 0 when no request was sent.
	FirstMS float64 `json:"first_ms,omitempty"`
	// Addr is the address connected to; empty on failure.
	Addr string `json:"addr,omitempty"`
	// Err says why the dial failed; empty on success.
	Err string `json:"err,omitempty"`
}

// family returns "IPv6", "IPv4" or "" for the connected address.
func (r result) family() string {
	a, err := netip.ParseAddr(r.Addr)
	switch {
	case err != nil:
		return ""
	case a.Unmap().Is4():
		return "IPv4"
	default:
		return "IPv6"
	}
}

// launcher starts a command; in the emulated network it runs it inside
// the client namespace.
type launcher func(ctx context.Context, name string, args ...string) *exec.Cmd

// client is one of the compared implementations.
type client struct {
	name  string
	about string
	// warm clients run in one process that dials once per request line on
	// stdin; the others are a fresh process per dial.
	warm bool
	// resultOnStderr is true for clients that print their result on
	// stderr (curl: its stdout is block-buffered into a pipe and flushed
	// only at exit, which can be seconds after the connection).
	resultOnStderr bool
	// requests is true for clients that dial once per line on stdin (the
	// Go clients); the others dial once when started.
	requests bool
	// command returns the program and arguments that dial host:port once
	// (or, for a warm client, once per line on stdin), printing one result
	// line per dial. cap bounds each dial.
	command func(host string, port int, cap time.Duration) (string, []string, error)
	// parse turns the program's output line into a result; nil means the
	// line is a result's JSON.
	parse func(line string) (result, error)
	// version describes the program for the report.
	version func() string
	// tlsCommand is the client's HTTPS mode, for HTTPS scenarios: like
	// command, but the client completes a TLS handshake trusting the CA
	// in caFile, sends one GET and reports its first response byte too.
	// nil means the client has no HTTPS mode.
	tlsCommand func(host string, port int, cap time.Duration, caFile string) (string, []string, error)
	// tlsParse is parse for the HTTPS mode.
	tlsParse func(line string) (result, error)
	// seedIndex picks the client's loss draws: the wire's seed for a dial
	// mixes it in. It is the client's place in clients(), whichever
	// clients run; base-cold and base-warm share ours-cold's and
	// ours-warm's, so that a before/after pair meets the same losses.
	seedIndex int
}

// forTLS returns c in its HTTPS mode, trusting caFile; a client without
// one is returned with a command that says so (it is then skipped).
func (c client) forTLS(caFile string) client {
	tc := c
	tc.parse = c.tlsParse
	if c.tlsCommand == nil {
		tc.command = func(string, int, time.Duration) (string, []string, error) {
			return "", nil, errors.New("no HTTPS mode")
		}
		return tc
	}
	tc.command = func(host string, port int, cap time.Duration) (string, []string, error) {
		return c.tlsCommand(host, port, cap, caFile)
	}
	return tc
}

// clients returns every client, in table order. self is this binary.
func clients(self string) []client {
	goClient := func(impl string) func(string, int, time.Duration) (string, []string, error) {
		return func(host string, port int, cap time.Duration) (string, []string, error) {
			return self, []string{clientCommand, "-impl", impl, "-addr", hostPort(host, port), "-cap", cap.String()}, nil
		}
	}
	goTLSClient := func(impl string) func(string, int, time.Duration, string) (string, []string, error) {
		return func(host string, port int, cap time.Duration, caFile string) (string, []string, error) {
			return self, []string{clientCommand, "-impl", impl, "-addr", hostPort(host, port), "-cap", cap.String(), "-tls", caFile}, nil
		}
	}
	all := []client{
		{name: "ours-cold", about: "this module's zero dialer.Dialer, a fresh process per dial",
			command: goClient("ours"), tlsCommand: goTLSClient("ours"), requests: true, version: goVersion},
		{name: "ours-warm", about: "this module's zero dialer.Dialer, one process dialing n times", warm: true,
			command: goClient("ours"), tlsCommand: goTLSClient("ours"), requests: true, version: goVersion},
		{name: "net.Dialer", about: "Go's zero net.Dialer, a fresh process per dial",
			command: goClient("net"), tlsCommand: goTLSClient("net"), requests: true, version: goVersion},
		{name: "curl", about: "curl with its defaults (Happy Eyeballs 200 ms); time_connect",
			command: func(host string, port int, _ time.Duration) (string, []string, error) {
				// No --connect-timeout or --max-time: they would change how
				// curl splits its time between addresses. The bench kills
				// curl at the cap instead.
				path, err := exec.LookPath("curl")
				return path, []string{"-s", "-o", "/dev/null", "-w", curlWriteOut, "http://" + hostPort(host, port) + "/"}, err
			},
			parse: parseCurl,
			tlsCommand: func(host string, port int, _ time.Duration, caFile string) (string, []string, error) {
				path, err := exec.LookPath("curl")
				return path, []string{"-s", "-o", "/dev/null", "--cacert", caFile, "-w", curlTLSWriteOut, "https://" + hostPort(host, port) + "/"}, err
			},
			tlsParse:       parseCurlTLS,
			resultOnStderr: true,
			version: func() string {
				v := versionOf("curl", "--version")()
				f := strings.Fields(v)
				return strings.Join(f[:min(2, len(f))], " ")
			}},
		{name: "node", about: "Node net.connect, default autoSelectFamily (250 ms)",
			command: func(host string, port int, cap time.Duration) (string, []string, error) {
				path, err := exec.LookPath("node")
				return path, []string{"-e", nodeScript, host, strconv.Itoa(port), strconv.FormatInt(cap.Milliseconds(), 10)}, err
			},
			tlsCommand: func(host string, port int, cap time.Duration, caFile string) (string, []string, error) {
				path, err := exec.LookPath("node")
				return path, []string{"-e", nodeTLSScript, host, strconv.Itoa(port), strconv.FormatInt(cap.Milliseconds(), 10), caFile}, err
			},
			version: versionOf("node", "--version")},
		{name: "python", about: "Python asyncio.open_connection(happy_eyeballs_delay=0.25)",
			command: func(host string, port int, cap time.Duration) (string, []string, error) {
				path, err := pythonPath()
				return path, []string{"-c", pythonScript, host, strconv.Itoa(port), strconv.FormatFloat(cap.Seconds(), 'f', 3, 64)}, err
			},
			tlsCommand: func(host string, port int, cap time.Duration, caFile string) (string, []string, error) {
				path, err := pythonPath()
				return path, []string{"-c", pythonTLSScript, host, strconv.Itoa(port), strconv.FormatFloat(cap.Seconds(), 'f', 3, 64), caFile}, err
			},
			version: versionOf("python3", "--version")},
	}
	for i := range all {
		all[i].seedIndex = i
	}
	return all
}

// baselineClients returns base-cold and base-warm: ours-cold and
// ours-warm with the Go client of bin, a bench binary built from another
// commit of this module, so that one session can time the Dialer before
// and after a change with everything else equal. bin's HTTPS mode is
// used when its client has one (a -tls flag); otherwise the HTTPS
// scenarios skip them.
func baselineClients(bin string) ([]client, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	// The flag package lists a client's flags on -h (and exits 2).
	usage, _ := exec.Command(bin, clientCommand, "-h").CombinedOutput()
	if !strings.Contains(string(usage), "-impl") {
		return nil, fmt.Errorf("%s is not a bench binary (no Go client)", bin)
	}
	hasTLS := strings.Contains(string(usage), "-tls")
	version := func() string { return buildVersion(bin) }
	var out []client
	for i, warm := range []bool{false, true} {
		c := client{name: "base-cold", seedIndex: i, about: "ours-cold with the Go client of " + bin, requests: true, version: version,
			command: func(host string, port int, cap time.Duration) (string, []string, error) {
				return bin, []string{clientCommand, "-impl", "ours", "-addr", hostPort(host, port), "-cap", cap.String()}, nil
			}}
		if warm {
			c.name, c.about, c.warm = "base-warm", "ours-warm with the Go client of "+bin, true
		}
		if hasTLS {
			c.tlsCommand = func(host string, port int, cap time.Duration, caFile string) (string, []string, error) {
				return bin, []string{clientCommand, "-impl", "ours", "-addr", hostPort(host, port), "-cap", cap.String(), "-tls", caFile}, nil
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// buildVersion describes a Go binary: its path, its Go version and, when
// the build stamped it (go build -buildvcs=true in a checkout), the
// commit, with "(modified)" for uncommitted changes.
func buildVersion(bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return bin + ", unknown build (" + err.Error() + ")"
	}
	v := bin + ", " + info.GoVersion
	var rev, modified string
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value[:min(7, len(kv.Value))]
		case "vcs.modified":
			if kv.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev != "" {
		v += ", module " + rev + modified
	}
	return v
}

// selectClients picks clients by comma-separated names ("" or "all" for
// every one).
func selectClients(all []client, list string) ([]client, error) {
	if list == "" || list == "all" {
		return all, nil
	}
	var out []client
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(c client) bool { return c.name == name })
		if i < 0 {
			var names []string
			for _, c := range all {
				names = append(names, c.name)
			}
			return nil, fmt.Errorf("unknown client %q (have %s)", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func hostPort(host string, port int) string {
	return strings.Join([]string{host, strconv.Itoa(port)}, ":")
}

// nodeScript dials argv[1]:argv[2] with net.connect and Node's defaults
// (autoSelectFamily true, 250 ms attempt timeout in Node 20), timing from
// just before the lookup to 'connect'.
const nodeScript = `
const net = require('net');
const [host, port, cap] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const s = net.connect({host, port});
const timer = setTimeout(() => { out({ms: ms(), err: 'no connection within ' + cap + ' ms'}); process.exit(0); }, cap);
s.on('connect', () => { const t = ms(); clearTimeout(timer); out({ms: t, addr: s.remoteAddress}); s.destroy(); });
s.on('error', (e) => { const t = ms(); clearTimeout(timer); out({ms: t, err: String(e && e.message)}); });
`

// pythonScript dials argv[1]:argv[2] with asyncio.open_connection and a
// 250 ms Happy Eyeballs delay (asyncio's default is no Happy Eyeballs).
const pythonScript = `
import asyncio, json, sys, time
host, port, cap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()
async def main():
    t0 = time.perf_counter()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port, happy_eyeballs_delay=0.25), cap)
    except BaseException as e:
        out({"ms": (time.perf_counter() - t0) * 1000, "err": repr(e)})
        return
    t = (time.perf_counter() - t0) * 1000
    out({"ms": t, "addr": w.get_extra_info("peername")[0]})
    w.close()
asyncio.run(main())
`

// curlWriteOut makes curl print its result on stderr (unbuffered; stdout
// is only flushed at exit) as time_connect|remote_ip|exitcode|errormsg.
// time_connect counts from the start, name lookup included. Not %{json}:
// it makes curl look up its own host name after the transfer.
const curlWriteOut = "%{stderr}%{time_connect}|%{remote_ip}|%{exitcode}|%{errormsg}\n"

// parseCurl reads a line written with curlWriteOut.
func parseCurl(line string) (result, error) {
	f := strings.SplitN(line, "|", 4)
	if len(f) != 4 {
		return result{}, fmt.Errorf("curl output %q: want 4 fields", line)
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return result{}, fmt.Errorf("curl output %q: %w", line, err)
	}
	if secs == 0 || f[1] == "" {
		msg := strings.TrimSpace(f[3])
		if msg == "" {
			msg = "curl exit code " + f[2]
		}
		return result{Err: msg}, nil
	}
	// A transfer error after connecting (the response) does not matter
	// here: the connection was made.
	return result{MS: secs * 1000, Addr: f[1]}, nil
}

// nodeTLSScript is nodeScript's HTTPS mode: https.get with the CA in
// argv[4] (TLS over the same net.connect, so the same Happy Eyeballs:
// it races TCP connections, not TLS handshakes), timing 'secureConnect'
// and the response. agent: false, so nothing is pooled.
const nodeTLSScript = `
const https = require('https');
const fs = require('fs');
const [host, port, cap, caFile] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const ca = fs.readFileSync(caFile);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
let connected = 0, addr = '';
const timer = setTimeout(() => { out({ms: ms(), err: 'no connection within ' + cap + ' ms'}); process.exit(0); }, cap);
const req = https.get({host, port, path: '/', ca, agent: false}, (res) => {
  const t = ms(); clearTimeout(timer); out({ms: connected, first_ms: t, addr}); res.destroy(); process.exit(0);
});
req.on('socket', (s) => s.once('secureConnect', () => { connected = ms(); addr = s.remoteAddress; }));
req.on('error', (e) => { const t = ms(); clearTimeout(timer); out({ms: t, err: String(e && e.message)}); process.exit(0); });
`

// pythonTLSScript is pythonScript's HTTPS mode: asyncio.open_connection
// with an SSL context trusting argv[4] (the TLS handshake starts after
// the TCP race is won), then one GET and its first byte.
const pythonTLSScript = `
import asyncio, json, ssl, sys, time
host, port, cap, ca = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()
async def main():
    t0 = time.perf_counter()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx, happy_eyeballs_delay=0.25), cap)
    except BaseException as e:
        out({"ms": (time.perf_counter() - t0) * 1000, "err": repr(e)})
        return
    t = (time.perf_counter() - t0) * 1000
    addr = w.get_extra_info("peername")[0]
    try:
        w.write(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
        b = await asyncio.wait_for(r.read(1), max(cap - t / 1000, 0.001))
        if not b:
            raise EOFError("connection closed before the response")
    except BaseException as e:
        out({"ms": t, "first_ms": (time.perf_counter() - t0) * 1000, "addr": addr, "err": "first byte: " + repr(e)})
        w.close()
        return
    out({"ms": t, "first_ms": (time.perf_counter() - t0) * 1000, "addr": addr})
    w.close()
asyncio.run(main())
`

// curlTLSWriteOut is curlWriteOut for HTTPS:
// time_appconnect|time_starttransfer|remote_ip|exitcode|errormsg.
// time_appconnect is the TLS handshake done, time_starttransfer the first
// response byte, both from the start.
const curlTLSWriteOut = "%{stderr}%{time_appconnect}|%{time_starttransfer}|%{remote_ip}|%{exitcode}|%{errormsg}\n"

// parseCurlTLS reads a line written with curlTLSWriteOut.
func parseCurlTLS(line string) (result, error) {
	f := strings.SplitN(line, "|", 5)
	if len(f) != 5 {
		return result{}, fmt.Errorf("curl output %q: want 5 fields", line)
	}
	var secs [2]float64
	for i := range secs {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, fmt.Errorf("curl output %q: %w", line, err)
		}
		secs[i] = v
	}
	msg := strings.TrimSpace(f[4])
	if msg == "" {
		msg = "curl exit code " + f[3]
	}
	switch {
	case secs[0] == 0 || f[2] == "":
		return result{Err: msg}, nil
	case secs[1] == 0:
		return result{MS: secs[0] * 1000, Addr: f[2], Err: "first byte: " + msg}, nil
	}
	return result{MS: secs[0] * 1000, FirstMS: secs[1] * 1000, Addr: f[2]}, nil
}

var pythonExe struct {
	path string
	err  error
	done bool
}

// pythonPath finds the real python3 executable once (a pyenv shim costs
// a shell script per run; the measured time is unaffected either way).
func pythonPath() (string, error) {
	if !pythonExe.done {
		pythonExe.done = true
		pythonExe.path, pythonExe.err = exec.LookPath("python3")
		if pythonExe.err == nil {
			out, err := exec.Command(pythonExe.path, "-c", "import sys; print(sys.executable)").Output()
			if p := strings.TrimSpace(string(out)); err == nil && p != "" {
				pythonExe.path = p
			}
		}
	}
	return pythonExe.path, pythonExe.err
}

// versionOf returns a function reporting the first line of `name arg`.
func versionOf(name, arg string) func() string {
	return func() string {
		out, err := exec.Command(name, arg).CombinedOutput()
		if err != nil {
			return "unavailable"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
}

func goVersion() string { return strings.TrimSpace(runtimeVersion) }

// process is a running client process that answers one line per dial.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout lines; closed when stdout ends
	parse  func(string) (result, error)
	cancel context.CancelFunc
}

// start launches c's program.
func start(ctx context.Context, launch launcher, c client, host string, port int, cap time.Duration) (*process, error) {
	name, args, err := c.command(host, port, cap)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := launch(ctx, name, args...)
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	var stdout io.Reader
	if c.resultOnStderr {
		stdout, err = cmd.StderrPipe()
	} else {
		cmd.Stderr = os.Stderr
		stdout, err = cmd.StdoutPipe()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", c.name, err)
	}
	p := &process{cmd: cmd, stdin: stdin, lines: make(chan string, 16), parse: c.parse, cancel: cancel}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p, nil
}

// errNoAnswer is a dial the client did not report within the cap (the
// bench then kills it).
var errNoAnswer = errors.New("no answer within the cap (killed)")

// next asks for one dial (for warm processes) and waits up to wait for
// its result line.
func (p *process) next(request bool, wait time.Duration) (result, error) {
	if request {
		if _, err := io.WriteString(p.stdin, "\n"); err != nil {
			return result{}, fmt.Errorf("client process gone: %w", err)
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			return result{}, errors.New("client exited without a result")
		}
		if p.parse != nil {
			return p.parse(line)
		}
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return result{}, fmt.Errorf("client output %q: %w", line, err)
		}
		return r, nil
	case <-t.C:
		return result{}, errNoAnswer
	}
}

// stop ends the process: stdin closed (a warm client's signal to exit), a
// short grace, then a kill.
func (p *process) stop(grace time.Duration) {
	p.stdin.Close()
	done := make(chan struct{})
	go func() {
		for range p.lines { // drain so the reader can finish
		}
		close(done)
	}()
	t := time.NewTimer(grace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	p.cancel()
	p.cmd.Wait()
	<-done
}
