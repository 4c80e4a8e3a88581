//go:build !windows

package dialer

// renameBusy reports false: here a rename replaces a file that is open.
func renameBusy(error) bool { return false }
