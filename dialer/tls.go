package dialer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// TLSDialer dials TLS connections with Happy Eyeballs, the way
// crypto/tls.Dialer dials them with a net.Dialer: the TLS handshake runs
// inside the race, on each attempt's connection, and the first attempt to
// complete it wins. A path where TCP connects but TLS does not (a
// middlebox that resets the ClientHello, an IPv6 path-MTU black hole that
// swallows the server's certificate flight) therefore loses the race to
// the next address instead of failing the dial.
//
// A TLSDialer dialing HTTPS (port 443, or an HTTP protocol in
// Config.NextProtos) asks for the host's HTTPS records (RFC 9460) with
// its AAAA and A records, unless its Dialer's HTTPSRecords is HTTPSOff
// (HTTPSOn asks for any TLS dial), and dials
// as Happy Eyeballs version 3 does (see HTTPSMode and
// Dialer.HTTPSRecords): services are ordered by Config.NextProtos ("h2"
// before "http/1.1" when listed so; no NextProtos means "http/1.1"), and
// a service's Encrypted Client Hello configuration goes to the attempt's
// tls.Config (a clone) unless Config sets EncryptedClientHelloConfigList
// itself; a rejection with retry configurations is retried once, on a
// new connection to the same address. The server name stays the dialed
// host whatever the service's TargetName.
//
// The zero value is ready to use: a zero Dialer and a zero tls.Config. A
// TLSDialer is safe for concurrent use and is never modified by its
// methods.
//
// DialContext fits http.Transport.DialTLSContext (set NextProtos to
// []string{"h2", "http/1.1"} so that HTTP/2 is negotiated) and
// go-redis's Options.Dialer for "rediss" servers.
type TLSDialer struct {
	// NetDialer is the Dialer that races the connections; nil means a
	// zero Dialer. Its Handshake, when set, runs on each attempt's
	// connection before the TLS handshake.
	NetDialer *Dialer

	// Config is the TLS configuration for new connections, as for
	// crypto/tls.Dialer: nil means the zero configuration. When its
	// ServerName is empty, the host of the dialed address is used (a
	// copy of Config is made; Config itself is never modified).
	Config *tls.Config
}

// Compile-time check that TLSDialer fits where crypto/tls.Dialer does.
var _ interface {
	Dial(network, address string) (net.Conn, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
} = (*TLSDialer)(nil)

// Dial connects to address on the named network and completes a TLS
// handshake. It is DialContext with context.Background.
func (d *TLSDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on the named network ("tcp", "tcp4" or
// "tcp6") and completes a TLS handshake, both within ctx, and returns a
// *tls.Conn. Once it returns, ctx no longer affects the connection.
//
// Errors are those of Dialer.DialContext: a failed TLS handshake is the
// cause of its attempt in the *DialError, reachable with errors.As (for
// example *tls.CertificateVerificationError).
func (d *TLSDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network + " (TLS needs tcp, tcp4 or tcp6)")}
	}
	nd := d.NetDialer
	if nd == nil {
		nd = new(Dialer)
	}
	config := d.Config
	if config == nil {
		config = new(tls.Config)
	}
	if config.ServerName == "" {
		if host, _, err := net.SplitHostPort(address); err == nil {
			config = config.Clone()
			config.ServerName = host
		}
		// A malformed address fails in the dial, before any handshake.
	}
	inner := nd.Handshake
	handshake := func(ctx context.Context, c net.Conn, config *tls.Config) (*tls.Conn, error) {
		if inner != nil {
			hc, err := inner(ctx, c)
			if err != nil {
				return nil, err
			}
			if hc == nil {
				return nil, errors.New("handshake returned no connection")
			}
			c = hc
		}
		tc := tls.Client(c, config)
		if err := tc.HandshakeContext(ctx); err != nil {
			tc.Close()
			return nil, err
		}
		return tc, nil
	}
	return nd.dial(ctx, network, address, func(ctx context.Context, c net.Conn) (net.Conn, error) {
		ep, _ := ctx.Value(endpointKey{}).(*endpoint)
		if ep == nil || config.EncryptedClientHelloConfigList != nil {
			// No ECH from DNS, or the caller's own configuration, which
			// wins.
			return handshake(ctx, c, config)
		}
		return handshakeECH(ctx, c, config, ep, handshake)
	}, &tlsDial{nextProtos: config.NextProtos})
}

// handshakeECH runs the TLS handshake of an attempt to a service that
// publishes an Encrypted Client Hello configuration (the ech SvcParam):
// on a clone of config with EncryptedClientHelloConfigList set. When the
// server rejects ECH and sends retry configurations, it connects again
// to the same address and retries once with them (RFC 9849 §6.1.6: the
// rejection is authenticated with the public name's certificate). A
// configuration crypto/tls cannot use (malformed, or no supported
// suite) is not used: the handshake runs without ECH, as for a service
// that publishes none. The server name stays config's, the dialed host.
func handshakeECH(ctx context.Context, c net.Conn, config *tls.Config, ep *endpoint, handshake func(context.Context, net.Conn, *tls.Config) (*tls.Conn, error)) (net.Conn, error) {
	echConfig := config.Clone()
	echConfig.EncryptedClientHelloConfigList = ep.ech
	if err := usableECH(echConfig); err != nil {
		ep.report(ECHInfo{Err: err, Unusable: true})
		return handshake(ctx, c, config)
	}
	tc, err := handshake(ctx, c, echConfig)
	var rej *tls.ECHRejectionError
	if !errors.As(err, &rej) || len(rej.RetryConfigList) == 0 {
		info := ECHInfo{Err: err}
		if err == nil {
			info.Accepted = tc.ConnectionState().ECHAccepted
		}
		ep.report(info)
		if err != nil {
			return nil, err
		}
		return tc, nil
	}
	// Rejected with retry configurations: once more, on a new connection.
	c, err = ep.redial(ctx)
	if err != nil {
		ep.report(ECHInfo{Retried: true, Err: err})
		return nil, err
	}
	retry := config.Clone()
	retry.EncryptedClientHelloConfigList = rej.RetryConfigList
	tc, err = handshake(ctx, c, retry)
	info := ECHInfo{Retried: true, Err: err}
	if err == nil {
		info.Accepted = tc.ConnectionState().ECHAccepted
	}
	ep.report(info)
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// errProbe ends usableECH's handshake at its first write.
var errProbe = errors.New("probe: the ClientHello was built")

// probeConn is a connection that fails every read and write with errProbe.
type probeConn struct{ net.Conn }

func (probeConn) Write([]byte) (int, error)        { return 0, errProbe }
func (probeConn) Read([]byte) (int, error)         { return 0, errProbe }
func (probeConn) Close() error                     { return nil }
func (probeConn) SetDeadline(time.Time) error      { return nil }
func (probeConn) SetReadDeadline(time.Time) error  { return nil }
func (probeConn) SetWriteDeadline(time.Time) error { return nil }

// usableECH reports, without sending anything, whether crypto/tls can
// build a ClientHello with config's ECH configuration list: nil when it
// can, its error (a malformed list, none with a supported suite, a
// MaxVersion below TLS 1.3) when it cannot.
func usableECH(config *tls.Config) error {
	err := tls.Client(probeConn{}, config).Handshake()
	if errors.Is(err, errProbe) {
		return nil
	}
	return err
}
