//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package dialer

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile takes an exclusive flock on f if no other open file holds
// one, and reports whether it did. The kernel drops the lock when f is
// closed or the process dies.
func tryLockFile(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
