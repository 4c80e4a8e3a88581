package resolver

import (
	"context"
	"net/http/httptrace"
	"testing"
	"time"
)

type detachKey struct{}

// TestWithoutValues: the caller's values (httptrace hooks) stay behind;
// its deadline and cancellation do not.
func TestWithoutValues(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), detachKey{}, "v"), deadline)
	parent = httptrace.WithClientTrace(parent, &httptrace.ClientTrace{DNSStart: func(httptrace.DNSStartInfo) {}})
	ctx := withoutValues(parent)

	if v := ctx.Value(detachKey{}); v != nil {
		t.Errorf("Value(key) = %v, want nil", v)
	}
	if tr := httptrace.ContextClientTrace(ctx); tr != nil {
		t.Errorf("the caller's httptrace hooks reach the detached context")
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline() = %v, %v; want %v, true", d, ok, deadline)
	}
	if ctx.Err() != nil {
		t.Fatalf("Err() = %v before cancel", ctx.Err())
	}
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed after the parent was cancelled")
	}
	if ctx.Err() != context.Canceled {
		t.Errorf("Err() = %v, want context.Canceled", ctx.Err())
	}
	// A context derived from the detached one still works normally.
	child := context.WithValue(ctx, detachKey{}, "w")
	if child.Value(detachKey{}) != "w" || child.Err() != context.Canceled {
		t.Errorf("derived context: Value = %v, Err = %v", child.Value(detachKey{}), child.Err())
	}
}
