package dialer

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"syscall"
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
// Where the platform can abort a connect through its socket (Linux:
// shutdown(2) on a socket in SYN-SENT fails its connect at once), the
// first attempt does not even run under the workContext: net.Dialer
// connects under the caller's context, which can never be done, and so
// registers nothing; the workContext holds the attempt's socket (taken in
// net.Dialer's ControlContext) and aborts it when cancelled. That is
// another two allocations and a few locks fewer per dial.
//
// It is used only where nothing can keep it once the dial returns: an IP
// literal (no resolver holds it) dialed by the built-in transport (no
// DialAttempt sees it). A run whose dial was taken over, ran a Handshake,
// or did anything but win on the caller's goroutine, is not reused, and
// neither is its workContext; user code that is handed it (a Handshake,
// a ControlContext) sees it only in such a dial.
type workContext struct {
	parent context.Context // Done() == nil

	mu   sync.Mutex
	done chan struct{} // made once; closed by cancel, and then never reused
	err  error
	fns  []func() // registered by AfterFunc; nil once run or stopped

	// The first attempt's, when it is aborted through its socket: the
	// run's net.Dialer with ControlContext taking the socket (and then
	// calling the caller's Control or ControlContext), the caller's, and
	// the socket itself while it connects.
	nd         net.Dialer
	ctlCtx     func(ctx context.Context, network, address string, c syscall.RawConn) error
	ctl        func(network, address string, c syscall.RawConn) error
	sock       syscall.RawConn
	sockClosed bool // the socket was aborted

	// The bound method values handed out, made once so that handing
	// them out allocates nothing.
	cancelFn  context.CancelFunc
	stopFirst func() bool
	controlFn func(ctx context.Context, network, address string, c syscall.RawConn) error
	fnsBuf    [1]func()
}

// newWorkContext returns a workContext ready for reset.
func newWorkContext() *workContext {
	w := &workContext{done: make(chan struct{})}
	w.cancelFn = w.cancel
	w.stopFirst = func() bool { return w.stop(0) }
	w.controlFn = w.control
	return w
}

// reset readies w, never cancelled, for a dial under parent, whose Done
// must be nil.
func (w *workContext) reset(parent context.Context) {
	w.parent = parent
	clear(w.fnsBuf[:])
	w.fns = w.fnsBuf[:0]
}

// drop lets go of what the last dial gave w.
func (w *workContext) drop() {
	w.parent = nil
	w.nd = net.Dialer{}
	w.ctlCtx, w.ctl = nil, nil
}

// abortable readies the first attempt to be aborted through its socket,
// where the platform can, and returns the net.Dialer it connects with;
// nil where it cannot (the attempt then runs under w, as any other).
func (w *workContext) abortable(nd *net.Dialer) *net.Dialer {
	if !socketAbort {
		return nil
	}
	w.nd = *nd
	w.ctlCtx, w.ctl = nd.ControlContext, nd.Control
	w.nd.ControlContext, w.nd.Control = w.controlFn, nil
	return &w.nd
}

// control is the first attempt's ControlContext: it takes the socket,
// unless w is cancelled already (the attempt then fails at once), and
// calls the caller's Control or ControlContext.
func (w *workContext) control(ctx context.Context, network, address string, c syscall.RawConn) error {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return w.err
	}
	w.sock = c
	w.mu.Unlock()
	switch {
	case w.ctlCtx != nil:
		return w.ctlCtx(ctx, network, address, c)
	case w.ctl != nil:
		return w.ctl(network, address, c)
	}
	return nil
}

// attemptEnded lets go of the first attempt's socket, once its connect
// has returned, and gives its error as the attempt's: a cancellation
// where w aborted the socket (the kernel's "connection reset" is not what
// happened), as net.Dialer reports a dial its context cancelled.
func (w *workContext) attemptEnded(ap netip.AddrPort, err error) error {
	w.mu.Lock()
	w.sock = nil
	aborted := w.sockClosed
	w.mu.Unlock()
	if err != nil && aborted {
		return &net.OpError{Op: "dial", Net: attemptNetwork(ap), Addr: net.TCPAddrFromAddrPort(ap), Err: context.Canceled}
	}
	return err
}

// reusable reports whether w can serve another dial: it was never
// cancelled and holds no registration. It takes no lock: it is asked once
// the dial is over, when no goroutine but the caller's can reach w.
func (w *workContext) reusable() bool {
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
	sock := w.sock
	w.sockClosed = sock != nil
	w.mu.Unlock()
	for _, f := range fns {
		if f != nil {
			f()
		}
	}
	if sock != nil {
		// The socket is net.Dialer's until its connect returns; its
		// RawConn refuses to run the abort once net has closed it, so
		// the descriptor cannot be another's by then.
		abortSocket(sock)
	}
}
