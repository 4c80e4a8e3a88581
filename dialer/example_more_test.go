package dialer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// durations matches the time a LogTrace line gives an attempt.
var durations = regexp.MustCompile(`(after|in) [0-9.]+[µnm]?s`)

// LogTrace logs every step of a dial in one line each, for example with
// log.Printf. Here the lines are printed without their time offsets so
// that the output is the same on every run; a refused first address makes
// the dial move on at once.
func ExampleLogTrace() {
	addr, stop := greeter("hi")
	defer stop()
	_, port, _ := net.SplitHostPort(addr)
	refused, err := net.Listen("tcp", "127.0.0.2:"+port) // bound and closed: refuses
	if err != nil {
		log.Fatal(err)
	}
	refused.Close()

	d := &dialer.Dialer{
		Resolver: &resolver.Static{
			A: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}},
		},
		// A History of its own: what earlier dials in this process
		// learned would show in the lines ("known …").
		History: new(dialer.History),
	}
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fields := strings.SplitN(line, " ", 3) // "happyeyeballs:", "+1.2ms", the event
		event := strings.NewReplacer(port, "PORT").Replace(fields[2])
		fmt.Println(durations.ReplaceAllString(event, "$1 …"))
	}
	ctx := dialer.WithTrace(context.Background(), dialer.LogTrace(logf))
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("greeter.test", port))
	if err != nil {
		log.Fatal(err)
	}
	c.Close()
	// Output:
	// greeter.test AAAA answer: none (lookup greeter.test: no such host)
	// greeter.test A answer: [127.0.0.2 127.0.0.1]
	// attempt 0 to 127.0.0.2:PORT started
	// attempt 0 to 127.0.0.2:PORT failed after …: dial tcp4 127.0.0.2:PORT: connect: connection refused
	// attempt 1 to 127.0.0.1:PORT started
	// attempt 1 to 127.0.0.1:PORT connected in … and won
	// dial to greeter.test connected to 127.0.0.1:PORT after 2 attempt(s)
}

// With a Handshake, an attempt wins only when the TLS handshake is done
// too, so a path where TCP connects but TLS fails (a middlebox resetting
// it, an IPv6 path-MTU black hole) loses the race instead of winning it.
func ExampleDialer_handshake() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secure hello")
	}))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	d := &dialer.Dialer{
		Timeout: 10 * time.Second,
		Handshake: func(ctx context.Context, c net.Conn) (net.Conn, error) {
			tc := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: "example.com"})
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, err
			}
			return tc, nil
		},
	}
	c, err := d.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tc := c.(*tls.Conn)
	fmt.Println("TLS handshake complete:", tc.ConnectionState().HandshakeComplete)
	// Output: TLS handshake complete: true
}

// A failed dial says why, attempt by attempt: its error is a *net.OpError
// whose Err is a *dialer.DialError, and errors.Is sees each attempt's
// cause. Here both addresses of the name refuse the connection.
func ExampleDialError() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens on the port any more: connections are refused

	d := &dialer.Dialer{Resolver: &resolver.Static{
		A: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}},
	}}
	_, err = d.Dial("tcp", net.JoinHostPort("down.test", port))

	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED))
	var de *dialer.DialError
	if errors.As(err, &de) {
		for _, a := range de.Attempts {
			fmt.Println(a.Addr.Addr(), errors.Is(a.Err, syscall.ECONNREFUSED))
		}
	}
	// Output:
	// refused: true
	// 127.0.0.1 true
	// 127.0.0.2 true
}
