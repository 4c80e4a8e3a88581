package netem

import "net/netip"

// Side names one of the two namespaces.
type Side int

const (
	// Client is the namespace where clients run. Its default routes, IPv4
	// and IPv6, point into the wire.
	Client Side = iota
	// Server is the namespace that holds the servers' addresses.
	Server
)

// String returns "client" or "server".
func (s Side) String() string {
	if s == Server {
		return "server"
	}
	return "client"
}

// Defaults for Config.Client.
var (
	// ClientIPv4 is the client namespace's default IPv4 address.
	ClientIPv4 = netip.MustParseAddr("192.0.2.1")
	// ClientIPv6 is the client namespace's default IPv6 address.
	ClientIPv6 = netip.MustParseAddr("2001:db8::1")
)

// Config describes a Network. Only Server is required.
type Config struct {
	// Client lists the client namespace's addresses. Empty means
	// ClientIPv4 and ClientIPv6. All must be documentation addresses.
	Client []netip.Addr
	// Server lists the server namespace's addresses: where servers listen
	// and DNS answers point. All must be documentation addresses, none a
	// client address.
	Server []netip.Addr
	// Seed seeds the wire's loss and jitter generator until the first
	// SetRules.
	Seed uint64
}
