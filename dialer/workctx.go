package dialer

import (
	"context"
	"sync"
	"time"
)

// workContext is the context a dial's work runs under when the caller's
// context can never be done (its Done is nil: context.Background, and
// values or WithoutCancel over it), made to be kept with a reused run.
//
// The work of a dial must be cancellable even then: a race begun on the
// caller's goroutine (raceInline) may be taken over by a collector, whose
// winner must abort the first attempt still connecting there.
// context.WithCancel would do, but it is paid on every dial for an abort
// that almost never happens: a cancelCtx, its Done channel, and the
// children map net.Dialer's connect registers its AfterFunc in. A
// workContext keeps its channel and its bound methods from dial to dial
// while it is never cancelled, and takes net.Dialer's registration (an
// AfterFunc method, which the context package calls in place of building
// a cancelCtx chain) in a slot of its own.
//
// It is used only where nothing can keep it once the dial returns: an IP
// literal (no resolver holds it) dialed by the built-in transport (no
// user code sees it). A run whose dial was taken over, or did anything
// but win on the caller's goroutine, is not reused, and neither is its
// workContext.
type workContext struct {
	parent context.Context // Done() == nil

	mu   sync.Mutex
	done chan struct{} // made once; closed by cancel, and then never reused
	err  error
	fns  []func() // registered by AfterFunc; nil once run or stopped

	// The bound method values handed out, made once so that handing
	// them out allocates nothing.
	cancelFn  context.CancelFunc
	stopFirst func() bool
	fnsBuf    [1]func()
}

// newWorkContext returns a workContext ready for reset.
func newWorkContext() *workContext {
	w := &workContext{done: make(chan struct{})}
	w.cancelFn = w.cancel
	w.stopFirst = func() bool { return w.stop(0) }
	return w
}

// reset readies w, never cancelled, for a dial under parent, whose Done
// must be nil.
func (w *workContext) reset(parent context.Context) {
	w.parent = parent
	clear(w.fnsBuf[:])
	w.fns = w.fnsBuf[:0]
}

// reusable reports whether w can serve another dial: it was never
// cancelled and holds no registration.
func (w *workContext) reusable() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return false
	}
	for _, f := range w.fns {
		if f != nil {
			return false
		}
	}
	return true
}

func (w *workContext) Deadline() (time.Time, bool) { return w.parent.Deadline() }
func (w *workContext) Done() <-chan struct{}       { return w.done }
func (w *workContext) Value(key any) any           { return w.parent.Value(key) }

func (w *workContext) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *workContext) String() string { return "happyeyeballs.workContext" }

// AfterFunc arranges for f to run once w is cancelled, as
// context.AfterFunc does; context.AfterFunc and context.WithCancel call it
// for a context they derive from w.
func (w *workContext) AfterFunc(f func()) (stop func() bool) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	i := len(w.fns)
	w.fns = append(w.fns, f)
	w.mu.Unlock()
	if i == 0 {
		return w.stopFirst
	}
	return func() bool { return w.stop(i) }
}

// stop unregisters the i'th function and reports whether it stopped it
// from running.
func (w *workContext) stop(i int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i >= len(w.fns) || w.fns[i] == nil {
		return false
	}
	w.fns[i] = nil
	return true
}

// cancel cancels w: Err becomes context.Canceled, Done is closed, and
// every registered function runs.
func (w *workContext) cancel() {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.err = context.Canceled
	close(w.done)
	fns := w.fns
	w.fns = nil
	w.mu.Unlock()
	for _, f := range fns {
		if f != nil {
			f()
		}
	}
}
