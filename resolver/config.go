package resolver

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Defaults and limits of resolv.conf(5), as glibc applies them.
const (
	defaultNdots    = 1
	maxNdots        = 15 // glibc RES_MAXNDOTS
	defaultTimeout  = 5 * time.Second
	maxTimeout      = 30 * time.Second // glibc RES_MAXRETRANS
	defaultAttempts = 2
	maxAttempts     = 5 // glibc RES_MAXRETRY

	// maxServers bounds the nameserver lines we keep. glibc keeps 3; RFC
	// 8305 §3.1 asks stub resolvers not to limit the number of servers, so
	// we keep more, but not an unbounded number from a hostile file.
	maxServers = 16
	// maxSearch bounds the search list (glibc has no fixed limit since
	// 2.26); every entry costs a query per lookup of a short name.
	maxSearch = 32
	// maxConfBytes bounds how much of resolv.conf or hosts is read.
	maxConfBytes = 16 << 20
)

// Config is a DNS client configuration: what resolv.conf(5) says. Parse one
// with ParseConfig or ReadConfig, or fill one in to override the file (for
// tests or for programs that pick their own servers).
//
// A Config is read, never modified, by the Client; do not change it after
// handing it over.
type Config struct {
	// Servers are the name servers with their ports (53 in resolv.conf).
	// IPv6 link-local servers keep their zone (fe80::1%eth0). They are
	// asked IPv6 first (RFC 8305 §3.1), otherwise in the given order.
	// Empty means 127.0.0.1:53 and [::1]:53, as glibc and Go do when
	// resolv.conf lists none.
	Servers []netip.AddrPort
	// Search is the search list: domains appended to names with fewer than
	// Ndots dots, each ending with a dot. From "search" or "domain"; when
	// the file has neither, the domain part of the host name.
	Search []string
	// Ndots is the number of dots a name needs to be tried as given before
	// the search list (options ndots:n; resolv.conf's default is 1, which
	// ParseConfig fills in). Zero here means 0: names are always tried as
	// given first. Kubernetes sets 5.
	Ndots int
	// Timeout is how long one query waits for one server (options
	// timeout:n). Zero means 5 s; values are clamped to [1 s, 30 s] by
	// ParseConfig.
	Timeout time.Duration
	// Attempts is how many times each server is tried (options
	// attempts:n). Zero means 2; ParseConfig clamps to [1, 5].
	Attempts int
	// Rotate spreads queries over the servers round-robin instead of
	// always starting with the first (options rotate).
	Rotate bool
	// UseTCP sends every query over TCP (options use-vc, usevc, tcp).
	UseTCP bool
	// NoAAAA answers IPv6 lookups negatively without asking DNS (glibc
	// 2.36's options no-aaaa); /etc/hosts still answers both families.
	NoAAAA bool
	// NoTLDQuery never tries a name without dots as given, only with the
	// search list appended (glibc's options no-tld-query).
	NoTLDQuery bool
	// NoReload stops the Client re-reading the file when it changes
	// (options no-reload).
	NoReload bool
	// SingleRequest records options single-request or
	// single-request-reopen. They work around middleboxes that drop the
	// second of two queries sent from the same socket; this client always
	// sends each query from its own socket (its own random port), which is
	// what single-request-reopen asks for, and keeps the AAAA and A queries
	// parallel as RFC 8305 §3 requires. So the option changes nothing.
	SingleRequest bool
	// Unknown lists options and keywords that were not understood. They
	// are ignored, as glibc does.
	Unknown []string
}

// timeout returns the per-query timeout with its default.
func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return defaultTimeout
	}
	return c.Timeout
}

// attempts returns the attempts per server with its default.
func (c *Config) attempts() int {
	if c.Attempts <= 0 {
		return defaultAttempts
	}
	return c.Attempts
}

// servers returns the servers with the localhost default.
func (c *Config) servers() []netip.AddrPort {
	if len(c.Servers) == 0 {
		return defaultServers
	}
	return c.Servers
}

var defaultServers = []netip.AddrPort{
	netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 53),
	netip.AddrPortFrom(netip.IPv6Loopback(), 53),
}

// ReadConfig reads and parses a resolv.conf file. A missing file is not an
// error: like glibc, it yields the defaults (localhost servers, search list
// from the host name). Other read errors are returned with the defaults.
func ReadConfig(path string) (*Config, error) {
	data, err := readBounded(path)
	if err != nil && !os.IsNotExist(err) {
		return ParseConfig(nil), err
	}
	return ParseConfig(data), nil
}

// ParseConfig parses resolv.conf(5) content. It never fails: lines and
// options that do not parse are skipped (and listed in Unknown), as glibc
// does. Defaults: Ndots 1, Timeout 5 s, Attempts 2, localhost servers when
// none is listed, and the host name's domain as the search list when the
// file has no search or domain line.
func ParseConfig(data []byte) *Config {
	return parseConfig(data, os.Hostname)
}

