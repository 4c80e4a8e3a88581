package tcpmetrics

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/netnstest"
)

// capture makes TestNamespaceDump save the kernel's replies under
// testdata, where FuzzParseDump and TestParseDump_captured read them:
//
//	go test -run TestNamespaceDump -capture ./internal/tcpmetrics
var capture = flag.Bool("capture", false, "save the kernel's netlink replies in TestNamespaceDump under testdata")

// newNetnsPair returns two fresh namespaces joined by a veth pair: the
// client (side 0) has clientAddrs, the server (side 1) serverAddrs.
func newNetnsPair(t *testing.T) *netnsPair {
	t.Helper()
	p := netnstest.New(t, "tcpmetrics-", netnstest.Options{})
	for _, a := range clientAddrs {
		p.IP(t, "-n", p.Client(), "addr", "add", prefixOf(a), "dev", "veth0", "nodad")
	}
	for _, a := range serverAddrs {
		p.IP(t, "-n", p.Server(), "addr", "add", prefixOf(a), "dev", "veth1", "nodad")
	}
	return &netnsPair{p}
}

type netnsPair struct{ *netnstest.Pair }

func prefixOf(a netip.Addr) string {
	if a.Is4() {
		return a.String() + "/24"
	}
	return a.String() + "/64"
}

// run calls fn inside side's namespace (see netnstest.Pair.In).
func (p *netnsPair) run(t *testing.T, side int, fn func()) {
	t.Helper()
	p.In(t, side, func() error { fn(); return nil })
}

