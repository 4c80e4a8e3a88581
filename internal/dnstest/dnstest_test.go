package dnstest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func testZone() *Zone {
	return NewZone(
		"example.test. 60 IN A 127.0.0.1",
		"example.test. 60 IN AAAA ::1",
		"alias.test. 30 IN CNAME example.test.",
		"v4only.test. 60 IN A 127.0.0.2",
		"dangling.test. 60 IN CNAME nowhere.test.",
		"loop1.test. 60 IN CNAME loop2.test.",
		"loop2.test. 60 IN CNAME loop1.test.",
		"test. 60 IN SOA ns.test. admin.test. 1 60 60 60 30",
	)
}

func query(t *testing.T, s *Server, proto, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
	m := new(dns.Msg).SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, s.Addr.String())
	if err != nil {
		t.Fatalf("%s %s %s: %v", proto, dns.TypeToString[qtype], name, err)
	}
	return r
}

func TestZone(t *testing.T) {
	before := fds(t)
	t.Run("cases", func(t *testing.T) {
		s := Start(t, testZone())
		tests := []struct {
			name    string
			qname   string
			qtype   uint16
			rcode   int
			answers int
			soa     bool
		}{
			{"A", "example.test.", dns.TypeA, dns.RcodeSuccess, 1, false},
			{"AAAA case-insensitive", "EXAMPLE.test.", dns.TypeAAAA, dns.RcodeSuccess, 1, false},
			{"NODATA", "v4only.test.", dns.TypeAAAA, dns.RcodeSuccess, 0, true},
			{"NXDOMAIN", "missing.test.", dns.TypeA, dns.RcodeNameError, 0, true},
			{"CNAME followed", "alias.test.", dns.TypeA, dns.RcodeSuccess, 2, false},
			{"dangling CNAME", "dangling.test.", dns.TypeA, dns.RcodeNameError, 1, true},
			{"CNAME loop bounded", "loop1.test.", dns.TypeA, dns.RcodeSuccess, 16, true},
		}
		for _, tt := range tests {
			for _, proto := range []string{"udp", "tcp"} {
				r := query(t, s, proto, tt.qname, tt.qtype)
				if r.Rcode != tt.rcode || len(r.Answer) != tt.answers || (len(r.Ns) == 1) != tt.soa {
					t.Errorf("%s over %s: got rcode %d, %d answers, %d ns; want %d, %d, soa %v",
						tt.name, proto, r.Rcode, len(r.Answer), len(r.Ns), tt.rcode, tt.answers, tt.soa)
				}
			}
		}
		if got := s.Count(dns.TypeA, "tcp"); got != 5 {
			t.Errorf("Count(A, tcp) = %d; want 5", got)
		}
	})
	if after := fds(t); after != before {
		t.Errorf("open fds: %d before, %d after", before, after)
	}
}

func TestStart6(t *testing.T) {
	s := Start6(t, testZone())
	if !s.Addr.Addr().Is6() {
		t.Fatalf("Addr = %v; want ::1", s.Addr)
	}
	if r := query(t, s, "udp", "example.test.", dns.TypeAAAA); len(r.Answer) != 1 {
		t.Errorf("got %v", r)
	}
}

func TestZone_UDPTruncation(t *testing.T) {
	z := NewZone()
	for i := range 100 {
		z.Add(MustRR("big.test. 60 IN A 10.0.0." + itoa(i)))
	}
	s := Start(t, z)
	r := query(t, s, "udp", "big.test.", dns.TypeA)
	if !r.Truncated || len(r.Answer) >= 100 {
		t.Errorf("UDP: truncated=%v with %d answers; want TC and fewer than 100", r.Truncated, len(r.Answer))
	}
	if r := query(t, s, "tcp", "big.test.", dns.TypeA); r.Truncated || len(r.Answer) != 100 {
		t.Errorf("TCP: truncated=%v with %d answers; want 100", r.Truncated, len(r.Answer))
	}
}

func itoa(i int) string { return netip.AddrFrom4([4]byte{0, 0, 0, byte(i)}).String()[6:] }

