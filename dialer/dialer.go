package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/proxy"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// Defaults from RFC 8305 and the design notes. Each has an accessor on
// Dialer that applies it when the corresponding field is zero.
const (
	// DefaultResolutionDelay is how long a dial that has IPv4 addresses
	// waits for the AAAA answer before it starts (RFC 8305 §3, §8: 50 ms).
	DefaultResolutionDelay = 50 * time.Millisecond
	// DefaultConnectionAttemptDelay is how long an attempt runs alone before
	// the next one starts (RFC 8305 §5, §8: 250 ms).
	DefaultConnectionAttemptDelay = 250 * time.Millisecond
	// MinConnectionAttemptDelay is the smallest gap between two attempt
	// starts (RFC 8305 §5: MUST NOT be less than 10 ms).
	MinConnectionAttemptDelay = 10 * time.Millisecond
	// MaxConnectionAttemptDelay is the longest an attempt runs alone
	// before the next one starts (RFC 8305 §5: SHOULD be no more than
	// 2 s), whether the delay is configured or learned.
	MaxConnectionAttemptDelay = 2 * time.Second
	// DefaultMaxParallelAttempts is the default cap on attempts in flight.
	// It is high enough that a name with a dozen black-holed addresses still
	// reaches its one live address without aborting earlier attempts.
	DefaultMaxParallelAttempts = 16
	// DefaultMaxAddresses is the default bound on addresses tried per dial
	// (and kept per family from one answer).
	DefaultMaxAddresses = 32
)

