package rfc6724_test

import (
	"fmt"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
)

// A host with global IPv6 and IPv4 but no route to the ULA: IPv6 global
// first (precedence 40), then IPv4 (35), the unreachable ULA last. The
// IPv4 addresses keep their DNS order.
func ExampleSort() {
	dsts := []netip.Addr{
		netip.MustParseAddr("198.51.100.7"),
		netip.MustParseAddr("fd00::1"),
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("2001:db8::1"),
	}
	src := func(dst netip.Addr) (netip.Addr, bool) {
		switch {
		case dst.Is4():
			return netip.MustParseAddr("192.0.2.100"), true
		case netip.MustParsePrefix("2000::/3").Contains(dst):
			return netip.MustParseAddr("2001:db8::100"), true
		}
		return netip.Addr{}, false
	}
	rfc6724.Sort(dsts, src)
	fmt.Println(dsts)
	// Output: [2001:db8::1 198.51.100.7 192.0.2.1 fd00::1]
}
