//go:build linux

// Package loopback provides real-socket fixtures on the loopback interface
// for tests: TCP endpoints on 127.0.0.1 and ::1 that share one port number
// and either accept, refuse, or black-hole connections, and a count of the
// process's open file descriptors to prove that a test left no socket
// behind.
//
// A black hole is a listener whose accept queue is full: Linux then drops
// every SYN it receives (net.ipv4.tcp_abort_on_overflow=0, the default), so
// a connect to it hangs in SYN retransmission, just as it does towards an
// address whose packets are lost. Nothing here ever sends a packet outside
// the loopback interface.
//
// A typical test:
//
//	p := loopback.Dual(t, loopback.Accept, loopback.BlackHole)
//	// a name resolving to ::1 and 127.0.0.1, dialed on port p.Port,
//	// reaches p.V4 after the ::1 attempt has hung for a while.
//	c := p.V4.Next(t, time.Second) // the server's side of the connection
//
// Everything is released in t.Cleanup.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The loopback addresses.
var (
	V4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	V6 = netip.IPv6Loopback()
)

// Kind is what an endpoint does with incoming connections.
type Kind int

const (
	// Accept is a listener that accepts every connection and hands it to
	// the test (Endpoint.Next).
	Accept Kind = iota
	// Refuse is a socket bound to the address without listening: it holds
	// the port so nobody else takes it, and the kernel answers every SYN
	// with a RST (ECONNREFUSED at once).
	Refuse
	// BlackHole is a listener whose accept queue is full and which never
	// accepts: the kernel drops SYNs and a connect hangs.
	BlackHole
)

// String returns "accept", "refuse" or "black hole".
func (k Kind) String() string {
	switch k {
	case Accept:
		return "accept"
	case Refuse:
		return "refuse"
	case BlackHole:
		return "black hole"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

var ipv6 = sync.OnceValue(func() bool {
	ln, err := net.ListenTCP("tcp6", &net.TCPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	ln.Close()
	return true
})

// HasIPv6 reports whether the host has an IPv6 loopback (::1) to listen on.
func HasIPv6() bool { return ipv6() }

// SkipWithoutIPv6 skips the test when the host has no ::1.
func SkipWithoutIPv6(t testing.TB) {
	t.Helper()
	if !HasIPv6() {
		t.Skip("loopback: no IPv6 loopback (::1) on this host")
	}
}

// Endpoint is one address on loopback and its behaviour.
type Endpoint struct {
	Addr netip.AddrPort
	Kind Kind

	fd       int              // Refuse, BlackHole: the raw socket
	ln       *net.TCPListener // Accept
	accepted chan net.Conn    // Accept: connections not yet taken by Next
	fillers  []net.Conn       // BlackHole: connections that fill the queue
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn // Accept: every accepted connection, closed in Close
	done  bool
}

// Next returns the next connection the endpoint accepted (its server
// side), waiting up to timeout. It fails the test if none arrives. The
// connection is closed by the endpoint's cleanup if the test does not.
func (e *Endpoint) Next(t testing.TB, timeout time.Duration) net.Conn {
	t.Helper()
	c, ok := e.TryNext(timeout)
	if !ok {
		t.Fatalf("loopback: %v accepted no connection within %v", e.Addr, timeout)
	}
	return c
}

// TryNext is Next without failing: it reports whether a connection was
// accepted within timeout. A zero timeout only takes one already accepted.
func (e *Endpoint) TryNext(timeout time.Duration) (net.Conn, bool) {
	if e.Kind != Accept {
		return nil, false
	}
	if timeout <= 0 {
		select {
		case c := <-e.accepted:
			return c, true
		default:
			return nil, false
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c := <-e.accepted:
		return c, true
	case <-t.C:
		return nil, false
	}
}

// Listener returns a net.Listener whose Accept hands over the
// connections the endpoint accepts, so that a server (http.Server.Serve)
// can run on an Accept endpoint. Closing the listener ends its Accept
// calls; the endpoint itself is released by its cleanup.
func (e *Endpoint) Listener() net.Listener {
	return &listener{e: e, closed: make(chan struct{})}
}

type listener struct {
	e      *Endpoint
	once   sync.Once
	closed chan struct{}
}

func (l *listener) Accept() (net.Conn, error) {
	if l.e.Kind != Accept {
		return nil, fmt.Errorf("loopback: %v endpoint %v accepts nothing", l.e.Kind, l.e.Addr)
	}
	select {
	case c := <-l.e.accepted:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.e.Addr) }

// Close releases the endpoint: the listener or socket, the connections it
// accepted, and a black hole's fillers. Cleanup calls it; calling it again
// does nothing.
func (e *Endpoint) Close() {
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		return
	}
	e.done = true
	e.mu.Unlock()
	switch e.Kind {
	case Accept:
		e.ln.Close()
		e.wg.Wait()
		for _, c := range e.conns {
			c.Close()
		}
	default:
		for _, c := range e.fillers {
			c.Close()
		}
		syscall.Close(e.fd)
	}
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return // closed
		}
		e.mu.Lock()
		if e.done {
			e.mu.Unlock()
			c.Close()
			return
		}
		e.conns = append(e.conns, c)
		e.mu.Unlock()
		select {
		case e.accepted <- c:
		default: // the test is not collecting this many: keep it for Close
		}
	}
}

// Open creates an endpoint of kind k on ip and port (0: any free port),
// without registering a cleanup: call Close. A BlackHole whose connect
// does not hang on this kernel returns ErrNoBlackHole.
func Open(ip netip.Addr, port uint16, k Kind) (*Endpoint, error) {
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("loopback: %v is not a loopback address", ip)
	}
	ap := netip.AddrPortFrom(ip, port)
	switch k {
	case Accept:
		ln, err := net.ListenTCP(network(ip), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			return nil, err
		}
		e := &Endpoint{
			Addr:     ln.Addr().(*net.TCPAddr).AddrPort(),
			Kind:     Accept,
			ln:       ln,
			accepted: make(chan net.Conn, 64), // more than any test collects
		}
		e.Addr = netip.AddrPortFrom(e.Addr.Addr().Unmap(), e.Addr.Port())
		e.wg.Add(1)
		go e.acceptLoop()
		return e, nil
	case Refuse, BlackHole:
		fd, bound, err := rawSocket(ap, k == BlackHole)
		if err != nil {
			return nil, err
		}
		e := &Endpoint{Addr: bound, Kind: k, fd: fd}
		if k == BlackHole {
			if err := e.fill(); err != nil {
				e.Close()
				return nil, err
			}
		}
		return e, nil
	}
	return nil, fmt.Errorf("loopback: unknown kind %v", k)
}

