package tcpmetrics

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// defaultTTL is how long a Cache serves one read of the table. The
	// kernel updates an entry when a connection to its destination closes,
	// so a couple of seconds keeps up with it while sparing the reads when
	// a burst of dials looks up the same hosts.
	defaultTTL = 2 * time.Second

	// maxEntries bounds one read. The kernel keeps up to
	// tcp_metrics_hash_log buckets × TCP_METRICS_RECLAIM_DEPTH (5) entries,
	// tens of thousands on a large host; a dialer needs the destinations
	// it talks to, and a busy server's table is not worth copying whole.
	maxEntries = 4096
)

// Entry is one destination the kernel remembers.
type Entry struct {
	// Src and Dst are the connection's local and remote addresses.
	// IPv4 addresses are plain 4-byte addresses, never IPv4-mapped. Src
	// is the zero Addr on kernels before 3.13, which kept no source.
	Src, Dst netip.Addr

	// RTT and RTTVar are the smoothed round-trip time and its mean
	// deviation (RFC 6298 SRTT and RTTVAR) the kernel saved from the last
	// connection to close, in microseconds (milliseconds before Linux
	// 4.1). Zero means the kernel has no RTT for the destination, as after
	// a connection that timed out.
	RTT, RTTVar time.Duration

	// Age is how long ago the entry was last updated. For an Entry from a
	// Cache, the time since the Cache read the table is included.
	Age time.Duration
}

// Cache answers lookups from the kernel's table as read at most TTL ago
// (two seconds). The zero value is ready to use; a Cache is safe for
// concurrent use and must not be copied after first use.
//
// Lookup is a map lookup (about 100 ns, no allocation) and never waits
// for the kernel, whose dump takes a fraction of a millisecond (see Dump):
// when the table it holds is older
// than the TTL (or there is none yet), Lookup starts one read in a
// background goroutine and answers from the table it has. So the first
// Lookup of a Cache finds nothing, and a caller that wants the table ready
// early calls Lookup once ahead of need. At most one read runs at a time.
// A failed read is silent: until the next read, after the TTL, every
// Lookup reports false. Wait lets a caller wait, for a bounded time, for
// the first read.
type Cache struct {
	// dump reads the table; nil means Dump. Tests replace it.
	dump func() ([]Entry, error)
	// ttl is how long one read is served; zero means defaultTTL.
	ttl time.Duration

	tab        atomic.Pointer[table]
	refreshing atomic.Bool
	// ready is closed once the first read has finished (see Wait).
	readyInit, readyClose sync.Once
	ready                 chan struct{}
	// wg counts the background read, so that tests can wait for it.
	wg sync.WaitGroup
}

// table is one read of the kernel's table, immutable once published.
type table struct {
	read    time.Time // when the read finished
	expires time.Time // when a Lookup starts the next read
	pairs   map[pair]Entry
	// newest holds, per destination, the entry updated most recently,
	// whatever its source.
	newest map[netip.Addr]Entry
	// bySource holds, per source, the age of its entry updated most
	// recently, whatever its destination.
	bySource map[netip.Addr]time.Duration
}

type pair struct{ src, dst netip.Addr }

// Lookup returns what the kernel remembers of connections from src to dst.
// With a zero src it returns the most recently updated entry for dst from
// any source. IPv4-mapped addresses match their IPv4 form; zones are
// ignored. It reports false when the table (as last read) has no such
// entry, when it has not been read yet, or when the last read failed.
func (c *Cache) Lookup(src, dst netip.Addr) (Entry, bool) {
	now := time.Now()
	t := c.tab.Load()
	if t == nil || !now.Before(t.expires) {
		c.refresh()
	}
	if t == nil {
		return Entry{}, false
	}
	dst = dst.Unmap().WithZone("")
	var e Entry
	var ok bool
	if src.IsValid() {
		e, ok = t.pairs[pair{src.Unmap().WithZone(""), dst}]
	} else {
		e, ok = t.newest[dst]
	}
	if !ok {
		return Entry{}, false
	}
	if since := now.Sub(t.read); since > 0 {
		e.Age += since
	}
	return e, true
}

// Newest reports how long ago the kernel last saved an entry for a
// connection from src, to any destination: a connection from that address
// closed then, having worked. IPv4-mapped addresses match their IPv4
// form; zones are ignored. It reports false for a zero src, when the table
// (as last read) has no entry from src, when it has not been read yet, or
// when the last read failed. Like Lookup, it never waits for the kernel.
func (c *Cache) Newest(src netip.Addr) (time.Duration, bool) {
	now := time.Now()
	t := c.tab.Load()
	if t == nil || !now.Before(t.expires) {
		c.refresh()
	}
	if t == nil || !src.IsValid() {
		return 0, false
	}
	age, ok := t.bySource[src.Unmap().WithZone("")]
	if !ok {
		return 0, false
	}
	if since := now.Sub(t.read); since > 0 {
		age += since
	}
	return age, true
}

// Wait waits, at most d, until the Cache holds a table: until its first
// read has finished (a failed read counts, as an empty table). It starts
// that read if none runs, returns at once once a table is held, and
// reports whether one is. For a caller about to look up that can spare
// d once, at its start, rather than find nothing on its first lookups.
func (c *Cache) Wait(d time.Duration) bool {
	if c.tab.Load() != nil {
		return true
	}
	c.refresh()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.readyChan():
		return true
	case <-t.C:
		return c.tab.Load() != nil
	}
}

func (c *Cache) readyChan() chan struct{} {
	c.readyInit.Do(func() { c.ready = make(chan struct{}) })
	return c.ready
}

// refresh starts a background read unless one is running.
func (c *Cache) refresh() {
	if !c.refreshing.CompareAndSwap(false, true) {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		dump := c.dump
		if dump == nil {
			dump = Dump
		}
		es, err := dump()
		if err != nil {
			es = nil // a failed read is an empty table until the next one
		}
		t := newTable(es, time.Now(), c.ttlOrDefault())
		c.tab.Store(t)
		c.readyClose.Do(func() { close(c.readyChan()) })
		// Only now may another read start: the new table is in place, so
		// no Lookup sees the expired one and starts a second read.
		c.refreshing.Store(false)
	}()
}

func (c *Cache) ttlOrDefault() time.Duration {
	if c.ttl > 0 {
		return c.ttl
	}
	return defaultTTL
}

// newTable indexes the first maxEntries of es, read at now.
func newTable(es []Entry, now time.Time, ttl time.Duration) *table {
	if len(es) > maxEntries {
		es = es[:maxEntries]
	}
	t := &table{
		read:     now,
		expires:  now.Add(ttl),
		pairs:    make(map[pair]Entry, len(es)),
		newest:   make(map[netip.Addr]Entry, len(es)),
		bySource: make(map[netip.Addr]time.Duration),
	}
	for _, e := range es {
		if !e.Dst.IsValid() {
			continue
		}
		e.Src, e.Dst = e.Src.Unmap().WithZone(""), e.Dst.Unmap().WithZone("")
		t.pairs[pair{e.Src, e.Dst}] = e
		if old, ok := t.newest[e.Dst]; !ok || e.Age < old.Age {
			t.newest[e.Dst] = e
		}
		if e.Src.IsValid() {
			if old, ok := t.bySource[e.Src]; !ok || e.Age < old {
				t.bySource[e.Src] = e.Age
			}
		}
	}
	return t
}
