//go:build linux

package netem

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var (
	v4Addr = netip.MustParseAddr("192.0.2.10")
	v6Addr = netip.MustParseAddr("2001:db8:1::10")
	dnsV4  = netip.MustParseAddr("192.0.2.53")
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// testNetwork builds a Network for one test, or skips the test when this
// host cannot. Teardown runs even if the test fails, and checks that no
// namespace and no descriptor is left behind.
func testNetwork(t *testing.T) *Network {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("emulated network unavailable: %v", err)
	}
	// The runtime's poller opens its descriptors on first use and keeps
	// them: make sure that has happened before counting.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	fds := openFDs(t)
	n, err := New(Config{Server: []netip.Addr{v4Addr, v6Addr, dnsV4}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, name := range n.names {
			for _, dir := range []string{"/run/netns", "/etc/netns"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					t.Errorf("%s/%s left behind", dir, name)
				}
			}
		}
		// Closed descriptors may take a moment to leave /proc when the
		// poller still holds them.
		deadline := time.Now().Add(2 * time.Second)
		for openFDs(t) > fds && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := openFDs(t); got > fds {
			t.Errorf("%d descriptors open after teardown; %d before", got, fds)
		}
	})
	return n
}

// listen starts a TCP listener on addr:80 in the server namespace that
// accepts and closes connections until the test ends.
func listen(t *testing.T, n *Network, addr netip.Addr) {
	t.Helper()
	var ln net.Listener
	err := n.Run(Server, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 80).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
}

// dial connects from the client namespace and returns how long it took.
func dial(t *testing.T, n *Network, addr netip.Addr, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	var took time.Duration
	err := n.Run(Client, func() error {
		start := time.Now()
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, 80).String(), timeout)
		took = time.Since(start)
		if err == nil {
			c.Close()
		}
		return err
	})
	return took, err
}

