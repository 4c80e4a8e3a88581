package dialer

// HTTPS records in a dial (https.go), in virtual time: Happy Eyeballs v3
// (draft-ietf-happy-happyeyeballs-v3, the working group's copy after -04)
// and RFC 9460. Case names carry the section ("HEv3/4.2/...",
// "RFC9460/7.2/...").

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// svcResolver answers per host name (rooted or not) as a resolver.Static;
// a host it does not know has no records. It logs what it is asked.
type svcResolver struct {
	hosts map[string]*resolver.Static

	mu      sync.Mutex
	queries []string // "host FAMILY", in order
}

func (r *svcResolver) Resolve(ctx context.Context, host string, fams ...resolver.Family) <-chan resolver.Answer {
	r.mu.Lock()
	for _, f := range fams {
		r.queries = append(r.queries, host+" "+f.QType())
	}
	r.mu.Unlock()
	s := r.hosts[strings.TrimSuffix(host, ".")]
	if s == nil {
		s = new(resolver.Static)
	}
	return s.Resolve(ctx, host, fams...)
}

func (r *svcResolver) Queries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.queries)
}

// svcAnswer is an HTTPS answer after delay.
func svcAnswer(delay time.Duration, svcs ...resolver.Service) resolver.StaticAnswer {
	return resolver.StaticAnswer{Delay: delay, Services: svcs}
}

// apAt is one expected attempt: address, port, start.
type apAt struct {
	ap netip.AddrPort
	at time.Duration
}

func (w apAt) String() string { return fmt.Sprintf("%v@%v", w.ap, w.at) }

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// svcCase is one dial with HTTPS records in virtual time.
type svcCase struct {
	name    string
	hosts   map[string]*resolver.Static // "example.com" is the dialed host
	net     map[netip.Addr]simnet.Behavior
	address string // "example.com:443" when empty
	config  func(*Dialer)

	want    []apAt
	winner  netip.AddrPort // invalid: the dial must fail
	took    time.Duration
	queries []string                   // when set, what the resolver must be asked
	check   func(*testing.T, []string) // the LogTrace lines, when set
}

func runSvcCases(t *testing.T, cases []svcCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runSvc(t, tc) })
		})
	}
}

func runSvc(t *testing.T, tc svcCase) {
	t.Helper()
	n := new(simnet.Network)
	for a, b := range tc.net {
		n.Set(a, b)
	}
	res := &svcResolver{hosts: tc.hosts}
	d := simDialer(n, res)
	d.HTTPSRecords = HTTPSOn
	d.shuffle = func(int, func(i, j int)) {} // equal priorities keep the record order
	if tc.config != nil {
		tc.config(d)
	}
	var mu sync.Mutex
	var lines []string
	ctx := WithTrace(t.Context(), LogTrace(func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}))
	address := tc.address
	if address == "" {
		address = "example.com:443"
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", address)
	took := time.Since(start)
	if c != nil {
		defer c.Close()
	}
	synctest.Wait()
	mu.Lock()
	defer mu.Unlock()
	if tc.winner.IsValid() {
		if err != nil {
			t.Fatalf("dial failed after %v: %v\n%s\n%s", took, err, simLog(n, start), strings.Join(lines, "\n"))
		}
		if got := c.RemoteAddr().String(); got != tc.winner.String() {
			t.Errorf("winner = %s; want %s", got, tc.winner)
		}
	} else if err == nil {
		t.Fatalf("dial to %v succeeded; want an error", c.RemoteAddr())
	}
	if took != tc.took {
		t.Errorf("DialContext returned after %v; want %v\n%s", took, tc.took, strings.Join(lines, "\n"))
	}
	var got []apAt
	for _, a := range n.Attempts() {
		got = append(got, apAt{a.Addr, a.Start.Sub(start)})
		if a.Conn != nil && a.Conn != c && !a.Conn.Closed() {
			t.Errorf("losing connection to %v was not closed", a.Addr)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(tc.want) {
		t.Errorf("attempts:\n got %v\nwant %v\n%s", got, tc.want, strings.Join(lines, "\n"))
	}
	if tc.queries != nil {
		if q := res.Queries(); !slices.Equal(q, tc.queries) {
			t.Errorf("queries:\n got %q\nwant %q", q, tc.queries)
		}
	}
	if tc.check != nil {
		tc.check(t, lines)
	}
}

// wantLine checks that some trace line contains each of subs.
func wantLine(subs ...string) func(*testing.T, []string) {
	return func(t *testing.T, lines []string) {
		t.Helper()
		for _, s := range subs {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, s) }) {
				t.Errorf("no trace line contains %q:\n%s", s, strings.Join(lines, "\n"))
			}
		}
	}
}

