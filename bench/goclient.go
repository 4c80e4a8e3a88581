package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
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

// traceEnv, when set in a Go client's environment, makes "ours" log its
// dials' Trace events (dialer.LogTrace) to stderr; bench -v sets it.
const traceEnv = "HAPPYEYEBALLS_BENCH_TRACE"

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
//
// With -tls CAFILE it dials HTTPS instead: this module's TLSDialer (the
// TLS handshake decides the race) or crypto/tls.Dialer over a zero
// net.Dialer (the handshake follows the TCP race), both trusting the CA
// in CAFILE, then sends one GET and times its first response byte.
func goClientMain(args []string) int {
	fs := flag.NewFlagSet(clientCommand, flag.ContinueOnError)
	impl := fs.String("impl", "ours", "ours or net")
	addr := fs.String("addr", "", "host:port to dial")
	capDur := fs.Duration("cap", 10*time.Second, "give up on a dial after this long")
	caFile := fs.String("tls", "", "dial HTTPS, trusting the CA in this PEM file, and time the first response byte")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var config *tls.Config
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			return 2
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "bench client: no certificate in %s\n", *caFile)
			return 2
		}
		config = &tls.Config{RootCAs: pool}
	}
	var dial dialFunc
	switch {
	case *impl == "ours" && config != nil:
		d := dialer.TLSDialer{Config: config}
		dial = d.DialContext
	case *impl == "ours":
		var d dialer.Dialer
		dial = d.DialContext
	case *impl == "net" && config != nil:
		d := tls.Dialer{NetDialer: new(net.Dialer), Config: config}
		dial = d.DialContext
	case *impl == "net":
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
	if os.Getenv(traceEnv) != "" && *impl == "ours" {
		tr := dialer.LogTrace(log.New(os.Stderr, "", log.Lmicroseconds).Printf)
		inner := dial
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			return inner(dialer.WithTrace(ctx, tr), network, address)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		r, finished := dialOnce(dial, *addr, *capDur, config != nil)
		enc.Encode(r)
		if !finished {
			return 0 // the dial is still running: leave, and let the kernel drop it
		}
	}
	return 0
}

// dialOnce times one dial and, when request is set, one HTTP request on
// the connection up to the first response byte. finished is false when
// the cap passed first.
func dialOnce(dial dialFunc, addr string, capDur time.Duration, request bool) (r result, finished bool) {
	type outcome struct {
		conn  net.Conn
		err   error
		took  time.Duration
		first time.Duration // to the first response byte or the request's failure; 0 without a request
	}
	done := make(chan outcome, 1) // the dial may finish after we stopped waiting
	start := time.Now()
	go func() {
		c, err := dial(context.Background(), "tcp", addr)
		o := outcome{conn: c, err: err, took: time.Since(start)}
		if err == nil && request {
			host, _, _ := net.SplitHostPort(addr)
			if err := readFirstByte(c, host); err != nil {
				o.err = fmt.Errorf("first byte: %w", err)
			}
			o.first = time.Since(start)
		}
		done <- o
	}()
	t := time.NewTimer(capDur)
	defer t.Stop()
	select {
	case o := <-done:
		r.MS = float64(o.took.Microseconds()) / 1000
		r.FirstMS = float64(o.first.Microseconds()) / 1000
		if o.conn != nil {
			if ta, ok := o.conn.RemoteAddr().(*net.TCPAddr); ok {
				r.Addr = ta.AddrPort().Addr().Unmap().String()
			}
			o.conn.Close()
		}
		if o.err != nil {
			r.Err = o.err.Error()
		}
		return r, true
	case <-t.C:
		r.MS = float64(capDur.Microseconds()) / 1000
		r.Err = fmt.Sprintf("no connection within %v", capDur)
		return r, false
	}
}
