//go:build linux

package dialer

// Encrypted Client Hello from HTTPS records (RFC 9460 ech SvcParam, HEv3
// §5.1) through a TLSDialer, against a real crypto/tls server with
// EncryptedClientHelloKeys on 127.0.0.1.

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// append16 appends b with a two-byte length prefix.
func append16(out, b []byte) []byte {
	out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
	return append(out, b...)
}

// testECHConfig marshals one ECHConfig (version 0xfe0d) for an X25519
// key, HKDF-SHA256 and AES-128-GCM, as the ech SvcParam carries it
// inside an ECHConfigList (see testECHList).
func testECHConfig(id uint8, pub []byte, publicName string) []byte {
	c := []byte{id, 0x00, 0x20} // config_id, DHKEM(X25519, HKDF-SHA256)
	c = append16(c, pub)
	c = append16(c, []byte{0x00, 0x01, 0x00, 0x01}) // HKDF-SHA256, AES-128-GCM
	c = append(c, 32, byte(len(publicName)))        // maximum_name_length, public_name
	c = append(c, publicName...)
	c = append(c, 0, 0) // no extensions
	return append16(binary.BigEndian.AppendUint16(nil, 0xfe0d), c)
}

func testECHList(configs ...[]byte) []byte {
	var all []byte
	for _, c := range configs {
		all = append(all, c...)
	}
	return append16(nil, all)
}

// echServer is a TLS 1.3 server on 127.0.0.1 for "secret.example" behind
// the ECH public name "public.example".
type echServer struct {
	addr   netip.AddrPort
	config []byte      // the ECHConfigList it accepts
	client *tls.Config // a client configuration that trusts it

	mu    sync.Mutex
	seen  []tls.ConnectionState // of each completed handshake
	conns []net.Conn
}

func startECHServer(t *testing.T) *echServer {
	t.Helper()
	cert, pool := selfSigned(t, "secret.example", "public.example")
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	cfg := testECHConfig(7, key.PublicKey().Bytes(), "public.example")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{
			{Config: cfg, PrivateKey: key.Bytes(), SendAsRetry: true},
		},
	})
	require.NoError(t, err)
	s := &echServer{
		addr:   netip.MustParseAddrPort(ln.Addr().String()),
		config: testECHList(cfg),
		client: &tls.Config{RootCAs: pool},
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				tc := c.(*tls.Conn)
				if tc.Handshake() == nil {
					s.mu.Lock()
					s.seen = append(s.seen, tc.ConnectionState())
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *echServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *echServer) handshakes() []tls.ConnectionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tls.ConnectionState(nil), s.seen...)
}