// host is the dialed host's records.
func host(aaaa, a, https resolver.StaticAnswer) map[string]*resolver.Static {
	return map[string]*resolver.Static{"example.com": {AAAA: aaaa, A: a, HTTPS: https}}
}

var (
	self = "example.com." // a ServiceMode record with TargetName "."
	bh   = simnet.BlackHoled()
)

// TestHEv3_4_2_HintsAndResolutionDelay covers HEv3 §4.2 and §4.2.1: the
// HTTPS answer is waited for within the Resolution Delay, and its hints
// are early answers.
func TestHEv3_4_2_HintsAndResolutionDelay(t *testing.T) {
	runSvcCases(t, []svcCase{
		{
			name: "HEv3/4.2.1/hints at 0 ms, AAAA and A at 200 ms: the first attempt goes to the IPv6 hint at 0",
			hosts: host(simAnswer(200*ms, v6a), simAnswer(200*ms, v4a),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, IPv6Hint: []netip.Addr{v6a}, IPv4Hint: []netip.Addr{v4a}})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 0}},
			winner: ap(v6a, 443), took: 10 * ms,
			check: wantLine("HTTPS answer: 1 service(s)", "AAAA hints: [2001:db8::1]", "is for service example.com (priority 1), a hint"),
		},
		{
			name: "HEv3/4.2.1/only an IPv4 hint: it is a positive answer, the Resolution Delay waits for AAAA",
			hosts: host(simAnswer(200*ms, v6a), simAnswer(200*ms, v4a),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, IPv4Hint: []netip.Addr{v4a}})),
			net:    map[netip.Addr]simnet.Behavior{v4a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v4a, 443), 50 * ms}},
			winner: ap(v4a, 443), took: 60 * ms,
		},
		{
			name: "HEv3/4.2/AAAA and A at 0, HTTPS at 30 ms: the first attempt waits for HTTPS",
			hosts: host(simAnswer(0, v6a), simAnswer(0, v4a),
				svcAnswer(30*ms, resolver.Service{Priority: 1, Target: self})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 30 * ms}},
			winner: ap(v6a, 443), took: 40 * ms,
		},
		{
			name:   "HEv3/4.2/HTTPS lost: the dial goes on after the Resolution Delay",
			hosts:  host(simAnswer(0, v6a), simAnswer(0, v4a), simNever),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 50 * ms}},
			winner: ap(v6a, 443), took: 60 * ms,
			check: wantLine("+60ms dial to example.com connected"),
		},
		{
			name:   "HEv3/4.2/HTTPS at 80 ms, past the Resolution Delay: not waited for beyond it",
			hosts:  host(simAnswer(10*ms, v6a), simAnswer(10*ms, v4a), svcAnswer(80*ms, resolver.Service{Priority: 1, Target: self})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(100 * ms)},
			want:   []apAt{{ap(v6a, 443), 60 * ms}},
			winner: ap(v6a, 443), took: 160 * ms,
		},
		{
			name:   "HEv3/4.2/negative HTTPS answer (NODATA) at 0 ends the wait at once",
			hosts:  host(simAnswer(0, v6a), simAnswer(0, v4a), resolver.StaticAnswer{}),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 0}},
			winner: ap(v6a, 443), took: 10 * ms,
			check: wantLine("HTTPS answer: none"),
		},
		{
			name:   "HEv3/4.2/HTTPS SERVFAIL at 20 ms: the wait ends then",
			hosts:  host(simAnswer(0, v6a), simAnswer(0, v4a), simServFail(20*ms)),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 20 * ms}},
			winner: ap(v6a, 443), took: 30 * ms,
		},
		{
			name: "HEv3/4.2/negative ResolutionDelay: HTTPS is not waited for",
			hosts: host(simAnswer(0, v6a), simAnswer(0, v4a),
				svcAnswer(30*ms, resolver.Service{Priority: 1, Target: self})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) { d.ResolutionDelay = -1 },
			want:   []apAt{{ap(v6a, 443), 0}},
			winner: ap(v6a, 443), took: 10 * ms,
		},
	})
}