// A Dialer connects to TCP addresses with Happy Eyeballs version 2
// (RFC 8305): it asks for AAAA and A records at once, starts connecting as
// soon as the first usable answer arrives, sorts addresses by RFC 6724,
// interleaves the address families, and races staggered connection
// attempts, returning the first that connects.
//
// The zero value is ready to use and applies the RFC's defaults with the
// shared default resolver (resolver.Default). It is safe to call a Dialer's
// methods concurrently. A Dialer is never modified by its methods.
//
// Dialer is a drop-in for net.Dialer: DialContext fits
// http.Transport.DialContext and proxy.ContextDialer, and the fields shared
// with net.Dialer mean what they mean there. Networks other than "tcp",
// "tcp4" and "tcp6" are passed to a net.Dialer built from those fields.
type Dialer struct {
	// Timeout is the maximum time a dial waits for a connection, covering
	// name resolution and every connection attempt, as for net.Dialer.
	// Zero means no timeout (the operating system's own limits apply).
	// When Timeout, Deadline and the context's deadline are all set, the
	// earliest one wins.
	//
	// Unlike net.Dialer, the time is not split between addresses: attempts
	// are staggered by ConnectionAttemptDelay, shortened when the deadline
	// is near so that every address can still be tried.
	Timeout time.Duration

	// Deadline is the absolute time after which dials fail. Zero means no
	// deadline.
	Deadline time.Time

	// LocalAddr is the local address to dial from, as for net.Dialer. It
	// must be a *net.TCPAddr (or nil). When its IP is set, only destinations
	// of the same family are looked up and tried.
	LocalAddr net.Addr

	// KeepAlive and KeepAliveConfig configure TCP keep-alives on the
	// returned connection exactly as the net.Dialer fields of the same
	// names do: zero means keep-alives with the default 15 s interval,
	// negative turns them off.
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig

	// Control and ControlContext are called for every connection attempt
	// after the socket is created and before it connects, as for
	// net.Dialer. network is "tcp4" or "tcp6" and address is the IP literal
	// and port being attempted. When both are set, ControlContext wins.
	Control        func(network, address string, c syscall.RawConn) error
	ControlContext func(ctx context.Context, network, address string, c syscall.RawConn) error

	// ResolutionDelay is how long to wait for the AAAA answer when the A
	// answer arrives first (RFC 8305 §3). Zero means 50 ms. Negative means
	// do not wait: connect over IPv4 as soon as the A answer arrives. Near
	// a deadline the wait is cut to half the time left, so that the
	// addresses already known are still tried.
	ResolutionDelay time.Duration

	// ConnectionAttemptDelay is how long an attempt runs before the next
	// one starts (RFC 8305 §5). Zero means 250 ms. Values below 10 ms,
	// negative ones included, are raised to 10 ms, the RFC's minimum, and
	// values above 2 s are lowered to 2 s, its recommended maximum. When
	// an attempt fails, the next one starts at once (but never within 10 ms
	// of the previous start).
	ConnectionAttemptDelay time.Duration

	// FirstAddressFamilyCount is how many addresses of the preferred family
	// are tried before the first address of the other family (RFC 8305
	// §4). Zero or negative means 1.
	FirstAddressFamilyCount int

	// MaxParallelAttempts caps the connection attempts in flight at once.
	// When the cap is reached the next attempt waits for one to fail;
	// earlier attempts are never aborted to make room. Zero means
	// DefaultMaxParallelAttempts; negative means no cap.
	MaxParallelAttempts int

	// MaxAddresses bounds the addresses tried in one dial. The answers are
	// sorted in full first (up to 1024 addresses per family), so the bound
	// keeps the best ones. Zero means DefaultMaxAddresses; negative means
	// no bound.
	MaxAddresses int

	// PreferredFamily, when set to resolver.IPv4 or resolver.IPv6, makes
	// that family go first and be the one the Resolution Delay waits for,
	// whatever RFC 6724 sorting says. Zero means RFC 6724 decides (IPv6
	// when it is usable). Other values are treated as zero.
	PreferredFamily resolver.Family

	// Resolver looks up host names. Nil means resolver.Default(), shared
	// by all Dialers: this module's caching DNS client where the system
	// resolves names with /etc/hosts and resolv.conf DNS alone (most Linux
	// and BSD hosts), the system's own resolver, asked per family,
	// everywhere else (Windows, macOS, nsswitch.conf with other sources),
	// so that a Dialer finds the names net.Dialer finds.
	Resolver resolver.Resolver

	// DialAttempt, when set, makes one connection attempt to addr in place
	// of the built-in one, which uses a net.Dialer made from the fields
	// above. network is "tcp4" or "tcp6". It must return promptly when ctx
	// is done, and either a usable connection or an error. It is the seam
	// for tests (in-memory networks) and for special transports. The
	// Dialer fires httptrace's ConnectStart and ConnectDone around it, and
	// hides the caller's httptrace hooks from its ctx so that they do not
	// fire twice when it dials with a net.Dialer.
	DialAttempt func(ctx context.Context, network string, addr netip.AddrPort) (net.Conn, error)

	// Handshake, when set, is run on each attempt's connection before the
	// attempt counts as won, so that a path where TCP connects but the next
	// layer fails (a TLS handshake reset by a middlebox, an IPv6 path-MTU
	// black hole) loses the race instead of winning it. It returns the
	// connection to hand to the caller (for example a *tls.Conn wrapping
	// c) or an error; it must honour ctx. The Dialer closes c when
	// Handshake fails. Nil means the TCP handshake alone decides. It runs
	// for "tcp", "tcp4" and "tcp6" dials only: other networks go to
	// net.Dialer unchanged.
	Handshake func(ctx context.Context, c net.Conn) (net.Conn, error)

	// NAT64Prefix is the network's NAT64 prefix (Pref64::/n) when it is
	// known from configuration or router advertisements (RFC 8781). Zero
	// means discover it when needed by asking the Resolver for
	// ipv4only.arpa (RFC 7050). It is used only by "tcp" dials, and only
	// for IPv4 destinations the host has no IPv4 route to while it has an
	// IPv6 one: an IPv6-only network (RFC 8305 §7). There the Dialer races
	// the synthesized IPv6 addresses (RFC 6052) like any other.
	NAT64Prefix netip.Prefix

	// DisableNAT64 turns off NAT64 address synthesis.
	DisableNAT64 bool

	// History is where this Dialer learns across dials and applies what
	// it learned (see History): black-holed destinations sorted last,
	// refused ones after the others, faster ones first, a Connection
	// Attempt Delay from measured round-trip times, and per host name the
	// family that works going first. Nil means one History shared by
	// every Dialer in the process, used only on the default connection
	// path: not when DialAttempt, Control, ControlContext or a LocalAddr
	// IP is set, since those may take attempts over routes the source
	// address does not tell apart. A History given here is used on every
	// path; give each tenant, or each test, its own.
	History *History

	// DisableHistory turns off learning across dials: every dial starts
	// from what the RFCs say, as a cold process does.
	DisableHistory bool

	// Policy, when set, vets every address before the dial may try it:
	// the addresses of each DNS answer (late ones too), an IP literal, and
	// NAT64 addresses (RFC 8305 §7), which are also judged by the IPv4
	// address inside them, since that is where the NAT64 would connect.
	// It returns nil to allow the address, or an error saying why not.
	// A rejected address gets no attempt and does not hold up the others:
	// the dial goes on with the addresses allowed, Happy Eyeballs intact.
	// Rejections are reported to the Trace and listed in the DialError;
	// a dial whose addresses were all rejected fails with an error for
	// which errors.Is(err, ErrAddressRejected) holds. Unlike Control, a
	// Policy leaves the learned history on. PublicOnly is a ready-made
	// Policy for untrusted destinations. Nil allows every address.
	//
	// Whatever the Policy, addresses from DNS that no connection can go
	// to (see ErrUnusableAddress) are dropped. Policy may be called from
	// several goroutines at once and should return quickly.
	Policy func(host string, addr netip.AddrPort) error

	// Metrics, when set, counts what this Dialer's dials do, by address
	// family; one Metrics may serve many Dialers. Nil counts nothing, at
	// no cost.
	Metrics *Metrics

	// SourceAddr reports the source address the host would use to reach
	// dst, for RFC 6724 sorting, and false when dst has no route. Nil
	// means a UDP "connect" probe (no packet is sent), cached briefly. It
	// may be called from several goroutines at once.
	SourceAddr func(dst netip.Addr) (src netip.Addr, ok bool)

	// HTTPSRecords says which dials ask for HTTPS records (RFC 9460)
	// with the AAAA and A records, and use them as Happy Eyeballs
	// version 3 does (see HTTPSMode): address hints as early answers,
	// the target and port of each service, candidates ordered by the
	// protocols the caller speaks and the services' priorities, and in
	// a TLSDialer the service's Encrypted Client Hello configuration.
	// The zero value, HTTPSAuto, asks in TLSDialer dials only: plain
	// TCP dials do exactly what they did without it.
	HTTPSRecords HTTPSMode

	// shuffle, when set, replaces rand.Shuffle for services of equal
	// priority (HEv3 §5.2): a seam for tests.
	shuffle func(n int, swap func(i, j int))

	// promptAttempt marks DialAttempt as a transport that returns as soon
	// as its context is done (the tests' simulated network), so that the
	// first attempt may run on the caller's goroutine as with the
	// built-in one.
	promptAttempt bool
}

