package rfc6724

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// addr parses s; "" is the zero (invalid) address.
func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = addr(s)
	}
	return out
}

// sources returns a SourceFunc answering from m (destination, zone
// included, to source); a destination missing from m is unreachable and
// "" answers ok with an invalid source. It fails t if asked about an
// invalid address.
func sources(t testing.TB, m map[string]string) SourceFunc {
	return func(dst netip.Addr) (netip.Addr, bool) {
		if !dst.IsValid() {
			t.Errorf("SourceFunc called with an invalid address")
		}
		s, ok := m[dst.String()]
		if !ok {
			return netip.Addr{}, false
		}
		return addr(s), true
	}
}

func fmtAddrs(as []netip.Addr) string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
		if !a.IsValid() {
			ss[i] = "<invalid>"
		}
	}
	return "[" + strings.Join(ss, " ") + "]"
}

// reversal says what sorting the reversed input must give.
type reversal int

const (
	noReverse reversal = iota // not checked
	sameOrder                 // the same order as want: the rules decide every pair
	mirrored                  // want reversed: ties keep their input order (rule 10)
)

func TestSort(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		src  map[string]string // destination → source; missing = no route
		want []string
		rev  reversal
	}{
		// The cases of Go's net.TestSortByRFC6724, which are the
		// examples of RFC 6724 §10.2 plus golang/go#13283.
		{
			name: "rule 2 matching scope: IPv4 source is link-local",
			in:   []string{"2001:db8:1::1", "198.51.100.121"},
			src:  map[string]string{"2001:db8:1::1": "2001:db8:1::2", "198.51.100.121": "169.254.13.78"},
			want: []string{"2001:db8:1::1", "198.51.100.121"},
			rev:  sameOrder,
		},
		{
			name: "rule 2 matching scope: IPv6 source is link-local",
			in:   []string{"2001:db8:1::1", "198.51.100.121"},
			src:  map[string]string{"2001:db8:1::1": "fe80::1", "198.51.100.121": "198.51.100.117"},
			want: []string{"198.51.100.121", "2001:db8:1::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6 higher precedence: global IPv6 before private IPv4",
			in:   []string{"2001:db8:1::1", "10.1.2.3"},
			src:  map[string]string{"2001:db8:1::1": "2001:db8:1::2", "10.1.2.3": "10.1.2.4"},
			want: []string{"2001:db8:1::1", "10.1.2.3"},
			rev:  sameOrder,
		},
		{
			name: "rule 8 smaller scope: link-local before global",
			in:   []string{"2001:db8:1::1", "fe80::1"},
			src:  map[string]string{"2001:db8:1::1": "2001:db8:1::2", "fe80::1": "fe80::2"},
			want: []string{"fe80::1", "2001:db8:1::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 9 not on IPv4: a 10/8 source does not pull 23/8 forward (golang/go#13283)",
			in:   []string{"54.83.193.112", "184.72.238.214", "23.23.172.185", "75.101.148.21", "23.23.134.56", "23.21.50.150"},
			src: map[string]string{
				"54.83.193.112": "10.2.3.4", "184.72.238.214": "10.2.3.4", "23.23.172.185": "10.2.3.4",
				"75.101.148.21": "10.2.3.4", "23.23.134.56": "10.2.3.4", "23.21.50.150": "10.2.3.4",
			},
			want: []string{"54.83.193.112", "184.72.238.214", "23.23.172.185", "75.101.148.21", "23.23.134.56", "23.21.50.150"},
			rev:  mirrored,
		},

		// The remaining examples of RFC 6724 §10.2.
		{
			name: "rule 5 matching label: 6to4 source prefers the 6to4 destination",
			in:   []string{"2001:db8:1::1", "2002:c633:6401::1"},
			src:  map[string]string{"2001:db8:1::1": "2002:c633:6401::2", "2002:c633:6401::1": "2002:c633:6401::2"},
			want: []string{"2002:c633:6401::1", "2001:db8:1::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6 higher precedence: native IPv6 before 6to4 when both have sources",
			in:   []string{"2002:c633:6401::1", "2001:db8:1::1"},
			src:  map[string]string{"2001:db8:1::1": "2001:db8:1::2", "2002:c633:6401::1": "2002:c633:6401::2"},
			want: []string{"2001:db8:1::1", "2002:c633:6401::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 9 longest matching prefix on IPv6",
			in:   []string{"2001:db8:3ffe::1", "2001:db8:1::1"},
			src:  map[string]string{"2001:db8:1::1": "2001:db8:1::2", "2001:db8:3ffe::1": "2001:db8:3f44::2"},
			want: []string{"2001:db8:1::1", "2001:db8:3ffe::1"},
			rev:  sameOrder,
		},

		// Mixed families.
		{
			name: "rule 1: IPv6 without a source goes after IPv4",
			in:   []string{"2001:db8::1", "2001:db8::2", "192.0.2.1", "198.51.100.1"},
			src:  map[string]string{"192.0.2.1": "192.0.2.100", "198.51.100.1": "192.0.2.100"},
			want: []string{"192.0.2.1", "198.51.100.1", "2001:db8::1", "2001:db8::2"},
		},
		{
			name: "rule 1: IPv4 without a source goes after IPv6",
			in:   []string{"192.0.2.1", "2001:db8::1"},
			src:  map[string]string{"2001:db8::1": "2001:db8::100"},
			want: []string{"2001:db8::1", "192.0.2.1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6: both families routable, global IPv6 (40) before IPv4 (35)",
			in:   []string{"192.0.2.1", "198.51.100.1", "2001:db8::1", "2001:db8::2"},
			src: map[string]string{
				"192.0.2.1": "192.0.2.100", "198.51.100.1": "192.0.2.100",
				"2001:db8::1": "2001:db8::100", "2001:db8::2": "2001:db8::100",
			},
			want: []string{"2001:db8::1", "2001:db8::2", "192.0.2.1", "198.51.100.1"},
		},
		{
			name: "rule 6: loopback ::1 (50) before 127.0.0.1 (35)",
			in:   []string{"127.0.0.1", "::1"},
			src:  map[string]string{"127.0.0.1": "127.0.0.1", "::1": "::1"},
			want: []string{"::1", "127.0.0.1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6: IPv4 (35) before ULA (3)",
			in:   []string{"fd00::1", "192.0.2.1"},
			src:  map[string]string{"fd00::1": "fd00::2", "192.0.2.1": "192.0.2.100"},
			want: []string{"192.0.2.1", "fd00::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6: native IPv6 (40), IPv4 (35), 6to4 (30)",
			in:   []string{"2002:c000:201::1", "192.0.2.1", "2001:db8::1"},
			src: map[string]string{
				"2002:c000:201::1": "2002:c000:202::2", "192.0.2.1": "192.0.2.100", "2001:db8::1": "2001:db8::100",
			},
			want: []string{"2001:db8::1", "192.0.2.1", "2002:c000:201::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 5: a host with only a 6to4 source prefers IPv4, then 6to4, then native",
			in:   []string{"2001:db8::1", "2002:c000:201::1", "192.0.2.1"},
			src: map[string]string{
				"2002:c000:201::1": "2002:c000:202::2", "192.0.2.1": "192.0.2.100", "2001:db8::1": "2002:c000:202::2",
			},
			want: []string{"192.0.2.1", "2002:c000:201::1", "2001:db8::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 6: Teredo (5) after native IPv6 and IPv4",
			in:   []string{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.1", "2001:db8::1"},
			src: map[string]string{
				"2001:0:4136:e378:8000:63bf:3fff:fdd2": "2001:0:4136:e378::1", "192.0.2.1": "192.0.2.100", "2001:db8::1": "2001:db8::100",
			},
			want: []string{"2001:db8::1", "192.0.2.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"},
			rev:  sameOrder,
		},
		{
			name: "rule 5: a host with only a Teredo source prefers IPv4, then Teredo, then native",
			in:   []string{"2001:db8::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.1"},
			src: map[string]string{
				"2001:0:4136:e378:8000:63bf:3fff:fdd2": "2001:0:4136:e378::1", "192.0.2.1": "192.0.2.100", "2001:db8::1": "2001:0:4136:e378::1",
			},
			want: []string{"192.0.2.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1"},
			rev:  sameOrder,
		},

		// Rule 9 details.
		{
			name: "rule 9: only the first 64 bits count",
			in:   []string{"2001:db8:1::ffff", "2001:db8:1::2"},
			src:  map[string]string{"2001:db8:1::ffff": "2001:db8:1::2", "2001:db8:1::2": "2001:db8:1::2"},
			want: []string{"2001:db8:1::ffff", "2001:db8:1::2"},
			rev:  mirrored,
		},
		{
			name: "rule 9: IPv6 reordered by prefix length, three ways",
			in:   []string{"2001:db8:8000::1", "2001:db8:1:2::1", "2001:db8:1:1::1"},
			src: map[string]string{
				"2001:db8:8000::1": "2001:db8:1:1::2", "2001:db8:1:2::1": "2001:db8:1:1::2", "2001:db8:1:1::1": "2001:db8:1:1::2",
			},
			want: []string{"2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:8000::1"},
			rev:  sameOrder,
		},
		{
			name: "rule 9 not on IPv4: a source in the same /24 does not reorder",
			in:   []string{"198.51.100.1", "192.0.2.1", "203.0.113.1"},
			src:  map[string]string{"198.51.100.1": "192.0.2.100", "192.0.2.1": "192.0.2.100", "203.0.113.1": "192.0.2.100"},
			want: []string{"198.51.100.1", "192.0.2.1", "203.0.113.1"},
			rev:  mirrored,
		},

		// Rule 10.
		{
			name: "rule 10: equal IPv6 keep input order",
			in:   []string{"2001:db8::c", "2001:db8::a", "2001:db8::b"},
			src:  map[string]string{"2001:db8::a": "2001:db8::1", "2001:db8::b": "2001:db8::1", "2001:db8::c": "2001:db8::1"},
			want: []string{"2001:db8::c", "2001:db8::a", "2001:db8::b"},
			rev:  mirrored,
		},
		{
			name: "rule 10: duplicates stay",
			in:   []string{"192.0.2.1", "2001:db8::1", "192.0.2.1", "2001:db8::1"},
			src:  map[string]string{"192.0.2.1": "192.0.2.100", "2001:db8::1": "2001:db8::100"},
			want: []string{"2001:db8::1", "2001:db8::1", "192.0.2.1", "192.0.2.1"},
			rev:  sameOrder,
		},

		// Zones and representations.
		{
			name: "link-local with zones: zones kept, unroutable zone last",
			in:   []string{"2001:db8::1", "fe80::1%eth1", "fe80::1%eth0", "fe80::1%eth2"},
			src: map[string]string{
				"2001:db8::1": "2001:db8::100", "fe80::1%eth0": "fe80::2%eth0", "fe80::1%eth1": "fe80::3%eth1",
			},
			want: []string{"fe80::1%eth1", "fe80::1%eth0", "2001:db8::1", "fe80::1%eth2"},
		},
		{
			name: "IPv4-mapped destination is IPv4 and comes back mapped",
			in:   []string{"::ffff:198.51.100.1", "2001:db8::1"},
			src:  map[string]string{"::ffff:198.51.100.1": "198.51.100.100", "2001:db8::1": "2001:db8::100"},
			want: []string{"2001:db8::1", "::ffff:198.51.100.1"},
			rev:  sameOrder,
		},
		{
			name: "IPv4-mapped and plain IPv4 tie: no rule 9 on mapped either",
			in:   []string{"::ffff:198.51.100.1", "192.0.2.1"},
			src:  map[string]string{"::ffff:198.51.100.1": "::ffff:192.0.2.100", "192.0.2.1": "192.0.2.100"},
			want: []string{"::ffff:198.51.100.1", "192.0.2.1"},
			rev:  mirrored,
		},
		{
			name: "IPv4-mapped loopback is link-local: rule 8 puts it first",
			in:   []string{"192.0.2.1", "::ffff:127.0.0.1"},
			src:  map[string]string{"::ffff:127.0.0.1": "127.0.0.1", "192.0.2.1": "192.0.2.100"},
			want: []string{"::ffff:127.0.0.1", "192.0.2.1"},
			rev:  sameOrder,
		},
		{
			name: "rule 2: IPv4 link-local 169.254/16 reached from a global source loses",
			in:   []string{"169.254.1.1", "192.0.2.1"},
			src:  map[string]string{"169.254.1.1": "192.0.2.100", "192.0.2.1": "192.0.2.100"},
			want: []string{"192.0.2.1", "169.254.1.1"},
			rev:  sameOrder,
		},

		// Nothing reachable: rules 6 and 8 still order (our choice).
		{
			name: "no sources at all: precedence still orders",
			in:   []string{"127.0.0.1", "192.0.2.1", "::1", "2001:db8::1", "fd00::1"},
			src:  map[string]string{},
			want: []string{"::1", "2001:db8::1", "127.0.0.1", "192.0.2.1", "fd00::1"},
			rev:  sameOrder,
		},
		{
			name: "a source reported ok but invalid counts as no source",
			in:   []string{"2001:db8::1", "192.0.2.1"},
			src:  map[string]string{"2001:db8::1": "", "192.0.2.1": "192.0.2.100"},
			want: []string{"192.0.2.1", "2001:db8::1"},
			rev:  sameOrder,
		},
		{
			name: "invalid address is unreachable and SourceFunc never sees it",
			in:   []string{"", "192.0.2.1", ""},
			src:  map[string]string{"192.0.2.1": "192.0.2.100"},
			want: []string{"192.0.2.1", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := sources(t, tt.src)
			want := addrs(tt.want...)

			check := func(in []netip.Addr, want []netip.Addr) {
				t.Helper()
				got := slices.Clone(in)
				Sort(got, src)
				if !slices.Equal(got, want) {
					t.Errorf("Sort(%s)\n got %s\nwant %s", fmtAddrs(in), fmtAddrs(got), fmtAddrs(want))
				}
				// SortAddrPorts must give the same order and carry each
				// port with its address.
				aps := make([]netip.AddrPort, len(in))
				for i, a := range in {
					aps[i] = netip.AddrPortFrom(a, uint16(1000+i))
				}
				SortAddrPorts(aps, src)
				for i, ap := range aps {
					if ap.Addr() != want[i] {
						t.Errorf("SortAddrPorts: [%d] = %v; want address %v", i, ap, fmtAddrs(want[i:i+1]))
					}
					if orig := in[ap.Port()-1000]; orig != ap.Addr() {
						t.Errorf("SortAddrPorts: port %d came with %v; it belonged to %v", ap.Port(), ap.Addr(), orig)
					}
				}
			}

			in := addrs(tt.in...)
			check(in, want)
			rin := slices.Clone(in)
			slices.Reverse(rin)
			switch tt.rev {
			case sameOrder:
				check(rin, want)
			case mirrored:
				rwant := slices.Clone(want)
				slices.Reverse(rwant)
				check(rin, rwant)
			}
		})
	}
}

func TestSort_ShortInputs(t *testing.T) {
	calls := 0
	src := func(netip.Addr) (netip.Addr, bool) { calls++; return netip.Addr{}, false }

	Sort(nil, src)
	Sort([]netip.Addr{}, src)
	one := []netip.Addr{addr("fe80::1%eth0")}
	Sort(one, src)
	SortAddrPorts([]netip.AddrPort{netip.MustParseAddrPort("[fe80::1%eth0]:80")}, src)
	if one[0] != addr("fe80::1%eth0") {
		t.Errorf("single element changed to %v", one[0])
	}
	if calls != 0 {
		t.Errorf("SourceFunc called %d times for inputs shorter than 2; want 0", calls)
	}
}

func TestSort_CallsSourceOncePerAddress(t *testing.T) {
	in := addrs("2001:db8::1", "192.0.2.1", "2001:db8::1", "fe80::1%eth0")
	var seen []netip.Addr
	Sort(in, func(d netip.Addr) (netip.Addr, bool) {
		seen = append(seen, d)
		return netip.Addr{}, false
	})
	want := addrs("2001:db8::1", "192.0.2.1", "2001:db8::1", "fe80::1%eth0")
	if !slices.Equal(seen, want) {
		t.Errorf("SourceFunc saw %s; want %s (each address once, zone included, input order)", fmtAddrs(seen), fmtAddrs(want))
	}
}

// TestSort_NilSourceUsesProbe sorts loopback addresses with the real
// probe: both are routable, so ::1 (precedence 50) goes first.
func TestSort_NilSourceUsesProbe(t *testing.T) {
	if _, ok := ProbeSource(addr("::1")); !ok {
		t.Skip("no IPv6 loopback on this host")
	}
	before := countFDs(t)
	got := addrs("127.0.0.1", "::1")
	Sort(got, nil)
	if want := addrs("::1", "127.0.0.1"); !slices.Equal(got, want) {
		t.Errorf("Sort(nil source) = %s; want %s", fmtAddrs(got), fmtAddrs(want))
	}
	checkFDs(t, before)
}

// preferRFC is a reference implementation of the comparison, written rule
// by rule from RFC 6724 §6 rather than through the packed key. It reports
// whether da is strictly preferred over db.
func preferRFC(da, sa netip.Addr, oka bool, db, sb netip.Addr, okb bool) bool {
	// Rule 1.
	if oka != okb {
		return oka
	}
	if oka {
		// Rule 2.
		ma := classifyScope(da) == classifyScope(sa)
		mb := classifyScope(db) == classifyScope(sb)
		if ma != mb {
			return ma
		}
		// Rule 5.
		_, lda := classifyPolicy(da)
		_, lsa := classifyPolicy(sa)
		_, ldb := classifyPolicy(db)
		_, lsb := classifyPolicy(sb)
		if (lda == lsa) != (ldb == lsb) {
			return lda == lsa
		}
	}
	// Rule 6.
	pa, _ := classifyPolicy(da)
	pb, _ := classifyPolicy(db)
	if pa != pb {
		return pa > pb
	}
	// Rule 8.
	if sca, scb := classifyScope(da), classifyScope(db); sca != scb {
		return sca < scb
	}
	// Rule 9, IPv6 destination pairs only; a source of the other family
	// shares no prefix with its destination.
	if oka && isIPv6(da) && isIPv6(db) {
		cpl := func(s, d netip.Addr) uint8 {
			if !isIPv6(s) {
				return 0
			}
			return commonPrefixLen(s, d)
		}
		return cpl(sa, da) > cpl(sb, db)
	}
	return false
}

// TestSort_MatchesReference sorts random mixtures and checks every pair of
// the result against the rule-by-rule reference: no later address may be
// strictly preferred over an earlier one, and ties keep input order.
func TestSort_MatchesReference(t *testing.T) {
	pool := []string{
		"::1", "127.0.0.1", "127.0.0.2", "169.254.3.4", "10.0.0.1", "192.0.2.1", "198.51.100.7",
		"::ffff:203.0.113.9", "2001:db8::1", "2001:db8:1::1", "2001:db8:ffff::1", "2002:c000:201::1",
		"2001:0:4136:e378::5", "fd00::1", "fc00::9", "fe80::1%eth0", "fe80::1%eth1", "fec0::1",
		"3ffe::1", "::c000:201", "ff02::1%eth0", "ff0e::1", "",
	}
	srcPool := []string{
		"2001:db8::100", "2001:db8:1::2", "fe80::2%eth0", "2002:c000:202::2", "2001:0:4136:e378::1",
		"fd00::2", "192.0.2.100", "10.0.0.2", "127.0.0.1", "::1", "169.254.1.1",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		n := 2 + r.IntN(20)
		in := make([]netip.Addr, n)
		for i := range in {
			in[i] = addr(pool[r.IntN(len(pool))])
		}
		srcOf := map[netip.Addr]netip.Addr{}
		for _, d := range in {
			if d.IsValid() && r.IntN(4) != 0 {
				srcOf[d] = addr(srcPool[r.IntN(len(srcPool))])
			}
		}
		src := func(d netip.Addr) (netip.Addr, bool) { s, ok := srcOf[d]; return s, ok }

		items := make([]netip.AddrPort, n) // port = input position
		for i, a := range in {
			items[i] = netip.AddrPortFrom(a, uint16(i))
		}
		SortAddrPorts(items, src)
		for i := range items {
			for j := i + 1; j < len(items); j++ {
				a, b := items[i], items[j]
				sa, oka := src(a.Addr())
				sb, okb := src(b.Addr())
				if preferRFC(b.Addr(), sb, okb, a.Addr(), sa, oka) {
					t.Fatalf("iter %d: %v (src %v %v) sorted before %v (src %v %v), but the RFC prefers the latter\nresult %v",
						iter, a.Addr(), sa, oka, b.Addr(), sb, okb, items)
				}
				if !preferRFC(a.Addr(), sa, oka, b.Addr(), sb, okb) && a.Port() > b.Port() {
					t.Fatalf("iter %d: tie %v and %v lost input order (positions %d, %d)", iter, a.Addr(), b.Addr(), a.Port(), b.Port())
				}
			}
		}
	}
}

func TestSort_NoAllocs(t *testing.T) {
	in := benchAddrs(inlineEntries)
	buf := slices.Clone(in)
	allocs := testing.AllocsPerRun(100, func() {
		copy(buf, in)
		Sort(buf, benchSource)
	})
	if allocs != 0 {
		t.Errorf("Sort of %d addresses: %v allocations per run; want 0", len(in), allocs)
	}
	in = benchAddrs(100)
	buf = slices.Clone(in)
	allocs = testing.AllocsPerRun(100, func() {
		copy(buf, in)
		Sort(buf, benchSource)
	})
	if allocs != 1 {
		t.Errorf("Sort of %d addresses: %v allocations per run; want 1", len(in), allocs)
	}
}

func TestClassifyPolicy(t *testing.T) {
	tests := []struct {
		a           string
		prec, label uint8
	}{
		{"::1", 50, 0},
		{"2001:db8::1", 40, 1},
		{"2601:645:8002:a500:986f:1db8:c836:bd65", 40, 1},
		{"127.0.0.1", 35, 4},
		{"192.0.2.1", 35, 4},
		{"::ffff:192.0.2.1", 35, 4},
		{"2002::ab12", 30, 2},
		{"2001:0:4136:e378::1", 5, 5},
		{"2001:1::1", 40, 1}, // just outside Teredo's /32
		{"fd00::1", 3, 13},
		{"fc00::1", 3, 13},
		{"::c000:201", 1, 3}, // IPv4-compatible
		{"fec0::1", 1, 11},
		{"3ffe::1", 1, 12},
		{"fe80::1%eth0", 40, 1}, // zone ignored
		{"::1%lo", 50, 0},
		{"", 0, 0},
	}
	for _, tt := range tests {
		p, l := classifyPolicy(addr(tt.a))
		if p != tt.prec || l != tt.label {
			t.Errorf("classifyPolicy(%q) = %d/%d; want %d/%d", tt.a, p, l, tt.prec, tt.label)
		}
	}
}

// TestClassifyPolicy_MatchesPrefixes checks the compiled masks against
// netip.Prefix.Contains over the table's edges and random addresses.
func TestClassifyPolicy_MatchesPrefixes(t *testing.T) {
	var probe []netip.Addr
	for _, e := range defaultPolicy {
		p := e.prefix
		probe = append(probe, p.Addr(), p.Addr().Prev(), p.Addr().Next())
		last := netip.AddrFrom16(p.Addr().As16())
		b := last.As16()
		for i := p.Bits(); i < 128; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		last = netip.AddrFrom16(b)
		probe = append(probe, last, last.Next())
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		// Bias towards the interesting corners of the address space.
		switch r.IntN(4) {
		case 0:
			clear(b[:10])
			b[10], b[11] = 0xff, 0xff
		case 1:
			clear(b[:12])
		case 2:
			b[0], b[1] = 0x20, byte(r.IntN(4))
		}
		probe = append(probe, netip.AddrFrom16(b))
	}
	for _, a := range probe {
		if !a.IsValid() {
			continue
		}
		var want policyEntry
		for _, e := range defaultPolicy {
			if e.prefix.Contains(a) {
				want = e
				break
			}
		}
		p, l := classifyPolicy(a)
		if p != want.precedence || l != want.label {
			t.Fatalf("classifyPolicy(%v) = %d/%d; the table's longest match %v says %d/%d", a, p, l, want.prefix, want.precedence, want.label)
		}
	}
}

func TestDefaultPolicy_LongestFirst(t *testing.T) {
	for i := 1; i < len(defaultPolicy); i++ {
		if defaultPolicy[i-1].prefix.Bits() < defaultPolicy[i].prefix.Bits() {
			t.Errorf("defaultPolicy[%d] %v is shorter than [%d] %v: the first match would not be the longest",
				i-1, defaultPolicy[i-1].prefix, i, defaultPolicy[i].prefix)
		}
	}
}

func TestClassifyScope(t *testing.T) {
	tests := []struct {
		a    netip.Addr
		want scope
	}{
		{addr("127.0.0.1"), scopeLinkLocal},   // RFC 6724 §3.2
		{addr("127.255.0.1"), scopeLinkLocal}, // all of 127/8
		{addr("169.254.1.2"), scopeLinkLocal}, // RFC 6724 §3.2
		{addr("::ffff:169.254.1.2"), scopeLinkLocal},
		{addr("10.1.2.3"), scopeGlobal}, // private is global (RFC 6724 §3.2)
		{addr("192.168.1.1"), scopeGlobal},
		{addr("8.8.8.8"), scopeGlobal},
		{addr("::1"), scopeLinkLocal}, // RFC 4007 §4
		{addr("fe80::1%eth0"), scopeLinkLocal},
		{addr("fec0::1"), scopeSiteLocal},
		{addr("fd00::1"), scopeGlobal},
		{addr("2001:db8::1"), scopeGlobal},
		{addr("ff01::1"), scopeInterfaceLocal},
		{addr("ff02::1"), scopeLinkLocal},
		{addr("ff04::1"), scopeAdminLocal},
		{addr("ff05::1"), scopeSiteLocal},
		{addr("ff08::1"), scopeOrgLocal},
		{addr("ff0e::1"), scopeGlobal},
		{netip.AddrFrom4([4]byte{224, 0, 0, 1}), scopeGlobal},     // IPv4 multicast
		{netip.AddrFrom16([16]byte{12: 224, 15: 1}), scopeGlobal}, // ::e000:1, IPv4-compatible
		{netip.Addr{}, 0},
	}
	for _, tt := range tests {
		if got := classifyScope(tt.a); got != tt.want {
			t.Errorf("classifyScope(%v) = %#x; want %#x", tt.a, got, tt.want)
		}
	}
}

func TestCommonPrefixLen(t *testing.T) {
	tests := []struct {
		a, b string
		want uint8
	}{
		{"fe80::1", "fe80::2", 64},
		{"fe81::1", "fe80::2", 15},
		{"2001:db8:1::1", "2001:db8:1::2", 64},
		{"2001:db8:1:0:ffff::", "2001:db8:1::", 64}, // interface ID never counts
		{"2001:db8:3ffe::1", "2001:db8:3f44::2", 40},
		{"8000::", "::", 0},
		{"2001:db8::1%eth0", "2001:db8::1%eth1", 64},
	}
	for _, tt := range tests {
		if got := commonPrefixLen(addr(tt.a), addr(tt.b)); got != tt.want {
			t.Errorf("commonPrefixLen(%s, %s) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// benchAddrs returns n destinations, IPv6 and IPv4 alternating, with
// differing prefixes so rules 6 and 9 both have work to do.
func benchAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), 15: byte(i)})
		} else {
			out[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		}
	}
	return out
}

var (
	benchSrc6 = netip.MustParseAddr("2001:db8:7::1")
	benchSrc4 = netip.MustParseAddr("192.0.2.200")
)

// benchSource is a non-allocating SourceFunc: every IPv6 destination is
// routable from benchSrc6, every IPv4 one from benchSrc4, except one
// address in seven, which has no route.
func benchSource(d netip.Addr) (netip.Addr, bool) {
	b := d.As16()
	if b[15]%7 == 3 {
		return netip.Addr{}, false
	}
	if d.Is4() {
		return benchSrc4, true
	}
	return benchSrc6, true
}

func BenchmarkSort(b *testing.B) {
	for _, n := range []int{2, 12, 100} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			in := benchAddrs(n)
			buf := make([]netip.Addr, n)
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, in)
				Sort(buf, benchSource)
			}
		})
	}
}

// TestDefaultPolicy_IPv4PrecedenceUnique pins the fact attrsOf relies on
// to apply rule 9 to IPv6 pairs only: no IPv6 row shares the IPv4-mapped
// row's precedence, so rule 6 always separates an IPv4 destination from
// an IPv6 one before rule 9 is reached.
func TestDefaultPolicy_IPv4PrecedenceUnique(t *testing.T) {
	p4, _ := classifyPolicy(addr("192.0.2.1"))
	for _, e := range defaultPolicy {
		if e.prefix != netip.MustParsePrefix("::ffff:0:0/96") && e.precedence == p4 {
			t.Errorf("policy row %v has the IPv4 precedence %d", e.prefix, p4)
		}
	}
}

// TestSortRanked: the history rules of RFC 8305 §4 sit between RFC 6724
// rules 8 and 9: they reorder destinations equal up to rule 8 (the same
// family here), never across families, and a rank of zero changes nothing.
func TestSortRanked(t *testing.T) {
	src := func(d netip.Addr) (netip.Addr, bool) {
		if d.Is4() {
			return netip.MustParseAddr("198.51.100.1"), true
		}
		return netip.MustParseAddr("2001:db8:1::1"), true
	}
	in := []netip.Addr{
		netip.MustParseAddr("2001:db8:1::a"), netip.MustParseAddr("2001:db8:2::b"),
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"),
	}
	ranks := map[netip.Addr]uint16{in[1]: 5, in[3]: 7}
	got := slices.Clone(in)
	SortRanked(got, src, func(d netip.Addr) uint16 { return ranks[d] })
	// Rule 9 would put 2001:db8:1::a first (the longer match); the rank
	// puts 2001:db8:2::b first. IPv6 stays ahead of IPv4 (rule 6).
	want := []netip.Addr{in[1], in[0], in[3], in[2]}
	if !slices.Equal(got, want) {
		t.Errorf("SortRanked = %v; want %v", got, want)
	}
	plain := slices.Clone(in)
	Sort(plain, src)
	zero := slices.Clone(in)
	SortRanked(zero, src, func(netip.Addr) uint16 { return 0 })
	if !slices.Equal(plain, zero) {
		t.Errorf("rank 0 changed the order: %v; Sort gives %v", zero, plain)
	}
}
