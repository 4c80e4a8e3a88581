package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// check runs every step for one target, one after the other and each
// bounded by cfg.timeout: the DNS answers, a TCP connect to every address,
// the HTTP(S) requests, the Happy Eyeballs race (with nothing else on the
// wire beside it), and net.Dialer's dial for comparison.
func check(ctx context.Context, cfg *config, t target) Report {
	r := Report{Target: t.input, Host: t.host, Port: t.port, Resolver: cfg.resolverName()}
	var httpsDone chan struct{}
	if cfg.asksHTTPS(t) {
		httpsDone = make(chan struct{})
		go func() {
			defer close(httpsDone)
			r.HTTPS = lookupHTTPS(ctx, cfg, t)
		}()
	}
	answers := lookup(ctx, cfg, t.host)
	if httpsDone != nil {
		<-httpsDone
	}
	var addrs []netip.AddrPort
	for _, a := range answers {
		r.DNS = append(r.DNS, a.result)
		for _, ip := range a.addrs {
			addrs = append(addrs, netip.AddrPortFrom(ip, t.port))
		}
	}
	_, literalErr := netip.ParseAddr(t.host)
	r.Connect = connectAll(ctx, cfg, addrs, literalErr == nil)
	if t.url != "" {
		r.HTTP = requestAll(ctx, cfg, t, r.Connect)
	}
	r.Race = race(ctx, cfg, t, r.HTTPS != nil)
	r.NetDialer = netDial(ctx, cfg, t)
	r.Verdict = verdict(r)
	return r
}

// asksHTTPS reports whether t gets the HTTPS record query (and a race
// with HTTPS records on): a host name on port 443 or in an https:// URL,
// or on any port with -https. An IP literal has no records.
func (c *config) asksHTTPS(t target) bool {
	if _, err := netip.ParseAddr(t.host); err == nil {
		return false
	}
	return c.https || t.port == 443 || strings.HasPrefix(t.url, "https://")
}

// maxTargetLookups bounds the service targets, other than the host, whose
// addresses the DNS step looks up (the Dialer's own bound).
const maxTargetLookups = 4

// lookupHTTPS asks the HTTPS query of t (HTTPSQueryName: the host on port
// 443, "_PORT._https.HOST" otherwise), timed from its start, and then the
// addresses of every service target that is not the host, so that the
// verdict can hold the hints against them.
func lookupHTTPS(ctx context.Context, cfg *config, t target) *HTTPSResult {
	cl := cfg.newResolver()
	defer cl.Close()
	qctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	name := resolver.HTTPSQueryName(t.host, t.port)
	start := time.Now()
	a, ok := <-cl.Resolve(qctx, name, resolver.HTTPS)
	took := time.Since(start)
	if !ok { // never: one Answer per family asked
		a = resolver.Answer{Family: resolver.HTTPS, Err: errors.New("resolver sent no answer")}
	}
	res := &HTTPSResult{Name: name, Status: dnsStatus(a), Ms: ms(took), Services: []HTTPSService{}}
	if a.TTL > 0 {
		res.TTL = int64(a.TTL / time.Second)
	}
	if a.Err != nil && !a.Positive() {
		res.Error, res.Reason = a.Err.Error(), innermost(a.Err).Error()
	}
	looked := map[string][]DNSResult{}
	for _, s := range a.Services {
		svc := httpsService(s)
		if !sameName(s.Target, t.host) && !sameName(s.Target, name) {
			d, seen := looked[s.Target]
			if !seen && len(looked) < maxTargetLookups {
				for _, fa := range lookup(ctx, cfg, strings.TrimSuffix(s.Target, ".")) {
					d = append(d, fa.result)
				}
				looked[s.Target] = d
			}
			svc.TargetDNS = d
		}
		res.Services = append(res.Services, svc)
	}
	return res
}

// httpsService describes one service.
func httpsService(s resolver.Service) HTTPSService {
	h := HTTPSService{Priority: s.Priority, Target: s.Target, ALPN: append([]string{}, s.ALPN...),
		NoDefaultALPN: s.NoDefaultALPN, Port: s.Port, IPv4Hint: addrStrings(s.IPv4Hint),
		IPv6Hint: addrStrings(s.IPv6Hint), ECHBytes: len(s.ECH)}
	return h
}

func addrStrings(addrs []netip.Addr) []string {
	out := []string{} // [] in JSON, never null
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}

