// Package simnet is an in-memory network for tests that run in virtual
// time under testing/synctest. Each address has a behaviour (connect after
// a round trip, refuse, black hole, lose SYNs) and every connection
// attempt is logged with its virtual start and end times, so that a test
// can assert "the IPv4 attempt started at exactly 250 ms".
//
// Network.Dial has the signature of dialer.Dialer's DialAttempt hook.
// Connections are net.Pipe pairs: no sockets, no goroutines.
package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// Kind is what an address does with a connection attempt.
type Kind int

const (
	// Unreachable fails the attempt after Behavior.After with
	// ENETUNREACH, as for a destination without a route. It is the
	// behaviour of an address the Network does not know.
	Unreachable Kind = iota
	// Accept completes the handshake after Behavior.After (one round trip).
	Accept
	// Refuse fails the attempt after Behavior.After with ECONNREFUSED (a
	// RST in answer to the SYN).
	Refuse
	// BlackHole drops every SYN: the attempt ends only when its context is
	// done, or with ETIMEDOUT when Linux would give up (SYNTimeout).
	BlackHole
)

// SYNRetransmits are the times, after the first SYN, at which Linux
// retransmits it (initial RTO 1 s, doubling), and SYNTimeout when it gives
// up with the default net.ipv4.tcp_syn_retries = 6.
var SYNRetransmits = []time.Duration{1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second, 63 * time.Second}

// SYNTimeout is when Linux gives up on a SYN that is never answered.
const SYNTimeout = 127 * time.Second

// Behavior is how one address answers connection attempts.
type Behavior struct {
	Kind Kind
	// After is the round-trip time for Accept and Refuse, and the time to
	// fail for Unreachable.
	After time.Duration
	// LostSYNs is, for Accept, how many SYNs are lost before one gets
	// through: the handshake then completes at SYNRetransmits[LostSYNs-1]
	// plus After. More losses than retransmits make it a BlackHole.
	LostSYNs int
}

// Accepting returns a Behavior that connects after rtt.
func Accepting(rtt time.Duration) Behavior { return Behavior{Kind: Accept, After: rtt} }

// Refusing returns a Behavior that refuses after rtt.
func Refusing(rtt time.Duration) Behavior { return Behavior{Kind: Refuse, After: rtt} }

// BlackHoled returns a Behavior that never answers.
func BlackHoled() Behavior { return Behavior{Kind: BlackHole} }

// Lossy returns a Behavior that loses the first lost SYNs, then connects
// after rtt.
func Lossy(rtt time.Duration, lost int) Behavior {
	return Behavior{Kind: Accept, After: rtt, LostSYNs: lost}
}

// Attempt is the log entry of one connection attempt.
type Attempt struct {
	Addr  netip.AddrPort
	Start time.Time
	End   time.Time // zero while the attempt runs
	Err   error     // nil when it connected
	Conn  *Conn     // the client end when it connected
}

// Network is an in-memory network. The zero value has no addresses: every
// attempt fails as Unreachable. It is safe for concurrent use.
type Network struct {
	mu       sync.Mutex
	behavior map[netip.Addr]Behavior
	attempts []*Attempt
}

// Set makes addr behave as b (the port is ignored).
func (n *Network) Set(addr netip.Addr, b Behavior) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.behavior == nil {
		n.behavior = make(map[netip.Addr]Behavior)
	}
	n.behavior[addr.Unmap()] = b
}

// Attempts returns a copy of the attempt log, in start order.
func (n *Network) Attempts() []Attempt {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Attempt, len(n.attempts))
	for i, a := range n.attempts {
		out[i] = *a
	}
	return out
}

