package tcpmetrics

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var (
	src4 = netip.MustParseAddr("192.0.2.100")
	dst4 = netip.MustParseAddr("192.0.2.1")
	src6 = netip.MustParseAddr("2001:db8::100")
	dst6 = netip.MustParseAddr("2001:db8::1")
)

// fakeDump counts reads and answers each from its function.
type fakeDump struct {
	calls atomic.Int32
	fn    func(call int32) ([]Entry, error)
}

func (f *fakeDump) dump() ([]Entry, error) { return f.fn(f.calls.Add(1)) }

// TestCache_TTL: the first Lookup starts a read and finds nothing; the
// table then answers for the TTL, its ages growing; the first Lookup
// after the TTL still answers from the old table and starts one read.
func TestCache_TTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDump{fn: func(call int32) ([]Entry, error) {
			return []Entry{{Src: src4, Dst: dst4, RTT: time.Duration(call) * time.Millisecond, Age: time.Second}}, nil
		}}
		c := &Cache{dump: f.dump}

		if e, ok := c.Lookup(src4, dst4); ok {
			t.Fatalf("first Lookup = %+v, true; want nothing before the first read", e)
		}
		synctest.Wait()
		if got := f.calls.Load(); got != 1 {
			t.Fatalf("%d reads after the first Lookup; want 1", got)
		}

		steps := []struct {
			sleep     time.Duration
			wantRTT   time.Duration
			wantAge   time.Duration
			wantCalls int32
		}{
			{0, 1 * time.Millisecond, 1 * time.Second, 1},
			{1500 * time.Millisecond, 1 * time.Millisecond, 2500 * time.Millisecond, 1},
			// At the TTL: the old table answers, and a read starts.
			{500 * time.Millisecond, 1 * time.Millisecond, 3 * time.Second, 2},
			{0, 2 * time.Millisecond, 1 * time.Second, 2},
			{defaultTTL - 1, 2 * time.Millisecond, 1*time.Second + defaultTTL - 1, 2},
		}
		for i, s := range steps {
			time.Sleep(s.sleep)
			e, ok := c.Lookup(src4, dst4)
			synctest.Wait()
			if !ok || e.RTT != s.wantRTT || e.Age != s.wantAge {
				t.Errorf("step %d: Lookup = %+v, %v; want RTT %v, Age %v", i, e, ok, s.wantRTT, s.wantAge)
			}
			if got := f.calls.Load(); got != s.wantCalls {
				t.Errorf("step %d: %d reads; want %d", i, got, s.wantCalls)
			}
		}
	})
}

// TestCache_Concurrent: many callers, a slow read. No caller waits for
// it, only one read runs, and while it runs callers get the previous
// table.
func TestCache_Concurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &fakeDump{fn: func(call int32) ([]Entry, error) {
			<-release
			return []Entry{{Src: src6, Dst: dst6, RTT: time.Duration(call) * time.Millisecond}}, nil
		}}
		c := &Cache{dump: f.dump}

		lookupAll := func(wantRTT time.Duration) {
			t.Helper()
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					e, ok := c.Lookup(src6, dst6)
					if ok != (wantRTT != 0) || e.RTT != wantRTT {
						t.Errorf("Lookup = %+v, %v; want RTT %v", e, ok, wantRTT)
					}
				})
			}
			start := time.Now()
			wg.Wait()
			if d := time.Since(start); d != 0 {
				t.Errorf("callers took %v; want no wait", d)
			}
		}

		lookupAll(0) // nothing yet; the read is stuck
		synctest.Wait()
		if got := f.calls.Load(); got != 1 {
			t.Errorf("%d reads started; want 1", got)
		}
		release <- struct{}{}
		synctest.Wait()
		lookupAll(time.Millisecond)

		time.Sleep(defaultTTL)
		lookupAll(time.Millisecond) // stale, and a read is stuck
		synctest.Wait()
		if got := f.calls.Load(); got != 2 {
			t.Errorf("%d reads started; want 2", got)
		}
		time.Sleep(time.Hour) // a read may take long; callers keep the old table
		lookupAll(time.Millisecond)
		release <- struct{}{}
		synctest.Wait()
		lookupAll(2 * time.Millisecond)
		if got := f.calls.Load(); got != 2 {
			t.Errorf("%d reads started; want 2", got)
		}
	})
}