// TestHEv3_7_HintsReplaced covers HEv3 §7 (RFC 9460 §7.3): the A and AAAA
// answers replace the hints; hints not in them and not tried are dropped.
func TestHEv3_7_HintsReplaced(t *testing.T) {
	runSvcCases(t, []svcCase{
		{
			name: "HEv3/7/AAAA at 100 ms without the second IPv6 hint: dropped, the answer's address goes in its place",
			hosts: host(simAnswer(100*ms, v6c), simAnswer(100*ms, v4a),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, IPv6Hint: []netip.Addr{v6a, v6b}, IPv4Hint: []netip.Addr{v4a}})),
			net:    map[netip.Addr]simnet.Behavior{v6a: bh, v6b: simnet.Accepting(ms), v4a: bh, v6c: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 0}, {ap(v4a, 443), 250 * ms}, {ap(v6c, 443), 500 * ms}},
			winner: ap(v6c, 443), took: 510 * ms,
			check: wantLine("example.com AAAA answer replaced hints, dropped [2001:db8::2]"),
		},
		{
			name: "HEv3/7/a hint already tried is not cancelled when the answer leaves it out",
			hosts: host(simAnswer(100*ms, v6b), simAnswer(100*ms),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, IPv6Hint: []netip.Addr{v6a}})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(300 * ms), v6b: bh},
			want:   []apAt{{ap(v6a, 443), 0}, {ap(v6b, 443), 250 * ms}},
			winner: ap(v6a, 443), took: 300 * ms,
		},
		{
			name: "HEv3/4.2.1/AAAA already in when HTTPS arrives: IPv6 hints are not used, IPv4 hints are",
			hosts: host(simAnswer(0, v6a), simAnswer(100*ms, v4a, v4b),
				svcAnswer(10*ms, resolver.Service{Priority: 1, Target: self, IPv6Hint: []netip.Addr{v6b}, IPv4Hint: []netip.Addr{v4a}})),
			net:    map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 10 * ms}, {ap(v4a, 443), 260 * ms}},
			winner: ap(v4a, 443), took: 270 * ms,
		},
	})
}