// sameName reports whether DNS names a and b are equal, ignoring case and
// a final dot.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// resolverName says which resolver answers.
func (c *config) resolverName() string {
	if c.server.IsValid() {
		return c.server.String()
	}
	return "system (" + resolver.DefaultConfPath + ")"
}

// newResolver returns a DNS client without a cache, so that every step
// asks the server afresh and the race sees DNS as a first connection does.
// The caller must Close it.
func (c *config) newResolver() *resolver.Client {
	cl := &resolver.Client{
		HostsPath: c.hosts,
		CacheSize: -1,
		MaxTTL:    (1<<31 - 1) * time.Second, // report TTLs as the server gave them (RFC 2181 §8: 31 bits)
	}
	if c.server.IsValid() {
		cl.Config = &resolver.Config{
			Servers:  []netip.AddrPort{c.server},
			Timeout:  c.timeout,
			Attempts: 1,
		}
		if c.hosts == "" {
			cl.HostsPath = os.DevNull // the named server alone
		}
	}
	return cl
}

// familyAnswer is one family's DNS result and its addresses.
type familyAnswer struct {
	result DNSResult
	addrs  []netip.Addr
}

// lookup asks for each family on its own, all at once (AAAA first, as
// RFC 8305 §3 sends them), and times each from the moment it was asked.
func lookup(ctx context.Context, cfg *config, host string) []familyAnswer {
	cl := cfg.newResolver()
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	fams := cfg.families()
	out := make([]familyAnswer, len(fams))
	var wg sync.WaitGroup
	for i, f := range fams {
		start := time.Now()
		ch := cl.Resolve(ctx, host, f)
		wg.Go(func() {
			a, ok := <-ch
			if !ok { // never: one Answer per family asked
				a = resolver.Answer{Family: f, Err: errors.New("resolver sent no answer")}
			}
			out[i] = familyAnswer{result: dnsResult(f, a, time.Since(start)), addrs: a.Addrs}
		})
	}
	wg.Wait()
	return out
}

// dnsResult describes one Answer.
func dnsResult(f resolver.Family, a resolver.Answer, took time.Duration) DNSResult {
	d := DNSResult{Family: f.String(), Type: f.QType(), Status: dnsStatus(a), Addrs: []string{}, Ms: ms(took)}
	for _, ip := range a.Addrs {
		d.Addrs = append(d.Addrs, ip.String())
	}
	if len(a.Addrs) > 0 {
		d.TTL = int64(a.TTL / time.Second)
	}
	if a.Err != nil && len(a.Addrs) == 0 {
		d.Error, d.Reason = a.Err.Error(), innermost(a.Err).Error()
	}
	return d
}

// innermost follows err's single-error Unwrap chain to its end.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// dnsStatus names an Answer's outcome the way dig does, or "timeout" and
// "error" when no reply was had.
func dnsStatus(a resolver.Answer) string {
	if a.Positive() {
		return dnsNoError
	}
	var de *net.DNSError
	switch {
	case a.Err == nil, errors.Is(a.Err, resolver.ErrNoData):
		return dnsNoData
	case errors.Is(a.Err, resolver.ErrNXDomain):
		return dnsNXDomain
	case errors.As(a.Err, &de) && de.IsTimeout:
		return dnsTimeout
	case errors.Is(a.Err, resolver.ErrServFail):
		return dnsServFail
	case errors.As(a.Err, new(resolver.RcodeError)):
		return dnsRefused // REFUSED, or another error response code
	case errors.As(a.Err, &de) && de.IsNotFound:
		return dnsNXDomain // an invalid name, or a negative answer from elsewhere
	}
	return dnsError
}

// connectAll makes one TCP connect to every address at once, each with
// its own timeout, and closes each connection made. Addresses from DNS
// that the Dialer would never dial are reported unusable, not dialed; an
// IP literal the user gave (literal) is dialed as given, as the Dialer
// does.
func connectAll(ctx context.Context, cfg *config, addrs []netip.AddrPort, literal bool) []ConnectResult {
	out := make([]ConnectResult, len(addrs))
	var wg sync.WaitGroup
	for i, ap := range addrs {
		if !literal && !usable(ap.Addr()) {
			out[i] = ConnectResult{Family: resolver.Of(ap.Addr()).String(), Addr: ap.String(), Result: connUnusable,
				Error: dialer.ErrUnusableAddress.Error() + " (the kernel would take it as this host, or it is not unicast)"}
			continue
		}
		wg.Go(func() { out[i] = connect(ctx, cfg.timeout, ap) })
	}
	wg.Wait()
	return out
}

