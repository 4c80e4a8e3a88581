//go:build !race

package resolver

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dualstack-go/happyeyeballs/internal/dnstest"
)

// TestClient_Resolve_CachedAllocs pins the cost of a cached lookup: the
// channel, the candidate name list and a copy of each family's addresses
// (callers may keep and modify them), nothing else.
func TestClient_Resolve_CachedAllocs(t *testing.T) {
	srv := dnstest.Start(t, baseZone())
	c := &Client{Config: &Config{Servers: aps(srv.Addr.String())}, HostsPath: filepath.Join(t.TempDir(), "hosts")}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	for range c.Resolve(ctx, "dual.test", IPv6, IPv4) {
	}
	n := testing.AllocsPerRun(100, func() {
		for a := range c.Resolve(ctx, "dual.test", IPv6, IPv4) {
			if !a.Positive() {
				t.Fatal(a.Err)
			}
		}
	})
	if n > 6 {
		t.Errorf("cached lookup: %v allocations; want at most 6", n)
	}
}
