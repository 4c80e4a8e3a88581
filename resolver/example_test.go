package resolver_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// A Client pointed at its own DNS server: each family's answer comes out of
// the channel as soon as it is known. (The server here is an in-process one
// on loopback; the zero Client reads /etc/resolv.conf instead.)
func ExampleClient() {
	zone := dnstest.NewZone(
		"www.example.test. 300 IN A 192.0.2.10",
		"www.example.test. 300 IN AAAA 2001:db8::10",
	)
	srv, err := dnstest.New(netip.MustParseAddr("127.0.0.1"), zone)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	c := &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{srv.Addr}},
		HostsPath: os.DevNull,
	}
	var answers []string
	for a := range c.Resolve(context.Background(), "www.example.test", resolver.IPv6, resolver.IPv4) {
		answers = append(answers, fmt.Sprintf("%v %v ttl=%v", a.Family, a.Addrs, a.TTL))
	}
	slices.Sort(answers) // arrival order varies
	for _, a := range answers {
		fmt.Println(a)
	}
	// Output:
	// IPv4 [192.0.2.10] ttl=5m0s
	// IPv6 [2001:db8::10] ttl=5m0s
}

// Names in /etc/hosts (here, a file of our own) are answered without DNS,
// and a family the file does not list is answered "not found".
func ExampleClient_hosts() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("192.0.2.7 build.internal build\n"), 0o644)

	c := &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")}},
		HostsPath: hosts,
	}
	for a := range c.Resolve(context.Background(), "BUILD", resolver.IPv4) {
		fmt.Println(a.Family, a.Addrs)
	}
	for a := range c.Resolve(context.Background(), "build.internal", resolver.IPv6) {
		fmt.Println(a.Family, a.Err)
	}
	// Output:
	// IPv4 [192.0.2.7]
	// IPv6 lookup build.internal: no such host
}

// System asks the Go standard library (nsswitch.conf, cgo when Go would use
// it), one family at a time. It has no TTLs and no cache of its own. Here
// Go's resolver is sent to an in-process DNS server on loopback.
func ExampleSystem() {
	zone := dnstest.NewZone(
		"www.example.test. 300 IN A 192.0.2.10",
		"www.example.test. 300 IN AAAA 2001:db8::10",
	)
	srv, err := dnstest.New(netip.MustParseAddr("127.0.0.1"), zone)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	sys := &resolver.System{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr.String())
		},
	}}
	var answers []string
	for a := range sys.Resolve(context.Background(), "www.example.test.", resolver.IPv6, resolver.IPv4) {
		answers = append(answers, fmt.Sprintf("%v %v ttl=%v", a.Family, a.Addrs, a.TTL))
	}
	slices.Sort(answers)
	for _, a := range answers {
		fmt.Println(a)
	}
	// Output:
	// IPv4 [192.0.2.10] ttl=0s
	// IPv6 [2001:db8::10] ttl=0s
}

// ParseConfig reads resolv.conf content, here a Kubernetes pod's.
func ExampleParseConfig() {
	conf := resolver.ParseConfig([]byte(`search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
`))
	fmt.Println(conf.Servers, conf.Search, conf.Ndots, conf.Timeout, conf.Attempts)
	// Output:
	// [10.96.0.10:53] [default.svc.cluster.local. svc.cluster.local. cluster.local.] 5 5s 2
}

// Static gives fixed answers, each family after its own delay: here the
// AAAA answer is late, and the A answer is handed over first, as soon as
// it is ready, without waiting for it.
func ExampleStatic() {
	r := &resolver.Static{
		AAAA: resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}, Delay: 20 * time.Millisecond},
		A:    resolver.StaticAnswer{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Delay: 5 * time.Millisecond},
	}
	for a := range r.Resolve(context.Background(), "example.com", resolver.IPv6, resolver.IPv4) {
		fmt.Println(a.Family, a.Addrs)
	}
	// Output:
	// IPv4 [192.0.2.1]
	// IPv6 [2001:db8::1]
}

// Asking for the HTTPS pseudo-family as well sends an HTTPS query (RFC
// 9460) after the AAAA and A queries; its Answer carries the services of
// the name's HTTPS records, AliasMode records followed, instead of
// addresses.
func ExampleService() {
	zone := dnstest.NewZone(
		"example.test. 300 IN HTTPS 0 cdn.example.net.", // AliasMode, at the apex
		"example.test. 300 IN A 192.0.2.10",
		"cdn.example.net. 300 IN HTTPS 1 . alpn=h3,h2 ipv4hint=192.0.2.20 ipv6hint=2001:db8::20",
		"cdn.example.net. 300 IN HTTPS 2 backup.example.net. alpn=h2 port=8443",
	)
	srv, err := dnstest.New(netip.MustParseAddr("127.0.0.1"), zone)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	c := &resolver.Client{
		Config:    &resolver.Config{Servers: []netip.AddrPort{srv.Addr}},
		HostsPath: os.DevNull,
	}
	defer c.Close()

	var answers []string
	for a := range c.Resolve(context.Background(), "example.test", resolver.IPv4, resolver.HTTPS) {
		if a.Family != resolver.HTTPS {
			answers = append(answers, fmt.Sprintf("%v %v", a.Family, a.Addrs))
			continue
		}
		for _, s := range a.Services {
			answers = append(answers, fmt.Sprintf("HTTPS %d %s alpn=%v port=%d hints=%v %v",
				s.Priority, s.Target, s.ALPN, s.Port, s.IPv4Hint, s.IPv6Hint))
		}
	}
	slices.Sort(answers) // arrival order varies
	for _, a := range answers {
		fmt.Println(a)
	}
	// Output:
	// HTTPS 1 cdn.example.net. alpn=[h3 h2] port=0 hints=[192.0.2.20] [2001:db8::20]
	// HTTPS 2 backup.example.net. alpn=[h2] port=8443 hints=[] []
	// IPv4 [192.0.2.10]
}

// HTTPSQueryName is the name to ask for the HTTPS records of a service
// (RFC 9460 §9.1): the host itself on port 443, a port-prefixed name on
// any other port.
func ExampleHTTPSQueryName() {
	fmt.Println(resolver.HTTPSQueryName("example.com", 443))
	fmt.Println(resolver.HTTPSQueryName("example.com", 8443))
	// Output:
	// example.com
	// _8443._https.example.com
}