// Admit makes room in a black hole's accept queue for one connection: it
// accepts one of the connections that fill it, and closes it. A SYN
// dropped until then is answered when it is sent again (after the
// kernel's 1 s initial retransmission timeout); the queue is full again
// once that connection is in it. It never waits: with nothing in the
// queue (the last connection admitted was taken already) it returns an
// error wrapping syscall.EAGAIN.
func (e *Endpoint) Admit() error {
	if e.Kind != BlackHole {
		return fmt.Errorf("loopback: %v endpoint %v has no accept queue to make room in", e.Kind, e.Addr)
	}
	if err := syscall.SetNonblock(e.fd, true); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	nfd, _, err := syscall.Accept4(e.fd, syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK)
	if err != nil {
		return os.NewSyscallError("accept4", err)
	}
	return syscall.Close(nfd)
}

// ErrNoBlackHole reports that a full accept queue did not make connects
// hang on this kernel, so black-hole tests cannot run.
var ErrNoBlackHole = errors.New("loopback: a listener with a full accept queue still completes connections")

// fill connects to the black hole until a connect hangs, which proves that
// the kernel drops SYNs from then on. With backlog 0 Linux queues one
// connection; the loop allows a few more for other kernels.
func (e *Endpoint) fill() error {
	const probe = 200 * time.Millisecond
	for range 8 {
		c, err := net.DialTimeout("tcp", e.Addr.String(), probe)
		if err == nil {
			e.fillers = append(e.fillers, c)
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil // the SYN went unanswered: a black hole
		}
		return fmt.Errorf("loopback: probing black hole %v: %w", e.Addr, err)
	}
	return ErrNoBlackHole
}

