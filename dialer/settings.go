package dialer

import (
	"net"
	"net/netip"

	"github.com/dualstack-go/happyeyeballs/internal/rfc6724"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// settings are what one dial takes from its Dialer, resolved once.
type settings struct {
	d       *Dialer    // for the hooks: Resolver, DialAttempt, Policy, NAT64
	nd      net.Dialer // each attempt's, on the built-in path
	network string
	host    string
	port    uint16
	fams    []resolver.Family // the families asked for
	only    resolver.Family   // LocalAddr's family, when it has one: others are dropped
	// spelled is the caller's address when it is an IP literal spelled
	// as netip.AddrPort spells it (ap), so that the attempt to ap hands
	// net.Dialer the caller's string rather than building it again.
	spelled struct {
		ap  netip.AddrPort
		str string
	}

	handshake handshakeFunc  // nil: the TCP handshake alone decides
	https     *httpsSettings // nil: no HTTPS records asked (https.go)

	sched  schedule
	rawSrc rfc6724.SourceFunc // RFC 6724 source addresses, without the learned history
	learn  *learner           // nil when the dial does not learn; else &learned
	// learned is what learn points to: kept in the settings, which live
	// in the run, so that a dial allocates no learner of its own.
	learned learner
}

// initSettings fills s, which must be zero (a new run's), in place (see
// settings.learned). Field by field: a composite literal would build the
// whole struct aside and copy it, on every dial.
func (d *Dialer) initSettings(s *settings, network, host string, port uint16, fams []resolver.Family, la localAddr) {
	src := rfc6724.SourceFunc(d.SourceAddr)
	if src == nil {
		src = rfc6724.ProbeSource
	}
	s.d, s.network, s.host, s.port, s.fams, s.only = d, network, host, port, fams, la.family
	s.sched.resolutionDelay = d.resolutionDelay()
	s.sched.attemptDelay = d.connectionAttemptDelay()
	s.sched.maxParallel = d.maxParallelAttempts()
	s.sched.maxAddrs = d.maxAddresses()
	s.rawSrc = src
	d.setNetDialer(&s.nd)
	s.nd.LocalAddr = la.attempt
	var h *History
	switch {
	case d.DisableHistory:
	case d.History != nil:
		h = d.History
	case d.DialAttempt == nil && d.Control == nil && d.ControlContext == nil && la.family == 0:
		h = &sharedHistory
	}
	if h != nil {
		s.learned.h, s.learned.src, s.learned.host, s.learned.port = h, src, host, port
		s.learn = &s.learned
	}
}

// srcOf is the RFC 6724 source address toward dst, without the learned
// history: the dial's memo of it when the dial learns (see srcMemo).
func (s *settings) srcOf(dst netip.Addr) (netip.Addr, bool) {
	if s.learn != nil {
		return s.learn.srcOf(dst)
	}
	return s.rawSrc(dst)
}

// prefetchHostMemory asks for the kernel's table early, for a dial that
// resolves a name: it is read in the background, and is then in by the
// time the answers are sorted.
func (s *settings) prefetchHostMemory() {
	if s.learn != nil && s.learn.h.HostMemory {
		hostLookup(netip.Addr{}, netip.Addr{})
	}
}

// localAddr is a Dialer's LocalAddr as a dial uses it.
type localAddr struct {
	// family is the family of its IP; zero when it has none or it is
	// unspecified.
	family resolver.Family
	// attempt is what each attempt's net.Dialer binds: an unspecified IP
	// ("[::]:0", "0.0.0.0:0") means "any address" for both families on
	// "tcp", as with net.Dialer's dual-stack sockets, so it is reduced to
	// its port.
	attempt net.Addr
}

// parseLocalAddr checks LocalAddr (nil or a *net.TCPAddr, as for
// net.Dialer; a typed nil means none) and returns what a dial on network
// does with it.
func parseLocalAddr(network string, la net.Addr) (localAddr, error) {
	if la == nil {
		return localAddr{}, nil
	}
	t, ok := la.(*net.TCPAddr)
	switch {
	case !ok:
		return localAddr{}, &net.AddrError{Err: "mismatched local address type", Addr: la.String()}
	case t == nil:
		return localAddr{}, nil
	case t.IP != nil && !t.IP.IsUnspecified():
		f := resolver.IPv6
		if t.IP.To4() != nil {
			f = resolver.IPv4
		}
		return localAddr{family: f, attempt: la}, nil
	case network == "tcp" && t.Port == 0:
		return localAddr{}, nil
	case network == "tcp":
		return localAddr{attempt: &net.TCPAddr{Port: t.Port}}, nil
	}
	return localAddr{attempt: la}, nil
}
