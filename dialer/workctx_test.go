package dialer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type workCtxKey struct{}

// A workContext behaves as context.WithCancel over a parent that is never
// done: values and deadline from the parent, Done and Err its own, and
// the contexts derived from it (context.WithCancel, context.AfterFunc, as
// net.Dialer's connect registers) cancelled with it.
func TestWorkContext(t *testing.T) {
	parent := context.WithValue(context.Background(), workCtxKey{}, "v")
	w := newWorkContext()
	w.reset(parent)
	var ctx context.Context = w

	assert.Equal(t, "v", ctx.Value(workCtxKey{}))
	_, ok := ctx.Deadline()
	assert.False(t, ok)
	require.NotNil(t, ctx.Done())
	assert.NoError(t, ctx.Err())
	assert.NoError(t, context.Cause(ctx))

	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	stopped := false
	stop := context.AfterFunc(ctx, func() { stopped = true })
	assert.True(t, stop(), "stop before the cancel")
	assert.False(t, stop(), "stop twice")

	// Registered and stopped again, as net.Dialer's connect does on every
	// dial: nothing is left behind.
	stopConnect := context.AfterFunc(ctx, func() { t.Error("a stopped function ran") })
	assert.True(t, stopConnect())

	w.cancelFn()
	w.cancelFn() // a second cancel does nothing
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done is not closed after cancel")
	}
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(ctx), context.Canceled)
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the child context was not cancelled")
	}
	assert.ErrorIs(t, child.Err(), context.Canceled)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the AfterFunc function did not run")
	}
	assert.False(t, stopped)
	assert.False(t, w.reusable(), "a cancelled workContext is reusable")

	// Registered after the cancel: runs at once.
	late := make(chan struct{})
	stopLate := context.AfterFunc(ctx, func() { close(late) })
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Fatal("an AfterFunc after the cancel did not run")
	}
	assert.False(t, stopLate())
}

// A workContext holding a live registration is not reused; one whose
// registrations were all stopped is, with the same Done channel.
func TestWorkContextReusable(t *testing.T) {
	w := newWorkContext()
	w.reset(context.Background())
	stop := context.AfterFunc(w, func() {})
	assert.False(t, w.reusable(), "reusable with a registration in")
	stop()
	assert.True(t, w.reusable())
	done := w.Done()
	w.reset(context.Background())
	assert.Equal(t, done, w.Done(), "a reset made a new channel")
	assert.NoError(t, w.Err())
}
