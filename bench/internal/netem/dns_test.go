package netem

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// loopbackDNS starts a DNSServer on 127.0.0.1 for one test.
func loopbackDNS(t *testing.T, z Zone) (*DNSServer, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartDNS(pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetZone(z)
	t.Cleanup(func() { srv.Close() })
	return srv, pc.LocalAddr().String()
}

func TestDNSServer(t *testing.T) {
	v6, v4 := netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("192.0.2.10")
	srv, addr := loopbackDNS(t, Zone{
		Records: map[string][]netip.Addr{"WWW.Example.test": {v6, v4}, "v4only.example.test.": {v4}},
		TTL:     7,
		Delay:   map[uint16]time.Duration{dns.TypeAAAA: 80 * time.Millisecond},
		Drop:    map[uint16]bool{dns.TypeMX: true},
	})
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	query := func(name string, qtype uint16) (*dns.Msg, time.Duration, error) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		start := time.Now()
		r, _, err := c.Exchange(m, addr)
		return r, time.Since(start), err
	}

	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		want   []string
		slower time.Duration
	}{
		{"A", "www.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, 0},
		{"AAAA is late", "www.example.test.", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8:1::1"}, 80 * time.Millisecond},
		{"NODATA", "v4only.example.test.", dns.TypeAAAA, dns.RcodeSuccess, nil, 80 * time.Millisecond},
		{"NXDOMAIN", "nope.example.test.", dns.TypeA, dns.RcodeNameError, nil, 0},
		{"faults only for listed names", "nope.example.test.", dns.TypeAAAA, dns.RcodeNameError, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, took, err := query(tt.qname, tt.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode {
				t.Errorf("rcode = %s; want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			var got []string
			for _, rr := range r.Answer {
				switch rr := rr.(type) {
				case *dns.A:
					got = append(got, rr.A.String())
				case *dns.AAAA:
					got = append(got, rr.AAAA.String())
				}
				if rr.Header().Ttl != 7 {
					t.Errorf("TTL = %d; want 7", rr.Header().Ttl)
				}
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("answer = %v; want %v", got, tt.want)
			}
			if len(got) == 0 && len(r.Ns) != 1 {
				t.Errorf("negative answer without SOA: %v", r.Ns)
			}
			if took < tt.slower || took > tt.slower+200*time.Millisecond {
				t.Errorf("answer took %v; want ≈ %v", took, tt.slower)
			}
		})
	}

	t.Run("dropped", func(t *testing.T) {
		if _, _, err := query("www.example.test.", dns.TypeMX); err == nil {
			t.Error("a dropped query type was answered")
		}
	})
	if got := srv.Queries(dns.TypeAAAA); got != 3 {
		t.Errorf("Queries(AAAA) = %d; want 3", got)
	}
}

func TestDNSServer_closeAbandonsDelayedAnswers(t *testing.T) {
	srv, addr := loopbackDNS(t, Zone{
		Records: map[string][]netip.Addr{"x.test": {netip.MustParseAddr("192.0.2.1")}},
		Delay:   map[uint16]time.Duration{dns.TypeA: time.Hour},
	})
	m := new(dns.Msg)
	m.SetQuestion("x.test.", dns.TypeA)
	go (&dns.Client{Timeout: 200 * time.Millisecond}).Exchange(m, addr)
	for deadline := time.Now().Add(time.Second); srv.Queries(dns.TypeA) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("query never arrived")
		}
	}
	start := time.Now()
	srv.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v with an answer held back", took)
	}
	time.Sleep(250 * time.Millisecond) // let the client's exchange time out before goleak looks
}

func TestStartDNS_needsAConn(t *testing.T) {
	if _, err := StartDNS(nil, nil); err == nil {
		t.Error("StartDNS(nil, nil) succeeded")
	}
}

// TestDNSServer_HTTPS checks the HTTPS records a Zone publishes (RFC
// 9460): answered at once while the address answers are late, NODATA for
// a listed name without them, and unparsable RDATA left out.
func TestDNSServer_HTTPS(t *testing.T) {
	_, addr := loopbackDNS(t, Zone{
		Records: map[string][]netip.Addr{"www.example.test": {netip.MustParseAddr("192.0.2.10")}, "other.example.test": nil},
		Delay:   map[uint16]time.Duration{dns.TypeA: time.Second},
		HTTPS:   map[string][]string{"WWW.example.test.": {"1 . alpn=h2 ipv4hint=192.0.2.10", "not rdata"}},
	})
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	for name, want := range map[string]int{"www.example.test.": 1, "other.example.test.": 0} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeHTTPS)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != want {
			t.Fatalf("%s HTTPS: rcode %s, %d answers; want NOERROR, %d", name, dns.RcodeToString[r.Rcode], len(r.Answer), want)
		}
		if want == 0 {
			continue
		}
		h, ok := r.Answer[0].(*dns.HTTPS)
		if !ok || h.Priority != 1 || len(h.Value) != 2 {
			t.Errorf("answer = %v; want the HTTPS record with alpn and ipv4hint", r.Answer[0])
		}
	}
}
