//go:build linux

package dialer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// selfSigned returns a certificate for names and a pool that trusts it.
func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsPair serves HTTPS (HTTP/2 and HTTP/1.1) for "dual.test" on
// 127.0.0.1, while ::1 on the same port accepts TCP and resets each
// connection once the ClientHello arrives: TCP works over IPv6, TLS does
// not. It returns the pair, a client TLS config that trusts the server,
// and the count of IPv6 connections.
func tlsPair(t *testing.T) (*loopback.Pair, *tls.Config, *atomic.Int32) {
	t.Helper()
	p := loopback.Dual(t, loopback.Accept, loopback.Accept)
	cert, pool := selfSigned(t, "dual.test")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Listener.Close() // NewUnstartedServer opened one of its own
	srv.Listener = p.V4.Listener()
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	var v6 atomic.Int32
	serve(t, p.V6, func(c net.Conn) {
		v6.Add(1)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		c.Read(make([]byte, 1)) // the ClientHello arrives, then the reset
		reset(c)
	})
	return p, &tls.Config{RootCAs: pool}, &v6
}

// The TLS handshake decides the race: IPv6 connects but its TLS is reset,
// so IPv4 starts at once and wins. ServerName comes from the dialed host
// (the certificate is verified for it) and the result is a *tls.Conn.
func TestTLSDialer_DialContext_handshakeDecides(t *testing.T) {
	fdBaseline(t)
	p, conf, v6 := tlsPair(t)
	var ev events
	d := &TLSDialer{
		NetDialer: &Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true},
		Config:    conf,
	}
	start := time.Now()
	c, err := d.DialContext(WithTrace(context.Background(), ev.trace()), "tcp", p.Host("dual.test"))
	took := time.Since(start)
	require.NoError(t, err)
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	require.True(t, ok, "DialContext returned %T; want *tls.Conn", c)
	state := tc.ConnectionState()
	assert.True(t, state.HandshakeComplete)
	assert.Equal(t, "dual.test", state.ServerName)
	assert.Equal(t, p.V4.Addr.String(), c.RemoteAddr().String())
	assert.Less(t, took, 200*time.Millisecond, "the IPv4 attempt starts at once when IPv6's TLS fails")
	ev.wait(t)
	assert.Equal(t, []netip.AddrPort{p.V6.Addr, p.V4.Addr}, ev.startAddrs())
	assert.EqualValues(t, 1, v6.Load())
	assert.Empty(t, conf.ServerName, "the caller's Config is not modified")
}

// http.Transport.DialTLSContext with the TLS dialer keeps HTTP/2 when
// NextProtos offers it.
func TestTLSDialer_DialContext_httpTransportHTTP2(t *testing.T) {
	fdBaseline(t)
	p, conf, _ := tlsPair(t)
	conf.NextProtos = []string{"h2", "http/1.1"}
	d := &TLSDialer{NetDialer: &Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}, Config: conf}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialTLSContext = d.DialContext
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + p.Host("dual.test") + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "HTTP/2.0", string(body))
	assert.Equal(t, 2, resp.ProtoMajor)
}

// A certificate that does not verify fails every attempt, and the cause is
// reachable as crypto/tls and crypto/x509 report it.
func TestTLSDialer_DialContext_verifyFails(t *testing.T) {
	fdBaseline(t)
	p, _, _ := tlsPair(t)
	d := &TLSDialer{NetDialer: &Dialer{Resolver: dualStatic(loopback.V6, loopback.V4), DisableHistory: true}}
	_, err := d.DialContext(context.Background(), "tcp", p.Host("dual.test"))
	require.Error(t, err)
	var ve *tls.CertificateVerificationError
	assert.True(t, errors.As(err, &ve), "error %v; want a *tls.CertificateVerificationError inside", err)
	var de *DialError
	require.ErrorAs(t, err, &de)
	assert.Len(t, de.Attempts, 2)

	_, err = d.DialContext(context.Background(), "udp", p.Host("dual.test"))
	assert.ErrorContains(t, err, "TLS needs tcp")
}