// TestCache_ReadFails: a failed read is silent, empties the table, and
// is retried after the TTL, not on every Lookup.
func TestCache_ReadFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDump{fn: func(call int32) ([]Entry, error) {
			if call == 2 {
				return nil, errors.New("netlink: no")
			}
			return []Entry{{Src: src4, Dst: dst4, RTT: time.Millisecond}}, nil
		}}
		c := &Cache{dump: f.dump}
		c.Lookup(src4, dst4)
		synctest.Wait()
		if _, ok := c.Lookup(src4, dst4); !ok {
			t.Fatalf("Lookup after a good read found nothing")
		}

		time.Sleep(defaultTTL)
		c.Lookup(src4, dst4) // starts the read that fails
		synctest.Wait()
		for range 10 {
			if e, ok := c.Lookup(src4, dst4); ok {
				t.Errorf("Lookup after a failed read = %+v, true; want false", e)
			}
			time.Sleep(defaultTTL / 20)
		}
		synctest.Wait()
		if got := f.calls.Load(); got != 2 {
			t.Errorf("%d reads within the TTL of a failure; want 2", got)
		}

		time.Sleep(defaultTTL / 2)
		c.Lookup(src4, dst4) // the retry
		synctest.Wait()
		if _, ok := c.Lookup(src4, dst4); !ok || f.calls.Load() != 3 {
			t.Errorf("after the retry: found %v, %d reads; want true, 3", ok, f.calls.Load())
		}
	})
}

// TestCache_Lookup covers how addresses match.
func TestCache_Lookup(t *testing.T) {
	otherSrc := netip.MustParseAddr("192.0.2.101")
	ll := netip.MustParseAddr("fe80::1")
	c := &Cache{ttl: time.Hour}
	c.tab.Store(newTable([]Entry{
		{Src: src4, Dst: dst4, RTT: 1 * time.Millisecond, Age: 30 * time.Second},
		{Src: otherSrc, Dst: dst4, RTT: 2 * time.Millisecond, Age: 10 * time.Second}, // the newest for dst4
		{Src: src6, Dst: dst6, RTT: 3 * time.Millisecond},
		{Src: netip.MustParseAddr("fe80::2"), Dst: ll, RTT: 4 * time.Millisecond},
		{Dst: netip.MustParseAddr("2001:db8::99"), RTT: 5 * time.Millisecond}, // an old kernel: no source
	}, time.Now(), time.Hour))

	tests := []struct {
		name     string
		src, dst netip.Addr
		wantRTT  time.Duration // 0: not found
	}{
		{"exact", src4, dst4, 1 * time.Millisecond},
		{"other source", otherSrc, dst4, 2 * time.Millisecond},
		{"any source: the newest", netip.Addr{}, dst4, 2 * time.Millisecond},
		{"mapped", netip.AddrFrom16(src4.As16()), netip.AddrFrom16(dst4.As16()), 1 * time.Millisecond},
		{"ipv6", src6, dst6, 3 * time.Millisecond},
		{"zone ignored", netip.MustParseAddr("fe80::2").WithZone("eth0"), ll.WithZone("eth0"), 4 * time.Millisecond},
		{"no source in the table", netip.Addr{}, netip.MustParseAddr("2001:db8::99"), 5 * time.Millisecond},
		{"unknown source", netip.MustParseAddr("192.0.2.200"), dst4, 0},
		{"unknown destination", src4, netip.MustParseAddr("192.0.2.2"), 0},
		{"zero destination", netip.Addr{}, netip.Addr{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := c.Lookup(tt.src, tt.dst)
			if ok != (tt.wantRTT != 0) || e.RTT != tt.wantRTT {
				t.Errorf("Lookup(%v, %v) = %+v, %v; want RTT %v", tt.src, tt.dst, e, ok, tt.wantRTT)
			}
		})
	}
}

