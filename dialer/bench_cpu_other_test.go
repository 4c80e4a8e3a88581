//go:build !unix

package dialer

import "time"

// processCPU reports false: the CPU a dial costs is measured on Unix only.
func processCPU() (time.Duration, bool) { return 0, false }
