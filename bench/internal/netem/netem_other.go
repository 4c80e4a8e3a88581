//go:build !linux

package netem

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"time"
)

// errNotLinux is why nothing here works off Linux: network namespaces and
// TUN devices are Linux features.
var errNotLinux = errors.New("netem: emulated networks need Linux (network namespaces and TUN devices)")

// A Network is a client namespace and a server namespace joined by a
// user-space wire. Off Linux none can be created.
type Network struct{}

// Available reports why a Network cannot be created here: always, off
// Linux.
func Available() error { return errNotLinux }

// New fails off Linux.
func New(Config) (*Network, error) { return nil, errNotLinux }

// CleanStale does nothing off Linux.
func CleanStale() {}

// SetIPv6 fails off Linux.
func (n *Network) SetIPv6(Side, bool) error { return errNotLinux }

// SetTCPMetricsSave fails off Linux.
func (n *Network) SetTCPMetricsSave(Side, bool) error { return errNotLinux }

// FlushTCPMetrics fails off Linux.
func (n *Network) FlushTCPMetrics(Side) error { return errNotLinux }

// TCPMetrics fails off Linux.
func (n *Network) TCPMetrics(Side) ([]string, error) { return nil, errNotLinux }

// WaitTCPSettled fails off Linux.
func (n *Network) WaitTCPSettled(Side, time.Duration) error { return errNotLinux }

// Namespace returns "" off Linux.
func (n *Network) Namespace(Side) string { return "" }

// ClientAddrs returns nil off Linux.
func (n *Network) ClientAddrs() []netip.Addr { return nil }

// ServerAddrs returns nil off Linux.
func (n *Network) ServerAddrs() []netip.Addr { return nil }

// Run fails off Linux.
func (n *Network) Run(Side, func() error) error { return errNotLinux }

// Command returns a command that fails to start off Linux.
func (n *Network) Command(ctx context.Context, _ Side, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Err = errNotLinux
	return cmd
}

// WriteEtc fails off Linux.
func (n *Network) WriteEtc(Side, string, string) error { return errNotLinux }

// SetRules fails off Linux.
func (n *Network) SetRules(uint64, ...Rule) error { return errNotLinux }

// Counters returns nil off Linux.
func (n *Network) Counters() map[netip.Addr]Counters { return nil }

// ResetCounters does nothing off Linux.
func (n *Network) ResetCounters() {}

// Close does nothing off Linux.
func (n *Network) Close() error { return nil }

// ListenDNS fails off Linux.
func (n *Network) ListenDNS(netip.Addr) (*DNSServer, error) { return nil, errNotLinux }
