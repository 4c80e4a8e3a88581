package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// startHTTPS serves HTTP/2 over TLS on 127.0.0.1:port in process, with the
// test certificate, answering with the protocol used.
func startHTTPS(t *testing.T, port uint16, cert *testCert) {
	t.Helper()
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
}

// get fetches url with a new client on tr (a new connection), checks that
// HTTP/2 was used, and closes the client's connections.
func get(ctx context.Context, tr *http.Transport, url string) error {
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		return fmt.Errorf("got %s (server saw %q); want HTTP/2", resp.Proto, body)
	}
	return nil
}

// TestHTTP_DialContext checks the net/http recipe with the Dialer as a
// cloned DefaultTransport's DialContext: the Transport does TLS and HTTP/2
// on the connection the race (RFC 8305 §5) won.
func TestHTTP_DialContext(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "http")
	cert := serverCert(t)
	startHTTPS(t, tg.Port, cert)
	url := "https://" + tg.Addr() + "/"

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (net/http): a clone of DefaultTransport keeps
		// ForceAttemptHTTP2, so HTTP/2 stays on with a custom DialContext.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = d.DialContext
		tr.TLSClientConfig = &tls.Config{RootCAs: cert.pool} // the test's self-signed certificate
		return get(ctx, tr, url)
	})
	recipe("net/http HTTP/2 over TLS", "cloned DefaultTransport, DialContext", first, second)

	// Default: DefaultTransport's net.Dialer (RFC 6555: 300 ms for IPv6
	// before IPv4, on every connection); here its resolver asks the test's
	// DNS server.
	naive(t, "net/http HTTP/2 over TLS", "default (DefaultTransport's net.Dialer)", func(ctx context.Context) error {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Resolver: naiveResolver, Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSClientConfig = &tls.Config{RootCAs: cert.pool}
		return get(ctx, tr, url)
	})
}

// TestHTTP_DialTLSContext checks the net/http recipe with a TLSDialer as
// DialTLSContext: the TLS handshake runs inside the race, and HTTP/2 is
// used because the returned *tls.Conn negotiated h2.
func TestHTTP_DialTLSContext(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "http-tls")
	cert := serverCert(t)
	startHTTPS(t, tg.Port, cert)
	url := "https://" + tg.Addr() + "/"

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (net/http with TLS in the race).
		td := &dialer.TLSDialer{NetDialer: &d, Config: &tls.Config{
			NextProtos: []string{"h2", "http/1.1"},
			RootCAs:    cert.pool, // the test's self-signed certificate
		}}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialTLSContext = td.DialContext
		return get(ctx, tr, url)
	})
	recipe("net/http HTTP/2 over TLS", "cloned DefaultTransport, DialTLSContext = TLSDialer", first, second)
}