// TestRFC9460_TargetAndPort covers RFC 9460 §2.5 and §7.2 as HEv3 §4.2.1
// and §5.2 use them: a TargetName other than the host is resolved, its
// addresses are the service's; the port parameter is dialed.
func TestRFC9460_TargetAndPort(t *testing.T) {
	svc := "svc.example.net."
	runSvcCases(t, []svcCase{
		{
			name: "RFC9460/7.2/port parameter: the service's port is dialed",
			hosts: host(simAnswer(0, v6a), simAnswer(0, v4a),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, Port: 8443})),
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 8443), 0}},
			winner: ap(v6a, 8443), took: 10 * ms,
			check: wantLine("port 8443 from the record"),
		},
		{
			name: "HEv3/7/HTTPS after the Resolution Delay: attempts not yet started take its port",
			hosts: host(simAnswer(0, v6a, v6b), simAnswer(0, v4a),
				svcAnswer(80*ms, resolver.Service{Priority: 1, Target: self, Port: 8443})),
			net:    map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 50 * ms}, {ap(v4a, 8443), 300 * ms}},
			winner: ap(v4a, 8443), took: 310 * ms,
		},
		{
			name: "RFC9460/7.2/a port the Policy rejects is not dialed: the dialed port is",
			hosts: host(simAnswer(0, v6a), simAnswer(0, v4a),
				svcAnswer(0, resolver.Service{Priority: 1, Target: self, Port: 22})),
			net: map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			config: func(d *Dialer) {
				d.Policy = func(_ string, ap netip.AddrPort) error {
					if ap.Port() != 443 {
						return errors.New("port not allowed")
					}
					return nil
				}
			},
			want:   []apAt{{ap(v6a, 443), 0}},
			winner: ap(v6a, 443), took: 10 * ms,
		},
		{
			name: "RFC9460/2.5/TargetName: its AAAA is looked up and tried before the host's own addresses",
			hosts: map[string]*resolver.Static{
				"example.com":     {AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a), HTTPS: svcAnswer(0, resolver.Service{Priority: 1, Target: svc})},
				"svc.example.net": {AAAA: simAnswer(20*ms, v6b), A: simAnswer(20*ms, v4b)},
			},
			net:    map[netip.Addr]simnet.Behavior{v6b: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6b, 443), 20 * ms}},
			winner: ap(v6b, 443), took: 30 * ms,
			queries: []string{"example.com HTTPS", "example.com AAAA", "example.com A",
				"svc.example.net. AAAA", "svc.example.net. A"},
			check: wantLine("svc.example.net AAAA answer: [2001:db8::2]", "is for service svc.example.net (priority 1)"),
		},
		{
			name: "RFC9460/2.5/TargetName with hints, port and slow answers: hints at once on the service port",
			hosts: map[string]*resolver.Static{
				"example.com": {AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a),
					HTTPS: svcAnswer(0, resolver.Service{Priority: 1, Target: svc, Port: 8443, IPv6Hint: []netip.Addr{v6b}})},
				"svc.example.net": {AAAA: simAnswer(time.Second, v6b), A: simAnswer(time.Second, v4b)},
			},
			net:    map[netip.Addr]simnet.Behavior{v6b: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6b, 8443), 0}},
			winner: ap(v6b, 8443), took: 10 * ms,
		},
		{
			name: "RFC9460/2.5/a target sharing an address with the host, answering after it: the address is the service's endpoint (its port)",
			hosts: map[string]*resolver.Static{
				"example.com":     {AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a), HTTPS: svcAnswer(0, resolver.Service{Priority: 1, Target: svc, Port: 8443})},
				"svc.example.net": {AAAA: simAnswer(20*ms, v6a), A: simAnswer(20*ms, v4b)},
			},
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 8443), 20 * ms}},
			winner: ap(v6a, 8443), took: 30 * ms,
			check: wantLine("is for service svc.example.net (priority 1)"),
		},
		{
			name: "RFC9460/2.5/a target sharing a hint with the host's answer: the hint's service and port",
			hosts: map[string]*resolver.Static{
				"example.com": {AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a),
					HTTPS: svcAnswer(5*ms, resolver.Service{Priority: 1, Target: svc, Port: 8443, IPv6Hint: []netip.Addr{v6a}})},
				"svc.example.net": {AAAA: simAnswer(time.Second, v6a), A: simAnswer(time.Second, v4b)},
			},
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 8443), 5 * ms}},
			winner: ap(v6a, 8443), took: 15 * ms,
		},
		{
			name: "HEv3/5.2/the target does not answer: the host's addresses, the last group, after the Resolution Delay",
			hosts: map[string]*resolver.Static{
				"example.com":     {AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a), HTTPS: svcAnswer(0, resolver.Service{Priority: 1, Target: svc})},
				"svc.example.net": {AAAA: simNever, A: simNever},
			},
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 50 * ms}},
			winner: ap(v6a, 443), took: 60 * ms,
		},
		{
			name: "RFC9460/9.1/port 8443: the HTTPS query is for _8443._https.example.com, and a '.' target is the host",
			hosts: map[string]*resolver.Static{
				"example.com":              {AAAA: simAnswer(20*ms, v6a), A: simAnswer(20*ms, v4a)},
				"_8443._https.example.com": {HTTPS: svcAnswer(0, resolver.Service{Priority: 1, Target: "_8443._https.example.com.", IPv4Hint: []netip.Addr{v4b}, IPv6Hint: []netip.Addr{v6b}})},
			},
			address: "example.com:8443",
			net:     map[netip.Addr]simnet.Behavior{v6b: simnet.Accepting(10 * ms)},
			want:    []apAt{{ap(v6b, 8443), 0}},
			winner:  ap(v6b, 8443), took: 10 * ms,
			queries: []string{"_8443._https.example.com HTTPS", "example.com AAAA", "example.com A"},
		},
	})
}

