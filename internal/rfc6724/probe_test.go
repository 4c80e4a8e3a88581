package rfc6724

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// countFDs returns the number of open file descriptors of the process.
func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count fds: %v", err)
	}
	return len(ents)
}

// checkFDs fails t if the process has more fds open than before.
func checkFDs(t testing.TB, before int) {
	t.Helper()
	if after := countFDs(t); after > before {
		t.Errorf("open fds: %d before, %d after: a probe socket leaked", before, after)
	}
}

func hasIPv6Loopback() bool {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// countingCache returns a fresh cache over the real UDP probe and a
// counter of the probes it made.
func countingCache() (*sourceCache, *atomic.Int32) {
	var n atomic.Int32
	c := &sourceCache{
		probe: func(dst netip.Addr) (netip.Addr, bool, bool) {
			n.Add(1)
			return probeUDP(dst)
		},
		ttl: probeTTL,
		max: probeCacheMax,
	}
	return c, &n
}

func TestProbeSource_Loopback(t *testing.T) {
	before := countFDs(t)
	tests := []struct {
		dst, want string
		ipv6      bool
	}{
		{"127.0.0.1", "127.0.0.1", false},
		{"127.0.0.53", "127.0.0.1", false},
		{"::ffff:127.0.0.1", "127.0.0.1", false}, // probed as IPv4, plain IPv4 source
		{"::1", "::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.dst, func(t *testing.T) {
			if tt.ipv6 && !hasIPv6Loopback() {
				t.Skip("no IPv6 loopback on this host")
			}
			c, probes := countingCache()
			for range 3 {
				got, ok := c.lookup(addr(tt.dst))
				if !ok || got != addr(tt.want) {
					t.Fatalf("lookup(%s) = %v, %v; want %s, true", tt.dst, got, ok, tt.want)
				}
			}
			if n := probes.Load(); n != 1 {
				t.Errorf("3 lookups made %d probes; want 1 (cached)", n)
			}
			// The process-wide function agrees.
			if got, ok := ProbeSource(addr(tt.dst)); !ok || got != addr(tt.want) {
				t.Errorf("ProbeSource(%s) = %v, %v; want %s, true", tt.dst, got, ok, tt.want)
			}
		})
	}
	checkFDs(t, before)
}

// TestProbeSource_MaybeRoutable probes a documentation address, which may
// or may not have a route here: the answer must be stable and cached.
func TestProbeSource_MaybeRoutable(t *testing.T) {
	before := countFDs(t)
	for _, dst := range []string{"192.0.2.1", "2001:db8::1"} {
		c, probes := countingCache()
		s1, ok1 := c.lookup(addr(dst))
		s2, ok2 := c.lookup(addr(dst))
		if s1 != s2 || ok1 != ok2 {
			t.Errorf("%s: answers differ: %v,%v then %v,%v", dst, s1, ok1, s2, ok2)
		}
		if ok1 && (!s1.IsValid() || s1.IsUnspecified() || s1.Is4() != addr(dst).Is4()) {
			t.Errorf("%s: source %v is not a usable source of the same family", dst, s1)
		}
		if n := probes.Load(); n != 1 {
			t.Errorf("%s: 2 lookups made %d probes; want 1", dst, n)
		}
		t.Logf("%s → %v, %v", dst, s1, ok1)

		// The global cache holds what ProbeSource answered.
		gs, gok := ProbeSource(addr(dst))
		defaultCache.mu.Lock()
		e, cached := defaultCache.m[addr(dst)]
		defaultCache.mu.Unlock()
		if !cached || e.src != gs || e.ok != gok {
			t.Errorf("%s: ProbeSource = %v,%v; cache has %+v (present %v)", dst, gs, gok, e, cached)
		}
	}
	checkFDs(t, before)
}

func TestProbeSource_Invalid(t *testing.T) {
	c := &sourceCache{
		probe: func(netip.Addr) (netip.Addr, bool, bool) {
			t.Error("probe called for an invalid address")
			return netip.Addr{}, false, true
		},
		ttl: probeTTL, max: probeCacheMax,
	}
	if s, ok := c.lookup(netip.Addr{}); ok || s.IsValid() {
		t.Errorf("lookup(invalid) = %v, %v; want invalid, false", s, ok)
	}
	if s, ok := ProbeSource(netip.Addr{}); ok || s.IsValid() {
		t.Errorf("ProbeSource(invalid) = %v, %v; want invalid, false", s, ok)
	}
}

