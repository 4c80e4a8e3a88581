package resolver

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
)

// hosts is a parsed hosts(5) file: canonical names (lower case, no
// trailing dot) to their addresses in file order, both families.
type hosts struct {
	byName map[string][]netip.Addr
}

// maxHostsAddrs bounds the addresses kept per name.
const maxHostsAddrs = 256

// parseHosts parses hosts(5) content: "address name [aliases...]" per
// line, '#' starting a comment anywhere on a line. Addresses may be IPv4
// or IPv6, IPv6 with a zone (fe80::1%eth0); IPv4-mapped IPv6 addresses
// count as IPv4. Names and aliases are matched case-insensitively, with or
// without a trailing dot, and non-ASCII names are converted as queries are
// (IDNA). Lines that do not parse are skipped, as glibc does.
func parseHosts(data []byte) *hosts {
	h := &hosts{byName: make(map[string][]netip.Addr)}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		if addr.Is4In6() {
			addr = addr.Unmap()
		}
		for _, name := range f[1:] {
			key, err := canonicalHost(name)
			if err != nil {
				continue // glibc would never match it either
			}
			key = strings.TrimSuffix(key, ".")
			addrs := h.byName[key]
			if len(addrs) >= maxHostsAddrs || slices.Contains(addrs, addr) {
				continue
			}
			h.byName[key] = append(addrs, addr)
		}
	}
	return h
}

// lookup returns the addresses for a canonical name (trailing dot
// allowed), or nil when the file does not list it.
func (h *hosts) lookup(name string) []netip.Addr {
	if h == nil {
		return nil
	}
	return h.byName[strings.TrimSuffix(name, ".")]
}