// Compile-time checks that Dialer is a drop-in where net.Dialer is used.
var (
	_ proxy.ContextDialer                                     = (*Dialer)(nil)
	_ proxy.Dialer                                            = (*Dialer)(nil)
	_ func(context.Context, string, string) (net.Conn, error) = (&Dialer{}).DialContext
)

func (d *Dialer) resolutionDelay() time.Duration {
	switch {
	case d.ResolutionDelay == 0:
		return DefaultResolutionDelay
	case d.ResolutionDelay < 0:
		return 0
	}
	return d.ResolutionDelay
}

func (d *Dialer) connectionAttemptDelay() time.Duration {
	if d.ConnectionAttemptDelay == 0 {
		return DefaultConnectionAttemptDelay
	}
	return min(max(d.ConnectionAttemptDelay, MinConnectionAttemptDelay), MaxConnectionAttemptDelay)
}

func (d *Dialer) firstAddressFamilyCount() int {
	return max(d.FirstAddressFamilyCount, 1)
}

func (d *Dialer) maxParallelAttempts() int {
	switch {
	case d.MaxParallelAttempts == 0:
		return DefaultMaxParallelAttempts
	case d.MaxParallelAttempts < 0:
		return int(^uint(0) >> 1)
	}
	return d.MaxParallelAttempts
}

func (d *Dialer) maxAddresses() int {
	switch {
	case d.MaxAddresses == 0:
		return DefaultMaxAddresses
	case d.MaxAddresses < 0:
		return int(^uint(0) >> 1)
	}
	return d.MaxAddresses
}

func (d *Dialer) preferredFamily() resolver.Family {
	if d.PreferredFamily == resolver.IPv4 || d.PreferredFamily == resolver.IPv6 {
		return d.PreferredFamily
	}
	return 0
}

func (d *Dialer) resolver() resolver.Resolver {
	if d.Resolver != nil {
		return d.Resolver
	}
	return resolver.Default()
}

// netDialer returns a net.Dialer with the fields shared with net.Dialer.
// Timeout and Deadline are applied through the context instead.
func (d *Dialer) netDialer() net.Dialer {
	var nd net.Dialer
	d.setNetDialer(&nd)
	return nd
}

