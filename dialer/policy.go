package dialer

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrAddressRejected is what errors.Is finds in the error of a dial for
// every address it did not try because the address is unusable or the
// Dialer's Policy rejected it (see RejectedError).
var ErrAddressRejected = errors.New("address rejected")

// ErrUnusableAddress is the reason given for an address from DNS that no
// connection can sensibly go to: unspecified (:: or 0.0.0.0, which the
// kernel would take as this host), multicast, limited broadcast, in
// 0.0.0.0/8 ("this network"), or IPv6 link-local without a zone. Such
// addresses are dropped whatever the Policy.
var ErrUnusableAddress = errors.New("unusable destination address")

// RejectedError is an address a dial did not try, and why.
type RejectedError struct {
	Addr netip.AddrPort
	// Err is ErrUnusableAddress or the error the Policy returned.
	Err error
}

// Error returns "ADDR rejected: ERR".
func (e *RejectedError) Error() string { return fmt.Sprintf("%v rejected: %v", e.Addr, e.Err) }

// Unwrap returns ErrAddressRejected and the reason, for errors.Is.
func (e *RejectedError) Unwrap() []error { return []error{ErrAddressRejected, e.Err} }

// usable reports whether a connection to addr, an address from DNS, makes
// sense. It is checked before any Policy.
func usable(addr netip.Addr) bool {
	switch {
	case addr.IsUnspecified(), addr.IsMulticast():
		return false
	case addr.Is4():
		b := addr.As4()
		return b[0] != 0 && addr != limitedBroadcast
	case addr.IsLinkLocalUnicast():
		return addr.Zone() != "" // no interface to reach it through otherwise
	}
	return true
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// vet decides whether the dial may try addr. embedded, when valid, is the
// IPv4 address a NAT64 address carries (RFC 6052), which the Policy judges
// too: the NAT64 would connect to it. fromDNS is false for an IP literal,
// which is dialed as given, as net.Dialer does.
func (s *settings) vet(addr, embedded netip.Addr, fromDNS bool) error {
	if fromDNS && !usable(addr) {
		return ErrUnusableAddress
	}
	if s.d.Policy == nil {
		return nil
	}
	if err := s.d.Policy(s.host, netip.AddrPortFrom(addr, s.port)); err != nil {
		return err
	}
	if embedded.IsValid() {
		if err := s.d.Policy(s.host, netip.AddrPortFrom(embedded, s.port)); err != nil {
			return fmt.Errorf("NAT64 address of %v: %w", embedded, err)
		}
	}
	return nil
}