// usable reports whether a connection to addr, an address from DNS, makes
// sense: the rule by which a Dialer drops addresses with
// dialer.ErrUnusableAddress (unexported there).
func usable(addr netip.Addr) bool {
	switch {
	case addr.IsUnspecified(), addr.IsMulticast():
		return false
	case addr.Is4():
		b := addr.As4()
		return b[0] != 0 && b != [4]byte{255, 255, 255, 255} // "this network", limited broadcast
	case addr.IsLinkLocalUnicast():
		return addr.Zone() != "" // no interface to reach it through otherwise
	}
	return true
}

func connect(ctx context.Context, timeout time.Duration, ap netip.AddrPort) ConnectResult {
	d := net.Dialer{Timeout: timeout}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", ap.String())
	took := time.Since(start)
	res := ConnectResult{Family: resolver.Of(ap.Addr()).String(), Addr: ap.String(), Result: connOK, Ms: ms(took)}
	if err != nil {
		res.Result, res.Error = connectKind(err), err.Error()
		return res
	}
	c.Close()
	return res
}

// connectKind classifies a failed connect.
func connectKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return connRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EAFNOSUPPORT):
		return connUnreachable
	case errors.As(err, &ne) && ne.Timeout():
		return connTimeout
	}
	return connError
}

// requestAll makes one HTTP(S) request per family, pinned to the first of
// its addresses that connected, one family after the other so that they
// do not compete. A family none of whose addresses connected gets no
// request: the connects already said why, and it would only wait out
// another timeout.
func requestAll(ctx context.Context, cfg *config, t target, conns []ConnectResult) []HTTPResult {
	var out []HTTPResult
	for _, f := range cfg.families() {
		i := slices.IndexFunc(conns, func(c ConnectResult) bool { return c.Family == f.String() && c.Result == connOK })
		if i < 0 {
			continue
		}
		ap := netip.MustParseAddrPort(conns[i].Addr) // made by connect from a netip.AddrPort
		out = append(out, request(ctx, cfg, t, ap))
	}
	return out
}

// request makes one GET of t.url over ap, with the TLS handshake done by
// a dialer.TLSDialer (the host name as ServerName, h2 and http/1.1
// offered), and reads at most 64 KiB of the body.
func request(ctx context.Context, cfg *config, t target, ap netip.AddrPort) HTTPResult {
	res := HTTPResult{Family: resolver.Of(ap.Addr()).String(), Addr: ap.String(), URL: t.url}
	nd := &dialer.Dialer{Timeout: cfg.timeout, DisableHistory: true}
	tlsConf := &tls.Config{
		InsecureSkipVerify: cfg.insecure,
		RootCAs:            cfg.roots,
		NextProtos:         []string{"h2", "http/1.1"},
	}
	// The dialed address is a literal: name the host, which is sent as SNI
	// and verified (an IP literal host is verified against the IP SANs).
	tlsConf.ServerName = t.host
	td := &dialer.TLSDialer{NetDialer: nd, Config: tlsConf}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return nd.DialContext(ctx, "tcp", ap.String())
		},
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return td.DialContext(ctx, "tcp", ap.String())
		},
		ForceAttemptHTTP2: true,
		DisableKeepAlives: true,
		Proxy:             nil, // straight to the address being checked
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var start time.Time
	var ttfb time.Duration
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { ttfb = time.Since(start) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("User-Agent", "dualstack-check")
	start = time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	res.TTFBMs = ms(ttfb)
	res.Status, res.Proto = resp.StatusCode, resp.Proto
	if resp.TLS != nil {
		res.TLSVersion = tls.VersionName(resp.TLS.Version)
		res.ALPN = resp.TLS.NegotiatedProtocol
	}
	return res
}

// race dials t as dialer.Dialer does, with the learned history off
// (DisableHistory) so that a broken path costs what it costs a first
// connection, and records the Trace. With https, the Dialer asks for HTTPS
// records (HTTPSOn: a plain TCP dial, as http.Transport.DialContext
// makes, taken to speak h2 and http/1.1) and the Trace shows the answer
// and what it changed.
func race(ctx context.Context, cfg *config, t target, https bool) RaceResult {
	cl := cfg.newResolver()
	defer cl.Close()
	network := cfg.raceNetwork()
	d := &dialer.Dialer{Timeout: cfg.timeout, DisableHistory: true, Resolver: cl, HTTPSRecords: dialer.HTTPSOff}
	if https {
		d.HTTPSRecords = dialer.HTTPSOn
	}
	rec := &recorder{host: t.host, known: map[resolver.Family]bool{}, allDone: make(chan struct{}, 1)} // buffered: a signal nobody may be waiting for yet
	ctx = dialer.WithTrace(ctx, rec.trace())
	c, err := d.DialContext(ctx, network, t.address())
	if c != nil {
		c.Close()
	}
	rec.wait(cfg.timeout) // losers report after DialContext returns
	res := rec.result(network, err)
	res.HTTPSRecords = https
	return res
}