// TestCache_Newest: per source, the age of its newest entry, whatever
// the destination; Newest, like Lookup, starts the first read and finds
// nothing before it.
func TestCache_Newest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		otherDst := netip.MustParseAddr("192.0.2.2")
		c := &Cache{dump: func() ([]Entry, error) {
			return []Entry{
				{Src: src4, Dst: dst4, RTT: time.Millisecond, Age: 30 * time.Second},
				{Src: src4, Dst: otherDst, RTT: time.Millisecond, Age: 10 * time.Second},
				{Src: src6, Dst: dst6, RTT: time.Millisecond, Age: time.Minute},
				{Dst: netip.MustParseAddr("2001:db8::99"), RTT: time.Millisecond}, // an old kernel: no source
			}, nil
		}}
		if age, ok := c.Newest(src4); ok {
			t.Fatalf("first Newest = %v, true; want nothing before the first read", age)
		}
		synctest.Wait()
		time.Sleep(time.Second)
		tests := []struct {
			name    string
			src     netip.Addr
			wantAge time.Duration // 0: not found
		}{
			{"the newest of two", src4, 11 * time.Second},
			{"mapped", netip.AddrFrom16(src4.As16()), 11 * time.Second},
			{"ipv6", src6.WithZone("eth0"), time.Minute + time.Second},
			{"unknown source", netip.MustParseAddr("192.0.2.200"), 0},
			{"zero source", netip.Addr{}, 0},
		}
		for _, tt := range tests {
			age, ok := c.Newest(tt.src)
			if ok != (tt.wantAge != 0) || age != tt.wantAge {
				t.Errorf("%s: Newest(%v) = %v, %v; want %v", tt.name, tt.src, age, ok, tt.wantAge)
			}
		}
		c.wg.Wait()
	})
}

// TestCache_Wait: Wait starts the first read and waits for it, at most
// the time given; once a table is held (a failed read holds an empty
// one), it returns at once.
func TestCache_Wait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &Cache{dump: func() ([]Entry, error) {
			time.Sleep(5 * time.Millisecond)
			return []Entry{{Src: src4, Dst: dst4, RTT: time.Millisecond}}, nil
		}}
		start := time.Now()
		if slow.Wait(time.Millisecond) {
			t.Errorf("Wait(1ms) on a 5 ms read = true")
		}
		if got := time.Since(start); got != time.Millisecond {
			t.Errorf("Wait(1ms) took %v", got)
		}
		start = time.Now()
		if !slow.Wait(time.Second) {
			t.Errorf("Wait(1s) on a read 4 ms from done = false")
		}
		if got := time.Since(start); got != 4*time.Millisecond {
			t.Errorf("Wait(1s) took %v; want the read's 4 ms left", got)
		}
		if _, ok := slow.Lookup(src4, dst4); !ok {
			t.Errorf("Lookup after Wait found nothing")
		}
		start = time.Now()
		if !slow.Wait(time.Second) || time.Since(start) != 0 {
			t.Errorf("Wait with a table held did not return at once")
		}

		failing := &Cache{dump: func() ([]Entry, error) { return nil, errors.New("no netlink") }}
		if !failing.Wait(time.Millisecond) {
			t.Errorf("Wait on a failed read = false; want true (an empty table)")
		}
		slow.wg.Wait()
		failing.wg.Wait()
	})
}

// TestCache_bounded: a table keeps at most maxEntries.
func TestCache_bounded(t *testing.T) {
	es := make([]Entry, maxEntries+100)
	for i := range es {
		es[i] = Entry{Src: src6, Dst: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})}
	}
	tab := newTable(es, time.Now(), time.Hour)
	if len(tab.pairs) != maxEntries || len(tab.newest) != maxEntries {
		t.Errorf("table holds %d pairs, %d destinations; want %d", len(tab.pairs), len(tab.newest), maxEntries)
	}
}

// TestCache_zero: the zero Cache reads the real table (or, off Linux,
// reads nothing) without complaint.
func TestCache_zero(t *testing.T) {
	var c Cache
	c.Lookup(netip.Addr{}, dst4)
	c.wg.Wait()
	if c.tab.Load() == nil {
		t.Errorf("no table after the first read")
	}
}

func TestCache_LookupAllocs(t *testing.T) {
	c := &Cache{}
	c.tab.Store(newTable([]Entry{{Src: src4, Dst: dst4, RTT: time.Millisecond}}, time.Now(), time.Hour))
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Lookup(src4, dst4); !ok {
			t.Fatal("not found")
		}
		c.Lookup(netip.Addr{}, dst6)
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %v times; want 0", allocs)
	}
}

func BenchmarkCache_Lookup(b *testing.B) {
	es := make([]Entry, 1000)
	for i := range es {
		es[i] = Entry{Src: src6, Dst: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), RTT: time.Millisecond}
	}
	c := &Cache{}
	c.tab.Store(newTable(es, time.Now(), time.Hour))
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(src6, es[500].Dst)
		}
	})
	b.Run("hit-any-source", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(netip.Addr{}, es[500].Dst)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(src6, dst6)
		}
	})
}

func BenchmarkParseDump(b *testing.B) {
	dumps := captures(b, "dump")
	b.ReportAllocs()
	var n int
	for b.Loop() {
		var es []Entry
		for _, d := range dumps {
			es, _, _ = parseDump(d, es, maxEntries)
		}
		n = len(es)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
}
