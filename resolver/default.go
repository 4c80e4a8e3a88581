package resolver

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
	"sync"
)

// defaultClient is shared by every Dialer that has no Resolver of its own
// where the system resolves names with resolv.conf-driven DNS, so that
// they share one cache and one view of /etc/resolv.conf and /etc/hosts.
// It reads them on first use.
var defaultClient = &Client{}

// defaultSystem is the default elsewhere.
var defaultSystem = &System{}

var defaultChoice = sync.OnceValue(func() Resolver {
	nsswitch, err := os.ReadFile("/etc/nsswitch.conf")
	return chooseDefault(runtime.GOOS, nsswitch, err == nil)
})

// Default returns the Resolver used by a Dialer whose Resolver field is nil:
// the one that finds the names the system's own resolver (and so
// net.Dialer) finds. It is chosen once per process:
//
//   - where the system resolves host names from /etc/hosts and the DNS
//     servers of /etc/resolv.conf and nothing else (Linux and the BSDs
//     whose nsswitch.conf "hosts" line lists only files and dns, or that
//     have no nsswitch.conf; OpenBSD), a process-wide *Client: a caching
//     DNS client that hands over each family's answer as it arrives;
//   - everywhere else, a *System, Go's own resolver asked for each family
//     at once and handing over each as it arrives: on Windows, macOS and
//     iOS (whose resolvers know VPN split DNS and .local names that
//     /etc/resolv.conf does not list), on Android, and on hosts whose
//     nsswitch.conf sends host lookups to other sources as well
//     (systemd-resolved's "resolve", "myhostname", "mdns4_minimal", LDAP…).
//
// Set Dialer.Resolver to choose explicitly. Default is safe for
// concurrent use.
func Default() Resolver { return defaultChoice() }

// chooseDefault is Default's choice for an operating system (GOOS) and the
// contents of its /etc/nsswitch.conf (exists false when there is none).
func chooseDefault(goos string, nsswitch []byte, exists bool) Resolver {
	switch goos {
	case "openbsd":
		// No nsswitch.conf: resolv.conf's "lookup file bind" rules, which
		// Client follows as files then DNS.
		return defaultClient
	case "linux", "freebsd", "netbsd", "dragonfly":
		if !exists || hostsFromFilesAndDNS(nsswitch) {
			// glibc's and FreeBSD's default without the file is "dns
			// files" / "files dns".
			return defaultClient
		}
	}
	return defaultSystem
}

// hostsFromFilesAndDNS reports whether nsswitch.conf's "hosts" database
// uses no source but "files" and "dns" (actions in brackets aside). A
// file without a "hosts" line means the built-in default, which is those
// two.
func hostsFromFilesAndDNS(nsswitch []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(nsswitch))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		db, sources, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(db) != "hosts" {
			continue
		}
		inAction := false
		for _, f := range strings.Fields(sources) {
			switch {
			case inAction || strings.HasPrefix(f, "["):
				inAction = !strings.HasSuffix(f, "]")
			case f != "files" && f != "dns":
				return false
			}
		}
		return true
	}
	return true
}
