package resolver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// TestClient_FromFiles runs the whole file-driven path, as the zero Client
// does with /etc/resolv.conf and /etc/hosts: a resolv.conf whose nameserver
// is a loopback DNS server on port 53 (an unusual 127/8 address), a search
// list with ndots, a hosts file, and an edit of resolv.conf picked up.
func TestClient_FromFiles(t *testing.T) {
	checkFDs(t)
	zone := dnstest.NewZone(
		"corp.example. 60 IN SOA ns.corp.example. admin. 1 60 60 60 30",
		"app.corp.example. 60 IN A 192.0.2.20",
		"app.corp.example. 60 IN AAAA 2001:db8::20",
	)
	faults := &dnstest.Faults{Next: zone, ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Drop: true}}}
	srv := startOnPort53(t, faults)
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(conf, fmt.Appendf(nil, "nameserver %v\nsearch corp.example\noptions ndots:2 timeout:2 attempts:1\n", srv.Addr.Addr()), 0o644)
	os.WriteFile(hosts, []byte("192.0.2.30 pinned\n"), 0o644)
	c := &Client{ConfPath: conf, HostsPath: hosts}
	t.Cleanup(func() { c.state().stopFlights() })

	// AAAA is lost: A must not wait for it.
	start := time.Now()
	ch := c.Resolve(context.Background(), "app", IPv6, IPv4)
	a := <-ch
	if a.Family != IPv4 || len(a.Addrs) != 1 || a.Addrs[0] != netip.MustParseAddr("192.0.2.20") {
		t.Fatalf("first answer %+v; want A 192.0.2.20", a)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("A after %v; want a few ms", d)
	}
	if a := <-ch; a.Family != IPv6 || a.Positive() {
		t.Errorf("second answer %+v; want a failed AAAA", a)
	}
	g := resolveAll(t, c, "pinned", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.30")

	// Edit resolv.conf: the new search list is used once re-read.
	os.WriteFile(conf, fmt.Appendf(nil, "nameserver %v\nsearch other.example\n", srv.Addr.Addr()), 0o644)
	c.st.confWatch.expire()
	if got := c.st.conf(); len(got.Search) != 1 || got.Search[0] != "other.example." {
		t.Errorf("after edit: search %v", got.Search)
	}
}

// startOnPort53 starts a DNS server with handler h on port 53 of a random
// 127.53.x.y address, so that a resolv.conf "nameserver" line (which has no
// port) can name it. It skips the test without the privilege to bind 53.
func startOnPort53(t *testing.T, h dns.Handler) *dnstest.Server {
	t.Helper()
	for range 5 {
		ip := netip.AddrFrom4([4]byte{127, 53, byte(rand.IntN(250) + 1), byte(rand.IntN(250) + 1)})
		s, err := dnstest.NewAt(netip.AddrPortFrom(ip, 53), h)
		if errors.Is(err, os.ErrPermission) {
			t.Skip("binding port 53 needs privileges")
		}
		if err == nil {
			t.Cleanup(s.Close)
			return s
		}
	}
	t.Fatal("no free 127.53.x.y:53")
	return nil
}

// TestClient_HostsReload: an edited hosts file is picked up.
func TestClient_HostsReload(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	os.WriteFile(p, []byte("192.0.2.1 app.lan\n"), 0o644)
	c := &Client{Config: &Config{Servers: aps("127.0.0.1:1")}, HostsPath: p}
	t.Cleanup(c.state().stopFlights)
	g := resolveAll(t, c, "app.lan", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.1")

	// Replace the file (as editors and Kubernetes do: write and rename).
	tmp := filepath.Join(dir, "hosts.new")
	os.WriteFile(tmp, []byte("192.0.2.2 app.lan\n"), 0o644)
	os.Rename(tmp, p)
	g = resolveAll(t, c, "app.lan", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.1") // not re-checked within 5 s

	c.st.hostsWatch.expire() // pretend the last check was long ago
	g = resolveAll(t, c, "app.lan", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.2")
}

// TestClient_ConfReload: an edited resolv.conf is picked up.
func TestClient_ConfReload(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "resolv.conf")
	os.WriteFile(p, []byte("nameserver 192.0.2.1\noptions ndots:2\n"), 0o644)
	c := &Client{ConfPath: p}
	st := c.state()
	if got := st.conf(); got.Ndots != 2 || !slices.Equal(got.Servers, aps("192.0.2.1:53")) {
		t.Fatalf("conf = %+v", got)
	}
	os.WriteFile(p, []byte("nameserver 192.0.2.2\nnameserver 192.0.2.3\n"), 0o644)
	st.confWatch.expire()
	if got := st.conf(); got.Ndots != 1 || len(got.Servers) != 2 {
		t.Errorf("after edit: %+v", got)
	}
	os.Remove(p)
	st.confWatch.expire()
	if got := st.conf(); len(got.Servers) != 0 || got.Ndots != 1 {
		t.Errorf("after removal: %+v; want defaults", got)
	}
	os.WriteFile(p, []byte("nameserver 192.0.2.4\noptions no-reload\n"), 0o644)
	st.confWatch.expire()
	if got := st.conf(); !got.NoReload {
		t.Fatalf("conf = %+v", got)
	}
	os.WriteFile(p, []byte("nameserver 192.0.2.5\n"), 0o644)
	st.confWatch.expire()
	if got := st.conf(); !slices.Equal(got.Servers, aps("192.0.2.4:53")) {
		t.Errorf("no-reload: re-read anyway: %+v", got)
	}
}
