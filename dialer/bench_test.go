package dialer

// Benchmarks of what a user pays per connection on loopback, ours next to
// net.Dialer in the same run, and of the pure planner.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./dialer/
//
// No benchmark touches the machine's DNS: names come from /etc/hosts (or a
// Static resolver), and the net.Resolver both sides use refuses to dial a
// DNS server.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// benchNoDNS is a stub resolver that reads /etc/hosts and never sends a
// query: a name that is not in the hosts file fails instead of leaving the
// machine.
var benchNoDNS = &net.Resolver{
	PreferGo: true,
	Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("bench: DNS disabled, names come from /etc/hosts only")
	},
}

// benchServer accepts and closes connections on every address of addrs,
// all on one port, until the benchmark ends.
func benchServer(b *testing.B, addrs []netip.Addr) uint16 {
	b.Helper()
	var port uint16
	var lns []net.Listener
	for attempt := 0; len(lns) < len(addrs); attempt++ {
		if attempt == 20 {
			b.Fatalf("no port free on all of %v", addrs)
		}
		for _, ln := range lns {
			ln.Close()
		}
		lns, port = nil, 0
		for _, a := range addrs {
			ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
			if err != nil {
				break // the port is taken on this address: start over
			}
			lns = append(lns, ln)
			port = uint16(ln.Addr().(*net.TCPAddr).Port)
		}
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return // closed at the end of the benchmark
				}
				c.Close()
			}
		})
	}
	b.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	})
	return port
}

// benchClose closes a client connection without leaving it in TIME_WAIT,
// so that tens of thousands of dials do not run out of ephemeral ports.
func benchClose(b *testing.B, c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchLatency is a histogram of dial times with 1 µs buckets up to 10 ms,
// allocated before the timed loop so that it adds no allocation per dial.
type benchLatency struct {
	buckets [10000]uint32
	over    int
	n       int
}

func (h *benchLatency) add(d time.Duration) {
	h.n++
	if us := int(d / time.Microsecond); us < len(h.buckets) {
		h.buckets[us]++
	} else {
		h.over++
	}
}

// median is the median in µs: the bucket holding the middle dial, or the
// histogram's end if that is beyond it.
func (h *benchLatency) median() int { return h.quantile(0.5) }

// quantile is the q-quantile in µs, as median is the median.
func (h *benchLatency) quantile(q float64) int {
	rank, seen := max(int(math.Ceil(q*float64(h.n))), 1), 0
	for us, c := range h.buckets {
		seen += int(c)
		if seen >= rank {
			return us
		}
	}
	return len(h.buckets)
}

func (h *benchLatency) report(b *testing.B) {
	if h.n == 0 {
		return
	}
	b.ReportMetric(float64(h.median()), "p50-µs")
}

type benchDialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// timedDial dials address over tcp, records how long that took in h,
// closes the connection, and returns the time.
func timedDial(b *testing.B, ctx context.Context, dial benchDialFunc, address string, h *benchLatency) time.Duration {
	start := time.Now()
	c, err := dial(ctx, "tcp", address)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	h.add(d)
	benchClose(b, c)
	return d
}

func benchDial(b *testing.B, dial benchDialFunc, address string) {
	ctx := context.Background()
	h := new(benchLatency)
	b.ReportAllocs()
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		timedDial(b, ctx, dial, address, h)
	}
	// The process's CPU per dial, both ends of the connection and the
	// runtime's work included: steadier than ns/op on a shared machine,
	// where the wall clock also counts waiting for a core.
	if cpu1, ok := processCPU(); ok && cpuOK && h.n > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(h.n)/float64(time.Microsecond), "cpu-µs/op")
	}
	h.report(b)
}