// rawSocket binds a TCP socket to ap and, if listen, listens with backlog
// 0. net.Listen cannot be used: it always asks for the system's maximum
// backlog.
func rawSocket(ap netip.AddrPort, listen bool) (fd int, bound netip.AddrPort, err error) {
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if ap.Addr().Is4() {
		sa = &syscall.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
	}
	fd, err = syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, bound, os.NewSyscallError("socket", err)
	}
	defer func() {
		if err != nil {
			syscall.Close(fd)
		}
	}()
	if family == syscall.AF_INET6 {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1); err != nil {
			return -1, bound, os.NewSyscallError("setsockopt", err)
		}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		return -1, bound, os.NewSyscallError("bind", err)
	}
	if listen {
		if err := syscall.Listen(fd, 0); err != nil {
			return -1, bound, os.NewSyscallError("listen", err)
		}
	}
	lsa, err := syscall.Getsockname(fd)
	if err != nil {
		return -1, bound, os.NewSyscallError("getsockname", err)
	}
	switch a := lsa.(type) {
	case *syscall.SockaddrInet4:
		bound = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		bound = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return fd, bound, nil
}

func network(ip netip.Addr) string {
	if ip.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

// Single creates an endpoint of kind k on ip (127.0.0.1 or ::1) on a free
// port and closes it when the test ends. It skips the test when ip is ::1
// and the host has no IPv6, or when k is BlackHole and the kernel does not
// drop SYNs to a full accept queue.
func Single(t testing.TB, ip netip.Addr, k Kind) *Endpoint {
	t.Helper()
	if ip.Is6() {
		SkipWithoutIPv6(t)
	}
	e, err := Open(ip, 0, k)
	if errors.Is(err, ErrNoBlackHole) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// Pair is an endpoint on 127.0.0.1 and one on ::1 with the same port, so
// that a name resolving to both can be dialed at one "host:port".
type Pair struct {
	Port   uint16
	V4, V6 *Endpoint
}

// Dual creates a Pair whose 127.0.0.1 endpoint behaves as v4 and whose ::1
// endpoint behaves as v6, and closes both when the test ends. It skips the
// test as Single does.
func Dual(t testing.TB, v4, v6 Kind) *Pair {
	t.Helper()
	SkipWithoutIPv6(t)
	var lastErr error
	for range 20 { // the port free on 127.0.0.1 may be taken on ::1: retry
		e4, err := Open(V4, 0, v4)
		if err != nil {
			lastErr = err
			break
		}
		e6, err := Open(V6, e4.Addr.Port(), v6)
		if err != nil {
			e4.Close()
			lastErr = err
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			break
		}
		t.Cleanup(e4.Close)
		t.Cleanup(e6.Close)
		return &Pair{Port: e4.Addr.Port(), V4: e4, V6: e6}
	}
	if errors.Is(lastErr, ErrNoBlackHole) {
		t.Skip(lastErr)
	}
	t.Fatalf("loopback: no port free on both 127.0.0.1 and ::1: %v", lastErr)
	return nil
}

// Host returns "host:port" for the pair's port.
func (p *Pair) Host(host string) string {
	return net.JoinHostPort(host, fmt.Sprint(p.Port))
}

// FDs returns the number of file descriptors the process has open.
func FDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("loopback: counting open files: %v", err)
	}
	return len(ents) - 1 // the directory being read
}

// WaitFDs waits up to timeout for the number of open file descriptors to
// fall back to at most baseline (the runtime may hold a descriptor for a
// moment: the poller, a closing socket), and fails the test if it does
// not, listing what is open.
func WaitFDs(t testing.TB, baseline int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	n := FDs(t)
	for n > baseline && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		n = FDs(t)
	}
	if n > baseline {
		t.Errorf("loopback: %d files open, want at most %d as before:\n%s", n, baseline, listFDs())
	}
}

// socketEnds returns " (local -> remote)" for a TCP socket's fd target
// ("socket:[INODE]"), read from /proc/net/tcp{,6}, so that a leak report
// says which connection leaked; "" when it is not found.
func socketEnds(target string) string {
	inode, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return ""
	}
	inode = strings.TrimSuffix(inode, "]")
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 9 && f[9] == inode {
				return fmt.Sprintf(" (tcp %s -> %s, state %s)", f[1], f[2], f[3])
			}
		}
	}
	return ""
}

func listFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var s string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		s += fmt.Sprintf("  %s -> %s%s\n", e.Name(), target, socketEnds(target))
	}
	return s
}
