package dialer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
)

// TLSDialer dials TLS connections with Happy Eyeballs, the way
// crypto/tls.Dialer dials them with a net.Dialer: the TLS handshake runs
// inside the race, on each attempt's connection, and the first attempt to
// complete it wins. A path where TCP connects but TLS does not (a
// middlebox that resets the ClientHello, an IPv6 path-MTU black hole that
// swallows the server's certificate flight) therefore loses the race to
// the next address instead of failing the dial.
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
	return nd.dial(ctx, network, address, func(ctx context.Context, c net.Conn) (net.Conn, error) {
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
	})
}