// TestNamespaceDump connects from one fresh namespace to the other over
// a veth pair, closes, and expects the client namespace's table to hold
// each destination with a plausible RTT.
func TestNamespaceDump(t *testing.T) {
	p := newNetnsPair(t)
	fdsBefore := countFDs(t)

	// One listener per family on the same port: whether a [::] listener
	// also takes IPv4 depends on the namespace's bindv6only.
	var lns []net.Listener
	p.run(t, 1, func() {
		ln6, err := net.Listen("tcp6", "[::]:0")
		if err != nil {
			t.Error(err)
			return
		}
		lns = append(lns, ln6)
		ln4, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", ln6.Addr().(*net.TCPAddr).Port))
		if err != nil {
			t.Error(err)
			return
		}
		lns = append(lns, ln4)
	})
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	if len(lns) != 2 {
		closeAll()
		t.FailNow()
	}
	port := uint16(lns[0].Addr().(*net.TCPAddr).Port)
	var served sync.WaitGroup
	for _, ln := range lns {
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
					// Echo until the client closes. Not io.Copy: TCP to
					// TCP splices through pipes that Go pools and the fd
					// check would count.
					buf := make([]byte, 64)
					for {
						n, err := c.Read(buf)
						if err != nil {
							return
						}
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
				})
			}
		})
	}
	defer served.Wait()
	defer closeAll()

	// A warm-up pass: the first SYN to a fresh neighbour can be lost while
	// the link settles, and the second goes out a second later; the kernel
	// would remember that second as the RTT. Then forget it all.
	p.run(t, 0, func() {
		for _, dst := range serverAddrs {
			if c, err := net.DialTimeout("tcp", netip.AddrPortFrom(dst, port).String(), 5*time.Second); err == nil {
				c.Close()
			}
		}
	})
	if out, err := exec.Command("ip", "-n", p.Client(), "tcp_metrics", "flush", "all").CombinedOutput(); err != nil {
		t.Fatalf("ip tcp_metrics flush: %v\n%s", err, out)
	}

	p.run(t, 0, func() { connectAll(t, serverAddrs, port) })

	var record func(kind string, b []byte)
	var saved []string
	if *capture {
		record = func(kind string, b []byte) {
			name := filepath.Join("testdata", fmt.Sprintf("%s-%d.bin", kind, len(saved)))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Error(err)
			}
			saved = append(saved, name)
		}
		familyID.Store(0) // capture the family lookup too
	}
	var es []Entry
	var err error
	p.run(t, 0, func() { es, err = dump(maxEntries, record) })
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	t.Logf("saved %v", saved)
	for _, e := range es {
		t.Logf("%v -> %v rtt %v rttvar %v age %v", e.Src, e.Dst, e.RTT, e.RTTVar, e.Age)
	}

	// The same table through a Cache whose reads happen in the namespace.
	c := &Cache{dump: func() (es []Entry, err error) {
		p.run(t, 0, func() { es, err = Dump() })
		return es, err
	}}
	if _, ok := c.Lookup(netip.Addr{}, serverAddrs[0]); ok {
		t.Errorf("first Lookup found an entry before any read")
	}
	c.wg.Wait()

	for _, dst := range serverAddrs {
		src := clientAddrs[0]
		if dst.Is6() {
			src = clientAddrs[1]
		}
		var found bool
		for _, e := range es {
			if e.Src == src && e.Dst == dst {
				found = true
				if e.RTT <= 0 || e.RTT > time.Second || e.RTTVar <= 0 || e.Age < 0 || e.Age > time.Minute {
					t.Errorf("Dump: implausible entry %+v", e)
				}
			}
		}
		if !found {
			t.Errorf("Dump: no entry %v -> %v", src, dst)
		}
		for _, s := range []netip.Addr{src, {}} {
			e, ok := c.Lookup(s, dst)
			if !ok || e.Dst != dst || e.Src != src || e.RTT <= 0 || e.RTT > time.Second {
				t.Errorf("Cache.Lookup(%v, %v) = %+v, %v; want the %v -> %v entry", s, dst, e, ok, src, dst)
			}
		}
	}

	// A table too big for one datagram: 600 more destinations.
	var more []netip.Addr
	var batch strings.Builder
	for i := range 600 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: 1, 14: byte(i >> 8), 15: byte(i)})
		more = append(more, a)
		fmt.Fprintf(&batch, "addr add %v/64 dev veth1 nodad\n", a)
	}
	cmd := exec.Command("ip", "-n", p.Server(), "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v\n%s", err, out)
	}
	p.run(t, 0, func() { connectAll(t, more, port) })
	datagrams := 0
	p.run(t, 0, func() {
		es, err = dump(maxEntries, func(kind string, _ []byte) {
			if kind == "dump" {
				datagrams++
			}
		})
	})
	if want := len(serverAddrs) + len(more); err != nil || len(es) != want || datagrams < 2 {
		t.Errorf("dump of a big table = %d entries in %d datagrams, %v; want %d entries in more than one", len(es), datagrams, err, want)
	}
	t.Logf("big table: %d entries in %d datagrams", len(es), datagrams)

	// A read bounded below the table's size stops early and closes its
	// socket.
	for _, max := range []int{3, len(serverAddrs) + 300} {
		p.run(t, 0, func() { es, err = dump(max, nil) })
		if err != nil || len(es) != max {
			t.Errorf("dump(max %d) = %d entries, %v; want %[1]d, nil", max, len(es), err)
		}
	}

	closeAll()
	served.Wait()
	checkFDs(t, fdsBefore)
}

// connectAll connects to port at each of dsts, exchanges a few bytes and
// closes: the client first, so its side goes through TIME_WAIT, where the
// kernel saves the metrics (net/ipv4/tcp_minisocks.c, tcp_time_wait calls
// tcp_update_metrics).
func connectAll(t *testing.T, dsts []netip.Addr, port uint16) {
	t.Helper()
	buf := make([]byte, 4)
	for _, dst := range dsts {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(dst, port).String(), 5*time.Second)
		if err != nil {
			t.Errorf("dial %v: %v", dst, err)
			continue
		}
		for range 3 { // a few round trips, for a few RTT samples
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Error(err)
				break
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Error(err)
				break
			}
		}
		// Wait for the server's FIN, so that the connection is in
		// TIME_WAIT, and its metrics saved, before the dump.
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Error(err)
		}
		c.Close()
	}
}
