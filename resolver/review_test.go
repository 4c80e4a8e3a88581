package resolver

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// TestClient_NXDOMAINForOneTypeOnly: a server that answers NXDOMAIN for
// AAAA while the A record exists (RFC 4074 §4.2) must not cost the A
// answer, on the name as given (the last candidate of the search list).
func TestClient_NXDOMAINForOneTypeOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		broken    uint16 // the type answered NXDOMAIN
		slow      uint16 // the type answered late
		want      Family
		wantAddrs string
	}{
		{"AAAA NXDOMAIN, A late", dns.TypeAAAA, dns.TypeA, IPv4, "192.0.2.1"},
		{"A NXDOMAIN, AAAA late", dns.TypeA, dns.TypeAAAA, IPv6, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
				tc.broken: {Rcode: dns.RcodeNameError},
				tc.slow:   {Delay: 50 * time.Millisecond},
			}})
			c := newClient(t, nil, srv)
			g := resolveAll(t, c, "dual.test")
			wantAddrs(t, g[tc.want], tc.wantAddrs)
		})
	}
}

// TestClient_UnrootedSearch: a Config built by hand with search entries
// without the trailing dot (or with capitals) still searches them.
func TestClient_UnrootedSearch(t *testing.T) {
	zone := dnstest.NewZone(
		"corp.test. 60 IN SOA ns.corp.test. admin.corp.test. 1 60 60 60 30",
		"app.corp.test. 60 IN A 192.0.2.20",
	)
	srv := dnstest.Start(t, zone)
	c := newClient(t, &Config{Ndots: 1, Timeout: time.Second, Attempts: 1, Search: []string{"Corp.Test"}}, srv)
	g := resolveAll(t, c, "app", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.20")
}

// TestClient_ConfigChangeFlushesCache: after resolv.conf names another
// server, answers cached from the old one are not used.
func TestClient_ConfigChangeFlushesCache(t *testing.T) {
	start := func(a string) *dnstest.Server {
		zone := dnstest.NewZone(
			"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
			"n.test. 300 IN A "+a,
		)
		return startOnPort53(t, zone)
	}
	old, fresh := start("192.0.2.1"), start("192.0.2.2")
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(s *dnstest.Server) {
		if err := os.WriteFile(conf, fmt.Appendf(nil, "nameserver %v\n", s.Addr.Addr()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(old)
	c := &Client{ConfPath: conf, HostsPath: "/nonexistent"}
	t.Cleanup(func() { c.state().stopFlights() })
	wantAddrs(t, resolveAll(t, c, "n.test", IPv4)[IPv4], "192.0.2.1")

	write(fresh)
	c.st.confWatch.expire()
	wantAddrs(t, resolveAll(t, c, "n.test", IPv4)[IPv4], "192.0.2.2")
	if fresh.Count(dns.TypeA, "") == 0 {
		t.Error("the new server was never asked")
	}
}