// raceNetwork is the network the race dials: "tcp", or one family's.
func (c *config) raceNetwork() string {
	switch c.family {
	case resolver.IPv4:
		return "tcp4"
	case resolver.IPv6:
		return "tcp6"
	}
	return "tcp"
}

// netDial dials t with Go's net.Dialer, for comparison: it asks the same
// DNS server as the race (Go's resolver, with /etc/hosts and resolv.conf's
// options), or the system's resolver without -resolver.
func netDial(ctx context.Context, cfg *config, t target) NetDialResult {
	d := &net.Dialer{Timeout: cfg.timeout}
	if cfg.server.IsValid() {
		var nd net.Dialer
		d.Resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				c, err := nd.DialContext(ctx, network, cfg.server.String())
				if err != nil {
					return nil, err
				}
				// Go's resolver keeps a query's socket until its own
				// timeout even when ctx ends first: close it with ctx.
				context.AfterFunc(ctx, func() { c.Close() })
				return c, nil
			},
		}
	}
	start := time.Now()
	c, err := d.DialContext(ctx, cfg.raceNetwork(), t.address())
	res := NetDialResult{Ms: ms(time.Since(start))}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer c.Close()
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		res.Winner, res.Family = ap.String(), resolver.Of(ap.Addr()).String()
	}
	return res
}

// recorder collects a race's Trace events.
type recorder struct {
	host     string // the name dialed
	mu       sync.Mutex
	known    map[resolver.Family]bool // a family's addresses arrived (answers, hints)
	events   []RaceEvent
	started  int
	ended    int
	dialDone *dialer.DialDoneInfo
	allDone  chan struct{}
}

