//go:build linux

package dialer

// An end-to-end test of History.HostMemory with real kernels: fresh
// processes in a network namespace, the kernel's TCP metrics
// (net/ipv4/tcp_metrics.c) carrying what one process learned to the
// next. It needs root (network namespaces) and ip (iproute2), and skips
// without them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/netnstest"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// The namespaces' addresses (documentation ranges, RFC 5737 and RFC
// 3849). The client has 192.0.2.1 and 2001:db8::1, the server 192.0.2.2;
// hostMemDead6 is on the server's link but nobody has it: the client's
// kernel sends SYNs to it (to the server's MAC, a static neighbour) and
// the server's kernel, which does not forward, drops them silently. A
// black hole, made without packet filters.
var (
	hostMemClient4 = netip.MustParseAddr("192.0.2.1")
	hostMemClient6 = netip.MustParseAddr("2001:db8::1")
	hostMemServer4 = netip.MustParseAddr("192.0.2.2")
	hostMemServer6 = netip.MustParseAddr("2001:db8::2")
	hostMemDead6   = netip.MustParseAddr("2001:db8::99")
)

// hostMemNamePrefix starts the namespaces this test creates; the PID
// follows, so that parallel test processes never collide and a killed
// run's leftovers can be told apart.
const hostMemNamePrefix = "he-hostmem-"

// hostMemChildEnv, in a re-executed test binary's environment, holds a
// hostMemChildConfig: the process dials once and prints a
// hostMemChildReport instead of running tests.
const hostMemChildEnv = "HAPPYEYEBALLS_TEST_HOSTMEM_CHILD"

func init() { childMain = hostMemChild }

type hostMemChildConfig struct {
	Port uint16 `json:"port"`
	// The name's answers and when they arrive.
	AAAA, A           netip.Addr
	AAAADelay, ADelay time.Duration
}

type hostMemChildReport struct {
	Attempts []AttemptStartInfo `json:"attempts"`
	Addr     netip.AddrPort     `json:"addr"` // the winner's
	Took     time.Duration      `json:"took"`
	Err      string             `json:"err,omitempty"`
}

// hostMemChild is a fresh process's one dial with the zero Dialer's
// learning (the process-wide History, HostMemory on) and a fixed answer
// for the name; it closes the connection at once, as a short-lived
// command would after its exchange.
func hostMemChild() (int, bool) {
	v := os.Getenv(hostMemChildEnv)
	if v == "" {
		return 0, false
	}
	var cfg hostMemChildConfig
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hostmem child:", err)
		return 2, true
	}
	d := Dialer{Resolver: &resolver.Static{
		AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{cfg.AAAA}, Delay: cfg.AAAADelay},
		A:    resolver.StaticAnswer{Addrs: []netip.Addr{cfg.A}, Delay: cfg.ADelay},
	}}
	var rep hostMemChildReport
	var mu sync.Mutex // AttemptStart runs on the collector; read after the dial
	ctx := WithTrace(context.Background(), &Trace{AttemptStart: func(i AttemptStartInfo) {
		mu.Lock()
		defer mu.Unlock()
		rep.Attempts = append(rep.Attempts, i)
	}})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("hostmem.test", strconv.Itoa(int(cfg.Port))))
	rep.Took = time.Since(start)
	if err != nil {
		rep.Err = err.Error()
	} else {
		rep.Addr = c.RemoteAddr().(*net.TCPAddr).AddrPort()
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 1, true
	}
	return 0, true
}

// hostMemNetns is a client and a server namespace joined by a veth pair
// (internal/netnstest), addressed and routed for the test.
type hostMemNetns struct{ *netnstest.Pair }