// TestProbeSource_LinkLocalZone probes this host's own link-local
// address on its interface: without the zone the kernel refuses, with it
// the source is that address. (A UDP connect sends nothing.)
func TestProbeSource_LinkLocalZone(t *testing.T) {
	before := countFDs(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skipf("net.Interfaces: %v", err)
	}
	var ll netip.Addr
	for _, ifi := range ifs {
		as, err := ifi.Addrs()
		if err != nil || ifi.Flags&net.FlagUp == 0 {
			continue
		}
		for _, a := range as {
			if p, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
					ll = ip.WithZone(ifi.Name)
				}
			}
		}
	}
	if !ll.IsValid() {
		t.Skip("no interface with an IPv6 link-local address")
	}
	src, ok, _ := probeUDP(ll)
	if !ok || src.WithZone("") != ll.WithZone("") {
		t.Errorf("probe(%v) = %v, %v; want %v, true", ll, src, ok, ll.WithZone(""))
	}
	if src, ok, cacheable := probeUDP(ll.WithZone("")); ok || !cacheable {
		t.Errorf("probe(%v) without zone = %v, %v, cacheable %v; want no source, cacheable", ll.WithZone(""), src, ok, cacheable)
	}
	checkFDs(t, before)
}

// TestProbe_SendsNoPacket points the probe at a UDP socket listening on
// loopback and checks that nothing arrives.
func TestProbe_SendsNoPacket(t *testing.T) {
	before := countFDs(t)
	for _, lo := range []string{"127.0.0.1", "::1"} {
		network := "udp4"
		if addr(lo).Is6() {
			if !hasIPv6Loopback() {
				continue
			}
			network = "udp6"
		}
		l, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr(lo), 0)))
		if err != nil {
			t.Fatal(err)
		}
		dst := l.LocalAddr().(*net.UDPAddr).AddrPort()
		src, ok, _ := probeAddrPort(dst)
		if !ok || src != addr(lo) {
			t.Errorf("probe(%v) = %v, %v; want %s, true", dst, src, ok, lo)
		}
		l.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 64)
		n, from, err := l.ReadFromUDPAddrPort(buf)
		if err == nil {
			t.Errorf("listener on %v received %d bytes from %v: the probe sent a packet", dst, n, from)
		} else if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read: %v; want a deadline error", err)
		}
		l.Close()
	}
	checkFDs(t, before)
}

// fixedCache is a cache whose probe always finds 192.0.2.100, and the
// count of its probes.
func fixedCache() (*sourceCache, *int) {
	probes := new(int)
	return &sourceCache{
		probe: func(dst netip.Addr) (netip.Addr, bool, bool) {
			*probes++
			return addr("192.0.2.100"), true, true
		},
		ttl: probeTTL, max: probeCacheMax,
	}, probes
}

// TestSourceCache_Expiry checks in virtual time that answers are reused
// for probeTTL and probed again after.
func TestSourceCache_Expiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, probes := fixedCache()
		dst := addr("198.51.100.1")
		c.lookup(dst)
		time.Sleep(probeTTL - time.Millisecond)
		c.lookup(dst)
		if *probes != 1 {
			t.Errorf("after %v: %d probes; want 1", probeTTL-time.Millisecond, *probes)
		}
		time.Sleep(time.Millisecond)
		if s, ok := c.lookup(dst); !ok || s != addr("192.0.2.100") {
			t.Errorf("lookup after expiry = %v, %v", s, ok)
		}
		if *probes != 2 {
			t.Errorf("after %v: %d probes; want 2 (expired)", probeTTL, *probes)
		}
	})
}

// TestSourceCache_ExpiryAt: a lookup as of a time the caller read takes
// the cached answer while it is fresh at that time, and probes again from
// the moment it is not, whatever the clock reads now.
func TestSourceCache_ExpiryAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, probes := fixedCache()
		dst := addr("198.51.100.1")
		start := time.Now()
		c.lookupAt(dst, start)
		time.Sleep(probeTTL + time.Second)
		// The clock has passed the expiry; the caller's time has not.
		if s, ok := c.lookupAt(dst, start.Add(probeTTL-time.Millisecond)); !ok || s != addr("192.0.2.100") {
			t.Errorf("lookup before expiry = %v, %v", s, ok)
		}
		if *probes != 1 {
			t.Errorf("a fresh entry: %d probes; want 1", *probes)
		}
		c.lookupAt(dst, start.Add(probeTTL))
		if *probes != 2 {
			t.Errorf("at the expiry: %d probes; want 2", *probes)
		}
	})
}

