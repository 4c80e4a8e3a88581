package rfc6724

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

const (
	// probeTTL is how long a probed source address is reused. Routes and
	// addresses change rarely, but they do change (a VPN comes up, Wi-Fi
	// roams); a couple of seconds spares the probes when a burst of dials
	// hits the same hosts and still follows a network change quickly.
	probeTTL = 2 * time.Second

	// probeCacheMax bounds the process-wide cache: a process that dials
	// many distinct hosts evicts entries rather than growing without limit.
	probeCacheMax = 1024

	// probePort is the destination port of the probe socket. Nothing is
	// sent, so the port matters only to policy routing rules that match on
	// it; Go's net package uses 53 for the same probe.
	probePort = 53
)

// defaultCache backs ProbeSource.
var defaultCache = &sourceCache{probe: probeUDP, ttl: probeTTL, max: probeCacheMax}

// ProbeSource returns the source address the kernel would choose to reach
// dst, and false when it has no route to dst (or dst is invalid). It
// learns the answer by "connecting" a UDP socket to dst and reading the
// socket's local address, as Go's net package does for its own RFC 6724
// sort: a UDP connect only consults the routing table and sends no packet.
//
// Results, negative ones included, are cached per destination (zone
// included) for two seconds in a process-wide cache of bounded size.
// Failures that say nothing about routing (out of file descriptors or
// buffers) are returned as false and not cached. A link-local destination
// must carry its zone (fe80::1%eth0) to be routable; the zone is used for
// the probe. An IPv4-mapped destination is probed as IPv4 and yields an
// IPv4 source.
//
// ProbeSource is a SourceFunc and is safe for concurrent use. Concurrent
// misses for the same destination may each probe; the answers agree.
func ProbeSource(dst netip.Addr) (netip.Addr, bool) {
	return defaultCache.lookup(dst)
}

// ProbeSourceAt is ProbeSource for a caller that has read the clock: a
// cached answer is taken if it is still fresh at now. A dial asks it with
// the time it began, sparing a clock read per lookup.
func ProbeSourceAt(dst netip.Addr, now time.Time) (netip.Addr, bool) {
	return defaultCache.lookupAt(dst, now)
}

// sourceCache remembers probed source addresses for a short while. The
// zero value is not usable; probe, ttl and max must be set.
type sourceCache struct {
	// probe finds the source for dst; cacheable is false when the
	// answer reflects a transient local failure rather than routing.
	// Tests replace it to count probes or to avoid sockets.
	probe func(dst netip.Addr) (src netip.Addr, ok, cacheable bool)
	ttl   time.Duration
	max   int

	mu sync.Mutex
	m  map[netip.Addr]cacheEntry
}

type cacheEntry struct {
	src     netip.Addr
	ok      bool
	expires time.Time
}

// lookup returns the cached answer for dst, or probes and caches it.
func (c *sourceCache) lookup(dst netip.Addr) (netip.Addr, bool) {
	return c.lookupAt(dst, time.Time{})
}

// lookupAt is lookup with the time read by the caller; zero: read it
// here.
func (c *sourceCache) lookupAt(dst netip.Addr, now time.Time) (netip.Addr, bool) {
	if !dst.IsValid() {
		return netip.Addr{}, false
	}
	c.mu.Lock()
	e, hit := c.m[dst]
	c.mu.Unlock()
	// The monotonic clock alone (where both times carry a reading).
	if hit && (now.IsZero() && time.Until(e.expires) > 0 || !now.IsZero() && now.Before(e.expires)) {
		return e.src, e.ok
	}
	// Probe without the lock: a socket round trip to the kernel must not
	// serialize every other lookup.
	src, ok, cacheable := c.probe(dst)
	if cacheable {
		c.store(dst, cacheEntry{src: src, ok: ok, expires: time.Now().Add(c.ttl)})
	}
	return src, ok
}

// store records e for dst, evicting entries to stay within max.
func (c *sourceCache) store(dst netip.Addr, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[netip.Addr]cacheEntry)
	}
	if _, present := c.m[dst]; !present && len(c.m) >= c.max {
		now := time.Now()
		for k, old := range c.m {
			if !now.Before(old.expires) {
				delete(c.m, k)
			}
		}
		// Still full of live entries: drop arbitrary ones (map order is
		// unspecified) down to three quarters, so the next inserts don't
		// each pay for a full sweep.
		for k := range c.m {
			if len(c.m) < c.max*3/4 || len(c.m) == 0 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[dst] = e
}

// probeUDP probes dst on probePort.
func probeUDP(dst netip.Addr) (src netip.Addr, ok, cacheable bool) {
	return probeAddrPort(netip.AddrPortFrom(dst, probePort))
}

// probeAddrPort connects a UDP socket to dst (no packet is sent) and
// returns its local address.
func probeAddrPort(dst netip.AddrPort) (src netip.Addr, ok, cacheable bool) {
	d := dst.Addr()
	network := "udp6"
	if d.Is4In6() {
		d = d.Unmap()
	}
	if d.Is4() {
		network = "udp4"
	}
	c, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(d, dst.Port())))
	if err != nil {
		return netip.Addr{}, false, !transient(err)
	}
	la, isUDP := c.LocalAddr().(*net.UDPAddr)
	c.Close()
	if !isUDP {
		return netip.Addr{}, false, true
	}
	src = la.AddrPort().Addr()
	if d.Is4() {
		src = src.Unmap()
	}
	if !src.IsValid() || src.IsUnspecified() {
		return netip.Addr{}, false, true
	}
	return src, true, true
}

// transient reports whether err is a local resource shortage, which says
// nothing about whether a route exists and so must not be cached.
func transient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
