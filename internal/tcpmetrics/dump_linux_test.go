package tcpmetrics

import (
	"os"
	"testing"
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
		ents, _ := os.ReadDir("/proc/self/fd")
		var links []string
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			links = append(links, e.Name()+"->"+l)
		}
		t.Errorf("fds: %d open after, %d before: %v", after, before, links)
	}
}

// TestDump reads this host's table: whatever it holds, the read succeeds,
// every entry has a destination, and the socket is closed.
func TestDump(t *testing.T) {
	before := countFDs(t)
	es, err := Dump()
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	checkFDs(t, before)
	for _, e := range es {
		if !e.Dst.IsValid() || e.RTT < 0 || e.RTTVar < 0 || e.Age < 0 {
			t.Errorf("implausible entry %+v", e)
		}
	}
	t.Logf("%d entries", len(es))
	for i, e := range es {
		if i == 5 {
			break
		}
		t.Logf("%v -> %v rtt %v rttvar %v age %v", e.Src, e.Dst, e.RTT, e.RTTVar, e.Age)
	}
}

// BenchmarkDump reads this host's table: "warm" as a Cache does after its
// first read, "cold" with the family id looked up again each time.
func BenchmarkDump(b *testing.B) {
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				if cold {
					familyID.Store(0)
				}
				es, err := Dump()
				if err != nil {
					b.Fatal(err)
				}
				n = len(es)
			}
			b.ReportMetric(float64(n), "entries")
		})
	}
}
