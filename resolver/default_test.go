package resolver

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestDefault: one shared Resolver, the one chooseDefault picks for this
// machine, that answers.
func TestDefault(t *testing.T) {
	nsswitch, err := os.ReadFile("/etc/nsswitch.conf")
	want := chooseDefault(runtime.GOOS, nsswitch, err == nil)
	if Default() != want || Default() != Default() {
		t.Fatalf("Default() = %#v; want the shared %#v", Default(), want)
	}
	// An IP literal needs no DNS, whatever the machine's configuration.
	g := collect(t, Default().Resolve(context.Background(), "127.0.0.1", IPv4), time.Now())
	wantAddrs(t, g[IPv4], "127.0.0.1")
}

// TestChooseDefault: the DNS client where the system's resolver is
// /etc/hosts plus resolv.conf DNS; the system's resolver wherever it
// knows more (other nsswitch sources, platform resolvers).
func TestChooseDefault(t *testing.T) {
	tests := []struct {
		name     string
		goos     string
		nsswitch string
		exists   bool
		want     Resolver
	}{
		{"Debian default", "linux", "passwd: files\nhosts:          files dns\nnetworks: files\n", true, defaultClient},
		{"dns first, with an action", "linux", "hosts: dns [!UNAVAIL=return] files\n", true, defaultClient},
		{"action spread over fields", "linux", "hosts: files [NOTFOUND = return] dns\n", true, defaultClient},
		{"no hosts line", "linux", "passwd: files\n", true, defaultClient},
		{"no nsswitch.conf", "linux", "", false, defaultClient},
		{"comment only after the sources", "linux", "hosts: files dns # mdns4_minimal\n", true, defaultClient},
		{"systemd-resolved", "linux", "hosts: mymachines resolve [!UNAVAIL=return] files myhostname dns\n", true, defaultSystem},
		{"avahi mdns", "linux", "hosts: files mdns4_minimal [NOTFOUND=return] dns\n", true, defaultSystem},
		{"myhostname", "linux", "hosts: files myhostname dns\n", true, defaultSystem},
		{"LDAP", "linux", "hosts: files ldap dns\n", true, defaultSystem},
		{"FreeBSD", "freebsd", "hosts: files dns\n", true, defaultClient},
		{"OpenBSD", "openbsd", "", false, defaultClient},
		{"Windows", "windows", "", false, defaultSystem},
		{"macOS, whatever the files say", "darwin", "hosts: files dns\n", true, defaultSystem},
		{"iOS", "ios", "", false, defaultSystem},
		{"Android", "android", "", false, defaultSystem},
		{"illumos", "illumos", "hosts: files dns\n", true, defaultSystem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseDefault(tc.goos, []byte(tc.nsswitch), tc.exists); got != tc.want {
				t.Errorf("chooseDefault(%q, %q) = %T; want %T", tc.goos, tc.nsswitch, got, tc.want)
			}
		})
	}
}