// setNetDialer sets in nd the fields this Dialer shares with net.Dialer.
func (d *Dialer) setNetDialer(nd *net.Dialer) {
	nd.LocalAddr = d.LocalAddr
	nd.KeepAlive, nd.KeepAliveConfig = d.KeepAlive, d.KeepAliveConfig
	nd.Control, nd.ControlContext = d.Control, d.ControlContext
}

// passThrough dials with a plain net.Dialer made of this Dialer's shared
// fields, for what there is nothing to race.
func (d *Dialer) passThrough(ctx context.Context, network, address string) (net.Conn, error) {
	nd := d.netDialer()
	nd.Timeout, nd.Deadline = d.Timeout, d.Deadline
	return nd.DialContext(ctx, network, address)
}

// deadline returns the earliest of now+Timeout, Deadline and ctx's
// deadline, or the zero time when none is set. Like net.Dialer's, it is a
// pure function of its inputs.
func (d *Dialer) deadline(ctx context.Context, now time.Time) (earliest time.Time) {
	if d.Timeout != 0 { // negative is already expired, as in net.Dialer
		earliest = now.Add(d.Timeout)
	}
	if cd, ok := ctx.Deadline(); ok {
		earliest = minNonzeroTime(earliest, cd)
	}
	return minNonzeroTime(earliest, d.Deadline)
}

func minNonzeroTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	if b.IsZero() || a.Before(b) {
		return a
	}
	return b
}

// Dial connects to address on the named network. It is DialContext with
// context.Background.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on the named network using the
// provided context.
//
// For "tcp", "tcp4" and "tcp6" it runs Happy Eyeballs: address is
// "host:port", where host is a name or an IP literal (an IP literal is
// dialed directly, without DNS; "tcp4" and "tcp6" look up and try only
// their family) and port is a number or a service name. As with net.Dial,
// an empty host or an unspecified address ("0.0.0.0", "::") means the
// local system: without a Policy or a Handshake, ":P" and "[::]:P" on
// "tcp" go to net.Dialer, which tries both families; otherwise they are
// dialed as the unspecified address, vetted and handshaken ("[::]:P" on
// "tcp" as [::] and then 0.0.0.0, as net.Dialer does). Other networks
// ("udp", "unix", …) are passed unchanged to a net.Dialer with this
// Dialer's shared fields: there is nothing to race.
//
// The context must be non-nil. If it is done before the connection is
// made, DialContext returns at once with an error that wraps ctx.Err().
// Once connected, the context no longer affects the connection.
//
// A failed dial returns a *net.OpError with Op "dial" whose Err is a
// *net.DNSError when the name did not resolve, or a *DialError listing
// every attempt otherwise; errors.Is and errors.As see through both.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return d.dial(ctx, network, address, d.Handshake, nil)
}

// DialTCP connects to address ("host:port") over TCP, IPv6 or IPv4: it is
// DialContext with network "tcp". Its shape, func(ctx, address), is the
// one gRPC's WithContextDialer and go-sql-driver/mysql's
// RegisterDialContext take:
//
//	grpc.NewClient("passthrough:///db.example:443", grpc.WithContextDialer(d.DialTCP), …)
func (d *Dialer) DialTCP(ctx context.Context, address string) (net.Conn, error) {
	return d.DialContext(ctx, "tcp", address)
}

// bothFamilies are the families a "tcp" dial asks for, in the order it
// asks; "tcp6" and "tcp4" dials take one each. Shared by every dial: read
// only.
var bothFamilies = []resolver.Family{resolver.IPv6, resolver.IPv4}

// handshakeFunc decides, on an attempt's connection, whether it wins (see
// Dialer.Handshake).
type handshakeFunc func(ctx context.Context, c net.Conn) (net.Conn, error)

