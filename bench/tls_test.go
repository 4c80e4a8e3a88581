package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// identity makes a TLS identity for one test and removes its file after.
func identity(t *testing.T) *tlsIdentity {
	t.Helper()
	id, err := newTLSIdentity(hostName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(id.close)
	return id
}

// firstWriteConn records the size of the first Write on a connection.
type firstWriteConn struct {
	net.Conn
	first int
}

func (c *firstWriteConn) Write(b []byte) (int, error) {
	if c.first == 0 {
		c.first = len(b)
	}
	return c.Conn.Write(b)
}

// TestTLSIdentity: the chain verifies for the scenario host against the
// CA in the file the clients get, and the server's first flight is
// larger than tlsFlightMin even with the smallest key share (X25519, what
// curl and OpenSSL 3.0 send), so that in the path-MTU black hole its
// first segment is a full-size one.
func TestTLSIdentity(t *testing.T) {
	id := identity(t)
	b, err := os.ReadFile(id.caFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("CA file holds no PEM certificate: %q", b)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	leaf, err := x509.ParseCertificate(id.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: hostName, Roots: pool}); err != nil {
		t.Errorf("leaf does not verify for %s against the CA file: %v", hostName, err)
	}

	// Loopback TCP, not net.Pipe: both ends write after the handshake
	// (tickets, close_notify), which a synchronous pipe would deadlock.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server := &firstWriteConn{Conn: sc}
	done := make(chan error, 1)
	go func() {
		s := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{id.cert}})
		done <- s.Handshake()
		s.Close()
	}()
	c := tls.Client(cc, &tls.Config{ServerName: hostName, RootCAs: pool, CurvePreferences: []tls.CurveID{tls.X25519}})
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("TLS version %x; want 1.3", v)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	t.Logf("server's first flight: %d bytes", server.first)
	if server.first < tlsFlightMin {
		t.Errorf("server's first flight: %d bytes; want at least tlsFlightMin = %d", server.first, tlsFlightMin)
	}
	if tlsFlightMin <= 1500 {
		t.Errorf("tlsFlightMin = %d: a flight that fits one 1500-byte packet would not need a full-size segment", tlsFlightMin)
	}
}

// TestHTTPS serves HTTPS on loopback and times a request through both Go
// TLS clients, as the bench's client process does.
func TestHTTPS(t *testing.T) {
	checkFDs(t)
	id := identity(t)
	var addr string
	srv, err := startHTTPS(func(a netip.AddrPort) (net.Listener, error) {
		ln, err := net.Listen("tcp", a.String())
		if err == nil {
			addr = ln.Addr().String()
		}
		return ln, err
	}, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, id, httpsTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	// The certificate is for hostName; the server is dialed by address.
	config := &tls.Config{RootCAs: id.pool, ServerName: hostName}
	ours := dialer.TLSDialer{Config: config}
	stdlib := tls.Dialer{NetDialer: new(net.Dialer), Config: config}
	for name, dial := range map[string]dialFunc{"ours": ours.DialContext, "net": stdlib.DialContext} {
		r, finished := dialOnce(dial, addr, 5*time.Second, true)
		if !finished || r.Err != "" || r.Addr != "127.0.0.1" || r.MS <= 0 || r.FirstMS < r.MS {
			t.Errorf("%s: %+v, finished %v; want a connection to 127.0.0.1 and a first byte after it", name, r, finished)
		}
	}
	// Without the CA the handshake fails: the clients do verify.
	bad := tls.Dialer{Config: &tls.Config{ServerName: hostName}}
	if r, _ := dialOnce(bad.DialContext, addr, 5*time.Second, true); r.Err == "" || !strings.Contains(r.Err, "certificate") {
		t.Errorf("untrusted server: %+v; want a certificate error", r)
	}
}

func TestScenario_oracleHTTPS(t *testing.T) {
	tests := map[string]struct {
		connect, first time.Duration
		family         string
	}{
		"tls-healthy":           {80 * time.Millisecond, 120 * time.Millisecond, "IPv6"},
		"tls-v6-pmtu-blackhole": {80 * time.Millisecond, 120 * time.Millisecond, "IPv4"},
		"tls-v6-blackhole":      {80 * time.Millisecond, 120 * time.Millisecond, "IPv4"},
		"healthy":               {40 * time.Millisecond, -1, "IPv6"},
	}
	all := scenarios()
	for name, want := range tests {
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == name })
		if i < 0 {
			t.Errorf("scenario %s missing", name)
			continue
		}
		s := all[i]
		got, addr := s.oracle()
		if got != want.connect || familyOf(addr) != want.family || s.oracleFirstByte() != want.first {
			t.Errorf("%s: oracle = %v over %s, first byte %v; want %v over %s, %v", name, got, familyOf(addr), s.oracleFirstByte(), want.connect, want.family, want.first)
		}
	}
	// A path-MTU black hole stops TLS, not TCP: without TLS the path works.
	s := scenario{endpoints: []endpoint{{addr: v6(1), state: listening, delay: rtt20, mtu: pmtuBlackHole}, {addr: v4(1), state: listening, delay: 50 * time.Millisecond}}}
	if got, addr := s.oracle(); got != 40*time.Millisecond || familyOf(addr) != "IPv6" {
		t.Errorf("TCP through a path-MTU black hole: oracle %v over %s; want 40ms over IPv6", got, familyOf(addr))
	}
	s.tls = true
	if got, addr := s.oracle(); got != 200*time.Millisecond || familyOf(addr) != "IPv4" {
		t.Errorf("TLS through a path-MTU black hole: oracle %v over %s; want 200ms over IPv4", got, familyOf(addr))
	}
}

