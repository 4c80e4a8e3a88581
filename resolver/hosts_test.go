package resolver

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseHosts(t *testing.T) {
	// Debian's default, Docker's generated file and a hand-edited one.
	file := `127.0.0.1	localhost
127.0.1.1	debian.corp.example	debian

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters

172.17.0.2	0f3c8e1a2b4d
10.0.0.5 Web.Internal web # the web server
10.0.0.6 web.internal
fe80::1%eth0 router.lan
::ffff:192.0.2.5 mapped.lan
2001:db8::5 web.internal.
not-an-ip badline
10.0.0.7
bücher.lan 10.0.0.8
10.0.0.9 bücher.lan
`
	h := parseHosts([]byte(file))
	tests := []struct {
		name string
		want []string
	}{
		{"localhost", []string{"127.0.0.1", "::1"}},
		{"debian", []string{"127.0.1.1"}},
		{"ip6-loopback", []string{"::1"}},
		{"web.internal", []string{"10.0.0.5", "10.0.0.6", "2001:db8::5"}},
		{"web.internal.", []string{"10.0.0.5", "10.0.0.6", "2001:db8::5"}},
		{"web", []string{"10.0.0.5"}},
		{"router.lan", []string{"fe80::1%eth0"}},
		{"mapped.lan", []string{"192.0.2.5"}},
		{"xn--bcher-kva.lan", []string{"10.0.0.9"}},
		{"badline", nil},
		{"the", nil},
	}
	for _, tt := range tests {
		if got := h.lookup(tt.name); !slices.Equal(got, addrs(tt.want...)) {
			t.Errorf("lookup(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

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
