package resolver

import (
	"slices"
	"strings"
	"testing"
)

// TestParseHosts: hosts(5) as glibc reads it.
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

// FuzzParseHosts: any hosts file parses without panicking.
func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
		"10.0.0.5 Web.Internal web # comment\nfe80::1%eth0 router\n::ffff:1.2.3.4 mapped\n",
		"bücher.lan 1.2.3.4\n1.2.3.4 bücher.lan\n\xff\xfe garbage\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := parseHosts(data)
		for name, addrs := range h.byName {
			if strings.HasSuffix(name, ".") || !isDomainName(name+".") || name != strings.ToLower(name) {
				t.Fatalf("bad key %q", name)
			}
			if len(addrs) == 0 || len(addrs) > maxHostsAddrs {
				t.Fatalf("%q: %d addresses", name, len(addrs))
			}
			for _, a := range addrs {
				if !a.IsValid() || a.Is4In6() {
					t.Fatalf("%q: bad address %v", name, a)
				}
			}
		}
	})
}
