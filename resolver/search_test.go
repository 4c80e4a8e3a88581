package resolver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// TestSearchStep is the search-list rule of the Client doc, as a table:
// one family at one candidate name, given its own outcome there, the
// other family's, and whether the candidate is the last.
func TestSearchStep(t *testing.T) {
	tests := []struct {
		name        string
		mine, other kind
		last        bool
		want        step
	}{
		// This family's own result is not known yet.
		{"in flight, other in flight", pending, pending, false, askMine},
		{"in flight, other NXDOMAIN: the name does not exist for any type", pending, nxdomain, false, skipMine},
		{"in flight, other NXDOMAIN on the last candidate: RFC 4074 §4.2, wait for mine", pending, nxdomain, true, askMine},
		{"in flight, other NODATA", pending, nodata, false, askMine},
		{"in flight, other failed", pending, failed, false, askMine},
		{"in flight, other positive", pending, positive, false, askMine},
		{"in flight, one family", pending, unasked, false, askMine},

		// Records of this family end the search (RFC 8305 §3: both
		// families describe the same name).
		{"positive, other in flight", positive, pending, false, answerAddrs},
		{"positive, other NXDOMAIN: RFC 4074 §4.2", positive, nxdomain, false, answerAddrs},
		{"positive, one family, last", positive, unasked, true, answerAddrs},

		// NXDOMAIN: the next candidate, whatever the other family says.
		{"NXDOMAIN, other in flight", nxdomain, pending, false, nextCand},
		{"NXDOMAIN, other positive", nxdomain, positive, false, nextCand},
		{"NXDOMAIN, last", nxdomain, pending, true, nextCand},

		// NODATA (RFC 2308 §2.2): the other family decides, except on
		// the last candidate.
		{"NODATA, other in flight", nodata, pending, false, askOther},
		{"NODATA, other positive: the search ends here", nodata, positive, false, answerNoData},
		{"NODATA, other NODATA", nodata, nodata, false, nextCand},
		{"NODATA, other NXDOMAIN", nodata, nxdomain, false, nextCand},
		{"NODATA, other failed", nodata, failed, false, nextCand},
		{"NODATA, one family", nodata, unasked, false, nextCand},
		{"NODATA, last, other in flight", nodata, pending, true, nextCand},
		{"NODATA, last, other positive", nodata, positive, true, nextCand},

		// A failure is passed over like NODATA, as Go's resolver does.
		{"failed, other in flight", failed, pending, false, askOther},
		{"failed, other positive: the search ends here", failed, positive, false, answerNoData},
		{"failed, other failed", failed, failed, false, nextCand},
		{"failed, one family", failed, unasked, false, nextCand},
		{"failed, last, other positive", failed, positive, true, nextCand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, searchStep(tt.mine, tt.other, tt.last), "searchStep(%v, %v, last=%v)", tt.mine, tt.other, tt.last)
		})
	}
}

// TestClient_Resolve_Search: the search list (resolv.conf(5) search and
// ndots) over the network and again from the cache, with the rule of
// TestSearchStep: both families answer for the same candidate.
func TestClient_Resolve_Search(t *testing.T) {
	checkFDs(t)
	zone := dnstest.NewZone(
		"cluster.local. 60 IN SOA ns.cluster.local. admin. 1 60 60 60 30",
		"api.default.svc.cluster.local. 30 IN A 10.96.0.1",
		"v4app.default.svc.cluster.local. 30 IN A 10.96.0.2",
		"v4app.svc.cluster.local. 30 IN AAAA fd00::2",
		"example.com. 60 IN A 192.0.2.10",
		"example.com. 60 IN AAAA 2001:db8::10",
	)
	srv := dnstest.Start(t, &dnstest.Faults{Next: zone, ByType: map[uint16]dnstest.Fault{}})
	conf := &Config{
		Search:  []string{"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."},
		Ndots:   5,
		Timeout: time.Second, Attempts: 1,
	}
	c := newClient(t, conf, srv)

	// Twice: the second round comes from the cache, by the same rules.
	for round := range 2 {
		n := srv.Count(0, "")
		g := resolveAll(t, c, "api")
		wantAddrs(t, g[IPv4], "10.96.0.1")
		wantNotFound(t, g[IPv6])

		// A found under the first domain: AAAA of a later candidate is
		// not used.
		g = resolveAll(t, c, "v4app")
		wantAddrs(t, g[IPv4], "10.96.0.2")
		wantNotFound(t, g[IPv6])
		if round == 1 && srv.Count(0, "") != n {
			t.Errorf("cached round sent %d queries", srv.Count(0, "")-n)
		}
	}

	// ndots:5: the search list is tried first, then the name as given.
	g := resolveAll(t, c, "example.com")
	wantAddrs(t, g[IPv4], "192.0.2.10")
	wantAddrs(t, g[IPv6], "2001:db8::10")
	var names []string
	for _, q := range srv.Queries() {
		if q.Type == dns.TypeA && strings.HasPrefix(q.Name, "example.com") {
			names = append(names, q.Name)
		}
	}
	// The order between candidates is not checked: a family skips a
	// candidate the other family found NXDOMAIN, and a query already
	// under way may then leave after the next candidate's.
	want := []string{"example.com.default.svc.cluster.local.", "example.com.svc.cluster.local.", "example.com.cluster.local.", "example.com."}
	for _, n := range names {
		if !slices.Contains(want, n) {
			t.Errorf("A query for %q; want only %q", n, want)
		}
	}
	if q := srv.Queries(); !slices.ContainsFunc(q, func(q dnstest.Query) bool { return q.Name == "example.com." && q.Type == dns.TypeA }) {
		t.Errorf("no A query for example.com.: %v", q)
	}
	var first []string
	for _, q := range srv.Queries() {
		if strings.HasPrefix(q.Name, "example.com") {
			first = append(first, q.String())
		}
	}
	// The first query is AAAA for the first candidate. (Its A query may
	// come later or not yet: once AAAA says NXDOMAIN, the A lookup of that
	// candidate is no longer waited for.)
	if len(first) == 0 || first[0] != "udp AAAA example.com.default.svc.cluster.local." {
		t.Errorf("queries %q; want AAAA for the first search candidate first", first)
	}
	// Rooted: only as given.
	n := srv.Count(0, "")
	g = resolveAll(t, c, "dual.example.", IPv4)
	wantNotFound(t, g[IPv4])
	if srv.Count(0, "") != n+1 {
		t.Errorf("rooted name: %d queries; want 1", srv.Count(0, "")-n)
	}
}