// TestSourceCache_Negative checks that "no route" is cached but a
// transient local failure is not.
func TestSourceCache_Negative(t *testing.T) {
	var probes int
	cacheable := true
	c := &sourceCache{
		probe: func(netip.Addr) (netip.Addr, bool, bool) {
			probes++
			return netip.Addr{}, false, cacheable
		},
		ttl: probeTTL, max: probeCacheMax,
	}
	dst := addr("2001:db8::1")
	c.lookup(dst)
	c.lookup(dst)
	if probes != 1 {
		t.Errorf("no route: %d probes for 2 lookups; want 1", probes)
	}
	cacheable = false
	other := addr("2001:db8::2")
	c.lookup(other)
	c.lookup(other)
	if probes != 3 {
		t.Errorf("transient failure: %d probes in total; want 3 (not cached)", probes)
	}
}

func TestTransient(t *testing.T) {
	wrap := func(e syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "udp4", Err: os.NewSyscallError("socket", e)}
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if !transient(wrap(e)) {
			t.Errorf("transient(%v) = false; want true", e)
		}
	}
	for _, e := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT, syscall.EINVAL} {
		if transient(wrap(e)) {
			t.Errorf("transient(%v) = true; want false (routing answer, cacheable)", e)
		}
	}
}

func TestSourceCache_Bounded(t *testing.T) {
	var probes int
	c := &sourceCache{
		probe: func(dst netip.Addr) (netip.Addr, bool, bool) {
			probes++
			return dst, true, true
		},
		ttl: probeTTL, max: 8,
	}
	for i := range 100 {
		dst := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if s, ok := c.lookup(dst); !ok || s != dst {
			t.Fatalf("lookup(%v) = %v, %v", dst, s, ok)
		}
		if len(c.m) > c.max {
			t.Fatalf("cache holds %d entries; max %d", len(c.m), c.max)
		}
		// The entry just stored survives its own insertion.
		n := probes
		c.lookup(dst)
		if probes != n {
			t.Fatalf("lookup(%v) right after storing it probed again", dst)
		}
	}
	// Expired entries are swept first when full.
	for _, max := range []int{1, 2} {
		synctest.Test(t, func(t *testing.T) {
			c := &sourceCache{probe: c.probe, ttl: time.Second, max: max}
			for i := range 10 {
				c.lookup(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
				time.Sleep(2 * time.Second)
			}
			if len(c.m) > max {
				t.Errorf("max %d: cache holds %d entries", max, len(c.m))
			}
		})
	}
}

// TestSourceCache_Concurrent runs lookups from several goroutines (run
// with -race).
func TestSourceCache_Concurrent(t *testing.T) {
	var probes atomic.Int32
	c := &sourceCache{
		probe: func(dst netip.Addr) (netip.Addr, bool, bool) {
			probes.Add(1)
			b := dst.As4()
			return netip.AddrFrom4([4]byte{10, 0, 0, b[3]}), b[3]%2 == 0, true
		},
		ttl: probeTTL, max: 16,
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := byte((g + i) % 20)
				s, ok := c.lookup(netip.AddrFrom4([4]byte{198, 51, 100, k}))
				if ok != (k%2 == 0) || s != netip.AddrFrom4([4]byte{10, 0, 0, k}) {
					t.Errorf("lookup(198.51.100.%d) = %v, %v", k, s, ok)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := probes.Load(); n >= 8*200 {
		t.Errorf("%d probes for %d lookups: nothing was cached", n, 8*200)
	}
}

func BenchmarkProbeSource(b *testing.B) {
	b.Run("cached", func(b *testing.B) {
		dst := addr("127.0.0.1")
		ProbeSource(dst)
		b.ReportAllocs()
		for b.Loop() {
			ProbeSource(dst)
		}
	})
	b.Run("probe", func(b *testing.B) {
		dst := addr("127.0.0.1")
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, _ := probeUDP(dst); !ok {
				b.Fatal("no source for 127.0.0.1")
			}
		}
	})
	b.Run("sort-12-cached", func(b *testing.B) {
		in := make([]netip.Addr, 12)
		for i := range in {
			in[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
		}
		buf := make([]netip.Addr, len(in))
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, in)
			Sort(buf, nil)
		}
	})
}