func TestParseCurlTLS(t *testing.T) {
	r, err := parseCurlTLS(`0.083512|0.123901|2001:db8:1::1|0|`)
	if err != nil || r.MS < 83.5 || r.MS > 83.52 || r.FirstMS < 123.9 || r.FirstMS > 123.91 || r.Err != "" || r.family() != "IPv6" {
		t.Errorf("success: %+v, %v", r, err)
	}
	r, err = parseCurlTLS(`0.000000|0.000000|2001:db8:1::1|35|OpenSSL SSL_connect: Connection reset by peer`)
	if err != nil || r.Err != "OpenSSL SSL_connect: Connection reset by peer" || r.MS != 0 {
		t.Errorf("TLS failure: %+v, %v", r, err)
	}
	r, err = parseCurlTLS(`0.083512|0.000000|192.0.2.101|52|`)
	if err != nil || r.MS < 83.5 || r.Err != "first byte: curl exit code 52" {
		t.Errorf("no response: %+v, %v", r, err)
	}
	for _, bad := range []string{"not curl", "0.1|x|1.2.3.4|0|", "0.1|1.2.3.4|0|"} {
		if _, err := parseCurlTLS(bad); err == nil {
			t.Errorf("parseCurlTLS(%q) accepted", bad)
		}
	}
}

func TestClient_forTLS(t *testing.T) {
	for _, c := range clients("/bin/true") {
		name, args, err := c.forTLS("/tmp/ca.pem").command(hostName, tlsPort, 10*time.Second)
		if c.tlsCommand == nil {
			t.Errorf("%s has no HTTPS mode", c.name)
			continue
		}
		if name == "" && err == nil {
			t.Errorf("%s: no program and no error", c.name)
		}
		if err == nil && !slices.Contains(args, "/tmp/ca.pem") {
			t.Errorf("%s: HTTPS arguments %q do not name the CA file", c.name, args)
		}
	}
	none := client{name: "plain", command: func(string, int, time.Duration) (string, []string, error) { return "/bin/true", nil, nil }}
	if _, _, err := none.forTLS("/tmp/ca.pem").command(hostName, tlsPort, time.Second); err == nil {
		t.Error("a client without an HTTPS mode was given one")
	}
}

