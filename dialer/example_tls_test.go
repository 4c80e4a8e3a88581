package dialer_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// A TLSDialer runs the TLS handshake inside the race, so that an address
// where TCP connects but TLS fails loses to the next one. Here it serves
// as http.Transport's DialTLSContext, with HTTP/2 kept: a cloned
// DefaultTransport has ForceAttemptHTTP2 set, and NextProtos offers h2.
func ExampleTLSDialer() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	d := &dialer.TLSDialer{Config: &tls.Config{
		RootCAs:    srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
		NextProtos: []string{"h2", "http/1.1"},
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialTLSContext = d.DialContext
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	resp, err := client.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello over HTTP/2.0
}

// DialTCP has the shape gRPC's WithContextDialer and go-sql-driver/mysql's
// RegisterDialContext take: func(ctx, address). Give such clients the
// host name, not an address they resolved (for gRPC, a "passthrough:///"
// target), so that the Dialer races the host's addresses itself.
func ExampleDialer_DialTCP() {
	addr, stop := greeter("hello from a (ctx, address) dial hook")
	defer stop()

	var d dialer.Dialer
	var dial func(context.Context, string) (net.Conn, error) = d.DialTCP
	// grpc.WithContextDialer(d.DialTCP); mysql.RegisterDialContext("tcp", d.DialTCP)

	c, err := dial(context.Background(), addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, _ := io.ReadAll(c)
	fmt.Print(string(line))
	// Output: hello from a (ctx, address) dial hook
}
