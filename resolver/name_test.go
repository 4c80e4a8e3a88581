package resolver

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNameList: the candidate names of the search list and ndots
// (resolv.conf(5)), the name as given last or first.
func TestNameList(t *testing.T) {
	k8s := &Config{Search: []string{"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."}, Ndots: 5}
	tests := []struct {
		name string
		conf *Config
		host string
		want []string
	}{
		{"k8s short name", k8s, "api", []string{"api.default.svc.cluster.local.", "api.svc.cluster.local.", "api.cluster.local.", "api."}},
		{"k8s external name", k8s, "example.com", []string{"example.com.default.svc.cluster.local.", "example.com.svc.cluster.local.", "example.com.cluster.local.", "example.com."}},
		{"k8s rooted", k8s, "example.com.", []string{"example.com."}},
		{"ndots 1 dotted", &Config{Search: []string{"corp."}, Ndots: 1}, "www.example", []string{"www.example.", "www.example.corp."}},
		{"ndots 1 single label", &Config{Search: []string{"corp."}, Ndots: 1}, "intranet", []string{"intranet.corp.", "intranet."}},
		{"no-tld-query", &Config{Search: []string{"corp."}, Ndots: 1, NoTLDQuery: true}, "intranet", []string{"intranet.corp."}},
		{"ndots 0", &Config{Search: []string{"corp."}}, "intranet", []string{"intranet.", "intranet.corp."}},
		// The unsuffixed .onion name is never sent; Resolve answers .onion
		// hosts NXDOMAIN before getting here.
		{"onion", k8s, "x.onion", []string{"x.onion.default.svc.cluster.local.", "x.onion.svc.cluster.local.", "x.onion.cluster.local."}},
		{"rooted onion", k8s, "x.onion.", nil},
		{"too long with suffix", &Config{Search: []string{longLabel(60) + "." + longLabel(60) + "."}, Ndots: 1},
			longLabel(60) + "." + longLabel(60) + "." + longLabel(10), []string{longLabel(60) + "." + longLabel(60) + "." + longLabel(10) + "."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.conf.nameList(tt.host); !slices.Equal(got, tt.want) {
				t.Errorf("nameList(%q) = %q; want %q", tt.host, got, tt.want)
			}
		})
	}
}

func longLabel(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

// TestCanonicalHost: names are lower-cased and converted to "xn--" form
// (RFC 5891 §5); names beyond RFC 1035 §2.3.4's lengths or with invalid
// characters are refused.
func TestCanonicalHost(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com."},
		{"bücher.example", "xn--bcher-kva.example"},
		{"MÜNCHEN.de", "xn--mnchen-3ya.de"},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{"例え。テスト", "xn--r8jz45g.xn--zckzah"},
		{"ｅｘａｍｐｌｅ．ＣＯＭ", "example.com"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"under_score.example", "under_score.example"},
		{"a.b-c.d", "a.b-c.d"},
		{"1.2.3.4.example", "1.2.3.4.example"},
	}
	for _, tt := range tests {
		got, err := canonicalHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("canonicalHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "..", "a..b", "-a.b", "a-.b", "a b", "1234", "é\xff", "tab\t.x", longLabel(64) + ".x", longLabel(255)} {
		if got, err := canonicalHost(bad); !errors.Is(err, errInvalidName) {
			t.Errorf("canonicalHost(%q) = %q, %v; want errInvalidName", bad, got, err)
		}
	}
}

// IDNA: RFC 3492 §7.1 samples and UTS #46 mappings, through x/net/idna.
func TestToASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\u4ed6\u4eec\u4e3a\u4ec0\u4e48\u4e0d\u8bf4\u4e2d\u6587.example", "xn--ihqwcrb4cv8a8dqg056pqjye.example"},
		{"\u3072\u3068\u3064\u5c4b\u6839\u306e\u4e0b2.example", "xn--2-u9tlzr9756bt3uc0v.example"},
		{"B\u00fccher.example", "xn--bcher-kva.example"},
		{"\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002com", "example.com"}, // full-width letters, ideographic full stop
		{"plain.example", "plain.example"},
	}
	for _, tt := range tests {
		if got, err := toASCII(tt.in); err != nil || got != tt.want {
			t.Errorf("toASCII(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a\u00adb\u200d\u0000.example", "\xff.example"} {
		if got, err := toASCII(bad); err == nil {
			t.Errorf("toASCII(%q) = %q; want an error", bad, got)
		}
	}
}

// FuzzCanonicalHost: any input gives a valid domain name (RFC 1035
// §2.3.4) or errInvalidName.
func FuzzCanonicalHost(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "例え。テスト", "a..b", "", "xn--", "-x", strings.Repeat("a.", 200), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		name, err := canonicalHost(host)
		if err != nil {
			if !errors.Is(err, errInvalidName) {
				t.Fatalf("error %v is not errInvalidName", err)
			}
			return
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= utf8.RuneSelf || 'A' <= name[i] && name[i] <= 'Z' {
				t.Fatalf("%q → %q: not lower-case ASCII", host, name)
			}
		}
		if !isDomainName(rooted(name)) {
			t.Fatalf("%q → %q: not a domain name", host, name)
		}
		if again, err := canonicalHost(name); err != nil || again != name {
			t.Fatalf("not idempotent: %q → %q → %q, %v", host, name, again, err)
		}
	})
}
