package netns

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Run enters the namespace, runs fn there and returns fn's error as it
// is; a file that is no namespace is an error naming it, and fn does not
// run.
func TestRun(t *testing.T) {
	self, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Skip(err)
	}
	defer self.Close()
	want := errors.New("from fn")
	ran := false
	err = Run(self, func() error {
		ran = true
		return want
	})
	if !ran || err != want {
		if errors.Is(err, syscall.EPERM) {
			t.Skip("setns needs CAP_SYS_ADMIN here")
		}
		t.Errorf("Run = %v (fn ran: %v); want fn's error", err, ran)
	}

	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	ran = false
	err = Run(null, func() error { ran = true; return nil })
	var se *os.SyscallError
	if ran || !errors.As(err, &se) || se.Syscall != "setns" || !strings.Contains(err.Error(), os.DevNull) {
		t.Errorf("Run(%s) = %v (fn ran: %v); want a setns error naming the file", os.DevNull, err, ran)
	}
}
