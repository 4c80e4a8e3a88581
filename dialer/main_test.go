package dialer

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childMain, when set (by a platform's test file), runs first: a test
// that re-executes this test binary as a fresh process sets an
// environment variable that childMain recognizes, and the process then
// does the child's work and exits with its code instead of running tests.
var childMain func() (code int, isChild bool)

func TestMain(m *testing.M) {
	if childMain != nil {
		if code, ok := childMain(); ok {
			os.Exit(code)
		}
	}
	goleak.VerifyTestMain(m)
}