// TestTLSDialer_ECH covers ECH from DNS: accepted; rejected with retry
// configurations and retried once (the configuration in DNS is stale);
// unusable (malformed) and not used; absent and not set. The service's
// port parameter is dialed while the server name stays the host.
func TestTLSDialer_ECH(t *testing.T) {
	srv := startECHServer(t)
	otherKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	stale := testECHList(testECHConfig(9, otherKey.PublicKey().Bytes(), "public.example"))

	for _, tc := range []struct {
		name                    string
		ech                     []byte
		wantAccepted, wantRetry bool
		wantUnusable            bool
		wantEvents, wantConns   int
	}{
		{name: "RFC9460/ech/the configuration in DNS is accepted", ech: srv.config, wantAccepted: true, wantEvents: 1, wantConns: 1},
		{name: "ECH/6.1.6/a stale configuration in DNS: rejected, retried once with the retry configuration", ech: stale, wantAccepted: true, wantRetry: true, wantEvents: 1, wantConns: 2},
		{name: "ECH/malformed configuration in DNS: TLS without ECH", ech: []byte{0, 3, 1, 2, 3}, wantUnusable: true, wantEvents: 1, wantConns: 1},
		{name: "RFC9460/no ech parameter: ECH not set", ech: nil, wantEvents: 0, wantConns: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, conns := len(srv.handshakes()), srv.accepted()
			d := &TLSDialer{
				NetDialer: &Dialer{
					Resolver: &resolver.Static{
						A: resolver.StaticAnswer{Addrs: []netip.Addr{srv.addr.Addr()}},
						HTTPS: resolver.StaticAnswer{Services: []resolver.Service{{
							Priority: 1, Target: "secret.example.", Port: srv.addr.Port(), ECH: tc.ech,
						}}},
					},
					DisableHistory: true,
					// Port 1 and no HTTP protocol in ALPN: not HTTPS to
					// HTTPSAuto.
					HTTPSRecords: HTTPSOn,
				},
				Config: srv.client,
			}
			var mu sync.Mutex
			var events []ECHInfo
			var attempts []HTTPSAttemptInfo
			ctx := WithTrace(t.Context(), &Trace{
				ECH:          func(i ECHInfo) { mu.Lock(); events = append(events, i); mu.Unlock() },
				HTTPSAttempt: func(i HTTPSAttemptInfo) { mu.Lock(); attempts = append(attempts, i); mu.Unlock() },
			})
			// Port 1 is what the name says; the record's port is dialed.
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("secret.example", strconv.Itoa(1)))
			require.NoError(t, err)
			defer c.Close()
			cs := c.(*tls.Conn).ConnectionState()
			if cs.ECHAccepted != tc.wantAccepted {
				t.Errorf("ECHAccepted = %v; want %v", cs.ECHAccepted, tc.wantAccepted)
			}
			if cs.ServerName != "secret.example" {
				t.Errorf("ServerName = %q; want the dialed host", cs.ServerName)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) != tc.wantEvents {
				t.Fatalf("ECH events = %+v; want %d", events, tc.wantEvents)
			}
			if len(events) > 0 {
				e := events[0]
				if e.Accepted != tc.wantAccepted || e.Retried != tc.wantRetry || e.Unusable != tc.wantUnusable {
					t.Errorf("ECH event = %+v; want accepted %v retried %v unusable %v", e, tc.wantAccepted, tc.wantRetry, tc.wantUnusable)
				}
			}
			if len(attempts) != 1 || !attempts[0].PortChanged || attempts[0].ECH != (tc.ech != nil) {
				t.Errorf("HTTPS attempts = %+v; want one, port changed, ECH %v", attempts, tc.ech != nil)
			}
			// The server's view: a connection per handshake the client
			// began (the rejected one used the public name), and a
			// completed one for the dialed name.
			var hs []tls.ConnectionState
			require.Eventually(t, func() bool {
				hs = srv.handshakes()[before:]
				return slices.ContainsFunc(hs, func(s tls.ConnectionState) bool {
					return s.ECHAccepted == tc.wantAccepted && s.ServerName == "secret.example"
				})
			}, 5e9, 1e6, "server handshakes: %+v", hs)
			if n := srv.accepted() - conns; n != tc.wantConns {
				t.Errorf("server accepted %d connections; want %d", n, tc.wantConns)
			}
		})
	}
}

// TestTLSDialer_HTTPSTarget covers RFC 9460 §2.3 and HEv3 §5: a service
// whose TargetName is another name is dialed at that name's address and
// the service's port, while TLS still names (and verifies) the host.
func TestTLSDialer_HTTPSTarget(t *testing.T) {
	srv := startECHServer(t)
	res := &svcResolver{hosts: map[string]*resolver.Static{
		"secret.example": {HTTPS: resolver.StaticAnswer{Services: []resolver.Service{{
			Priority: 1, Target: "pool.cdn.example.", Port: srv.addr.Port(), ALPN: []string{"h2"},
		}}}},
		"pool.cdn.example": {A: resolver.StaticAnswer{Addrs: []netip.Addr{srv.addr.Addr()}}},
	}}
	config := srv.client.Clone()
	config.NextProtos = []string{"h2", "http/1.1"}
	d := &TLSDialer{NetDialer: &Dialer{Resolver: res, DisableHistory: true}, Config: config}
	c, err := d.DialContext(t.Context(), "tcp", "secret.example:443")
	require.NoError(t, err)
	defer c.Close()
	cs := c.(*tls.Conn).ConnectionState()
	if cs.ServerName != "secret.example" || c.RemoteAddr().String() != srv.addr.String() {
		t.Errorf("connected to %v with ServerName %q; want %v, secret.example", c.RemoteAddr(), cs.ServerName, srv.addr)
	}
	want := []string{"secret.example HTTPS", "secret.example AAAA", "secret.example A", "pool.cdn.example. AAAA", "pool.cdn.example. A"}
	if got := res.Queries(); !slices.Equal(got, want) {
		t.Errorf("queries = %q; want %q", got, want)
	}
}