func (r *recorder) add(e RaceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) trace() *dialer.Trace {
	return &dialer.Trace{
		DNSAnswer: func(i dialer.DNSAnswerInfo) {
			r.mu.Lock()
			defer r.mu.Unlock()
			e := RaceEvent{Ms: ms(i.Elapsed), Event: evDNS, Family: i.Family.String(), Hint: i.Hint}
			if !sameName(i.Host, r.host) {
				e.Name = i.Host
			}
			switch {
			case len(i.Addrs) > 0:
				for _, a := range i.Addrs {
					e.Addrs = append(e.Addrs, a.String())
				}
				if i.Synthesized {
					e.Detail = "synthesized for NAT64 (RFC 8305 §7)"
				}
			case i.Err != nil:
				e.Detail = dnsStatus(resolver.Answer{Err: i.Err}) + ": " + i.Err.Error()
			case r.known[i.Family]:
				// Addrs holds the addresses the answer added: none new.
				e.Detail = "nothing new: its addresses were known already (hints, or another name's)"
			default:
				e.Detail = dnsNoData
			}
			if len(i.Addrs) > 0 {
				r.known[i.Family] = true
			}
			r.events = append(r.events, e)
		},
		AddressRejected: func(i dialer.AddressRejectedInfo) {
			r.add(RaceEvent{Ms: ms(i.Elapsed), Event: evRejected, Family: resolver.Of(i.Addr.Addr()).String(),
				Addr: i.Addr.String(), Detail: i.Err.Error()})
		},
		HTTPSAnswer: func(i dialer.HTTPSAnswerInfo) {
			e := RaceEvent{Ms: ms(i.Elapsed), Event: evHTTPS, Name: i.Host}
			for _, s := range i.Services {
				e.Services = append(e.Services, httpsService(s))
			}
			switch {
			case len(i.Services) == 0 && i.Err != nil:
				e.Detail = dnsStatus(resolver.Answer{Family: resolver.HTTPS, Err: i.Err}) + ": " + i.Err.Error()
			case len(i.Services) == 0:
				e.Detail = dnsNoData
			}
			if i.Skipped > 0 {
				if e.Detail != "" {
					e.Detail += "; "
				}
				e.Detail += fmt.Sprintf("%d service%s skipped: no ALPN in common", i.Skipped, plural(i.Skipped))
			}
			r.add(e)
		},
		HintsReplaced: func(i dialer.HintsReplacedInfo) {
			e := RaceEvent{Ms: ms(i.Elapsed), Event: evHintsReplaced, Family: i.Family.String(), Addrs: addrStrings(i.Dropped)}
			if !sameName(i.Host, r.host) {
				e.Name = i.Host
			}
			r.add(e)
		},
		HTTPSAttempt: func(i dialer.HTTPSAttemptInfo) {
			svc := &RaceService{Priority: i.Priority, Target: i.Target, PortChanged: i.PortChanged, ECH: i.ECH}
			r.mu.Lock()
			defer r.mu.Unlock()
			// Called after AttemptStart: the service goes on its event.
			for j := len(r.events) - 1; j >= 0; j-- {
				if e := &r.events[j]; e.Event == evStart && e.Attempt == i.Index+1 {
					e.Service, e.Hint = svc, i.Hint
					return
				}
			}
			r.events = append(r.events, RaceEvent{Ms: ms(i.Elapsed), Event: evStart, Family: resolver.Of(i.Addr.Addr()).String(),
				Addr: i.Addr.String(), Attempt: i.Index + 1, Service: svc, Hint: i.Hint})
		},
		ECH: func(i dialer.ECHInfo) {
			e := RaceEvent{Ms: ms(i.Elapsed), Event: evECH, Family: resolver.Of(i.Addr.Addr()).String(), Addr: i.Addr.String()}
			switch {
			case i.Unusable:
				e.Detail = "configuration unusable, TLS without ECH"
			case i.Accepted:
				e.Detail = "accepted"
			default:
				e.Detail = "not accepted"
			}
			if i.Retried {
				e.Detail += ", retried with the server's configuration"
			}
			if i.Err != nil {
				e.Detail += ": " + i.Err.Error()
			}
			r.add(e)
		},
		AttemptStart: func(i dialer.AttemptStartInfo) {
			r.mu.Lock()
			r.started++
			r.mu.Unlock()
			r.add(RaceEvent{Ms: ms(i.Elapsed), Event: evStart, Family: resolver.Of(i.Addr.Addr()).String(),
				Addr: i.Addr.String(), Attempt: i.Index + 1})
		},
		AttemptDone: func(i dialer.AttemptDoneInfo) {
			e := RaceEvent{Ms: ms(i.Elapsed), Event: evFailed, Family: resolver.Of(i.Addr.Addr()).String(),
				Addr: i.Addr.String(), Attempt: i.Index + 1, RanMs: ms(i.Duration)}
			switch {
			case i.Won:
				e.Event = evWon
			case i.Cancelled:
				e.Event = evCancelled
			}
			if i.Err != nil && !i.Won {
				e.Detail = i.Err.Error()
			}
			r.mu.Lock()
			r.events = append(r.events, e)
			r.ended++
			all := r.dialDone != nil && r.ended >= r.started
			r.mu.Unlock()
			if all {
				r.signal()
			}
		},
		DialDone: func(i dialer.DialDoneInfo) {
			r.mu.Lock()
			r.dialDone = &i
			all := r.ended >= r.started
			r.mu.Unlock()
			if all {
				r.signal()
			}
		},
	}
}

func (r *recorder) signal() {
	select {
	case r.allDone <- struct{}{}:
	default:
	}
}

// wait waits until DialDone has fired and every attempt started has
// ended, or for at most timeout.
func (r *recorder) wait(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		done := r.dialDone != nil && r.ended >= r.started
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.allDone:
		case <-t.C:
			return
		}
	}
}

func (r *recorder) result(network string, err error) RaceResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := RaceResult{Network: network, Events: append([]RaceEvent{}, r.events...)} // [] in JSON, never null
	slices.SortStableFunc(res.Events, func(a, b RaceEvent) int {
		switch {
		case a.Ms < b.Ms:
			return -1
		case a.Ms > b.Ms:
			return 1
		}
		return 0
	})
	if r.dialDone != nil {
		res.Ms, res.Attempts = ms(r.dialDone.Elapsed), r.dialDone.Attempts
		if r.dialDone.Addr.IsValid() {
			res.Winner = r.dialDone.Addr.String()
			res.Family = resolver.Of(r.dialDone.Addr.Addr()).String()
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	return res
}
