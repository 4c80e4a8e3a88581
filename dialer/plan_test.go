package dialer

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// planAddrs parses space-separated addresses.
func planAddrs(s string) []netip.Addr {
	var out []netip.Addr
	for _, f := range strings.Fields(s) {
		out = append(out, netip.MustParseAddr(f))
	}
	return out
}

// planString renders addresses the way the tables write them.
func planString(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// Fixed source functions: the host has global addresses of both families
// (simnet.SourceAll's), or only IPv4 (IPv6 destinations unreachable, RFC
// 6724 rule 1).
var (
	planDualStack rfc6724.SourceFunc = func(dst netip.Addr) (netip.Addr, bool) {
		if dst.Unmap().Is4() {
			return netip.MustParseAddr("192.0.2.100"), true
		}
		return netip.MustParseAddr("2001:db8::100"), true
	}
	planIPv4Only rfc6724.SourceFunc = func(dst netip.Addr) (netip.Addr, bool) {
		if dst.Unmap().Is4() {
			return netip.MustParseAddr("192.0.2.100"), true
		}
		return netip.Addr{}, false
	}
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name           string
		untried, tried string
		firstCount     int
		prefer         resolver.Family
		src            rfc6724.SourceFunc
		want           string
		skip           string
	}{
		{name: "empty", want: ""},
		{
			name:    "RFC8305/4/RFC 6724 puts IPv6 first even when A was listed first, then the families alternate",
			untried: "192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2",
			want:    "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2",
		},
		{
			name:    "RFC8305/4/RFC 6724 rule 10 keeps each family's DNS order",
			untried: "2001:db8::2 192.0.2.2 2001:db8::1 192.0.2.1 192.0.2.3",
			want:    "2001:db8::2 192.0.2.2 2001:db8::1 192.0.2.1 192.0.2.3",
		},
		{
			name:       "RFC8305/4/First Address Family Count 2",
			untried:    "2001:db8::1 2001:db8::2 2001:db8::3 192.0.2.1 192.0.2.2 192.0.2.3",
			firstCount: 2,
			want:       "2001:db8::1 2001:db8::2 192.0.2.1 2001:db8::3 192.0.2.2 192.0.2.3",
		},
		{
			name:       "First Address Family Count beyond the family",
			untried:    "2001:db8::1 192.0.2.1 192.0.2.2",
			firstCount: 3,
			want:       "2001:db8::1 192.0.2.1 192.0.2.2",
		},
		{
			name:    "one family only",
			untried: "192.0.2.2 192.0.2.1",
			want:    "192.0.2.2 192.0.2.1",
		},
		{
			name:    "RFC6724/6/rule 1: IPv6 unreachable goes last, IPv4 first",
			untried: "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2",
			src:     planIPv4Only,
			want:    "192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2",
		},
		{
			name:    "RFC6724/6/rule 6: ULA (precedence 3) after IPv4 (35)",
			untried: "fd00::1 192.0.2.1 2001:db8::1",
			want:    "2001:db8::1 192.0.2.1 fd00::1",
		},
		{
			name:    "RFC6724/6/rule 6: 6to4 (30) after IPv4, so IPv4 leads",
			untried: "2002:c000:201::1 192.0.2.1",
			want:    "192.0.2.1 2002:c000:201::1",
		},
		{
			name:    "IPv4-mapped addresses sort as IPv4",
			untried: "::ffff:192.0.2.1 2001:db8::1",
			want:    "2001:db8::1 ::ffff:192.0.2.1",
		},
		{
			name:    "PreferredFamily IPv4 overrides RFC 6724",
			untried: "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2",
			prefer:  resolver.IPv4,
			want:    "192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2",
		},
		{
			name:    "PreferredFamily IPv6 overrides rule 1",
			untried: "192.0.2.1 2001:db8::1",
			prefer:  resolver.IPv6,
			src:     planIPv4Only,
			want:    "2001:db8::1 192.0.2.1",
		},
		{
			name:       "PreferredFamily IPv4 with count 2",
			untried:    "2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2 192.0.2.3",
			firstCount: 2,
			prefer:     resolver.IPv4,
			want:       "192.0.2.1 192.0.2.2 2001:db8::1 192.0.2.3 2001:db8::2",
		},
		// Resuming after some attempts (RFC 8305 §6: late answers join
		// the untried part and the interleaving continues).
		{
			name:    "RFC8305/6/after one IPv6 attempt, a late IPv4 goes next",
			untried: "2001:db8::2 192.0.2.1",
			tried:   "2001:db8::1",
			want:    "192.0.2.1 2001:db8::2",
		},
		{
			name:       "RFC8305/6/count 2: after one IPv6 attempt, the second IPv6 goes next",
			untried:    "2001:db8::2 192.0.2.1",
			tried:      "2001:db8::1",
			firstCount: 2,
			want:       "2001:db8::2 192.0.2.1",
		},
		{
			name:       "RFC8305/6/count 2: after two IPv6 attempts, IPv4",
			untried:    "2001:db8::3 192.0.2.1 192.0.2.2",
			tried:      "2001:db8::1 2001:db8::2",
			firstCount: 2,
			want:       "192.0.2.1 2001:db8::3 192.0.2.2",
		},
		{
			name:    "RFC8305/6/after IPv4 went first (AAAA late), the late IPv6 goes next",
			untried: "192.0.2.2 2001:db8::1 2001:db8::2",
			tried:   "192.0.2.1",
			want:    "2001:db8::1 192.0.2.2 2001:db8::2",
		},
		{
			name:       "RFC8305/6/IPv4 went first, count 2: the run belongs to IPv6, so alternate",
			untried:    "192.0.2.2 2001:db8::1",
			tried:      "192.0.2.1",
			firstCount: 2,
			want:       "2001:db8::1 192.0.2.2",
		},
		{
			name:       "PreferredFamily IPv4, count 2: finish the IPv4 run",
			untried:    "192.0.2.2 2001:db8::1",
			tried:      "192.0.2.1",
			firstCount: 2,
			prefer:     resolver.IPv4,
			want:       "192.0.2.2 2001:db8::1",
		},
		{
			name:    "after v6 v4 v6, IPv4 is next",
			untried: "2001:db8::3 192.0.2.2",
			tried:   "2001:db8::1 192.0.2.1 2001:db8::2",
			want:    "192.0.2.2 2001:db8::3",
		},
		{
			name:    "after v6 v4, IPv6 is next even if RFC 6724 puts IPv4 first",
			untried: "192.0.2.2 2001:db8::2",
			tried:   "2001:db8::1 192.0.2.1",
			src:     planIPv4Only,
			want:    "2001:db8::2 192.0.2.2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			src := tc.src
			if src == nil {
				src = planDualStack
			}
			got := plan(planAddrs(tc.untried), planAddrs(tc.tried), max(tc.firstCount, 1), tc.prefer, src, nil)
			if g := planString(got); g != tc.want {
				t.Errorf("plan(untried %q, tried %q)\n got %s\nwant %s", tc.untried, tc.tried, g, tc.want)
			}
		})
	}
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct {
		sorted string
		first  resolver.Family
		count  int
		want   string
	}{
		{"", resolver.IPv6, 1, ""},
		{"2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2", resolver.IPv6, 1, "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2"},
		{"2001:db8::1 2001:db8::2 192.0.2.1 192.0.2.2", resolver.IPv4, 1, "192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2"},
		{"2001:db8::1 2001:db8::2 2001:db8::3 192.0.2.1", resolver.IPv6, 2, "2001:db8::1 2001:db8::2 192.0.2.1 2001:db8::3"},
		{"2001:db8::1 192.0.2.1 192.0.2.2 192.0.2.3", resolver.IPv6, 1, "2001:db8::1 192.0.2.1 192.0.2.2 192.0.2.3"},
		// A count below 1 is 1; a first family with no address starts
		// with the other.
		{"2001:db8::1 2001:db8::2 192.0.2.1", resolver.IPv6, 0, "2001:db8::1 192.0.2.1 2001:db8::2"},
		{"192.0.2.1 192.0.2.2", resolver.IPv6, 1, "192.0.2.1 192.0.2.2"},
		{"2001:db8::1 2001:db8::2", resolver.IPv4, 2, "2001:db8::1 2001:db8::2"},
	} {
		got := planString(interleave(planAddrs(tc.sorted), tc.first, tc.count))
		if got != tc.want {
			t.Errorf("interleave(%q, %v, %d)\n got %s\nwant %s", tc.sorted, tc.first, tc.count, got, tc.want)
		}
	}
}

