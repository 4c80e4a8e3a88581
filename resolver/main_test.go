package resolver

import (
	"os"
	"testing"

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
		if after := countFDs(t); after > before {
			t.Errorf("file descriptors: %d before, %d after", before, after)
		}
	})
}