// dial is DialContext with the handshake each attempt must pass.
// td is nil for a plain TCP dial.
func (d *Dialer) dial(ctx context.Context, network, address string, handshake handshakeFunc, td *tlsDial) (net.Conn, error) {
	if ctx == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("nil context")}
	}
	var fams []resolver.Family
	switch network {
	case "tcp":
		fams = bothFamilies
	case "tcp6":
		fams = bothFamilies[:1]
	case "tcp4":
		fams = bothFamilies[1:]
	default:
		return d.passThrough(ctx, network, address)
	}
	start := time.Now()
	fail := func(host string, err error) (net.Conn, error) {
		// No address was tried: no Source, as net.Dialer gives for
		// errors found before it dials.
		e := &net.OpError{Op: "dial", Net: network, Err: err}
		d.Metrics.dialFailed()
		newHooks(ctx, false).dialDone(DialDoneInfo{Host: host, Err: err, Elapsed: time.Since(start)})
		return nil, e
	}
	host, service, err := net.SplitHostPort(address)
	if err != nil {
		return fail(address, err)
	}
	// Only a plain dial may hand "the local system" to net.Dialer: a
	// Policy must vet it, and a handshake (TLSDialer's) must run on it.
	plain := d.Policy == nil && handshake == nil
	if host == "" {
		if plain {
			// "The local system": let net.Dialer pick the loopback it
			// uses.
			return d.passThrough(ctx, network, address)
		}
		// net.Dial's doc spells the local system as the unspecified
		// address: dialed as that IP literal, vetted and handshaken.
		host = "0.0.0.0"
		if network == "tcp6" {
			host = "::"
		}
	}
	if dl := d.deadline(ctx, start); !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	// The checks come in net.Dialer's order, so that an address wrong in
	// two ways fails with the same error: the port, then a literal of the
	// other family than the network's, then LocalAddr.
	port, err := parsePort(ctx, network, service)
	if err != nil {
		return fail(host, err)
	}
	ip, err := parseIP(host)
	literal := err == nil
	if literal {
		ip = ip.Unmap()
		switch {
		case ip == netip.IPv6Unspecified() && network == "tcp4":
			// "The local system" in either spelling (net.Dial's doc,
			// golang/go#18806): "[::]:P" on tcp4 is 0.0.0.0:P.
			ip = netip.IPv4Unspecified()
		case ip == netip.IPv6Unspecified() && network == "tcp" && plain:
			// On tcp, net.Dialer dials [::] then 0.0.0.0 (golang/go#18806),
			// reaching a local listener of either family; like an empty
			// host, it is net.Dialer's to dial. (Otherwise it is dialed
			// as the literal it is.)
			return d.passThrough(ctx, network, address)
		}
		if !slices.Contains(fams, resolver.Of(ip)) {
			return fail(host, &net.AddrError{Err: "no suitable address found", Addr: host})
		}
	}
	la, err := parseLocalAddr(network, d.LocalAddr)
	if err != nil {
		return fail(host, err)
	}
	if la.family != 0 && (!slices.Contains(fams, la.family) || literal && resolver.Of(ip) != la.family) {
		// net.Dialer names the local address it could not match.
		return fail(host, &net.AddrError{Err: "no suitable address found", Addr: d.LocalAddr.String()})
	}

	if literal {
		// An IP literal: one attempt, no DNS.
		r := newRun()
		d.initSettings(&r.settings, network, host, port, fams, la)
		if ap, buf := netip.AddrPortFrom(ip, port), [64]byte{}; string(ap.AppendTo(buf[:0])) == address {
			r.spelled.ap, r.spelled.str = ap, address
		}
		r.handshake = handshake
		r.init(ctx, start)
		c, err := r.dialLiteral(ctx, ip)
		r.release()
		return c, err
	}
	if len(strings.TrimSuffix(host, ".")) > 253 { // longer than DNS allows (RFC 1035 §2.3.4)
		return fail(host, resolver.NotFoundError(host, nil))
	}
	r := newRun()
	d.initSettings(&r.settings, network, host, port, fams, la)
	r.handshake = handshake
	r.https = d.httpsSettings(host, port, td)
	r.prefetchHostMemory()
	r.init(ctx, start)
	c, err := r.dialName(ctx)
	r.release()
	return c, err
}

// parseIP is netip.ParseAddr without its cost for a name: a string
// without a colon that is not all digits and dots is no IP address, and
// ParseAddr would build an error to say so.
func parseIP(host string) (netip.Addr, error) {
	if !strings.Contains(host, ":") && strings.ContainsFunc(host, func(c rune) bool { return c != '.' && (c < '0' || c > '9') }) {
		return netip.Addr{}, errNotIP
	}
	return netip.ParseAddr(host)
}

var errNotIP = errors.New("not an IP address")

// parsePort parses a decimal port or looks up a service name, as net.Dialer
// does.
func parsePort(ctx context.Context, network, service string) (uint16, error) {
	if n, err := strconv.ParseUint(service, 10, 16); err == nil {
		return uint16(n), nil
	}
	p, err := net.DefaultResolver.LookupPort(ctx, network, service)
	if err != nil {
		return 0, err
	}
	return uint16(p), nil
}
