//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package dialer

import "os"

// tryLockFile does not lock: this platform has no advisory lock in the
// syscall package, so concurrent Saves from several processes may lose
// each other's entries (each still writes a whole file).
func tryLockFile(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) error { return nil }
