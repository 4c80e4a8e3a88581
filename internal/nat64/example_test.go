package nat64_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/nat64"
)

// On an IPv6-only network, an IPv4 literal is reached through the NAT64 by
// embedding it in the network's Pref64::/n.
func ExampleSynthesize() {
	v4 := netip.MustParseAddr("192.0.2.33")
	for _, s := range []string{"64:ff9b::/96", "2001:db8:122:344::/64", "2001:db8:100::/40"} {
		v6, err := nat64.Synthesize(netip.MustParsePrefix(s), v4)
		if err != nil {
			fmt.Println(err)
			continue
		}
		back, _ := nat64.Extract(netip.MustParsePrefix(s), v6)
		fmt.Println(s, v6, back)
	}

	// RFC 6052 §3.1: the well-known prefix carries global addresses only.
	_, err := nat64.Synthesize(nat64.WellKnownPrefix, netip.MustParseAddr("10.1.2.3"))
	fmt.Println(errors.Is(err, nat64.ErrNonGlobal))
	// Output:
	// 64:ff9b::/96 64:ff9b::c000:221 192.0.2.33
	// 2001:db8:122:344::/64 2001:db8:122:344:c0:2:2100:0 192.0.2.33
	// 2001:db8:100::/40 2001:db8:1c0:2:21:: 192.0.2.33
	// true
}

// The AAAA answer for ipv4only.arpa reveals the prefix a DNS64 synthesizes
// with.
func ExamplePrefixesFromAnswer() {
	answer := []netip.Addr{
		netip.MustParseAddr("2001:db8:122:344:c0:0:aa00:0"), // 192.0.0.170 at /64
		netip.MustParseAddr("2001:db8:122:344:c0:0:ab00:0"), // 192.0.0.171 at /64
	}
	fmt.Println(nat64.PrefixesFromAnswer(answer))
	// Output: [2001:db8:122:344::/64]
}
