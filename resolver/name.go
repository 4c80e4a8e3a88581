package resolver

import (
	"errors"
	"math"
	"strings"
	"unicode/utf8"
)

// maxHostLen bounds the host names accepted before any conversion, so that
// a hostile caller cannot make IDNA conversion do unbounded work.
const maxHostLen = 1024

// errInvalidName is the cause of the error for a host that is not a valid
// domain name.
var errInvalidName = errors.New("invalid domain name")

// canonicalHost turns a host name as a user wrote it into the lower-case
// ASCII form that is queried, cached and looked up in /etc/hosts.
// Non-ASCII labels are converted with IDNA's Punycode (RFC 3492, RFC 5891
// "xn--" labels) after lower-casing and mapping the ideographic full stops
// to dots and full-width ASCII to ASCII (the UTS #46 mappings that matter
// in practice; the full UTS #46 tables, NFC normalization and the IDNA2008
// list of disallowed code points are not applied). The result keeps a trailing dot
// if host had one. It fails for names that are not valid domain names
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
// form, label by label.
func toASCII(host string) (string, error) {
	if !utf8.ValidString(host) {
		return "", errInvalidName
	}
	// UTS #46 maps these full stops to '.', and full-width ASCII
	// (U+FF01..U+FF5E) to ASCII.
	host = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".").Replace(host)
	host = strings.Map(func(r rune) rune {
		if r >= 0xff01 && r <= 0xff5e {
			return r - 0xff01 + '!'
		}
		return r
	}, host)
	labels := strings.Split(host, ".")
	for i, label := range labels {
		label = strings.ToLower(label)
		ascii := true
		for _, r := range label {
			if r >= utf8.RuneSelf {
				ascii = false
			}
			if r == utf8.RuneError || r < ' ' || r == 0x7f {
				return "", errInvalidName
			}
		}
		if ascii {
			labels[i] = label
			continue
		}
		enc, err := punycode(label)
		if err != nil {
			return "", err
		}
		labels[i] = "xn--" + enc
	}
	return strings.Join(labels, "."), nil
}

// Punycode parameters, RFC 3492 §5.
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode encodes a label with RFC 3492's algorithm (§6.3).
func punycode(s string) (string, error) {
	runes := []rune(s)
	out := make([]byte, 0, len(s)+8)
	for _, r := range runes {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := rune(pcInitialN), 0, pcInitialBias
	for h < len(runes) {
		m := rune(math.MaxInt32)
		for _, r := range runes {
			if r >= n && r < m {
				m = r
			}
		}
		if int(m-n) > (math.MaxInt32-delta)/(h+1) {
			return "", errInvalidName // overflow (RFC 3492 §6.4)
		}
		delta += int(m-n) * (h + 1)
		n = m
		for _, r := range runes {
			if r < n {
				delta++
			}
			if r != n {
				continue
			}
			q := delta
			for k := pcBase; ; k += pcBase {
				t := k - bias
				t = min(max(t, pcTMin), pcTMax)
				if q < t {
					break
				}
				out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out = append(out, pcDigit(q))
			bias = pcAdapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out), nil
}

func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

func pcAdapt(delta, numPoints int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
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
