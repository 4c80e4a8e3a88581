package dialer_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// greeter starts a TCP server on 127.0.0.1 that writes greeting to every
// connection and closes it. It returns the server's address and a function
// that stops it.
func greeter(greeting string) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, greeting+"\n")
			c.Close()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); <-done }
}

// The zero Dialer is ready to use, with the RFC 8305 defaults. Here the
// address is an IP literal, which is dialed directly, without DNS; a host
// name would be resolved with resolver.Default.
func Example() {
	addr, stop := greeter("hello over Happy Eyeballs")
	defer stop()

	var d dialer.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	// Output: hello over Happy Eyeballs
}

// A Dialer is a drop-in for net.Dialer: DialContext fits
// http.Transport.DialContext. Clone http.DefaultTransport rather than
// start from a bare &http.Transport{}: with a custom dial function, only
// the clone keeps HTTP/2 (ForceAttemptHTTP2) and the default timeouts.
func ExampleDialer_DialContext() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()

	d := &dialer.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	resp, err := client.Get(srv.URL + "/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK GET /hello
}

// Dial is DialContext with context.Background.
func ExampleDialer_Dial() {
	addr, stop := greeter("hello from Dial")
	defer stop()

	d := &dialer.Dialer{Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	// Output: hello from Dial
}

// A Trace shows each step of a dial: the DNS answers as they arrive, every
// connection attempt, and the outcome. Here a fixed resolver says the name
// has no IPv6 address and two IPv4 addresses; a Control hook (a policy that
// denies some destinations, say) rejects the first, so the dial moves on
// to the second at once instead of waiting the Connection Attempt Delay.
func ExampleWithTrace() {
	addr, stop := greeter("hello")
	defer stop()
	_, port, _ := net.SplitHostPort(addr)

	errDenied := errors.New("denied by policy")
	d := &dialer.Dialer{
		Resolver: &resolver.Static{
			// No AAAA records, answered at once; the A answer 10 ms later.
			A: resolver.StaticAnswer{
				Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
				Delay: 10 * time.Millisecond,
			},
		},
		Control: func(network, address string, _ syscall.RawConn) error {
			if strings.HasPrefix(address, "127.0.0.2:") {
				return errDenied
			}
			return nil
		},
	}
	// The hooks print no times or ports, so that the output is the same on
	// every run.
	trace := &dialer.Trace{
		DNSAnswer: func(i dialer.DNSAnswerInfo) {
			if len(i.Addrs) == 0 {
				fmt.Printf("%s answer: none\n", i.Family.QType())
				return
			}
			fmt.Printf("%s answer: %v\n", i.Family.QType(), i.Addrs)
		},
		AttemptStart: func(i dialer.AttemptStartInfo) {
			fmt.Printf("attempt %d: connecting to %v\n", i.Index, i.Addr.Addr())
		},
		AttemptDone: func(i dialer.AttemptDoneInfo) {
			switch {
			case i.Won:
				fmt.Printf("attempt %d: connected\n", i.Index)
			case errors.Is(i.Err, errDenied):
				fmt.Printf("attempt %d: %v\n", i.Index, errDenied)
			default:
				fmt.Printf("attempt %d: failed\n", i.Index)
			}
		},
		DialDone: func(i dialer.DialDoneInfo) {
			fmt.Printf("dial done: %v after %d attempts\n", i.Addr.Addr(), i.Attempts)
		},
	}
	ctx := dialer.WithTrace(context.Background(), trace)

	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("service.example", port))
	if err != nil {
		log.Fatal(err)
	}
	c.Close()
	// Output:
	// AAAA answer: none
	// A answer: [127.0.0.2 127.0.0.1]
	// attempt 0: connecting to 127.0.0.2
	// attempt 0: denied by policy
	// attempt 1: connecting to 127.0.0.1
	// attempt 1: connected
	// dial done: 127.0.0.1 after 2 attempts
}
