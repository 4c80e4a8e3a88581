//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// TestBinary builds the command and runs it for real, as a user would,
// against three targets on loopback: a dual-stack HTTPS server, a port
// whose ::1 is black-holed, and a name whose AAAA query is lost. Run with -v to see its
// output (the README's sample comes from it).
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	bin := filepath.Join(t.TempDir(), "dualstack")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	before := loopback.FDs(t)
	t.Run("", func(t *testing.T) {
		ready := loopback.Dual(t, loopback.Accept, loopback.Accept)
		startHTTPS(t, ready)
		hole := loopback.Dual(t, loopback.Accept, loopback.BlackHole)
		zone := dnstest.NewZone(append(zone,
			"lost-aaaa.test. 60 IN AAAA ::1",
			"lost-aaaa.test. 60 IN A 127.0.0.1",
			// The https:// target is an HTTPS service (port-prefixed:
			// not on 443), with hints that match and an ECH configuration.
			fmt.Sprintf(`_%d._https.dual.test. 300 IN HTTPS 1 . alpn=h2,http/1.1 ipv4hint=127.0.0.1 ech="%s" ipv6hint=::1`, ready.Port, echConfig))...)
		srv := dnstest.Start(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			if q := r.Question; len(q) == 1 && q[0].Qtype == dns.TypeAAAA && q[0].Name == "lost-aaaa.test." {
				return // the AAAA query is lost
			}
			zone.ServeDNS(w, r)
		}))

		cmd := exec.Command(bin, "check", "-resolver", srv.Addr.String(), "-timeout", "1s", "-insecure",
			fmt.Sprintf("https://dual.test:%d/", ready.Port), hostPort("dual.test", hole.Port), hostPort("lost-aaaa.test", ready.Port))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		t.Logf("$ dualstack %s\n%s", strings.Join(cmd.Args[1:], " "), stdout.String())
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitBroken || stderr.Len() != 0 {
			t.Errorf("exit: %v, stderr %q; want status 1 and nothing on stderr", err, stderr.String())
		}
		for _, want := range []string{
			"Verdict: IPv6-ready [ok]",
			"HTTPS  NOERROR",
			"ech=(70 bytes)",
			"HTTPS records on",
			"Verdict: IPv6 broken: black hole [FAIL]",
			"Verdict: DNS problem: AAAA lost [FAIL]",
		} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("took %v for three targets with -timeout 1s", took)
		}
	})
	loopback.WaitFDs(t, before, 5*time.Second)
}
