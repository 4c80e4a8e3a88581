package resolver

import (
	"context"
	"time"
)

// withoutValues returns a context that is done when parent is done and has the
// parent's deadline, but carries none of parent's values. The resolver
// uses it so that a caller's httptrace hooks never fire for its own DNS
// sockets (the standard library does the same in net.Dialer).
func withoutValues(parent context.Context) context.Context {
	return valueless{parent}
}

type valueless struct{ parent context.Context }

func (v valueless) Deadline() (time.Time, bool) { return v.parent.Deadline() }
func (v valueless) Done() <-chan struct{}       { return v.parent.Done() }
func (v valueless) Err() error                  { return v.parent.Err() }
func (v valueless) Value(any) any               { return nil }