// TestHEv3_5_Grouping covers HEv3 §5.1, §5.2 and §6.2: ALPN groups, then
// SvcPriority, then RFC 6724 with interleaving inside each group;
// services with no protocol in common are skipped.
func TestHEv3_5_Grouping(t *testing.T) {
	h2only := resolver.Service{Priority: 2, Target: "h2.example.net.", ALPN: []string{"h2"},
		IPv6Hint: []netip.Addr{v6a}, IPv4Hint: []netip.Addr{v4a}}
	plain := resolver.Service{Priority: 1, Target: "h1.example.net.",
		IPv6Hint: []netip.Addr{v6b}, IPv4Hint: []netip.Addr{v4b}}
	h3only := resolver.Service{Priority: 1, Target: "h3.example.net.", ALPN: []string{"h3"}, NoDefaultALPN: true,
		IPv6Hint: []netip.Addr{v6c}}
	slowTargets := func(m map[string]*resolver.Static) map[string]*resolver.Static {
		for _, n := range []string{"h1.example.net", "h2.example.net", "h3.example.net"} {
			m[n] = &resolver.Static{AAAA: simNever, A: simNever}
		}
		return m
	}
	runSvcCases(t, []svcCase{
		{
			name:   "HEv3/5.1/the h2 service goes before a higher-priority http/1.1 one; families interleave across the groups",
			hosts:  slowTargets(host(simNever, simNever, svcAnswer(0, plain, h2only))),
			net:    map[netip.Addr]simnet.Behavior{v6a: bh, v4a: bh, v6b: bh, v4b: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6a, 443), 0}, {ap(v4a, 443), 250 * ms}, {ap(v6b, 443), 500 * ms}, {ap(v4b, 443), 750 * ms}},
			winner: ap(v4b, 443), took: 760 * ms,
		},
		{
			name: "HEv3/5.2/one ALPN group: lower SvcPriority first, whatever the record order",
			hosts: slowTargets(host(simNever, simNever, svcAnswer(0,
				resolver.Service{Priority: 2, Target: "h2.example.net.", IPv6Hint: []netip.Addr{v6a}, IPv4Hint: []netip.Addr{v4a}},
				plain))),
			config: func(d *Dialer) { d.ConnectionAttemptDelay = 100 * ms },
			net:    map[netip.Addr]simnet.Behavior{v6a: bh, v4a: simnet.Accepting(10 * ms), v6b: bh, v4b: bh},
			want:   []apAt{{ap(v6b, 443), 0}, {ap(v4b, 443), 100 * ms}, {ap(v6a, 443), 200 * ms}, {ap(v4a, 443), 300 * ms}},
			winner: ap(v4a, 443), took: 310 * ms,
		},
		{
			name:   "HEv3/6.2/an h3-only service is skipped by a TCP client",
			hosts:  slowTargets(host(simNever, simNever, svcAnswer(0, h3only, plain))),
			net:    map[netip.Addr]simnet.Behavior{v6c: simnet.Accepting(ms), v6b: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6b, 443), 0}},
			winner: ap(v6b, 443), took: 10 * ms,
			check: wantLine("1 service(s), 1 skipped"),
		},
		{
			name: "HEv3/5.2/equal priorities: the shuffle decides",
			hosts: slowTargets(host(simNever, simNever, svcAnswer(0,
				resolver.Service{Priority: 1, Target: "h1.example.net.", IPv6Hint: []netip.Addr{v6a}},
				resolver.Service{Priority: 1, Target: "h2.example.net.", IPv6Hint: []netip.Addr{v6b}}))),
			config: func(d *Dialer) {
				d.shuffle = func(n int, swap func(i, j int)) { swap(0, n-1) }
			},
			net:    map[netip.Addr]simnet.Behavior{v6a: simnet.Accepting(10 * ms), v6b: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6b, 443), 0}},
			winner: ap(v6b, 443), took: 10 * ms,
		},
		{
			name:   "HEv3/5.2/host addresses no service covers come last",
			hosts:  slowTargets(host(simAnswer(0, v6c), simAnswer(0, v4c), svcAnswer(0, plain))),
			net:    map[netip.Addr]simnet.Behavior{v6b: bh, v4b: bh, v6c: simnet.Accepting(10 * ms)},
			want:   []apAt{{ap(v6b, 443), 0}, {ap(v4b, 443), 250 * ms}, {ap(v6c, 443), 500 * ms}},
			winner: ap(v6c, 443), took: 510 * ms,
		},
	})
}

