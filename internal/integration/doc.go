// Package integration tests the Dialer where users plug it in: database
// drivers, cache and RPC clients, HTTP/2 and a SOCKS5 proxy, each talking to a
// real server on loopback, and the wiring of dialer.Metrics to Prometheus and
// OpenTelemetry.
//
// It is its own module so that the library's go.mod never gains a driver.
// Every test dials a name that resolves to ::1 and 127.0.0.1 on a port where
// 127.0.0.1 is the real server and ::1 is black-holed (a listener with a full
// accept queue, so SYNs are dropped), and checks through a dialer.Trace that
// the client handed the name to the Dialer and that the race of RFC 8305 §5
// happened: the first connection lands on 127.0.0.1 one Connection Attempt
// Delay after the ::1 attempt, and the next one at once, because the Dialer
// remembers the unanswered destination (RFC 6724 rule 1).
//
// The servers (PostgreSQL, Redis, MariaDB, microsocks) are started by the
// tests, bound to 127.0.0.1 only, and stopped when the tests end; gRPC and
// HTTP/2 servers run in process. A test whose server cannot run here (not
// root, binary missing, no ::1) is skipped, or fails when the environment
// sets HAPPYEYEBALLS_INTEGRATION=required, as .ci/run does.
//
// Run with:
//
//	cd internal/integration && go test -race ./...
package integration
