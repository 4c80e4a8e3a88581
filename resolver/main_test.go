package resolver

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countFDs returns the number of open file descriptors of the process.
func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// checkFDs fails the test if it leaves file descriptors open. Call it
// first, so that its cleanup runs last.
func checkFDs(t *testing.T) {
	t.Helper()
	before := countFDs(t)
	t.Cleanup(func() {
		// Sockets of cancelled lookups close asynchronously: allow a
		// moment (bounded) before calling it a leak.
		after := countFDs(t)
		for deadline := time.Now().Add(2 * time.Second); after > before && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			after = countFDs(t)
		}
		if after > before {
			t.Errorf("file descriptors: %d before, %d after", before, after)
		}
	})
}
