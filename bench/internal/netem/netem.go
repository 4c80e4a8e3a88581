//go:build linux

package netem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dualstack-go/happyeyeballs/internal/netns"
)

// A Network is a client namespace and a server namespace joined by a
// user-space wire. Its methods are safe for concurrent use.
type Network struct {
	names  [2]string   // namespace names
	handle [2]*os.File // open /run/netns files, for setns
	tun    [2]*os.File
	wire   *wire
	cfg    Config

	closeOnce sync.Once
	closeErr  error
}

// namePrefix starts every namespace this package creates; the PID and a
// per-process sequence number follow.
const namePrefix = "henetem-"

// tunName is the wire's device name inside each namespace.
const tunName = "wire0"

var netSeq atomic.Uint64

// Available reports why a Network cannot be created here, or nil if it
// can: it needs root, a usable /dev/net/tun, permission to create network
// namespaces, and the ip command. It probes once per process, without
// side effects.
func Available() error { return available() }

var available = sync.OnceValue(func() error {
	if os.Geteuid() != 0 {
		return errors.New("netem: needs root (network namespaces and TUN devices)")
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netem: no usable TUN device: %w", err)
	}
	unix.Close(fd)
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netem: the ip command (iproute2) is not installed")
	}
	// Try to create a network namespace on a thread that is then thrown
	// away (a locked thread that is never unlocked dies with its
	// goroutine), so the process itself is never moved.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- unix.Unshare(unix.CLONE_NEWNET)
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("netem: cannot create network namespaces: %w", err)
	}
	return nil
})

// New creates the two namespaces, the TUN devices, addresses and routes,
// and starts the wire with no rules (every packet crosses at once). On
// error everything created so far is removed.
func New(cfg Config) (*Network, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if len(cfg.Client) == 0 {
		cfg.Client = []netip.Addr{ClientIPv4, ClientIPv6}
	}
	if len(cfg.Server) == 0 {
		return nil, errors.New("netem: Config.Server lists no addresses")
	}
	seen := make(map[netip.Addr]bool)
	for _, a := range append(append([]netip.Addr(nil), cfg.Client...), cfg.Server...) {
		if !isDoc(a) || a.Zone() != "" {
			return nil, fmt.Errorf("netem: address %s is outside %s and %s", a, DocIPv4, DocIPv6)
		}
		if seen[a] {
			return nil, fmt.Errorf("netem: address %s listed twice", a)
		}
		seen[a] = true
	}
	CleanStale()

	base := fmt.Sprintf("%s%d-%d-", namePrefix, os.Getpid(), netSeq.Add(1))
	n := &Network{names: [2]string{base + "c", base + "s"}, cfg: cfg}
	if err := n.setup(); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// setup does New's work; New undoes it on error.
func (n *Network) setup() error {
	for side, name := range n.names {
		if err := run("ip", "netns", "add", name); err != nil {
			return err
		}
		h, err := os.Open(filepath.Join("/run/netns", name))
		if err != nil {
			return fmt.Errorf("netem: open namespace %s: %w", name, err)
		}
		n.handle[side] = h
		err = n.Run(Side(side), func() error {
			// Per-namespace settings, written from inside the namespace:
			// no TCP metrics cache (one run's RTT must not leak into the
			// next), no duplicate address detection (addresses would stay
			// tentative), no router solicitations, and no packetization-layer
			// path MTU discovery (RFC 4821; the default, written down here
			// because a Rule.MTU black hole relies on it: with probing on,
			// Linux would shrink its segments after a few timeouts and get
			// through).
			for k, v := range map[string]string{
				"net/ipv4/tcp_no_metrics_save":               "1",
				"net/ipv4/tcp_mtu_probing":                   "0",
				"net/ipv6/conf/all/accept_dad":               "0",
				"net/ipv6/conf/default/accept_dad":           "0",
				"net/ipv6/conf/default/router_solicitations": "0",
			} {
				if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0); err != nil {
					return fmt.Errorf("netem: sysctl %s in %s: %w", k, name, err)
				}
			}
			tun, err := openTUN(tunName)
			n.tun[side] = tun
			return err
		})
		if err != nil {
			return err
		}
	}
	var cmds [2][]string
	for side := range cmds {
		cmds[side] = []string{
			"link set lo up",
			"link set " + tunName + " up",
			"route add default dev " + tunName,
			"-6 route add default dev " + tunName,
		}
	}
	for side, addrs := range [2][]netip.Addr{n.cfg.Client, n.cfg.Server} {
		for _, a := range addrs {
			cmds[side] = append(cmds[side], fmt.Sprintf("addr add %s dev %s nodad", netip.PrefixFrom(a, a.BitLen()), tunName))
		}
	}
	for side, c := range cmds {
		for _, line := range c {
			// A batch would be one process, but its errors do not say which
			// line failed; these are few.
			if err := run("ip", append([]string{"-n", n.names[side]}, strings.Fields(line)...)...); err != nil {
				return err
			}
		}
	}
	n.wire = newWire(n.tun[Client], n.tun[Server], n.cfg.Seed)
	return nil
}

