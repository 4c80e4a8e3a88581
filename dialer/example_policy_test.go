package dialer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// An HTTP client for URLs an untrusted party chose (webhooks, link
// previews): PublicOnly keeps every request off loopback, private,
// link-local and other non-public addresses, whatever the name resolves
// to, while the dial keeps Happy Eyeballs across the public ones.
func ExamplePublicOnly() {
	// Here a name that resolves to a cloud metadata address and a private
	// IPv6 one, as a hostile DNS server would make it.
	d := &dialer.Dialer{
		Policy: dialer.PublicOnly,
		Resolver: &resolver.Static{
			AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("fd00::1")}},
			A:    resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("169.254.169.254")}},
		},
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	tr.Proxy = nil // a proxy would make the connection instead, unvetted
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	_, err := client.Get("http://hooks.example/notify")
	fmt.Println(errors.Is(err, dialer.ErrAddressRejected))
	var de *dialer.DialError
	if errors.As(err, &de) {
		for _, r := range de.Rejected {
			fmt.Println(r)
		}
	}
	// Output:
	// true
	// [fd00::1]:80 rejected: fd00::1 is not a public address: unique local (RFC 4193)
	// 169.254.169.254:80 rejected: 169.254.169.254 is not a public address: link-local (RFC 3927)
}

// A Policy of one's own: here, only the ports and networks a service is
// allowed to reach. A rejected address gets no attempt and the others are
// raced as usual.
func ExampleDialer_Policy() {
	allowed := netip.MustParsePrefix("192.0.2.0/24")
	d := &dialer.Dialer{
		Policy: func(host string, addr netip.AddrPort) error {
			if addr.Port() != 5432 || !allowed.Contains(addr.Addr()) {
				return fmt.Errorf("%s: %v is outside the database network", host, addr)
			}
			return nil
		},
		Resolver: &resolver.Static{
			A: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.7")}},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := d.DialContext(ctx, "tcp", "db.example:5432")
	fmt.Println(err)
	// Output:
	// dial tcp: db.example:5432: every address rejected: 198.51.100.7:5432 rejected: db.example: 198.51.100.7:5432 is outside the database network
}