// newHostMemNetns creates the namespaces, or skips t when it cannot (not
// root, no ip). t.Cleanup deletes them whatever happens.
func newHostMemNetns(t *testing.T) *hostMemNetns {
	t.Helper()
	const clientMAC, serverMAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
	p := netnstest.New(t, hostMemNamePrefix, netnstest.Options{MACs: [2]string{clientMAC, serverMAC}})
	c, s := p.Client(), p.Server()
	p.IP(t, "-n", c, "addr", "add", hostMemClient4.String()+"/24", "dev", "veth0")
	p.IP(t, "-n", c, "addr", "add", hostMemClient6.String()+"/64", "dev", "veth0", "nodad")
	p.IP(t, "-n", s, "addr", "add", hostMemServer4.String()+"/24", "dev", "veth1")
	p.IP(t, "-n", s, "addr", "add", hostMemServer6.String()+"/64", "dev", "veth1", "nodad")
	// Default routes toward the server, so that the client is a
	// dual-stack host (a dial waits for AAAA only on one); the server
	// namespace routes nothing further.
	p.IP(t, "-n", c, "route", "add", "default", "via", hostMemServer4.String())
	p.IP(t, "-n", c, "-6", "route", "add", "default", "via", hostMemServer6.String())
	p.IP(t, "-n", c, "-6", "neigh", "add", hostMemDead6.String(), "lladdr", serverMAC, "dev", "veth0", "nud", "permanent")
	p.IP(t, "-n", c, "neigh", "add", hostMemServer4.String(), "lladdr", serverMAC, "dev", "veth0", "nud", "permanent")
	return &hostMemNetns{p}
}

// setMetricsSave sets net.ipv4.tcp_no_metrics_save, a per-namespace
// setting, in the client namespace (on: 0, the kernel's default).
func (n *hostMemNetns) setMetricsSave(t *testing.T, on bool) {
	t.Helper()
	v := "1"
	if on {
		v = "0"
	}
	n.In(t, 0, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/tcp_no_metrics_save", []byte(v), 0)
	})
}

// metrics returns the client namespace's kernel TCP metrics as `ip
// tcp_metrics show` lists them.
func (n *hostMemNetns) metrics(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", n.Client(), "tcp_metrics", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip tcp_metrics show: %v: %s", err, out)
	}
	return string(out)
}

// waitClosed waits until the client namespace's connections have all
// finished closing (none is open or closing; TIME_WAIT is done), and at
// least one is in TIME_WAIT: that is when the kernel saves its metrics,
// or would have.
func (n *hostMemNetns) waitClosed(t *testing.T) {
	t.Helper()
	var last []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var states []string
		n.In(t, 0, func() error {
			for _, f := range []string{"tcp", "tcp6"} {
				// thread-self: this thread's namespace, not the process's.
				b, err := os.ReadFile("/proc/thread-self/net/" + f)
				if err != nil {
					return err
				}
				for _, l := range strings.Split(string(b), "\n")[1:] {
					if fs := strings.Fields(l); len(fs) > 3 {
						states = append(states, fs[3])
					}
				}
			}
			return nil
		})
		last = states
		settled, timeWait := true, false
		for _, st := range states {
			switch st {
			case "06": // TIME_WAIT (include/net/tcp_states.h)
				timeWait = true
			case "07", "0A": // CLOSE, LISTEN
			default:
				settled = false
			}
		}
		if settled && timeWait {
			return
		}
	}
	t.Fatalf("the first process's connection did not reach TIME_WAIT: socket states %v", last)
}

