//go:build linux

package dialer

// HTTPS records over real sockets: the project's DNS client asking the
// in-process DNS server (internal/dnstest) on loopback, which serves
// HTTPS records late, loses them, or sends them malformed.

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// malformedHTTPS answers HTTPS queries with a reply whose ipv4hint
// SvcParam claims 3 bytes for a 4-byte address (RFC 9460 §2.2: such a
// record does not parse), and passes other queries to next.
type malformedHTTPS struct{ next *dnstest.Zone }

func (h malformedHTTPS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 || req.Question[0].Qtype != dns.TypeHTTPS {
		h.next.ServeDNS(w, req)
		return
	}
	b, err := h.next.Reply(req).Pack()
	if err != nil {
		return
	}
	// key 4 (ipv4hint), length 4, 127.0.0.1 → length 3.
	b = bytes.Replace(b, []byte{0, 4, 0, 4, 127, 0, 0, 1}, []byte{0, 4, 0, 3, 127, 0, 0, 1}, 1)
	_, _ = w.Write(b)
}

// TestHTTPSRecords_Loopback dials a listener on 127.0.0.1 by name with
// HTTPS records from a real DNS server: HEv3 §4.2.1 (a hint connects
// while A and AAAA are late), §4.2 (a lost or late HTTPS answer holds the
// dial up by the Resolution Delay at most), RFC 9460 §2.2 (a malformed
// record is no record).
func TestHTTPSRecords_Loopback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	owner := fmt.Sprintf("_%d._https.%s", port, dualName)

	for _, tc := range []struct {
		name      string
		faults    map[uint16]dnstest.Fault
		malformed bool
		min, max  time.Duration
		wantHTTPS string // a LogTrace line that must appear
	}{
		{
			// The only hint is IPv4: the Resolution Delay waits for AAAA
			// (HEv3 §4.2), then the hint is dialed.
			name:   "HEv3/4.2.1/A and AAAA 1s late, HTTPS at once with a hint: connects on the hint",
			faults: map[uint16]dnstest.Fault{dns.TypeA: {Delay: time.Second}, dns.TypeAAAA: {Delay: time.Second}},
			min:    DefaultResolutionDelay, max: 500 * time.Millisecond, wantHTTPS: "A hints: [127.0.0.1]",
		},
		{
			name:   "HEv3/4.2/HTTPS lost: connects after the Resolution Delay",
			faults: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Drop: true}},
			min:    DefaultResolutionDelay, max: 500 * time.Millisecond,
		},
		{
			name:   "HEv3/4.2/HTTPS 1s late: not waited for beyond the Resolution Delay",
			faults: map[uint16]dnstest.Fault{dns.TypeHTTPS: {Delay: time.Second}},
			min:    DefaultResolutionDelay, max: 500 * time.Millisecond,
		},
		{
			name:      "RFC9460/2.2/malformed HTTPS record: no services, no wait",
			malformed: true,
			max:       DefaultResolutionDelay - 10*time.Millisecond, wantHTTPS: "HTTPS answer: none",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zone := dnstest.NewZone(
				dualName+" 60 IN A 127.0.0.1",
				owner+" 60 IN HTTPS 1 . ipv4hint=127.0.0.1",
			)
			var h dns.Handler = &dnstest.Faults{Next: zone, ByType: tc.faults}
			if tc.malformed {
				h = malformedHTTPS{zone}
			}
			srv := dnstest.Start(t, h)
			res := dnsResolver(t, srv).(*resolver.Client)
			t.Cleanup(func() { res.Close() }) // the late answers' lookups
			d := &Dialer{Resolver: res, HTTPSRecords: HTTPSOn, DisableHistory: true}
			var mu sync.Mutex
			var lines []string
			ctx := WithTrace(t.Context(), LogTrace(func(f string, args ...any) {
				mu.Lock()
				lines = append(lines, fmt.Sprintf(f, args...))
				mu.Unlock()
			}))
			start := time.Now()
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(dualName, fmt.Sprint(port)))
			took := time.Since(start)
			require.NoError(t, err)
			c.Close()
			mu.Lock()
			defer mu.Unlock()
			log := strings.Join(lines, "\n")
			if took < tc.min || took > tc.max {
				t.Errorf("dial took %v; want within [%v, %v]\n%s", took, tc.min, tc.max, log)
			}
			if tc.wantHTTPS != "" && !strings.Contains(log, tc.wantHTTPS) {
				t.Errorf("trace has no %q:\n%s", tc.wantHTTPS, log)
			}
			if srv.Count(dns.TypeHTTPS, "udp") == 0 {
				t.Errorf("no HTTPS query reached the server")
			}
			for _, q := range srv.Queries() {
				if q.Type == dns.TypeHTTPS && !strings.EqualFold(q.Name, owner) {
					t.Errorf("HTTPS query for %q; want %q (RFC 9460 §9.1)", q.Name, owner)
				}
			}
		})
	}
}