func TestFaults(t *testing.T) {
	s := Start(t, &Faults{Next: testZone(), ByType: map[uint16]Fault{
		dns.TypeAAAA: {Delay: 150 * time.Millisecond},
		dns.TypeA:    {Rcode: dns.RcodeServerFailure, Times: 1},
		dns.TypeMX:   {Truncate: true},
	}})
	start := time.Now()
	r := query(t, s, "udp", "example.test.", dns.TypeAAAA)
	if d := time.Since(start); d < 150*time.Millisecond || len(r.Answer) != 1 {
		t.Errorf("AAAA after %v with %d answers; want ≥150ms and 1", d, len(r.Answer))
	}
	if r := query(t, s, "udp", "example.test.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("first A: rcode %d; want SERVFAIL", r.Rcode)
	}
	if r := query(t, s, "udp", "example.test.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("second A (Times: 1): rcode %d, %d answers; want success", r.Rcode, len(r.Answer))
	}
	if r := query(t, s, "udp", "example.test.", dns.TypeMX); !r.Truncated {
		t.Errorf("MX over UDP not truncated")
	}
	if r := query(t, s, "tcp", "example.test.", dns.TypeMX); r.Truncated {
		t.Errorf("MX over TCP truncated")
	}
}

// rawExchange sends a query from an unconnected socket and returns every
// datagram that arrives within wait, with its source.
func rawExchange(t *testing.T, s *Server, q *dns.Msg, wait time.Duration) (msgs []*dns.Msg, from []netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := q.Pack()
	if _, err := c.WriteToUDPAddrPort(b, s.Addr); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return msgs, from
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
		from = append(from, src)
	}
}

func TestFaults_Bogus(t *testing.T) {
	s := Start(t, &Faults{Next: testZone(), ByType: map[uint16]Fault{
		dns.TypeA:    {WrongID: true, WrongQuestion: true, OtherSource: true},
		dns.TypeAAAA: {Drop: true},
		dns.TypeMX:   {WrongID: true, BogusOnly: true},
	}})
	q := new(dns.Msg).SetQuestion("example.test.", dns.TypeA)
	msgs, from := rawExchange(t, s, q, 300*time.Millisecond)
	if len(msgs) != 4 {
		t.Fatalf("got %d replies; want 4 (wrong ID, wrong question, other source, genuine)", len(msgs))
	}
	if msgs[0].Id == q.Id {
		t.Errorf("reply 1 has the query's ID")
	}
	if msgs[1].Question[0].Name == "example.test." {
		t.Errorf("reply 2 has the query's question")
	}
	if from[2] == s.Addr || from[2].Addr() != s.Addr.Addr() {
		t.Errorf("reply 3 from %v; want another port of %v", from[2], s.Addr.Addr())
	}
	last := msgs[3]
	if last.Id != q.Id || from[3] != s.Addr || len(last.Answer) != 1 || last.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Errorf("genuine reply wrong: %v from %v", last, from[3])
	}

	q = new(dns.Msg).SetQuestion("example.test.", dns.TypeAAAA)
	if msgs, _ := rawExchange(t, s, q, 100*time.Millisecond); len(msgs) != 0 {
		t.Errorf("Drop: got %d replies", len(msgs))
	}
	q = new(dns.Msg).SetQuestion("example.test.", dns.TypeMX)
	if msgs, _ := rawExchange(t, s, q, 100*time.Millisecond); len(msgs) != 1 || msgs[0].Id == q.Id {
		t.Errorf("BogusOnly: got %d replies; want only the wrong-ID one", len(msgs))
	}
}

func TestClose_StopsDelayedHandlers(t *testing.T) {
	s := Start(t, &Faults{Next: testZone(), ByType: map[uint16]Fault{dns.TypeA: {Delay: time.Hour}}})
	c, err := net.Dial("udp", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := new(dns.Msg).SetQuestion("example.test.", dns.TypeA).Pack()
	c.Write(b)
	deadline := time.Now().Add(2 * time.Second)
	for s.Count(dns.TypeA, "") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a handler delayed for an hour", d)
	}
}

func TestStartOn_RefusesNonLoopback(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { recover() }()
		StartOn(ft, netip.MustParseAddr("192.0.2.1"), testZone())
	}()
	if !ft.failed {
		t.Error("StartOn accepted a non-loopback address")
	}
}

type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fatalRecorder) Helper()               {}

func TestStartAt(t *testing.T) {
	addr := netip.MustParseAddrPort("127.53.0.1:53")
	s, err := NewAt(addr, testZone())
	if errors.Is(err, os.ErrPermission) {
		t.Skip("binding port 53 needs privileges")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Addr != addr {
		t.Fatalf("Addr = %v; want %v", s.Addr, addr)
	}
	if r := query(t, s, "tcp", "example.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("got %v", r)
	}
	if _, err := NewAt(addr, testZone()); err == nil {
		t.Error("a second server on the same address started")
	}
}
