//go:build !linux

package tcpmetrics

import "errors"

// Dump returns errors.ErrUnsupported: only Linux keeps a TCP metrics
// table that a process can read.
func Dump() ([]Entry, error) {
	return nil, errors.ErrUnsupported
}
