package nat64

import (
	"errors"
	"net/netip"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// TestSynthesize_RFC6052Examples checks the examples of RFC 6052 §2.4
// (Tables 1 and 2), written as the RFC writes them.
func TestSynthesize_RFC6052Examples(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		v4     string
		want   string
	}{
		{"/32", "2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::"},
		{"/40", "2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::"},
		{"/48", "2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::"},
		{"/56", "2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::"},
		{"/64", "2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100:0"},
		{"/96", "2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33"},
		{"well-known prefix", "64:ff9b::/96", "192.0.2.33", "64:ff9b::192.0.2.33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Synthesize(pfx(tt.prefix), addr(tt.v4))
			if err != nil {
				t.Fatalf("Synthesize(%s, %s): %v", tt.prefix, tt.v4, err)
			}
			if got != addr(tt.want) {
				t.Errorf("Synthesize(%s, %s) = %s; want %s", tt.prefix, tt.v4, got, tt.want)
			}
			v4, ok := Extract(pfx(tt.prefix), got)
			if !ok || v4 != addr(tt.v4) {
				t.Errorf("Extract(%s, %s) = %v, %v; want %s, true", tt.prefix, got, v4, ok, tt.v4)
			}
		})
	}
}

func TestSynthesize_Input(t *testing.T) {
	tests := []struct {
		name   string
		prefix netip.Prefix
		v4     netip.Addr
		want   string // the address, when wantErr is nil
		err    error
	}{
		{"host bits of the prefix are ignored", pfx("2001:db8::1/32"), addr("192.0.2.33"), "2001:db8:c000:221::", nil},
		{"IPv4-mapped address counts as IPv4", pfx("2001:db8::/32"), addr("::ffff:192.0.2.33"), "2001:db8:c000:221::", nil},
		{"network-specific prefix embeds non-global", pfx("2001:db8::/96"), addr("10.1.2.3"), "2001:db8::a01:203", nil},
		{"local-use prefix embeds non-global (RFC 8215)", pfx("64:ff9b:1::/48"), addr("192.168.1.1"), "64:ff9b:1:c0a8:1:100::", nil},
		{"well-known prefix with host bits", pfx("64:ff9b::1/96"), addr("10.0.0.1"), "", ErrNonGlobal},
		{"length 33", pfx("2001:db8::/33"), addr("192.0.2.33"), "", ErrPrefixLength},
		{"length 0", pfx("::/0"), addr("192.0.2.33"), "", ErrPrefixLength},
		{"length 128", pfx("2001:db8::/128"), addr("192.0.2.33"), "", ErrPrefixLength},
		{"length 95", pfx("2001:db8::/95"), addr("192.0.2.33"), "", ErrPrefixLength},
		{"IPv4 prefix", pfx("192.0.2.0/24"), addr("192.0.2.33"), "", ErrNotIPv6Prefix},
		{"IPv4-mapped prefix", pfx("::ffff:0:0/96"), addr("192.0.2.33"), "", ErrNotIPv6Prefix},
		{"zero prefix", netip.Prefix{}, addr("192.0.2.33"), "", ErrNotIPv6Prefix},
		{"/96 with the u octet set", pfx("2001:db8:0:0:100::/96"), addr("192.0.2.33"), "", ErrReservedBits},
		{"IPv6 address", pfx("2001:db8::/96"), addr("2001:db8::1"), "", ErrNotIPv4},
		{"zero address", pfx("2001:db8::/96"), netip.Addr{}, "", ErrNotIPv4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Synthesize(tt.prefix, tt.v4)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Synthesize(%v, %v) = %v, %v; want error %v", tt.prefix, tt.v4, got, err, tt.err)
				}
				if got.IsValid() {
					t.Errorf("Synthesize(%v, %v) = %v with an error; want the zero Addr", tt.prefix, tt.v4, got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("Synthesize(%v, %v) = %v, %v; want %s, nil", tt.prefix, tt.v4, got, err, tt.want)
			}
		})
	}
}

