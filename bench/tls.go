package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// tlsFlightMin is a lower bound, in bytes, of the server's first TLS
// flight (ServerHello through Finished) with tlsIdentity's chain; a path
// whose MTU is below it cannot complete a handshake. TestTLSIdentity
// checks that the flight is larger.
const tlsFlightMin = 2000

// tlsIdentity is what the HTTPS scenarios need: a certificate chain for
// the scenario host name and the CA that clients trust, in a PEM file
// they are pointed at (--cacert and the like).
type tlsIdentity struct {
	cert   tls.Certificate // leaf and CA, as a real server sends its chain
	pool   *x509.CertPool
	dir    string // temporary directory that holds caFile
	caFile string
}

// newTLSIdentity makes a CA and a leaf certificate for host, both RSA
// 2048 (what most servers still present), valid for a day, and writes the
// CA to a PEM file in a new temporary directory. Remove it with close.
//
// The server sends the leaf and the CA, about 1.7 KB of certificates:
// together with the rest of the flight, more than tlsFlightMin bytes, so
// the first segment of the flight is a full-size one.
func newTLSIdentity(host string) (*tlsIdentity, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"happyeyeballs bench"}, CommonName: "happyeyeballs bench CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{Organization: []string{"happyeyeballs bench"}, CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "happyeyeballs-bench-tls-")
	if err != nil {
		return nil, err
	}
	id := &tlsIdentity{
		cert: tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
		pool: x509.NewCertPool(),
		dir:  dir,
		// Readable by the clients: ip netns exec keeps the file system.
		caFile: filepath.Join(dir, "ca.pem"),
	}
	id.pool.AddCert(ca)
	if err := os.WriteFile(id.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		id.close()
		return nil, err
	}
	return id, nil
}

// close removes the CA file.
func (id *tlsIdentity) close() { os.RemoveAll(id.dir) }

// httpsResponseBody is what every HTTPS scenario server answers with.
const httpsResponseBody = "ok\n"

// httpsServers are the HTTPS servers of one scenario: Go's net/http over
// TLS on every listener, HTTP/1.1 only (ALPN "http/1.1") so that every
// client asks and is answered the same way.
type httpsServers struct {
	srv *http.Server
	wg  sync.WaitGroup
}

// httpsTimeout is how long the servers give a client to complete its TLS
// handshake and send its request: nginx's default client_header_timeout,
// and at least 5 s more than a dial may last (cap). A server that gave up
// sooner would end the black-holed handshakes itself (its FIN reaches a
// client whose ClientHello was lost) and turn a client's hang into a
// quick failure.
func httpsTimeout(cap time.Duration) time.Duration { return max(60*time.Second, cap+5*time.Second) }

// startHTTPS serves HTTPS with id's chain on every address given; timeout
// bounds each connection's handshake and request (httpsTimeout).
func startHTTPS(listen listenFunc, addrs []netip.AddrPort, id *tlsIdentity, timeout time.Duration) (*httpsServers, error) {
	s := &httpsServers{srv: &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Connection", "close")
			io.WriteString(w, httpsResponseBody)
		}),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{id.cert},
			NextProtos:   []string{"http/1.1"},
		},
		ReadHeaderTimeout: timeout,
		IdleTimeout:       2 * time.Second,
		// Handshakes that a black hole cuts short are the point of some
		// scenarios, not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}}
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := listen(a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.srv.Serve(tls.NewListener(ln, s.srv.TLSConfig))
		}()
	}
	return s, nil
}

// close stops the listeners and every open connection, and waits.
func (s *httpsServers) close() {
	s.srv.Close()
	s.wg.Wait()
}

// httpRequest is what the Go clients send once connected: one HTTP/1.1
// request, written by hand so that no HTTP client's connection handling
// adds to the time.
func httpRequest(host string) string {
	return "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: happyeyeballs-bench\r\nConnection: close\r\n\r\n"
}

// readFirstByte sends the request on c and waits for the first byte of
// the answer.
func readFirstByte(c net.Conn, host string) error {
	if _, err := io.WriteString(c, httpRequest(host)); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 'H' {
		return errors.New("the answer is not HTTP")
	}
	return nil
}