// TestHostMemory_kernelTCPMetrics runs fresh processes (this test binary
// re-executed) in a client namespace whose name resolves to a black-holed
// IPv6 address and a working IPv4 one, each dialing with the zero
// Dialer's learning: the process-wide History, HostMemory on.
//
// With the kernel's metrics saving on (net.ipv4.tcp_no_metrics_save=0,
// the default), the first process knows nothing: it tries IPv6 first
// (RFC 6724 rule 6) and reaches IPv4 one Connection Attempt Delay later
// (RFC 8305 §5). Its connection closes and the kernel saves the IPv4
// destination. The second process, as fresh, finds it in the kernel's
// table: IPv4 goes first, Known "host", and it connects without waiting
// for the delay. With saving off the kernel keeps nothing and the second
// process is as cold as the first.
func TestHostMemory_kernelTCPMetrics(t *testing.T) {
	fdBaseline(t)
	n := newHostMemNetns(t)

	// The server: accept, wait for the client to close, close.
	var ln net.Listener
	n.In(t, 1, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(hostMemServer4, 0).String())
		return err
	})
	var served sync.WaitGroup
	served.Go(func() {
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		served.Wait()
	})
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	dead := netip.AddrPortFrom(hostMemDead6, port)
	live := netip.AddrPortFrom(hostMemServer4, port)

	// The A answer at 20 ms, the AAAA answer 5 ms later, as when the AAAA
	// query is answered a little later: a cold dial waits for it (RFC 8305
	// §3, Resolution Delay) and starts IPv6; the answers come long after
	// the kernel's table has been read.
	cfg, err := json.Marshal(hostMemChildConfig{Port: port, AAAA: hostMemDead6, A: hostMemServer4, AAAADelay: 25 * time.Millisecond, ADelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The same answers at once, AAAA first: the dial waits (at most
	// 1 ms, once) for the kernel's table to be read, and then for the A
	// answer, since the host remembers IPv4 connections.
	atOnce, err := json.Marshal(hostMemChildConfig{Port: port, AAAA: hostMemDead6, A: hostMemServer4})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(t *testing.T, cfg []byte) hostMemChildReport {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.Client(), os.Args[0])
		cmd.Env = append(os.Environ(), hostMemChildEnv+"="+string(cfg))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fresh process: %v\n%s", err, stderr.Bytes())
		}
		var rep hostMemChildReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("fresh process's report %q: %v", out, err)
		}
		if rep.Err != "" || len(rep.Attempts) == 0 {
			t.Fatalf("fresh process: %+v", rep)
		}
		return rep
	}
	// cold checks a process that knew nothing: IPv6 first, IPv4 one
	// Connection Attempt Delay later.
	cold := func(t *testing.T, rep hostMemChildReport) {
		t.Helper()
		first := rep.Attempts[0]
		if first.Addr != dead || first.Known != "" || first.DelayFrom != "" || first.Delay != DefaultConnectionAttemptDelay || first.Reordered {
			t.Errorf("first attempt %+v; want %v, nothing known, the default delay", first, dead)
		}
		if rep.Addr != live || rep.Took < 20*time.Millisecond+DefaultConnectionAttemptDelay {
			t.Errorf("connected to %v after %v; want %v after 20 ms + 250 ms or more", rep.Addr, rep.Took, live)
		}
	}

	t.Run("saved", func(t *testing.T) {
		n.setMetricsSave(t, true)
		netnstest.IP(t, "-n", n.Client(), "tcp_metrics", "flush", "all")
		cold(t, fresh(t, cfg))
		n.waitClosed(t)
		if m := n.metrics(t); !strings.HasPrefix(m, hostMemServer4.String()+" ") || strings.Contains(m, hostMemDead6.String()) {
			t.Fatalf("the kernel's TCP metrics after the first process: %q; want %v only", m, hostMemServer4)
		}

		rep := fresh(t, cfg)
		first := rep.Attempts[0]
		if first.Addr != live || first.Known != "host" || first.DelayFrom != "host" || !first.Reordered {
			t.Errorf("first attempt %+v; want %v, known from the host, moved ahead of %v, its delay from the host's RTT", first, live, dead)
		}
		// Both answers are in at 25 ms; the veth's round trip is well
		// under a millisecond.
		if rep.Addr != live || rep.Took >= 100*time.Millisecond {
			t.Errorf("connected to %v after %v; want %v well within the 250 ms delay", rep.Addr, rep.Took, live)
		}
		t.Logf("cold: %v first; warm host: %v (Known %q, delay %v from %q), connected after %v", dead, first.Addr, first.Known, first.Delay, first.DelayFrom, rep.Took)

		n.waitClosed(t)
		rep = fresh(t, atOnce)
		if first := rep.Attempts[0]; first.Addr != live || first.Known != "host" || !first.Reordered || rep.Addr != live || rep.Took >= 50*time.Millisecond {
			t.Errorf("answers at once: first attempt %+v, connected to %v after %v; want %v first, known from the host, within 50 ms", first, rep.Addr, rep.Took, live)
		}
	})

	t.Run("not saved", func(t *testing.T) {
		n.setMetricsSave(t, false)
		netnstest.IP(t, "-n", n.Client(), "tcp_metrics", "flush", "all")
		cold(t, fresh(t, cfg))
		n.waitClosed(t)
		if m := n.metrics(t); m != "" {
			t.Fatalf("the kernel's TCP metrics with tcp_no_metrics_save=1: %q; want none", m)
		}
		cold(t, fresh(t, cfg))
	})
}
