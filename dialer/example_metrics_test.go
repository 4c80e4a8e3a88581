package dialer_test

import (
	"context"
	"expvar"
	"fmt"
	"log"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// Metrics counts what Dialers do, by address family. Publish it with
// expvar (it serves as JSON on /debug/vars), read it with Snapshot, or
// feed a monitoring system from the snapshot.
func ExampleMetrics() {
	addr, stop := greeter("hello")
	defer stop()

	var metrics dialer.Metrics
	expvar.Publish("happyeyeballs", &metrics)
	d := &dialer.Dialer{Metrics: &metrics}
	for range 3 {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		c.Close()
	}
	s := metrics.Snapshot()
	fmt.Printf("dials %d, connected %d, over IPv4 %d, IPv6 share %.0f%%\n",
		s.Dials, s.Connected, s.IPv4.AttemptsWon, 100*s.IPv6Share)
	// Output: dials 3, connected 3, over IPv4 3, IPv6 share 0%
}

// A Dialer learns across dials in a History: by default one shared by the
// process; here one of its own, as a multi-tenant service or a test would
// give each tenant. Reset it when the host changes networks.
func ExampleHistory() {
	addr, stop := greeter("hello")
	defer stop()

	hist := new(dialer.History)
	d := &dialer.Dialer{History: hist}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	c.Close()

	hist.Reset() // e.g. on a network change notification
	fmt.Println("learned, then forgotten")
	// Output: learned, then forgotten
}