// run runs a command and returns its output in the error when it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netem: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// SetIPv6 gives side's namespace its IPv6 addresses and default route
// (on), as New does, or takes them away (off): an IPv4-only host, where a
// route lookup toward any global IPv6 address fails with ENETUNREACH and
// getaddrinfo's AI_ADDRCONFIG finds no IPv6 address. Sockets bound to a
// removed address break. It is not safe to call concurrently with itself.
func (n *Network) SetIPv6(s Side, on bool) error {
	addrs := n.cfg.Client
	if s == Server {
		addrs = n.cfg.Server
	}
	verb := "del"
	if on {
		verb = "add"
	}
	var lines []string
	if !on {
		// The route goes first: it leaves with the last address anyway.
		lines = append(lines, "-6 route del default dev "+tunName)
	}
	for _, a := range addrs {
		if !a.Is6() {
			continue
		}
		line := fmt.Sprintf("addr %s %s dev %s", verb, netip.PrefixFrom(a, a.BitLen()), tunName)
		if on {
			line += " nodad"
		}
		lines = append(lines, line)
	}
	if on {
		lines = append(lines, "-6 route add default dev "+tunName)
	}
	for _, line := range lines {
		if err := run("ip", append([]string{"-n", n.names[s]}, strings.Fields(line)...)...); err != nil {
			return err
		}
	}
	return nil
}

// SetTCPMetricsSave turns the kernel's per-destination TCP metrics cache
// on or off in side's namespace (net.ipv4.tcp_no_metrics_save, which is
// per namespace: 0 saves, as on a host with the defaults). New turns it
// off in both namespaces so that one run's round trips do not leak into
// the next. With it on, the kernel saves a destination's smoothed RTT when
// a connection to it closes; entries saved stay readable (and are used by
// new connections) after it is turned off again, until FlushTCPMetrics.
func (n *Network) SetTCPMetricsSave(s Side, on bool) error {
	v := "1"
	if on {
		v = "0"
	}
	return n.Run(s, func() error {
		if err := os.WriteFile("/proc/sys/net/ipv4/tcp_no_metrics_save", []byte(v), 0); err != nil {
			return fmt.Errorf("netem: sysctl net/ipv4/tcp_no_metrics_save in %s: %w", n.names[s], err)
		}
		return nil
	})
}

// FlushTCPMetrics empties the kernel's TCP metrics table of side's
// namespace (`ip tcp_metrics flush all`): the host then remembers no
// destination.
func (n *Network) FlushTCPMetrics(s Side) error {
	return run("ip", "-n", n.names[s], "tcp_metrics", "flush", "all")
}