// BenchmarkDial dials a loopback listener, with this package's Dialer and
// with net.Dialer: an IP literal (no resolution), and the name "localhost"
// from /etc/hosts: ours with the zero value (resolver.Default), through
// resolver.System (the lookup net.Dialer makes) and through a Static
// resolver holding the same addresses, which isolates the cost of the race
// from the cost of the lookup.
func BenchmarkDial(b *testing.B) {
	lit := benchServer(b, []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})})
	literal := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), lit).String()

	// Both dialers make a few thousand dials first, so that neither
	// sub-benchmark pays alone for what the process does once (heap
	// growth, the first source-address probes, the runtime's threads):
	// the one that ran first would.
	var warmOurs Dialer
	var warmNet net.Dialer
	for range 2000 {
		for _, dial := range []benchDialFunc{warmOurs.DialContext, warmNet.DialContext} {
			c, err := dial(context.Background(), "tcp", literal)
			if err != nil {
				b.Fatal(err)
			}
			benchClose(b, c)
		}
	}

	b.Run("literal/happyeyeballs", func(b *testing.B) {
		var d Dialer // the zero value, as users write it
		benchDial(b, d.DialContext, literal)
	})
	b.Run("literal/net.Dialer", func(b *testing.B) {
		var d net.Dialer
		benchDial(b, d.DialContext, literal)
	})

	hosts, err := benchNoDNS.LookupNetIP(context.Background(), "ip", "localhost")
	if err != nil || len(hosts) == 0 {
		b.Logf("skipping the localhost benchmarks: /etc/hosts has no localhost (%v)", err)
		return
	}
	// localhost is loopback of both families (RFC 6761 §6.3), whatever
	// /etc/hosts lists: this package's resolvers answer both, and so
	// does the Static one here; the server listens on both.
	hosts = append(hosts, netip.IPv6Loopback(), netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	for i, a := range hosts {
		hosts[i] = a.Unmap()
	}
	slices.SortFunc(hosts, func(x, y netip.Addr) int { return x.Compare(y) })
	hosts = slices.Compact(hosts)
	var static resolver.Static
	for _, a := range hosts {
		if resolver.Of(a) == resolver.IPv6 {
			static.AAAA.Addrs = append(static.AAAA.Addrs, a)
		} else {
			static.A.Addrs = append(static.A.Addrs, a)
		}
	}
	hosts = slices.DeleteFunc(hosts, func(a netip.Addr) bool {
		// A hosts entry this machine cannot listen on (::1 without IPv6)
		// fails fast for both dialers: leave it out of the server.
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		if err != nil {
			return true
		}
		ln.Close()
		return false
	})
	if len(hosts) == 0 {
		b.Log("skipping the localhost benchmarks: cannot listen on localhost's addresses")
		return
	}
	port := benchServer(b, hosts)
	name := fmt.Sprintf("localhost:%d", port)

	b.Run("localhost/happyeyeballs-default", func(b *testing.B) {
		// The zero value: resolver.Default, which answers hosts entries
		// (and RFC 6761 localhost names) without DNS.
		var d Dialer
		benchDial(b, d.DialContext, name)
	})
	b.Run("localhost/happyeyeballs-system", func(b *testing.B) {
		d := Dialer{Resolver: &resolver.System{Resolver: benchNoDNS}}
		benchDial(b, d.DialContext, name)
	})
	b.Run("localhost/happyeyeballs-static", func(b *testing.B) {
		d := Dialer{Resolver: &static}
		benchDial(b, d.DialContext, name)
	})
	b.Run("localhost/happyeyeballs-static-metrics", func(b *testing.B) {
		// The same with Metrics counting: the cost of the counters.
		d := Dialer{Resolver: &static, Metrics: new(Metrics)}
		benchDial(b, d.DialContext, name)
	})
	b.Run("localhost/net.Dialer", func(b *testing.B) {
		d := net.Dialer{Resolver: benchNoDNS}
		benchDial(b, d.DialContext, name)
	})
}

// benchPaired dials address with ours and theirs in turn and reports the
// two's mean and median times and their ratios (see BenchmarkDialPaired).
func benchPaired(b *testing.B, ours, theirs benchDialFunc, address string) {
	ctx := context.Background()
	var hOurs, hNet benchLatency
	var tOurs, tNet time.Duration
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so that neither always
		// dials right after the other's close.
		if i%2 == 0 {
			tOurs += timedDial(b, ctx, ours, address, &hOurs)
			tNet += timedDial(b, ctx, theirs, address, &hNet)
		} else {
			tNet += timedDial(b, ctx, theirs, address, &hNet)
			tOurs += timedDial(b, ctx, ours, address, &hOurs)
		}
	}
	if hOurs.n == 0 || tNet == 0 {
		return
	}
	n := float64(hOurs.n)
	b.ReportMetric(float64(tOurs)/n/float64(time.Microsecond), "ours-µs")
	b.ReportMetric(float64(tNet)/n/float64(time.Microsecond), "net-µs")
	b.ReportMetric(float64(tOurs)/float64(tNet), "ratio")
	b.ReportMetric(float64(hOurs.median())/float64(hNet.median()), "p50-ratio")
	b.Logf("µs p50/p90/p99/p99.9: ours %d/%d/%d/%d, net.Dialer %d/%d/%d/%d; over 10 ms: ours %d, net.Dialer %d",
		hOurs.quantile(.5), hOurs.quantile(.9), hOurs.quantile(.99), hOurs.quantile(.999),
		hNet.quantile(.5), hNet.quantile(.9), hNet.quantile(.99), hNet.quantile(.999), hOurs.over, hNet.over)
}