func parseConfig(data []byte, hostname func() (string, error)) *Config {
	c := &Config{
		Ndots:    defaultNdots,
		Timeout:  defaultTimeout,
		Attempts: defaultAttempts,
	}
	haveSearch := false
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) > 0 && (line[0] == '#' || line[0] == ';') {
			continue
		}
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 || len(c.Servers) >= maxServers {
				continue
			}
			ip, err := netip.ParseAddr(f[1])
			if err != nil || (ip.Zone() != "" && !ip.Is6()) {
				c.Unknown = append(c.Unknown, "nameserver "+f[1])
				continue
			}
			c.Servers = append(c.Servers, netip.AddrPortFrom(ip.Unmap().WithZone(ip.Zone()), 53))
		case "domain":
			// "domain" and "search" are exclusive: the last one wins.
			haveSearch = true
			c.Search = nil
			if len(f) > 1 {
				if d, ok := searchDomain(f[1]); ok {
					c.Search = []string{d}
				}
			}
		case "search":
			haveSearch = true
			c.Search = nil
			for _, s := range f[1:] {
				if d, ok := searchDomain(s); ok && len(c.Search) < maxSearch {
					c.Search = append(c.Search, d)
				}
			}
		case "options":
			for _, o := range f[1:] {
				c.option(o)
			}
		case "sortlist", "lookup", "family":
			// sortlist: RFC 6724 sorting in the dialer replaces it.
			// lookup, family: BSD keywords for other databases.
			c.Unknown = append(c.Unknown, f[0])
		default:
			c.Unknown = append(c.Unknown, f[0])
		}
	}
	if !haveSearch && hostname != nil {
		if hn, err := hostname(); err == nil {
			if _, dom, ok := strings.Cut(hn, "."); ok {
				if d, ok := searchDomain(dom); ok {
					c.Search = []string{d}
				}
			}
		}
	}
	return c
}

// option applies one word of an "options" line.
func (c *Config) option(o string) {
	name, val, hasVal := strings.Cut(o, ":")
	num := func(lo, hi int) (int, bool) {
		if !hasVal {
			return 0, false
		}
		// The leading digits, 0 without any, as glibc (atoi) and Go's
		// resolver read them: "ndots:x" is ndots 0, "timeout:x" the
		// shortest timeout.
		n := 0
		for _, c := range val {
			if c < '0' || c > '9' {
				break
			}
			n = min(10*n+int(c-'0'), hi)
		}
		return max(n, lo), true
	}
	switch name {
	case "ndots":
		if n, ok := num(0, maxNdots); ok {
			c.Ndots = n
			return
		}
	case "timeout":
		if n, ok := num(1, int(maxTimeout/time.Second)); ok {
			c.Timeout = time.Duration(n) * time.Second
			return
		}
	case "attempts":
		if n, ok := num(1, maxAttempts); ok {
			c.Attempts = n
			return
		}
	case "rotate":
		c.Rotate = true
		return
	case "use-vc", "usevc", "tcp":
		c.UseTCP = true
		return
	case "no-aaaa":
		c.NoAAAA = true
		return
	case "no-reload":
		c.NoReload = true
		return
	case "single-request", "single-request-reopen":
		c.SingleRequest = true
		return
	case "no-tld-query":
		c.NoTLDQuery = true
		return
	case "edns0", "trust-ad", "inet6", "debug", "no-check-names", "insecure1", "insecure2":
		// edns0: queries always carry EDNS0 (falling back without it when
		// a server answers FORMERR). trust-ad: the AD bit is not used,
		// since only addresses are looked up. inet6: deprecated in glibc,
		// and RFC 6724 sorting replaces it. The rest have no effect on a
		// stub resolver's answers.
		return
	}
	c.Unknown = append(c.Unknown, o)
}

// searchDomain returns s as a rooted search domain, or false for the root
// or a name that is not a valid domain name.
func searchDomain(s string) (string, bool) {
	s = strings.ToLower(s)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	if s == "." || !isDomainName(s) {
		return "", false
	}
	return s, true
}

// readBounded reads at most maxConfBytes of a file.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxConfBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxConfBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfBytes)
	}
	return buf.Bytes(), nil
}

// applyEnv applies the environment variables glibc reads after
// resolv.conf: LOCALDOMAIN replaces the search list (space-separated
// domains) and RES_OPTIONS adds options, as if on an "options" line.
func (c *Config) applyEnv(getenv func(string) string) {
	if v, ok := lookupEnv(getenv, "LOCALDOMAIN"); ok {
		c.Search = nil
		for _, s := range strings.Fields(v) {
			if d, ok := searchDomain(s); ok && len(c.Search) < maxSearch {
				c.Search = append(c.Search, d)
			}
		}
	}
	if v, ok := lookupEnv(getenv, "RES_OPTIONS"); ok {
		for _, o := range strings.Fields(v) {
			c.option(o)
		}
	}
}

func lookupEnv(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}