// TestHTTPSRecords_OptIn checks who asks for HTTPS records: nobody by
// default on plain TCP; HTTPSOn dials and TLSDialer dials do; HTTPSOff
// turns TLSDialer's off.
func TestHTTPSRecords_OptIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode HTTPSMode
		tls  bool
		addr string
		want []string
	}{
		{"zero value, plain TCP: AAAA and A only", HTTPSAuto, false, "example.com:443", []string{"example.com AAAA", "example.com A"}},
		{"HTTPSOn, port 443", HTTPSOn, false, "example.com:443", []string{"example.com HTTPS", "example.com AAAA", "example.com A"}},
		{"HTTPSOn, port 8443", HTTPSOn, false, "example.com:8443", []string{"_8443._https.example.com HTTPS", "example.com AAAA", "example.com A"}},
		{"TLSDialer, zero value", HTTPSAuto, true, "example.com:443", []string{"example.com HTTPS", "example.com AAAA", "example.com A"}},
		{"TLSDialer, HTTPSOff", HTTPSOff, true, "example.com:443", []string{"example.com AAAA", "example.com A"}},
		{"IP literal: nothing asked", HTTPSOn, false, "192.0.2.1:443", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := new(simnet.Network)
				n.Set(v4a, simnet.Refusing(ms))
				res := &svcResolver{hosts: host(simAnswer(0), simAnswer(0, v4a), resolver.StaticAnswer{})}
				d := simDialer(n, res)
				d.HTTPSRecords = tc.mode
				if tc.tls {
					(&TLSDialer{NetDialer: d}).DialContext(t.Context(), "tcp", tc.addr)
				} else {
					d.DialContext(t.Context(), "tcp", tc.addr)
				}
				if got := res.Queries(); !slices.Equal(got, tc.want) {
					t.Errorf("queries = %q; want %q", got, tc.want)
				}
			})
		})
	}
}