// TestClient_Resolve_SearchLostAAAA: with ndots:5, every AAAA query is lost.
// NXDOMAIN for A on the search candidates moves both families on, so A is
// still delivered within a few ms.
func TestClient_Resolve_SearchLostAAAA(t *testing.T) {
	checkFDs(t)
	zone := dnstest.NewZone(
		"cluster.local. 60 IN SOA ns.cluster.local. admin. 1 60 60 60 30",
		"example.com. 60 IN A 192.0.2.10",
	)
	srv := dnstest.Start(t, &dnstest.Faults{Next: zone, ByType: map[uint16]dnstest.Fault{dns.TypeAAAA: {Drop: true}}})
	c := newClient(t, &Config{
		Search: []string{"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."},
		Ndots:  5, Timeout: 2 * time.Second, Attempts: 1,
	}, srv)
	start := time.Now()
	ch := c.Resolve(context.Background(), "example.com", IPv6, IPv4)
	a := <-ch
	if a.Family != IPv4 || !a.Positive() {
		t.Fatalf("first answer %+v; want A", a)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("A after %v; want a few ms", d)
	}
	c.state().stopFlights()
	<-ch
}

// TestClient_Resolve_NXDOMAINForOneTypeOnly: a server that answers NXDOMAIN for
// AAAA while the A record exists (RFC 4074 §4.2) must not cost the A
// answer, on the name as given (the last candidate of the search list).
func TestClient_Resolve_NXDOMAINForOneTypeOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		broken    uint16 // the type answered NXDOMAIN
		slow      uint16 // the type answered late
		want      Family
		wantAddrs string
	}{
		{"AAAA NXDOMAIN, A late", dns.TypeAAAA, dns.TypeA, IPv4, "192.0.2.1"},
		{"A NXDOMAIN, AAAA late", dns.TypeA, dns.TypeAAAA, IPv6, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.Start(t, &dnstest.Faults{Next: baseZone(), ByType: map[uint16]dnstest.Fault{
				tc.broken: {Rcode: dns.RcodeNameError},
				tc.slow:   {Delay: 50 * time.Millisecond},
			}})
			c := newClient(t, nil, srv)
			g := resolveAll(t, c, "dual.test")
			wantAddrs(t, g[tc.want], tc.wantAddrs)
		})
	}
}

// TestClient_Resolve_UnrootedSearch: a Config built by hand with search
// entries without the trailing dot (or with capitals) still searches them,
// as resolv.conf(5) names are taken as fully qualified.
func TestClient_Resolve_UnrootedSearch(t *testing.T) {
	zone := dnstest.NewZone(
		"corp.test. 60 IN SOA ns.corp.test. admin.corp.test. 1 60 60 60 30",
		"app.corp.test. 60 IN A 192.0.2.20",
	)
	srv := dnstest.Start(t, zone)
	c := newClient(t, &Config{Ndots: 1, Timeout: time.Second, Attempts: 1, Search: []string{"Corp.Test"}}, srv)
	g := resolveAll(t, c, "app", IPv4)
	wantAddrs(t, g[IPv4], "192.0.2.20")
}
