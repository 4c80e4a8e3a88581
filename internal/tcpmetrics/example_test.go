package tcpmetrics_test

import (
	"fmt"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/tcpmetrics"
)

// The RTT the kernel remembers for a destination, if any, as a dialer
// would ask for it: from memory, without waiting.
func ExampleCache() {
	var cache tcpmetrics.Cache               // usually one per process or Dialer
	cache.Lookup(netip.Addr{}, netip.Addr{}) // start the first read early

	// Later, when dialing:
	dst := netip.MustParseAddr("2001:db8::1")
	if e, ok := cache.Lookup(netip.Addr{}, dst); ok && e.RTT > 0 {
		fmt.Printf("%v: RTT %v ± %v, %v ago\n", dst, e.RTT, e.RTTVar, e.Age)
	}
}

func ExampleDump() {
	entries, err := tcpmetrics.Dump()
	if err != nil {
		fmt.Println(err) // errors.ErrUnsupported off Linux
		return
	}
	for _, e := range entries {
		fmt.Printf("%v from %v: RTT %v ± %v, %v ago\n", e.Dst, e.Src, e.RTT, e.RTTVar, e.Age)
	}
}