// Dial makes one connection attempt to addr. It has the signature of
// dialer.Dialer.DialAttempt. Errors are *net.OpError values shaped like
// the kernel's: errors.Is(err, syscall.ECONNREFUSED) holds for a refusal.
func (n *Network) Dial(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error) {
	n.mu.Lock()
	b, ok := n.behavior[addr.Addr().Unmap()]
	if !ok {
		b = Behavior{Kind: Unreachable}
	}
	a := &Attempt{Addr: addr, Start: time.Now()}
	n.attempts = append(n.attempts, a)
	n.mu.Unlock()

	c, err := n.connect(ctx, network, addr, b)
	n.mu.Lock()
	a.End, a.Err, a.Conn = time.Now(), err, c
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (n *Network) connect(ctx context.Context, network string, addr netip.AddrPort, b Behavior) (*Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(addr), Err: err}
	}
	if ctx.Err() != nil {
		// Like net.Dialer: a context already done sends no SYN.
		return nil, opErr(ctxErr(ctx))
	}
	wait := b.After
	var final error
	switch b.Kind {
	case Accept:
		if b.LostSYNs > len(SYNRetransmits) {
			wait, final = SYNTimeout, os.NewSyscallError("connect", syscall.ETIMEDOUT)
		} else if b.LostSYNs > 0 {
			wait += SYNRetransmits[b.LostSYNs-1]
		}
	case Refuse:
		final = os.NewSyscallError("connect", syscall.ECONNREFUSED)
	case BlackHole:
		wait, final = SYNTimeout, os.NewSyscallError("connect", syscall.ETIMEDOUT)
	default:
		final = os.NewSyscallError("connect", syscall.ENETUNREACH)
	}
	if wait > 0 {
		// (No zero-length timer: selecting on a timer that expired before
		// anyone waited on it runs it on the system stack, which under the
		// race detector in a synctest bubble can crash, golang/go#78156.)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			// An answer due at the very instant the attempt is cancelled
			// has still arrived: the timer wins the tie, so a test of a
			// photo finish sees the connection the dialer must close.
			select {
			case <-t.C:
			default:
				return nil, opErr(ctxErr(ctx))
			}
		case <-t.C:
		}
	}
	if final != nil {
		return nil, opErr(final)
	}
	client, server := net.Pipe()
	server.Close() // the far end is not used; reads on client see EOF
	return &Conn{Conn: client, local: localFor(addr), remote: net.TCPAddrFromAddrPort(addr)}, nil
}

// ctxErr maps a context's error as net does: a deadline is a timeout that
// is also context.DeadlineExceeded.
func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError{}
	}
	return canceledError{}
}

// canceledError is net's error for a cancelled dial.
type canceledError struct{}

func (canceledError) Error() string        { return "operation was canceled" }
func (canceledError) Is(target error) bool { return target == context.Canceled }

type timeoutError struct{}

func (timeoutError) Error() string        { return "i/o timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Temporary() bool      { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

func localFor(remote netip.AddrPort) *net.TCPAddr {
	if remote.Addr().Is4() {
		return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 100), Port: 40000}
	}
	return &net.TCPAddr{IP: net.ParseIP("2001:db8::100"), Port: 40000}
}

// Conn is the client end of a simulated connection. It records whether it
// was closed, so tests can check that losing connections are.
type Conn struct {
	net.Conn
	local, remote *net.TCPAddr
	mu            sync.Mutex
	closed        bool
}

// LocalAddr returns a documentation address of the remote's family.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the address dialed.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Close closes the connection and records that it was closed.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Conn.Close()
}

// Closed reports whether Close was called.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// String describes the attempt for test failure messages.
func (a Attempt) String() string {
	res := "connected"
	if a.Err != nil {
		res = a.Err.Error()
	} else if a.End.IsZero() {
		res = "running"
	}
	return fmt.Sprintf("%v@%v: %s", a.Addr, a.Start.Format("15:04:05.000"), res)
}

// SourceAll is a dialer.Dialer.SourceAddr hook for simulated networks:
// every destination is reachable from a global address of its own family
// (2001:db8::100 or 192.0.2.100), so RFC 6724 prefers IPv6.
func SourceAll(dst netip.Addr) (netip.Addr, bool) {
	if dst.Unmap().Is4() {
		return netip.MustParseAddr("192.0.2.100"), true
	}
	return netip.MustParseAddr("2001:db8::100"), true
}
