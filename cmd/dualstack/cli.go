package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// Exit statuses.
const (
	exitOK     = 0 // every family that has addresses works
	exitBroken = 1 // a family is broken, or the name has no address
	exitUsage  = 2 // bad flags or targets
)

// defaultPort is used when a target names no port: most services people
// check are HTTPS.
const defaultPort = 443

// config is what the flags say.
type config struct {
	server   netip.AddrPort  // -resolver; zero: the system's resolv.conf
	hosts    string          // -hosts; "": /etc/hosts (none with -resolver)
	timeout  time.Duration   // -timeout: each lookup, connect, request and the race
	family   resolver.Family // -4, -6; zero: both
	http     bool            // -http: an HTTP(S) request on any port
	https    bool            // -https: the HTTPS record query on any port
	insecure bool            // -insecure
	roots    *x509.CertPool  // -cacert; nil: the system's roots
	json     bool            // -json
}

// families returns the families to check, IPv6 first.
func (c *config) families() []resolver.Family {
	if c.family != 0 {
		return []resolver.Family{c.family}
	}
	return []resolver.Family{resolver.IPv6, resolver.IPv4}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usageText = `usage: dualstack check [flags] TARGET [TARGET...]

TARGET is HOST, HOST:PORT, [IPv6]:PORT or an http:// or https:// URL.
Without a port, 443 (80 for an http:// URL). Ports 80 and 443, URLs and
-http add an HTTP(S) request per family. Port 443, https:// URLs and
-https add the HTTPS record query (RFC 9460) and race with its answer.

Exit status: 0 when every family that has addresses works, 1 when one is
broken (or the name has no address), 2 for a usage error.

flags:
`

// run is the command: it parses args, checks every target and writes the
// reports to stdout, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		newFlagSet(&config{}, stderr).PrintDefaults()
		return exitUsage
	}
	switch args[0] {
	case "check":
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		newFlagSet(&config{}, stdout).PrintDefaults()
		return exitOK
	default:
		fmt.Fprintf(stderr, "dualstack: unknown command %q (try: dualstack check HOST[:PORT])\n", args[0])
		return exitUsage
	}
	cfg, targets, err := parseArgs(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "dualstack check: %v\n", err)
		return exitUsage
	}
	reports := make([]Report, 0, len(targets))
	for _, t := range targets {
		r := check(ctx, cfg, t)
		reports = append(reports, r)
		if !cfg.json {
			renderText(stdout, r)
		}
		if ctx.Err() != nil {
			break // interrupted: the targets left are not checked
		}
	}
	if cfg.json {
		if err := renderJSON(stdout, reports); err != nil {
			fmt.Fprintf(stderr, "dualstack check: %v\n", err)
			return exitBroken
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "dualstack check: interrupted")
		return exitBroken
	}
	for _, r := range reports {
		if !r.Verdict.OK {
			return exitBroken
		}
	}
	return exitOK
}

// flags holds the raw flag values that need parsing after flag.Parse.
type flags struct {
	server, cacert string
	v4, v6         bool
}

func newFlagSet(cfg *config, out io.Writer) *flag.FlagSet {
	return newFlagSetInto(cfg, &flags{}, out)
}

func newFlagSetInto(cfg *config, f *flags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dualstack check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.server, "resolver", "", "DNS server `ADDR[:PORT]` to ask (port 53 when omitted); default: the servers of /etc/resolv.conf")
	fs.StringVar(&cfg.hosts, "hosts", "", "hosts `FILE` consulted before DNS; default /etc/hosts, none with -resolver (the net.Dialer comparison always reads /etc/hosts)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "bound on each DNS lookup, connect, HTTP request and the race")
	fs.BoolVar(&f.v4, "4", false, "check IPv4 only")
	fs.BoolVar(&f.v6, "6", false, "check IPv6 only")
	fs.BoolVar(&cfg.http, "http", false, "make an HTTP(S) request per family on any port (HTTPS on 443)")
	fs.BoolVar(&cfg.https, "https", false, "ask for HTTPS records (_PORT._https.HOST) on any port, and race with them; always done for port 443 and https:// URLs")
	fs.BoolVar(&cfg.insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.StringVar(&f.cacert, "cacert", "", "PEM `FILE` of CA certificates to verify the server with, instead of the system's")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON document: an array of target reports")
	return fs
}

// parseArgs parses the flags and targets of "check"; flags may come before,
// between or after the targets.
func parseArgs(args []string, stderr io.Writer) (*config, []target, error) {
	cfg := &config{}
	var f flags
	fs := newFlagSetInto(cfg, &f, stderr)
	var raw []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, err
			}
			return nil, nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		raw = append(raw, args[0])
		args = args[1:]
	}
	if len(raw) == 0 {
		return nil, nil, usagef("no target: give HOST[:PORT] or a URL")
	}
	if cfg.timeout <= 0 {
		return nil, nil, usagef("-timeout %v: must be positive", cfg.timeout)
	}
	switch {
	case f.v4 && f.v6:
		return nil, nil, usagef("-4 and -6 together: give one, or neither for both families")
	case f.v4:
		cfg.family = resolver.IPv4
	case f.v6:
		cfg.family = resolver.IPv6
	}
	if f.server != "" {
		ap, err := parseServer(f.server)
		if err != nil {
			return nil, nil, err
		}
		cfg.server = ap
	}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return nil, nil, usagef("-cacert: %v", err)
		}
		cfg.roots = x509.NewCertPool()
		if !cfg.roots.AppendCertsFromPEM(pem) {
			return nil, nil, usagef("-cacert %s: no PEM certificate in it", f.cacert)
		}
	}
	var targets []target
	for _, s := range raw {
		t, err := parseTarget(s, cfg.http)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
	}
	return cfg, targets, nil
}

