package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// clientCommand is the hidden first argument that turns the bench binary
// into a Go client inside the client namespace.
const clientCommand = "__client"

var runtimeVersion = runtime.Version()

// dialFunc is one dial by the implementation under test.
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// goClientMain dials -addr once per line read on stdin, printing one
// result line per dial, until stdin ends. Each dial uses the
// implementation's zero value with no deadline, as a program using the
// defaults would; a dial still running after -cap is reported as failed
// and the process exits (the bench starts a new one if needed), since a
// dial cannot be abandoned without changing the implementation's
// behaviour (a context deadline makes net.Dialer split its time between
// addresses).
func goClientMain(args []string) int {
	fs := flag.NewFlagSet(clientCommand, flag.ContinueOnError)
	impl := fs.String("impl", "ours", "ours or net")
	addr := fs.String("addr", "", "host:port to dial")
	capDur := fs.Duration("cap", 10*time.Second, "give up on a dial after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var dial dialFunc
	switch *impl {
	case "ours":
		var d dialer.Dialer
		dial = d.DialContext
	case "net":
		var d net.Dialer
		dial = d.DialContext
	default:
		fmt.Fprintf(os.Stderr, "bench client: unknown -impl %q\n", *impl)
		return 2
	}
	if *addr == "" || *capDur <= 0 {
		fmt.Fprintln(os.Stderr, "bench client: -addr and a positive -cap are required")
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		r, finished := dialOnce(dial, *addr, *capDur)
		enc.Encode(r)
		if !finished {
			return 0 // the dial is still running: leave, and let the kernel drop it
		}
	}
	return 0
}

// dialOnce times one dial. finished is false when the cap passed first.
func dialOnce(dial dialFunc, addr string, capDur time.Duration) (r result, finished bool) {
	type outcome struct {
		conn net.Conn
		err  error
		took time.Duration
	}
	done := make(chan outcome, 1) // the dial may finish after we stopped waiting
	start := time.Now()
	go func() {
		c, err := dial(context.Background(), "tcp", addr)
		done <- outcome{c, err, time.Since(start)}
	}()
	t := time.NewTimer(capDur)
	defer t.Stop()
	select {
	case o := <-done:
		r.MS = float64(o.took.Microseconds()) / 1000
		if o.err != nil {
			r.Err = o.err.Error()
			return r, true
		}
		if ta, ok := o.conn.RemoteAddr().(*net.TCPAddr); ok {
			r.Addr = ta.AddrPort().Addr().Unmap().String()
		}
		o.conn.Close()
		return r, true
	case <-t.C:
		r.MS = float64(capDur.Microseconds()) / 1000
		r.Err = fmt.Sprintf("no connection within %v", capDur)
		return r, false
	}
}