func TestClientResult_summarizeFirstByte(t *testing.T) {
	c := clientResult{Runs: []run{
		{MS: 80, FirstByteMS: 120},
		{MS: 330, FirstByteMS: 370},
		{MS: 10000, Err: "no connection within 10s", Capped: true},
		{MS: 90, FirstByteMS: 200, Err: "first byte: EOF"},
	}}
	c.summarizeFirstByte(120)
	fb := c.FirstByte
	if fb == nil || fb.OK != 2 || fb.P50 != 120 || fb.Max != 370 || fb.Ratio != 1 || fb.Capped != 1 {
		t.Errorf("summarizeFirstByte = %+v", fb)
	}
	none := clientResult{Runs: []run{{MS: 10000, Err: "x", Capped: true}}}
	none.summarizeFirstByte(120)
	if none.FirstByte.P50 != -1 || none.FirstByte.Ratio != -1 || none.FirstByte.Capped != 1 {
		t.Errorf("all capped: %+v", none.FirstByte)
	}
}

// TestWriteMarkdown_https: HTTPS scenarios get their own table, with
// "fails (cap)" for a client that only ever hit the cap, and the
// time-to-connect table is left out when no plain scenario ran.
func TestWriteMarkdown_https(t *testing.T) {
	r := &report{Mode: "netem", Command: "go run ./bench", Seed: 1, N: 2, CapMS: 10000, Started: time.Unix(0, 0),
		Scenarios: []scenarioResult{{Scenario: "tls-v6-pmtu-blackhole", About: "x", TLS: true, OracleMS: 80, OracleFirstByteMS: 120, OracleFamily: "IPv4", Clients: []clientResult{
			{Client: "ours-cold", Runs: []run{{MS: 334, FirstByteMS: 374, Family: "IPv4", Attempts: 2}, {MS: 336, FirstByteMS: 376, Family: "IPv4", Attempts: 2}}},
			{Client: "net.Dialer", Runs: []run{{MS: 10000, Err: "no connection within 10s", Capped: true, Attempts: 1}, {MS: 10000, Err: "no connection within 10s", Capped: true, Attempts: 1}}},
		}}}}
	for i := range r.Scenarios[0].Clients {
		r.Scenarios[0].Clients[i].summarize(80, true)
		r.Scenarios[0].Clients[i].summarizeFirstByte(120)
	}
	var b bytes.Buffer
	writeMarkdown(&b, r)
	for _, want := range []string{
		"| **tls-v6-pmtu-blackhole** | *oracle* (IPv4) | 80.0 | | | | 120.0 |",
		"| | ours-cold | 334.0 | 335.0 | 336.0 | 4.17 | 374.0 | 375.0 | 376.0 | 3.12 | 2 | 0 | 0 / 2 | 2.0 |",
		"| | net.Dialer | fails (cap) | – | – | – | fails (cap) | – | – | – | 0 | 2 (cap) | 0 / 0 | – |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "| p50 ms | mean ms | p90 ms | max ms |") {
		t.Errorf("time-to-connect table printed without a plain scenario:\n%s", b.String())
	}
}

// TestEmulatedHTTPS runs the path-MTU black hole end to end with the Go
// clients: ours gets through over IPv4 after one Connection Attempt Delay
// (RFC 8305 §5: 250 ms), net.Dialer with crypto/tls hangs on the IPv6
// connection until the cap.
func TestEmulatedHTTPS(t *testing.T) {
	r := runEmulatedTest(t, "ours-cold,net.Dialer", "tls-v6-pmtu-blackhole", options{n: 1, seed: 1, cap: 2 * time.Second})
	if len(r.Scenarios) != 1 || len(r.Scenarios[0].Clients) != 2 {
		t.Fatalf("report: %+v", r)
	}
	ours, stdlib := r.Scenarios[0].Clients[0], r.Scenarios[0].Clients[1]
	if ours.OK != 1 || ours.IPv4 != 1 || ours.P50 < 250+80 || ours.FirstByte == nil || ours.FirstByte.P50 < ours.P50+40 {
		t.Errorf("ours-cold: %+v, first byte %+v; want IPv4 after ≥ 330 ms and a first byte a round trip later", ours, ours.FirstByte)
	}
	if stdlib.OK != 0 || stdlib.FirstByte == nil || stdlib.FirstByte.Capped != 1 {
		t.Errorf("net.Dialer: %+v, first byte %+v; want the cap", stdlib, stdlib.FirstByte)
	}
}
