package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in        string
		forceHTTP bool
		host      string
		port      uint16
		url       string
	}{
		{in: "example.com", host: "example.com", port: 443, url: "https://example.com:443/"},
		{in: "example.com:443", host: "example.com", port: 443, url: "https://example.com:443/"},
		{in: "example.com:80", host: "example.com", port: 80, url: "http://example.com:80/"},
		{in: "example.com:22", host: "example.com", port: 22},
		{in: "example.com:8080", forceHTTP: true, host: "example.com", port: 8080, url: "http://example.com:8080/"},
		{in: "example.com:https", host: "example.com", port: 443, url: "https://example.com:443/"},
		{in: "example.com.", host: "example.com.", port: 443, url: "https://example.com.:443/"},
		{in: "192.0.2.1:25", host: "192.0.2.1", port: 25},
		{in: "[2001:db8::1]:25", host: "2001:db8::1", port: 25},
		{in: "2001:db8::1", host: "2001:db8::1", port: 443, url: "https://[2001:db8::1]:443/"},
		{in: "[fe80::1%eth0]:80", host: "fe80::1%eth0", port: 80, url: "http://[fe80::1%25eth0]:80/"},
		{in: "https://example.com", host: "example.com", port: 443, url: "https://example.com/"},
		{in: "https://example.com:8443/health?x=1", host: "example.com", port: 8443, url: "https://example.com:8443/health?x=1"},
		{in: "http://[2001:db8::1]/", host: "2001:db8::1", port: 80, url: "http://[2001:db8::1]/"},
		{in: "under_score.example", host: "under_score.example", port: 443, url: "https://under_score.example:443/"},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in, tt.forceHTTP)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tt.in, err)
			continue
		}
		if got.host != tt.host || got.port != tt.port || got.url != tt.url {
			t.Errorf("parseTarget(%q) = host %q port %d url %q; want %q %d %q", tt.in, got.host, got.port, got.url, tt.host, tt.port, tt.url)
		}
	}
}

func TestParseTarget_Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty target"},
		{"  ", "empty target"},
		{"example.com:", "empty port"},
		{"example.com:0", "invalid port"},
		{"example.com:65536", "invalid port"},
		{"example.com:-1", "unknown port"},
		{"example.com:nosuchservice", "unknown port"},
		{"[2001:db8::1", "missing ']'"},
		{"[2001:db8::1]", "missing port"},
		{"exa mple.com", "not a valid host name"},
		{"example..com", "not a valid host name"},
		{"-:", "empty port"},
		{"ftp://example.com", `scheme "ftp"`},
		{"https://", "no host"},
		{"https://example.com:99999/", "invalid port"},
		{strings.Repeat("a", 64) + ".com", "overlong label"},
	}
	for _, tt := range tests {
		_, err := parseTarget(tt.in, false)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseTarget(%q) = %v; want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)

	cfg, targets, err := parseArgs([]string{"-json", "a.example:22", "-6", "-timeout", "2s", "b.example", "-resolver", "::1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.json || cfg.family != resolver.IPv6 || cfg.timeout != 2*time.Second || cfg.server.String() != "[::1]:53" || len(targets) != 2 {
		t.Errorf("got %+v, %d targets; want -json -6 -timeout 2s -resolver [::1]:53 and 2 targets (flags between targets)", cfg, len(targets))
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no target"},
		{[]string{"-json"}, "no target"},
		{[]string{"-4", "-6", "x.example"}, "-4 and -6 together"},
		{[]string{"-timeout", "0s", "x.example"}, "must be positive"},
		{[]string{"-timeout", "soon", "x.example"}, "invalid value"},
		{[]string{"-resolver", "dns.example", "x.example"}, "want an IP address"},
		{[]string{"-resolver", "127.0.0.1:0", "x.example"}, "want an IP address"},
		{[]string{"-cacert", filepath.Join(dir, "missing.pem"), "x.example"}, "no such file"},
		{[]string{"-cacert", notPEM, "x.example"}, "no PEM certificate"},
		{[]string{"-nosuchflag", "x.example"}, "not defined"},
		{[]string{"x.example", "bad:port"}, "unknown port"},
	} {
		_, _, err := parseArgs(tt.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseArgs(%q) = %v; want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestRun_Usage: usage errors exit with status 2 and say what is wrong,
// before any check starts (no DNS query, no connect).
func TestRun_Usage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string // in stderr, or stdout for help
	}{
		{nil, exitUsage, "usage: dualstack check"},
		{[]string{"probe", "x.example"}, exitUsage, `unknown command "probe"`},
		{[]string{"check"}, exitUsage, "no target"},
		{[]string{"check", "good.example", "bad host"}, exitUsage, "not a valid host name"},
		{[]string{"check", "x.example:70000"}, exitUsage, "invalid port"},
		{[]string{"check", "-resolver", "nowhere", "x.example"}, exitUsage, "-resolver"},
		{[]string{"help"}, exitOK, "-resolver"},
		{[]string{"check", "-h"}, exitOK, "-timeout"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d and %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.want)
		}
		if tt.code == exitUsage && stdout.Len() > 0 {
			t.Errorf("run(%q) wrote %q to stdout; want nothing on a usage error", tt.args, stdout.String())
		}
	}
}

// TestConfig_AsksHTTPS: which targets get the HTTPS record query.
func TestConfig_AsksHTTPS(t *testing.T) {
	tests := []struct {
		in    string
		https bool // -https
		want  bool
	}{
		{"example.com", false, true}, // port 443
		{"example.com:443", false, true},
		{"https://example.com:8443/", false, true}, // an https:// URL names an HTTPS service
		{"http://example.com/", false, false},
		{"example.com:8443", false, false},
		{"example.com:8443", true, true}, // _8443._https.example.com
		{"db.internal:5432", true, true},
		{"192.0.2.1:443", true, false}, // an IP literal has no records
		{"[2001:db8::1]:443", false, false},
	}
	for _, tt := range tests {
		tg, err := parseTarget(tt.in, false)
		if err != nil {
			t.Fatalf("parseTarget(%q): %v", tt.in, err)
		}
		cfg := &config{https: tt.https}
		if got := cfg.asksHTTPS(tg); got != tt.want {
			t.Errorf("asksHTTPS(%q) with -https=%v = %v; want %v", tt.in, tt.https, got, tt.want)
		}
	}
}