// TestOrder is the service ordering as a table (HEv3 §5.1, §5.2, §6.2).
func TestOrder(t *testing.T) {
	s := func(prio uint16, name string, alpn []string, noDefault bool) resolver.Service {
		return resolver.Service{Priority: prio, Target: name, ALPN: alpn, NoDefaultALPN: noDefault}
	}
	for _, tc := range []struct {
		name    string
		svcs    []resolver.Service
		alpn    []string
		want    string
		skipped int
	}{
		{"by priority", []resolver.Service{s(3, "c", nil, false), s(1, "a", nil, false), s(2, "b", nil, false)}, []string{"http/1.1"}, "a b c", 0},
		{"h2 group first", []resolver.Service{s(1, "a", nil, false), s(2, "b", []string{"h2"}, false)}, []string{"h2", "http/1.1"}, "b a", 0},
		{"no default ALPN and no overlap: skipped", []resolver.Service{s(1, "a", []string{"h3"}, true), s(2, "b", nil, false)}, []string{"h2", "http/1.1"}, "b", 1},
		{"caller without http/1.1 skips default-only services", []resolver.Service{s(1, "a", nil, false)}, []string{"h2"}, "", 1},
		{"priority 0 (alias end) sorts last", []resolver.Service{s(0, "z", nil, false), s(9, "a", nil, false)}, []string{"http/1.1"}, "a z", 0},
		{"equal priorities keep order without a shuffle", []resolver.Service{s(1, "a", nil, false), s(1, "b", nil, false)}, []string{"http/1.1"}, "a b", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped := order(tc.svcs, tc.alpn, nil)
			var names []string
			for _, g := range got {
				names = append(names, g.Target)
			}
			if strings.Join(names, " ") != tc.want || skipped != tc.skipped {
				t.Errorf("order = %q, skipped %d; want %q, %d", strings.Join(names, " "), skipped, tc.want, tc.skipped)
			}
		})
	}
}

// TestHEv3_8_2_HintsNAT64 covers HEv3 §8.2: IPv4 hints are synthesized
// into NAT64 addresses on an IPv6-only network, as A answers are.
func TestHEv3_8_2_HintsNAT64(t *testing.T) {
	runSvcCases(t, []svcCase{{
		name: "HEv3/8.2/IPv4 hint at 0, A at 1 s, IPv6-only network: the NAT64 address of the hint at 0",
		hosts: host(simAnswer(0), simAnswer(time.Second, v4a),
			svcAnswer(0, resolver.Service{Priority: 1, Target: self, IPv4Hint: []netip.Addr{v4a}})),
		config: func(d *Dialer) { d.SourceAddr = ipv6Only; d.NAT64Prefix = pref64 },
		net:    map[netip.Addr]simnet.Behavior{synth4a: simnet.Accepting(10 * ms)},
		want:   []apAt{{ap(synth4a, 443), 0}},
		winner: ap(synth4a, 443), took: 10 * ms,
	}})
}

// TestHistory_LateHTTPSLearned: an HTTPS answer that missed the
// Resolution Delay is not waited for on the next dials (HEv3 §4.2 costs
// it once); when it comes in time again, the wait is back.
func TestHistory_LateHTTPSLearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.Accepting(20*ms))
		d := simDialer(&n, &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a), HTTPS: simNever})
		d.History, d.HTTPSRecords = new(History), HTTPSOn
		took, _ := dialTimes(t, d, "tcp", 2)
		if want := []time.Duration{70 * ms, 20 * ms}; !slices.Equal(took, want) {
			t.Errorf("lost HTTPS: dials took %v; want %v", took, want)
		}
		d.Resolver = &resolver.Static{AAAA: simAnswer(0, v6a), A: simAnswer(0, v4a), HTTPS: svcAnswer(10*ms, resolver.Service{Priority: 1, Target: self})}
		took, _ = dialTimes(t, d, "tcp", 2)
		if want := []time.Duration{20 * ms, 30 * ms}; !slices.Equal(took, want) {
			t.Errorf("HTTPS in time again: dials took %v; want %v (not waited for, then waited for)", took, want)
		}
	})
}

