// Package netns runs code inside a Linux network namespace: the bench's
// emulated network and the tests' namespace pairs start their servers and
// clients this way.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Run calls fn on an OS thread that has entered the network namespace
// open as ns (a file under /run/netns, or /proc/PID/ns/net) and waits for
// it. Sockets fn creates belong to that namespace for their whole life,
// wherever they are used later. fn must not start goroutines that expect
// to be in the namespace: they run on other threads.
//
// The thread stays locked and ends with its goroutine: it never goes back
// to the runtime in the wrong namespace. An error entering the namespace
// names ns's file; fn's error is returned as it is.
func Run(ns *os.File, fn func() error) error {
	errc := make(chan error, 1) // the goroutine never waits for the caller
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", ns.Name(), os.NewSyscallError("setns", err))
			return
		}
		errc <- fn()
	}()
	return <-errc
}
