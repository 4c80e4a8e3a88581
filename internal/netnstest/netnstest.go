//go:build linux

// Package netnstest gives tests two fresh network namespaces, a client and
// a server, joined by a veth pair: real kernels on both ends of a link that
// nothing else on the machine can reach. Creating namespaces needs root and
// iproute2's ip; without them New skips the test.
//
// A typical test:
//
//	p := netnstest.New(t, "mytest-", netnstest.Options{})
//	p.IP(t, "-n", p.Client(), "addr", "add", "192.0.2.1/24", "dev", "veth0")
//	p.IP(t, "-n", p.Server(), "addr", "add", "192.0.2.2/24", "dev", "veth1")
//	p.In(t, netnstest.ServerSide, func() error { ln, err = net.Listen(…); return err })
//
// Everything is deleted in t.Cleanup.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/netns"
)

// The sides of a Pair: the client's end of the link is veth0, the
// server's veth1.
const (
	ClientSide = 0
	ServerSide = 1
)

// Options are what a Pair may be given beyond its names.
type Options struct {
	// MACs, when set, are the link addresses of veth0 and veth1 (for
	// tests that add permanent neighbour entries).
	MACs [2]string
}

// Pair is a client and a server namespace joined by veth0 (client) and
// veth1 (server), both up.
type Pair struct {
	names  [2]string
	handle [2]*os.File // for setns
}

// New creates the namespaces, named prefix, the process ID and "-c" or
// "-s", after deleting those a killed run with the same prefix left behind
// (its process is gone). It skips t without root or ip. Both ends of the
// link are up (carrier included: a SYN sent before would be retransmitted a
// second later, which a test of round-trip times would take for the RTT)
// and have no address yet.
func New(t testing.TB, prefix string, o Options) *Pair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	removeStale(prefix)
	p := &Pair{}
	for i, side := range []string{"c", "s"} {
		name := fmt.Sprintf("%s%d-%s", prefix, os.Getpid(), side)
		p.names[i] = name
		IP(t, "netns", "add", name)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", name, err, out)
			}
		})
		h, err := os.Open(filepath.Join("/run/netns", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		p.handle[i] = h
	}
	c, s := p.names[ClientSide], p.names[ServerSide]
	link := []string{"-n", c, "link", "add", "veth0"}
	if o.MACs[0] != "" {
		link = append(link, "address", o.MACs[0])
	}
	link = append(link, "type", "veth", "peer", "name", "veth1")
	if o.MACs[1] != "" {
		link = append(link, "address", o.MACs[1])
	}
	IP(t, append(link, "netns", s)...)
	IP(t, "-n", c, "link", "set", "veth0", "up")
	IP(t, "-n", s, "link", "set", "veth1", "up")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out, _ := exec.Command("ip", "-n", c, "-br", "link", "show", "veth0").Output()
		if strings.Contains(string(out), " UP ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("veth0 not up: %s", out)
		}
	}
	return p
}

// Client and Server are the namespaces' names, for "ip -n NAME" and "ip
// netns exec NAME".
func (p *Pair) Client() string { return p.names[ClientSide] }
func (p *Pair) Server() string { return p.names[ServerSide] }

// IP runs ip with args and fails t if it fails.
func IP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// IP is the package's IP, for a test that has a Pair at hand.
func (p *Pair) IP(t testing.TB, args ...string) {
	t.Helper()
	IP(t, args...)
}

// In runs fn inside side's namespace (see netns.Run) and waits for it;
// fn's error fails t.
func (p *Pair) In(t testing.TB, side int, fn func() error) {
	t.Helper()
	if err := netns.Run(p.handle[side], fn); err != nil {
		t.Fatal(err)
	}
}

// removeStale deletes the namespaces named prefix<pid>-c or -s whose
// process is gone.
func removeStale(prefix string) {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(rest, "-c"), "-s"))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}
