package dialer_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// With HTTPSRecords set to HTTPSOn, a plain TCP dial asks for the host's
// HTTPS records too (a TLSDialer does by default) and uses them as Happy
// Eyeballs version 3 does: here the A answer is a second late, but the
// HTTPS record's ipv4hint is an early answer, and its port parameter is
// the port dialed.
func ExampleHTTPSMode() {
	addr, stop := greeter("hello from the service")
	defer stop()
	ap := netip.MustParseAddrPort(addr)

	d := &dialer.Dialer{
		HTTPSRecords: dialer.HTTPSOn,
		Resolver: &resolver.Static{
			A: resolver.StaticAnswer{Addrs: []netip.Addr{ap.Addr()}, Delay: time.Second},
			HTTPS: resolver.StaticAnswer{Services: []resolver.Service{{
				Priority: 1, Target: "example.test.", Port: ap.Port(),
				IPv4Hint: []netip.Addr{ap.Addr()},
			}}},
		},
	}
	ctx := dialer.WithTrace(context.Background(), &dialer.Trace{
		HTTPSAttempt: func(i dialer.HTTPSAttemptInfo) {
			fmt.Printf("attempt to service %s: hint %v, port from the record %v\n", i.Target, i.Hint, i.PortChanged)
		},
	})
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", "example.test:443")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	fmt.Println("before the A answer:", time.Since(start) < time.Second)
	// Output:
	// attempt to service example.test: hint true, port from the record true
	// hello from the service
	// before the A answer: true
}