// TCPMetrics returns the entries of the kernel's TCP metrics table in
// side's namespace as `ip tcp_metrics show` prints them, one a line.
func (n *Network) TCPMetrics(s Side) ([]string, error) {
	out, err := exec.Command("ip", "-n", n.names[s], "tcp_metrics", "show").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("netem: ip -n %s tcp_metrics show: %v: %s", n.names[s], err, strings.TrimSpace(string(out)))
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// WaitTCPSettled waits, up to timeout, until no TCP connection in side's
// namespace is still open or closing: every socket is listening, closed,
// or in TIME_WAIT. The kernel saves a connection's TCP metrics as it
// reaches TIME_WAIT (or the end of a passive close), reading
// tcp_no_metrics_save then, not when the connection began: a connection
// still closing when saving is turned on, or after a flush, adds its
// entry afterwards. It returns an error naming the sockets left when
// timeout passes first.
func (n *Network) WaitTCPSettled(s Side, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var open []string
		err := n.Run(s, func() error {
			var err error
			open, err = openTCP()
			return err
		})
		switch {
		case err != nil:
			return err
		case len(open) == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("netem: TCP connections in %s still open after %v: %v", n.names[s], timeout, open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openTCP lists the TCP sockets of the calling thread's namespace that
// are neither listening, closed, nor in TIME_WAIT, as "state local
// remote" in /proc's hex.
func openTCP() ([]string, error) {
	var open []string
	for _, f := range []string{"tcp", "tcp6"} {
		// thread-self: the namespace of this (locked) thread; /proc/net
		// is the process's.
		b, err := os.ReadFile("/proc/thread-self/net/" + f)
		if err != nil {
			return nil, fmt.Errorf("netem: %w", err)
		}
		lines := strings.Split(string(b), "\n")
		for _, l := range lines[min(1, len(lines)):] { // a header line first
			fs := strings.Fields(l)
			if len(fs) < 4 {
				continue
			}
			switch fs[3] {
			case "06", "07", "0A": // TIME_WAIT, CLOSE, LISTEN (include/net/tcp_states.h)
				continue
			}
			open = append(open, fs[3]+" "+fs[1]+" "+fs[2])
		}
	}
	return open, nil
}

// Namespace returns the name of one side's namespace, for `ip netns exec`.
func (n *Network) Namespace(s Side) string { return n.names[s] }

// ClientAddrs returns the client namespace's addresses.
func (n *Network) ClientAddrs() []netip.Addr { return append([]netip.Addr(nil), n.cfg.Client...) }

// ServerAddrs returns the server namespace's addresses.
func (n *Network) ServerAddrs() []netip.Addr { return append([]netip.Addr(nil), n.cfg.Server...) }

// Run calls fn on an OS thread that has entered side's namespace, and
// waits for it. Sockets fn creates belong to that namespace for their
// whole life, wherever they are used later: this is how servers are
// started in the server namespace from the calling process. fn must not
// start goroutines that expect to be in the namespace.
func (n *Network) Run(s Side, fn func() error) error {
	if n.handle[s] == nil {
		return fmt.Errorf("netem: %s namespace is not open", s)
	}
	return netns.Run(n.handle[s], fn)
}

// Command returns a command that runs name inside side's namespace (via
// `ip netns exec`, which also bind-mounts the files written by WriteEtc
// over /etc's). The process started is name itself: ip execs it.
func (n *Network) Command(ctx context.Context, s Side, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.names[s], name}, args...)...)
}

// WriteEtc writes /etc/netns/NAMESPACE/file, which `ip netns exec` mounts
// over /etc/file for processes started with Command: e.g. resolv.conf and
// hosts pointing the client at a DNS server in the server namespace. file
// must be a plain file name.
func (n *Network) WriteEtc(s Side, file, content string) error {
	if file == "" || file != filepath.Base(file) || file == "." || file == ".." {
		return fmt.Errorf("netem: WriteEtc: %q is not a plain file name", file)
	}
	dir := filepath.Join("/etc/netns", n.names[s])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netem: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		return fmt.Errorf("netem: %w", err)
	}
	return nil
}

// SetRules replaces the wire's rules at once and reseeds the generator
// that decides loss and jitter, so that the same seed and the same packets
// give the same drops. Invalid rules are rejected and the old ones kept.
func (n *Network) SetRules(seed uint64, rules ...Rule) error {
	return n.wire.setRules(seed, rules)
}

// Counters returns what the wire saw per server-side address since the
// last ResetCounters.
func (n *Network) Counters() map[netip.Addr]Counters { return n.wire.snapshot() }

// ResetCounters starts a new counting period.
func (n *Network) ResetCounters() { n.wire.reset() }

// Close stops the wire and removes the TUN devices, both namespaces and
// their /etc/netns directories. Sockets created with Run keep their
// namespace alive until they are closed; close servers first. Close is
// idempotent.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		for _, f := range n.tun {
			if f != nil {
				errs = append(errs, f.Close())
			}
		}
		if n.wire != nil {
			n.wire.stop()
		}
		for side, h := range n.handle {
			if h != nil {
				h.Close()
			}
			errs = append(errs, removeNamespace(n.names[side]))
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// removeNamespace deletes a namespace and its /etc/netns directory; a
// namespace that does not exist is not an error.
func removeNamespace(name string) error {
	var err error
	if _, statErr := os.Stat(filepath.Join("/run/netns", name)); statErr == nil {
		err = run("ip", "netns", "del", name)
	}
	return errors.Join(err, os.RemoveAll(filepath.Join("/etc/netns", name)))
}

// CleanStale removes namespaces (and /etc/netns directories) this package
// created in processes that no longer exist: what a killed run left
// behind. New calls it; it is safe to call at any time.
func CleanStale() {
	seen := make(map[string]bool)
	for _, dir := range []string{"/run/netns", "/etc/netns"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			seen[e.Name()] = true
		}
	}
	for name := range seen {
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = removeNamespace(name)
	}
}

// processAlive reports whether a process with this PID exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ListenDNS starts a DNSServer on addr port 53, UDP and TCP, inside the
// server namespace. addr must be one of Config.Server. Close the server
// before the Network.
func (n *Network) ListenDNS(addr netip.Addr) (*DNSServer, error) {
	var (
		pc net.PacketConn
		ln net.Listener
	)
	ap := netip.AddrPortFrom(addr, 53).String()
	err := n.Run(Server, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", ap); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", ap); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("netem: DNS server on %s: %w", ap, err)
	}
	return StartDNS(pc, ln)
}