// parseServer parses -resolver: an IP address with an optional port.
func parseServer(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return netip.AddrPort{}, usagef("-resolver %q: want an IP address and optional port, as 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// target is one thing to check.
type target struct {
	input string // as given
	host  string // name or IP literal, without brackets
	port  uint16
	url   string // the URL of the HTTP(S) request; "" for none
}

// address returns "host:port" for dialing.
func (t target) address() string {
	return net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
}

// parseTarget parses HOST, HOST:PORT, [IPv6]:PORT, a bare IPv6 literal or
// an http(s) URL. The HTTP(S) request is made for ports 80 and 443, for
// URLs, and for every port when forceHTTP (HTTPS on 443, HTTP elsewhere).
func parseTarget(s string, forceHTTP bool) (target, error) {
	t := target{input: s}
	if strings.TrimSpace(s) == "" {
		return t, usagef("empty target: give HOST[:PORT] or a URL")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return t, usagef("target %q: %v", s, err)
		}
		var port uint16
		switch u.Scheme {
		case "http":
			port = 80
		case "https":
			port = 443
		default:
			return t, usagef("target %q: scheme %q; want http or https", s, u.Scheme)
		}
		if u.Port() != "" {
			p, err := parsePort(s, u.Port())
			if err != nil {
				return t, err
			}
			port = p
		}
		t.host, t.port = u.Hostname(), port
		if err := checkHost(s, t.host); err != nil {
			return t, err
		}
		if u.Path == "" {
			u.Path = "/"
		}
		u.Fragment = ""
		t.url = u.String()
		return t, nil
	}
	host, portText := s, ""
	switch {
	case strings.HasPrefix(s, "["), strings.Count(s, ":") == 1:
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return t, usagef("target %q: %v; want HOST, HOST:PORT or [IPv6]:PORT", s, unwrapAddrErr(err))
		}
		host, portText = h, p
	}
	t.host, t.port = host, defaultPort
	if portText != "" || strings.HasSuffix(s, ":") {
		p, err := parsePort(s, portText)
		if err != nil {
			return t, err
		}
		t.port = p
	}
	if err := checkHost(s, t.host); err != nil {
		return t, err
	}
	hostport := strings.ReplaceAll(t.address(), "%", "%25") // an IPv6 zone, escaped in a URL (RFC 6874)
	switch {
	case t.port == 443:
		t.url = "https://" + hostport + "/"
	case t.port == 80:
		t.url = "http://" + hostport + "/"
	case forceHTTP:
		t.url = "http://" + hostport + "/"
	}
	return t, nil
}

func unwrapAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// parsePort parses a port number (1-65535) or a service name from
// /etc/services ("https").
func parsePort(target, p string) (uint16, error) {
	if p == "" {
		return 0, usagef("target %q: empty port", target)
	}
	if n, err := strconv.ParseUint(p, 10, 16); err == nil && n > 0 {
		return uint16(n), nil
	} else if p[0] >= '0' && p[0] <= '9' {
		return 0, usagef("target %q: invalid port %q; want 1-65535", target, p)
	}
	n, err := net.LookupPort("tcp", p)
	if err != nil || n <= 0 || n > 65535 {
		return 0, usagef("target %q: unknown port %q; want 1-65535 or a service name", target, p)
	}
	return uint16(n), nil
}

// checkHost accepts an IP literal (IPv6 with a zone too) or a host name
// whose labels are letters, digits, '-' and '_' (1-63 characters each,
// 253 in all, an optional final dot).
func checkHost(target, host string) error {
	if host == "" {
		return usagef("target %q: no host", target)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) == 0 || len(name) > 253 {
		return usagef("target %q: %q is not a valid host name", target, host)
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return usagef("target %q: %q is not a valid host name (empty or overlong label)", target, host)
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
			if !ok {
				return usagef("target %q: %q is not a valid host name (character %q)", target, host, r)
			}
		}
	}
	return nil
}