func TestNetwork(t *testing.T) {
	n := testNetwork(t)
	listen(t, n, v4Addr)
	listen(t, n, v6Addr)

	t.Run("connect time is twice the one-way delay", func(t *testing.T) {
		for _, tc := range []struct {
			addr  netip.Addr
			delay time.Duration
		}{{v4Addr, 20 * time.Millisecond}, {v6Addr, 35 * time.Millisecond}} {
			must(t, n.SetRules(1,
				Rule{Prefix: DocIPv4, Delay: 20 * time.Millisecond},
				Rule{Prefix: netip.PrefixFrom(v6Addr, 128), Delay: 35 * time.Millisecond},
			))
			// Best of five: the machine is shared, and a late wake-up
			// only ever makes a connect slower.
			best := time.Hour
			for range 5 {
				took, err := dial(t, n, tc.addr, 2*time.Second)
				if err != nil {
					t.Fatalf("dial %s: %v", tc.addr, err)
				}
				best = min(best, took)
			}
			if want := 2 * tc.delay; best < want || best > want+15*time.Millisecond {
				t.Errorf("connect to %s over %v one-way took %v; want ≈ %v", tc.addr, tc.delay, best, want)
			}
		}
	})

	t.Run("black hole times out, other family unaffected", func(t *testing.T) {
		must(t, n.SetRules(1, Rule{Prefix: netip.PrefixFrom(v6Addr, 128), BlackHole: true}))
		n.ResetCounters()
		_, err := dial(t, n, v6Addr, 300*time.Millisecond)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial to black hole: %v; want a timeout", err)
		}
		if _, err := dial(t, n, v4Addr, 2*time.Second); err != nil {
			t.Errorf("dial IPv4 beside an IPv6 black hole: %v", err)
		}
		c := n.Counters()
		if c[v6Addr].Attempts != 1 || c[v6Addr].Dropped == 0 || c[v4Addr].Attempts != 1 || c[v4Addr].Dropped != 0 {
			t.Errorf("counters = %+v; want one attempt each, drops only for %s", c, v6Addr)
		}
	})

	t.Run("loss 1 blocks and loss 0 does not", func(t *testing.T) {
		must(t, n.SetRules(1, Rule{Prefix: DocIPv4, Loss: 1}))
		if _, err := dial(t, n, v4Addr, 300*time.Millisecond); err == nil {
			t.Error("dial through 100% loss succeeded")
		}
		must(t, n.SetRules(1, Rule{Prefix: DocIPv4, Loss: 0}))
		if _, err := dial(t, n, v4Addr, 2*time.Second); err != nil {
			t.Errorf("dial through 0%% loss: %v", err)
		}
	})

	t.Run("IPv4-only client", func(t *testing.T) {
		must(t, n.SetRules(1))
		must(t, n.SetIPv6(Client, false))
		restored := false
		defer func() {
			if !restored {
				n.SetIPv6(Client, true)
			}
		}()
		_, err := dial(t, n, v6Addr, 2*time.Second)
		if !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("dial IPv6 from an IPv4-only client: %v; want ENETUNREACH", err)
		}
		if _, err := dial(t, n, v4Addr, 2*time.Second); err != nil {
			t.Errorf("dial IPv4 from an IPv4-only client: %v", err)
		}
		must(t, n.SetIPv6(Client, true))
		restored = true
		if _, err := dial(t, n, v6Addr, 2*time.Second); err != nil {
			t.Errorf("dial IPv6 once restored: %v", err)
		}
	})

	t.Run("refused is a fast RST", func(t *testing.T) {
		must(t, n.SetRules(1))
		var took time.Duration
		err := n.Run(Client, func() error {
			start := time.Now()
			_, err := net.DialTimeout("tcp", "192.0.2.10:81", 2*time.Second)
			took = time.Since(start)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "refused") || took > 100*time.Millisecond {
			t.Errorf("dial to a closed port: %v after %v; want connection refused at once", err, took)
		}
	})

	t.Run("MTU black hole", func(t *testing.T) {
		must(t, n.SetRules(1, Rule{Prefix: DocIPv4, MTU: 576}))
		var pc net.PacketConn
		must(t, n.Run(Server, func() (err error) {
			pc, err = net.ListenPacket("udp", "192.0.2.10:9")
			return err
		}))
		defer pc.Close()
		var c net.Conn
		must(t, n.Run(Client, func() (err error) {
			c, err = net.Dial("udp", "192.0.2.10:9")
			return err
		}))
		defer c.Close()
		buf := make([]byte, 2048)
		for _, size := range []int{1000, 100} { // 1000 bytes is dropped; 100 arrives
			if _, err := c.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		}
		pc.SetReadDeadline(time.Now().Add(time.Second))
		got, _, err := pc.ReadFrom(buf)
		if err != nil || got != 100 {
			t.Errorf("first datagram through MTU 576: %d bytes, %v; want the 100-byte one", got, err)
		}
	})

	t.Run("path MTU black hole over TCP", func(t *testing.T) {
		// The kernel sends full-size segments (MSS 1440 from the TUN
		// devices' 1500-byte MTU) and, with tcp_mtu_probing off, never
		// shrinks them: the handshake completes, a small write arrives, a
		// large one never does.
		must(t, n.SetRules(1, Rule{Prefix: netip.PrefixFrom(v6Addr, 128), MTU: 1280}))
		var ln net.Listener
		must(t, n.Run(Server, func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(v6Addr, 82).String())
			return err
		}))
		defer ln.Close()
		served := make(chan struct{})
		go func() {
			defer close(served)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write(make([]byte, 100))
			time.Sleep(100 * time.Millisecond) // its own segment
			c.Write(make([]byte, 4000))
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			c.Read(make([]byte, 1)) // until the client closes
		}()
		defer func() { <-served }()
		var c net.Conn
		must(t, n.Run(Client, func() (err error) {
			c, err = net.DialTimeout("tcp", netip.AddrPortFrom(v6Addr, 82).String(), time.Second)
			return err
		}))
		defer c.Close()
		buf := make([]byte, 8192)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if got, err := io.ReadFull(c, buf[:100]); err != nil {
			t.Fatalf("small write through MTU 1280: %d bytes, %v; want 100", got, err)
		}
		c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		if got, err := c.Read(buf); err == nil {
			t.Errorf("large write through MTU 1280: read %d bytes; want nothing (the full-size segment is black-holed)", got)
		}
		if cnt := n.Counters()[v6Addr]; cnt.Dropped == 0 {
			t.Errorf("counters = %+v; want drops", cnt)
		}
	})

	// net.ipv4.tcp_no_metrics_save is per namespace: off (New's default)
	// the client's kernel remembers nothing; on, a closed connection
	// leaves its destination in the table; a flush empties it.
	t.Run("TCP metrics saved only when on", func(t *testing.T) {
		must(t, n.SetRules(1, Rule{Prefix: DocIPv4, Delay: 5 * time.Millisecond}))
		// entries waits (bounded) for the table to list want entries for
		// v4Addr: the kernel saves one when the connection reaches
		// TIME_WAIT, a round trip after the close.
		entries := func(want int) []string {
			t.Helper()
			var got []string
			for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
				all, err := n.TCPMetrics(Client)
				must(t, err)
				got = nil
				for _, l := range all {
					if strings.HasPrefix(l, v4Addr.String()+" ") {
						got = append(got, l)
					}
				}
				if len(got) == want || time.Now().After(deadline) {
					return got
				}
			}
		}
		t.Cleanup(func() {
			must(t, n.SetTCPMetricsSave(Client, false))
			must(t, n.FlushTCPMetrics(Client))
		})
		must(t, n.FlushTCPMetrics(Client))
		if _, err := dial(t, n, v4Addr, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		// Ten round trips: the connection is long in TIME_WAIT, where an
		// entry would have been saved.
		time.Sleep(100 * time.Millisecond)
		if got := entries(0); len(got) != 0 {
			t.Errorf("with tcp_no_metrics_save=1: %q; want no entry", got)
		}
		must(t, n.SetTCPMetricsSave(Client, true))
		if _, err := dial(t, n, v4Addr, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		got := entries(1)
		if len(got) != 1 || !strings.Contains(got[0], " rtt ") {
			t.Errorf("with tcp_no_metrics_save=0: %q; want one entry with an rtt", got)
		}
		must(t, n.FlushTCPMetrics(Client))
		if got := entries(0); len(got) != 0 {
			t.Errorf("after a flush: %q; want no entry", got)
		}
	})

	t.Run("DNS through resolv.conf", func(t *testing.T) {
		must(t, n.SetRules(1))
		srv, err := n.ListenDNS(dnsV4)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		srv.SetZone(Zone{Records: map[string][]netip.Addr{"www.example.test": {v6Addr, v4Addr}}})
		must(t, n.WriteEtc(Client, "resolv.conf", "nameserver 192.0.2.53\noptions timeout:1 attempts:1\n"))
		must(t, n.WriteEtc(Client, "hosts", "127.0.0.1 localhost\n"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, err := n.Command(ctx, Client, "getent", "ahosts", "www.example.test").CombinedOutput()
		if err != nil {
			t.Fatalf("getent: %v: %s", err, out)
		}
		for _, a := range []string{v6Addr.String(), v4Addr.String()} {
			if !strings.Contains(string(out), a) {
				t.Errorf("getent ahosts in the client namespace: %q; want %s", out, a)
			}
		}
		if srv.Queries(dns.TypeAAAA) == 0 || srv.Queries(dns.TypeA) == 0 {
			t.Errorf("DNS server saw %d AAAA, %d A queries; want both", srv.Queries(dns.TypeAAAA), srv.Queries(dns.TypeA))
		}
	})
}

func TestNew_rejectsBadConfig(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("emulated network unavailable: %v", err)
	}
	for name, cfg := range map[string]Config{
		"no server":       {},
		"outside doc":     {Server: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
		"duplicate":       {Server: []netip.Addr{v4Addr, v4Addr}},
		"client = server": {Server: []netip.Addr{ClientIPv4}},
	} {
		if n, err := New(cfg); err == nil {
			n.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestCleanStale(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("emulated network unavailable: %v", err)
	}
	// A namespace named for a process that cannot exist (PIDs stay below
	// 2^22 on Linux) is what a killed run leaves behind.
	name := namePrefix + "99999999-1-c"
	if err := run("ip", "netns", "add", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeNamespace(name) })
	CleanStale()
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
		t.Errorf("stale namespace %s survived CleanStale", name)
	}
}