// TestDialer_httpsSettings is the opt-in decision as a table (HEv3 §4.1,
// RFC 9460 §9.1).
func TestDialer_httpsSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode HTTPSMode
		td   *tlsDial
		port uint16
		want string // "" for nil, else "qname alpn… tls"
	}{
		{"plain, zero value: off", HTTPSAuto, nil, 443, ""},
		{"plain, on", HTTPSOn, nil, 443, "example.com [h2 http/1.1] false"},
		{"plain, on, other port", HTTPSOn, nil, 8080, "_8080._https.example.com [h2 http/1.1] false"},
		{"TLS, zero value, no NextProtos: http/1.1", HTTPSAuto, &tlsDial{}, 443, "example.com [http/1.1] true"},
		{"TLS, NextProtos", HTTPSAuto, &tlsDial{nextProtos: []string{"h2", "http/1.1"}}, 443, "example.com [h2 http/1.1] true"},
		{"TLS, zero value, port 6380, no NextProtos (not HTTPS): off", HTTPSAuto, &tlsDial{}, 6380, ""},
		{"TLS, zero value, port 6380, NextProtos redis (not HTTPS): off", HTTPSAuto, &tlsDial{nextProtos: []string{"redis"}}, 6380, ""},
		{"TLS, zero value, port 8443, NextProtos h2: _8443._https", HTTPSAuto, &tlsDial{nextProtos: []string{"h2"}}, 8443, "_8443._https.example.com [h2] true"},
		{"TLS, on, port 6380", HTTPSOn, &tlsDial{}, 6380, "_6380._https.example.com [http/1.1] true"},
		{"TLS, off", HTTPSOff, &tlsDial{}, 443, ""},
		{"plain, off", HTTPSOff, nil, 443, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dialer{HTTPSRecords: tc.mode}
			got := ""
			if s := d.httpsSettings("example.com.", tc.port, tc.td); s != nil {
				got = fmt.Sprint(s.qname, " ", s.alpn, " ", s.tls)
			}
			if got != tc.want {
				t.Errorf("httpsSettings = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestHTTPSRecords_MetricsAndTrace checks that HTTPS answers are counted,
// and that WithTrace composes the HTTPS hooks.
func TestHTTPSRecords_MetricsAndTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := new(simnet.Network)
		n.Set(v6a, simnet.Accepting(ms))
		var m Metrics
		d := simDialer(n, &resolver.Static{
			AAAA:  simAnswer(20*ms, v6a),
			HTTPS: svcAnswer(10*ms, resolver.Service{Priority: 1, Target: self, IPv6Hint: []netip.Addr{v6a}}),
		})
		d.HTTPSRecords, d.Metrics = HTTPSOn, &m
		var calls []string
		ctx := WithTrace(t.Context(), &Trace{HTTPSAnswer: func(HTTPSAnswerInfo) { calls = append(calls, "first") }})
		ctx = WithTrace(ctx, &Trace{
			HTTPSAnswer: func(i HTTPSAnswerInfo) {
				calls = append(calls, fmt.Sprintf("second %d %v", len(i.Services), i.Elapsed))
			},
			HTTPSAttempt: func(i HTTPSAttemptInfo) { calls = append(calls, fmt.Sprintf("attempt %v hint %v", i.Addr, i.Hint)) },
		})
		c, err := d.DialContext(ctx, "tcp", "example.com:443")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		want := []string{"first", "second 1 10ms", "attempt [2001:db8::1]:443 hint true"}
		if !slices.Equal(calls, want) {
			t.Errorf("trace calls = %q; want %q", calls, want)
		}
		s := m.Snapshot().HTTPS
		if s.DNSPositive != 1 || s.DNSNegative != 0 || s.DNSErrors != 0 || s.DNSLatency.Count != 1 {
			t.Errorf("HTTPS metrics = %+v; want one positive answer", s)
		}
	})
}
