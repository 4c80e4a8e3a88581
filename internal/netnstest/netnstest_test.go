//go:build linux

package netnstest

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A connection from the client namespace reaches a listener in the
// server namespace over the veth pair, whose server end has the MAC it
// was given; the namespaces are gone after the test. (Nothing is sent
// from the host's own namespace: its routes may lead off the machine.)
func TestPair(t *testing.T) {
	var names []string
	t.Run("pair", func(t *testing.T) {
		p := New(t, "netnstest-", Options{MACs: [2]string{"02:00:00:00:00:0a", "02:00:00:00:00:0b"}})
		names = []string{p.Client(), p.Server()}
		p.IP(t, "-n", p.Client(), "addr", "add", "192.0.2.1/24", "dev", "veth0")
		p.IP(t, "-n", p.Server(), "addr", "add", "192.0.2.2/24", "dev", "veth1")
		out, err := exec.Command("ip", "-n", p.Server(), "link", "show", "veth1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "02:00:00:00:00:0b") {
			t.Errorf("veth1: %v: %s; want MAC 02:00:00:00:00:0b", err, out)
		}
		var ln net.Listener
		p.In(t, ServerSide, func() (err error) {
			ln, err = net.Listen("tcp4", "192.0.2.2:0")
			return err
		})
		defer ln.Close()
		accepted := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				_, err = io.WriteString(c, "hi")
				c.Close()
			}
			accepted <- err
		}()
		p.In(t, ClientSide, func() error {
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				return err
			}
			defer c.Close()
			b, err := io.ReadAll(c)
			if string(b) != "hi" {
				t.Errorf("read %q, %v; want \"hi\"", b, err)
			}
			return nil
		})
		if err := <-accepted; err != nil {
			t.Fatal(err)
		}
	})
	for _, name := range names {
		if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
			t.Errorf("namespace %s still there after the test: %v", name, err)
		}
	}
}