func TestNextFamilies(t *testing.T) {
	for _, tc := range []struct {
		sorted, tried string
		firstCount    int
		prefer        resolver.Family
		want          string // "family count"
	}{
		{"2001:db8::1 192.0.2.1", "", 1, 0, "IPv6 1"},
		{"192.0.2.1 2001:db8::1", "", 2, 0, "IPv4 2"},
		{"2001:db8::1 192.0.2.1", "", 1, resolver.IPv4, "IPv4 1"},
		{"2001:db8::2", "2001:db8::1", 1, 0, "IPv4 1"},
		{"2001:db8::2", "2001:db8::1", 3, 0, "IPv6 2"},
		{"2001:db8::3", "2001:db8::1 2001:db8::2", 3, 0, "IPv6 1"},
		{"2001:db8::3", "2001:db8::1 2001:db8::2", 2, 0, "IPv4 1"},
		{"192.0.2.2", "2001:db8::1 192.0.2.1", 2, 0, "IPv6 1"},
		{"192.0.2.2", "192.0.2.1", 2, resolver.IPv6, "IPv6 1"},
		{"192.0.2.2", "192.0.2.1", 2, resolver.IPv4, "IPv4 1"},
	} {
		f, n := nextFamilies(planAddrs(tc.sorted), planAddrs(tc.tried), tc.firstCount, tc.prefer)
		if got := f.String() + " " + string(rune('0'+n)); got != tc.want {
			t.Errorf("nextFamilies(sorted %q, tried %q, count %d, prefer %v) = %s; want %s",
				tc.sorted, tc.tried, tc.firstCount, tc.prefer, got, tc.want)
		}
	}
}