// TestSynthesize_NonGlobal checks RFC 6052 §3.1 at both ends of every
// refused range, and just outside them.
func TestSynthesize_NonGlobal(t *testing.T) {
	tests := []struct {
		name   string
		v4     string
		global bool
	}{
		{"this network, first", "0.0.0.0", false},
		{"this network, last", "0.255.255.255", false},
		{"after this network", "1.0.0.0", true},
		{"RFC 1918 10/8, first", "10.0.0.0", false},
		{"RFC 1918 10/8, last", "10.255.255.255", false},
		{"after 10/8", "11.0.0.0", true},
		{"before shared space", "100.63.255.255", true},
		{"shared space, first", "100.64.0.0", false},
		{"shared space, last", "100.127.255.255", false},
		{"after shared space", "100.128.0.0", true},
		{"loopback", "127.0.0.1", false},
		{"loopback, last", "127.255.255.255", false},
		{"link local", "169.254.1.1", false},
		{"before 172.16/12", "172.15.255.255", true},
		{"RFC 1918 172.16/12, first", "172.16.0.0", false},
		{"RFC 1918 172.16/12, last", "172.31.255.255", false},
		{"after 172.16/12", "172.32.0.0", true},
		{"IETF protocol assignments", "192.0.0.1", false},
		{"DS-Lite B4", "192.0.0.2", false},
		{"PCP anycast is global", "192.0.0.9", true},
		{"TURN anycast is global", "192.0.0.10", true},
		{"ipv4only.arpa 192.0.0.170", "192.0.0.170", true},
		{"ipv4only.arpa 192.0.0.171", "192.0.0.171", true},
		{"IETF protocol assignments, last", "192.0.0.255", false},
		{"documentation TEST-NET-1 (RFC 6052 §2.4 uses it)", "192.0.2.33", true},
		{"documentation TEST-NET-2", "198.51.100.1", true},
		{"documentation TEST-NET-3", "203.0.113.1", true},
		{"RFC 1918 192.168/16", "192.168.0.1", false},
		{"benchmarking, first", "198.18.0.0", false},
		{"benchmarking, last", "198.19.255.255", false},
		{"after benchmarking", "198.20.0.0", true},
		{"global unicast", "8.8.8.8", true},
		{"last before reserved", "239.255.255.255", true},
		{"reserved", "240.0.0.1", false},
		{"limited broadcast", "255.255.255.255", false},
	}
	nsp := pfx("2001:db8:122:344::/64")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Synthesize(WellKnownPrefix, addr(tt.v4))
			switch {
			case tt.global && err != nil:
				t.Errorf("Synthesize(%v, %s): %v; want success", WellKnownPrefix, tt.v4, err)
			case !tt.global && !errors.Is(err, ErrNonGlobal):
				t.Errorf("Synthesize(%v, %s) = %v, %v; want ErrNonGlobal", WellKnownPrefix, tt.v4, got, err)
			}
			// The rule is the well-known prefix's only.
			if _, err := Synthesize(nsp, addr(tt.v4)); err != nil {
				t.Errorf("Synthesize(%v, %s): %v; want success", nsp, tt.v4, err)
			}
			// Extract refuses what Synthesize refuses.
			raw := embed(WellKnownPrefix, addr(tt.v4))
			if v4, ok := Extract(WellKnownPrefix, raw); ok != tt.global || ok && v4 != addr(tt.v4) {
				t.Errorf("Extract(%v, %v) = %v, %v; want ok %v", WellKnownPrefix, raw, v4, ok, tt.global)
			}
		})
	}
}

// TestExtract_RoundTrip synthesizes and extracts addresses spread over the
// IPv4 space under every prefix length, with prefixes whose bits are all
// ones, so that a byte written to or read from the wrong place shows.
func TestExtract_RoundTrip(t *testing.T) {
	ones := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	v4s := []string{"0.0.0.0", "1.2.3.4", "192.0.2.33", "10.20.30.40", "128.0.0.1", "255.255.255.255", "203.0.113.254"}
	for _, bits := range prefixLengths {
		prefix := netip.PrefixFrom(ones, bits).Masked()
		t.Run(prefix.String(), func(t *testing.T) {
			for _, s := range v4s {
				v4 := addr(s)
				v6, err := Synthesize(prefix, v4)
				if err != nil {
					t.Fatalf("Synthesize(%v, %v): %v", prefix, v4, err)
				}
				if !prefix.Contains(v6) {
					t.Errorf("Synthesize(%v, %v) = %v, outside the prefix", prefix, v4, v6)
				}
				if b := v6.As16(); b[uOctet] != 0 {
					t.Errorf("Synthesize(%v, %v) = %v: bits 64 to 71 are %#x; want 0", prefix, v4, v6, b[uOctet])
				}
				got, ok := Extract(prefix, v6)
				if !ok || got != v4 {
					t.Errorf("Extract(%v, %v) = %v, %v; want %v, true", prefix, v6, got, ok, v4)
				}
			}
		})
	}
}

func TestExtract_Refuses(t *testing.T) {
	tests := []struct {
		name   string
		prefix netip.Prefix
		v6     netip.Addr
	}{
		{"outside the prefix", pfx("2001:db8::/32"), addr("2001:db9:c000:221::")},
		{"u octet set", pfx("2001:db8::/32"), addr("2001:db8:c000:221:100::")},
		{"suffix set", pfx("2001:db8::/32"), addr("2001:db8:c000:221::1")},
		{"suffix set /64", pfx("2001:db8:122:344::/64"), addr("2001:db8:122:344:c0:2:2100:1")},
		{"IPv4 address", pfx("2001:db8::/32"), addr("192.0.2.33")},
		{"IPv4-mapped address", pfx("::/32"), addr("::ffff:192.0.2.33")},
		{"zero address", pfx("2001:db8::/32"), netip.Addr{}},
		{"bad prefix length", pfx("2001:db8::/33"), addr("2001:db8:c000:221::")},
		{"IPv4 prefix", pfx("192.0.2.0/24"), addr("2001:db8:c000:221::")},
		{"well-known prefix, private address", WellKnownPrefix, addr("64:ff9b::a00:1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Extract(tt.prefix, tt.v6); ok || got.IsValid() {
				t.Errorf("Extract(%v, %v) = %v, %v; want invalid, false", tt.prefix, tt.v6, got, ok)
			}
		})
	}
}

func TestExtract_Zone(t *testing.T) {
	got, ok := Extract(pfx("2001:db8::/32"), addr("2001:db8:c000:221::%eth0"))
	if !ok || got != addr("192.0.2.33") {
		t.Errorf("Extract of a zoned address = %v, %v; want 192.0.2.33, true", got, ok)
	}
}

func TestSynthesize_Allocs(t *testing.T) {
	prefix, v4 := pfx("2001:db8:122::/48"), addr("192.0.2.33")
	v6, _ := Synthesize(prefix, v4)
	if n := testing.AllocsPerRun(100, func() { _, _ = Synthesize(prefix, v4) }); n != 0 {
		t.Errorf("Synthesize allocates %v times; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Extract(prefix, v6) }); n != 0 {
		t.Errorf("Extract allocates %v times; want 0", n)
	}
}
