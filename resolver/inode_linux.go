package resolver

import (
	"os"
	"syscall"
)

// inode returns the file's inode number, so that a file replaced by rename
// (as resolvconf and Kubernetes do) is noticed even with the same size and
// modification time.
func inode(fi os.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ino, true
}
