package resolver

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxHostLen bounds the host names accepted before any conversion, so that
// a hostile caller cannot make IDNA conversion do unbounded work.
const maxHostLen = 1024

// canonicalHost turns a host name as a user wrote it into the lower-case
// ASCII form that is queried, cached and looked up in /etc/hosts.
// Non-ASCII names are converted to "xn--" labels by golang.org/x/net/idna
// with the UTS #46 lookup profile (RFC 5891). The result keeps a trailing
// dot if host had one. It fails for names that are not valid domain names
// after conversion (RFC 1035 lengths; letters, digits, '-' and '_').
func canonicalHost(host string) (string, error) {
	if host == "" || len(host) > maxHostLen {
		return "", errInvalidName
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	name := host
	if !ascii {
		var err error
		if name, err = toASCII(host); err != nil {
			return "", err
		}
	}
	name = lowerASCII(name)
	// isDomainName takes names with or without the trailing dot.
	if name == "." || !isDomainName(name) {
		return "", errInvalidName
	}
	return name, nil
}

// lowerASCII lower-cases ASCII letters without allocating when there are
// none to change.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isDomainName reports whether s is a valid domain name in presentation
// form, with or without the trailing dot: at most 253 bytes (254 with the
// trailing dot), labels
// of 1 to 63 bytes made of letters, digits, '_' and '-' (not at the start
// or end of a label), and not all digits (RFC 1035, RFC 3696; the same
// rules as Go's resolver).
func isDomainName(s string) bool {
	if s == "." {
		return true
	}
	l := len(s)
	if l == 0 || l > 254 || l == 254 && s[l-1] != '.' {
		return false
	}
	last := byte('.')
	nonNumeric := false
	partlen := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			nonNumeric = true
			partlen++
		case '0' <= c && c <= '9':
			partlen++
		case c == '-':
			if last == '.' {
				return false
			}
			partlen++
			nonNumeric = true
		case c == '.':
			if last == '.' || last == '-' || partlen > 63 || partlen == 0 {
				return false
			}
			partlen = 0
		default:
			return false
		}
		last = c
	}
	if last == '-' || partlen > 63 {
		return false
	}
	return nonNumeric
}

// toASCII converts a host name with non-ASCII labels to its IDNA ASCII
// form with the UTS #46 lookup profile (mapping full-width forms and
// ideographic full stops, case folding, NFC, and rejecting disallowed
// code points), as browsers and curl do.
func toASCII(host string) (string, error) {
	if !utf8.ValidString(host) {
		return "", errInvalidName
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errInvalidName, err)
	}
	return ascii, nil
}

// nameList returns the names to query for name (canonical, as returned by
// canonicalHost), in the order glibc and Go's resolver try them: a rooted
// name alone; a name with at least Ndots dots as given, then with each
// search domain; a name with fewer dots with each search domain first and
// as given last (not at all for a single label under no-tld-query).
// Candidates longer than a domain name can be, and .onion names (RFC 7686:
// never sent to DNS), are left out.
func (c *Config) nameList(name string) []string {
	if strings.HasSuffix(name, ".") {
		if avoidDNS(name) {
			return nil
		}
		return []string{name}
	}
	dots := strings.Count(name, ".")
	hasNdots := dots >= c.Ndots
	name += "."
	names := make([]string, 0, 1+len(c.Search))
	if hasNdots && !avoidDNS(name) {
		names = append(names, name)
	}
	for _, suffix := range c.Search {
		// Search entries from ParseConfig are rooted; a Config built by
		// hand may hold "corp.example" or "Corp.Example.": root and
		// lower-case it, or the query could not be built.
		suffix = rooted(lowerASCII(strings.TrimPrefix(suffix, ".")))
		if suffix == "." {
			continue
		}
		fqdn := name + suffix
		if len(fqdn) <= 254 && !avoidDNS(fqdn) {
			names = append(names, fqdn)
		}
	}
	if !hasNdots && !avoidDNS(name) && !(dots == 0 && c.NoTLDQuery) {
		names = append(names, name)
	}
	return names
}

// avoidDNS reports whether name must not be sent to DNS: .onion names (RFC
// 7686 §2).
func avoidDNS(name string) bool {
	name = strings.TrimSuffix(name, ".")
	return name == "onion" || strings.HasSuffix(name, ".onion")
}

// isLocalhost reports whether name is "localhost" or under ".localhost."
// (RFC 6761 §6.3: answered with loopback addresses, never sent to DNS).
func isLocalhost(name string) bool {
	name = strings.TrimSuffix(name, ".")
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// localhostAddrs returns the addresses of a localhost name (RFC 6761
// §6.3: loopback, never asked of DNS) given what the hosts file says of
// it: its loopback entries, and for a family it gives none of, that
// family's loopback address. A server listening only on ::1 is then
// reached as "localhost" even where /etc/hosts lists only 127.0.0.1.
func localhostAddrs(fromHosts []netip.Addr) []netip.Addr {
	return appendLocalhostAddrs(make([]netip.Addr, 0, len(fromHosts)+2), fromHosts)
}

// appendLocalhostAddrs is localhostAddrs appending to out (a caller's
// buffer).
func appendLocalhostAddrs(out, fromHosts []netip.Addr) []netip.Addr {
	var has6, has4 bool
	for _, a := range fromHosts {
		if a.IsLoopback() {
			out = append(out, a)
			has6, has4 = has6 || a.Is6(), has4 || a.Is4()
		}
	}
	if !has6 {
		out = append(out, netip.IPv6Loopback())
	}
	if !has4 {
		out = append(out, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	}
	return out
}

// rooted returns name with the trailing dot of a fully qualified name.
func rooted(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// isRootedOf reports whether cand is name, rooted (without allocating).
func isRootedOf(cand, name string) bool {
	if strings.HasSuffix(name, ".") {
		return cand == name
	}
	return len(cand) == len(name)+1 && cand[len(name)] == '.' && cand[:len(name)] == name
}

// isPortPrefixedLocal reports whether name is a port-prefixed HTTPS name
// ("_8443._https.host", RFC 9460 §9.1, see HTTPSQueryName) of a host that
// is not asked of DNS: a localhost name or one in the hosts file (lookup).
// Its queries would only leak the host's name to DNS.
func isPortPrefixedLocal(name string, lookup func(string) []netip.Addr) bool {
	if !strings.HasPrefix(name, "_") {
		return false
	}
	port, rest, ok := strings.Cut(name[1:], "._https.")
	if !ok || port == "" || strings.Trim(port, "0123456789") != "" {
		return false
	}
	return isLocalhost(rest) || avoidDNS(rest) || len(lookup(rest)) > 0
}