// BenchmarkDialPaired dials the same loopback listener with this
// package's Dialer and with net.Dialer in turn, one dial each per
// iteration, and reports each one's mean and median time and the ratio of
// the two. Dials so close together see the same machine: drift in its
// load, which moves two separate benchmarks by ±10% on a shared host,
// cancels out of the ratio. ns/op is the pair's. Interleaving also shares
// between the two the scheduler's thread wake-ups that extra work per
// dial brings on, which BenchmarkDial's sub-benchmarks each pay alone:
// its ratio is the stricter one.
func BenchmarkDialPaired(b *testing.B) {
	port := benchServer(b, []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})})
	literal := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port).String()
	b.Run("literal", func(b *testing.B) {
		var ours Dialer
		var theirs net.Dialer
		benchPaired(b, ours.DialContext, theirs.DialContext, literal)
	})
	b.Run("literal-aa", func(b *testing.B) {
		// net.Dialer against itself: the ratio a fair pairing gives (1).
		var ours, theirs net.Dialer
		benchPaired(b, ours.DialContext, theirs.DialContext, literal)
	})
	b.Run("literal-ctx", func(b *testing.B) {
		// net.Dialer under a context that can be cancelled, as every
		// attempt of a race must be, against net.Dialer under the
		// benchmark's: what that alone costs.
		var ours, theirs net.Dialer
		cancelled := func(ctx context.Context, network, address string) (net.Conn, error) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			return ours.DialContext(ctx, "tcp4", address)
		}
		benchPaired(b, cancelled, theirs.DialContext, literal)
	})
	b.Run("literal-nohistory", func(b *testing.B) {
		// What learning costs a dial: the same without a History.
		ours := Dialer{DisableHistory: true}
		var theirs net.Dialer
		benchPaired(b, ours.DialContext, theirs.DialContext, literal)
	})
	b.Run("localhost", func(b *testing.B) {
		if _, err := benchNoDNS.LookupNetIP(context.Background(), "ip4", "localhost"); err != nil {
			b.Skipf("/etc/hosts has no IPv4 localhost: %v", err)
		}
		// Over IPv4, where the listener is: both dialers find 127.0.0.1
		// in /etc/hosts.
		var ours Dialer
		theirs := net.Dialer{Resolver: benchNoDNS}
		tcp4 := func(dial benchDialFunc) benchDialFunc {
			return func(ctx context.Context, _, address string) (net.Conn, error) {
				return dial(ctx, "tcp4", address)
			}
		}
		benchPaired(b, tcp4(ours.DialContext), tcp4(theirs.DialContext), fmt.Sprintf("localhost:%d", port))
	})
}

// BenchmarkDialPairedDNS is BenchmarkDialPaired for a name that only DNS
// knows, served by a DNS server in the process (an A record, and a
// negative AAAA answer with its SOA; TTL 60 s): the common dial of a
// service to the hosts it talks to. This package's resolver keeps the
// answers for their TTL; Go's asks again on every dial.
func BenchmarkDialPairedDNS(b *testing.B) {
	srv := dnstest.Start(b, dnstest.NewZone(
		"bench.test. 60 IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60",
		"bench.test. 60 IN A 127.0.0.1",
	))
	port := benchServer(b, []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})})
	address := fmt.Sprintf("bench.test.:%d", port)
	ours := Dialer{Resolver: &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{srv.Addr}},
		HostsPath: filepath.Join(b.TempDir(), "no-hosts"),
	}}
	theirs := net.Dialer{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr.String())
		},
	}}
	benchPaired(b, ours.DialContext, theirs.DialContext, address)
}

// benchConn is a connection that costs nothing to make or close.
type benchConn struct{ net.Conn }

func (benchConn) Close() error { return nil }

// BenchmarkDialOverhead is what this package adds to a dial, without the
// system calls: the transport returns a connection at once, and the race
// runs as it does with the built-in one (the first attempt on the
// caller's goroutine under the run's own work context, its takeover
// armed; learning into a History). Only the abort through the socket,
// which needs a real one, is left out.
func BenchmarkDialOverhead(b *testing.B) {
	var conn net.Conn = benchConn{}
	d := Dialer{
		DialAttempt: func(context.Context, string, netip.AddrPort) (net.Conn, error) { return conn, nil },
		History:     new(History),
	}
	d.promptAttempt = true
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DialContext(ctx, "tcp", "192.0.2.1:443"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPlanInput returns n addresses, IPv6 and IPv4 alternating in blocks
// as a resolver might return them, from the documentation ranges.
func benchPlanInput(n int) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	for i := range n {
		if i%2 == 0 {
			out = append(out, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		} else {
			out = append(out, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
		}
	}
	return out
}

// benchPlanSource is a fixed source-address function (no probes): a global
// IPv6 and an IPv4 source, so that every RFC 6724 rule has work to do.
func benchPlanSource(dst netip.Addr) (netip.Addr, bool) {
	if dst.Is4() {
		return netip.AddrFrom4([4]byte{192, 0, 2, 200}), true
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x01, 15: 0x01}), true
}

// BenchmarkPlan is the pure planner (RFC 6724 sort and interleave) on 2,
// 12 and 100 addresses, as it runs when an answer arrives.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{2, 12, 100} {
		b.Run(fmt.Sprintf("addrs=%d", n), func(b *testing.B) {
			in := benchPlanInput(n)
			scratch := make([]netip.Addr, n)
			b.ReportAllocs()
			for b.Loop() {
				copy(scratch, in)
				if out := plan(scratch, nil, 1, 0, benchPlanSource, nil); len(out) != n {
					b.Fatalf("plan returned %d addresses, want %d", len(out), n)
				}
			}
		})
	}
}
