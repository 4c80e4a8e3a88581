package resolver

import (
	"context"
	"testing"
	"time"
)

// TestDefault: one shared zero Client.
func TestDefault(t *testing.T) {
	c, ok := Default().(*Client)
	if !ok || Default() != Resolver(c) || c.Config != nil || c.ConfPath != "" {
		t.Fatalf("Default() = %#v; want one shared zero *Client", Default())
	}
	// An IP literal needs no DNS, whatever the machine's configuration.
	g := collect(t, Default().Resolve(context.Background(), "127.0.0.1", IPv4), time.Now())
	wantAddrs(t, g[IPv4], "127.0.0.1")
}
