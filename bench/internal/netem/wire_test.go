package netem

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	CleanStale()
	goleak.VerifyTestMain(m)
}

// memEnd is an in-memory, packet-preserving end of a wire.
type memEnd struct {
	in     chan []byte // packets the wire will read
	out    chan []byte // packets the wire wrote
	closed chan struct{}
}

func newMemEnd() *memEnd {
	return &memEnd{in: make(chan []byte, 64), out: make(chan []byte, 512), closed: make(chan struct{})}
}

func (e *memEnd) Read(b []byte) (int, error) {
	select {
	case p := <-e.in:
		return copy(b, p), nil
	case <-e.closed:
		return 0, os.ErrClosed
	}
}

func (e *memEnd) Write(b []byte) (int, error) {
	select {
	case e.out <- append([]byte(nil), b...):
		return len(b), nil
	default:
		return 0, errors.New("memEnd: output full")
	}
}

// testWire runs a wire between two in-memory ends for one test.
func testWire(t *testing.T) (w *wire, client, server *memEnd) {
	t.Helper()
	client, server = newMemEnd(), newMemEnd()
	w = newWire(client, server, 1)
	t.Cleanup(func() {
		close(client.closed)
		close(server.closed)
		w.stop()
	})
	return w, client, server
}

// tcpPacket builds a minimal IPv4 or IPv6 TCP segment with the given flags,
// padded to size bytes when size is larger than the headers.
func tcpPacket(src, dst netip.AddrPort, flags byte, size int) []byte {
	var b []byte
	if src.Addr().Is4() {
		b = make([]byte, max(40, size))
		b[0] = 0x45
		b[9] = protoTCP
		s, d := src.Addr().As4(), dst.Addr().As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
		b = b[:max(40, size)]
		tcp := b[20:]
		tcp[0], tcp[1] = byte(src.Port()>>8), byte(src.Port())
		tcp[2], tcp[3] = byte(dst.Port()>>8), byte(dst.Port())
		tcp[13] = flags
		return b
	}
	b = make([]byte, max(60, size))
	b[0] = 0x60
	b[6] = protoTCP
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	tcp := b[40:]
	tcp[0], tcp[1] = byte(src.Port()>>8), byte(src.Port())
	tcp[2], tcp[3] = byte(dst.Port()>>8), byte(dst.Port())
	tcp[13] = flags
	return b
}

// withSeq sets the TCP sequence number of a packet made by tcpPacket.
func withSeq(b []byte, seq uint32) []byte {
	off := 20
	if b[0]>>4 == 6 {
		off = 40
	}
	b[off+4], b[off+5], b[off+6], b[off+7] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	return b
}

var (
	cli4 = netip.MustParseAddrPort("192.0.2.1:40000")
	srv4 = netip.MustParseAddrPort("192.0.2.10:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8:1::10]:80")
)

// recv waits up to d for a packet on ch; nil if none came.
func recv(ch chan []byte, d time.Duration) []byte {
	select {
	case p := <-ch:
		return p
	case <-time.After(d):
		return nil
	}
}

func TestParsePacket(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		ok, syn  bool
		src, dst netip.Addr
	}{
		{"v4 SYN", tcpPacket(cli4, srv4, tcpSYN, 0), true, true, cli4.Addr(), srv4.Addr()},
		{"v4 SYN-ACK", tcpPacket(srv4, cli4, tcpSYN|tcpACK, 0), true, false, srv4.Addr(), cli4.Addr()},
		{"v6 SYN", tcpPacket(cli6, srv6, tcpSYN, 0), true, true, cli6.Addr(), srv6.Addr()},
		{"v6 ACK", tcpPacket(cli6, srv6, tcpACK, 0), true, false, cli6.Addr(), srv6.Addr()},
		{"empty", nil, false, false, netip.Addr{}, netip.Addr{}},
		{"short v4", []byte{0x45, 0, 0}, false, false, netip.Addr{}, netip.Addr{}},
		{"short v6", make([]byte, 39), false, false, netip.Addr{}, netip.Addr{}},
		{"bad IHL", append([]byte{0x41}, make([]byte, 30)...), false, false, netip.Addr{}, netip.Addr{}},
		{"version 5", append([]byte{0x50}, make([]byte, 60)...), false, false, netip.Addr{}, netip.Addr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsePacket(tt.b)
			if p.ok != tt.ok || p.syn != tt.syn || (tt.ok && (p.src != tt.src || p.dst != tt.dst)) {
				t.Errorf("parsePacket = %+v; want ok=%v syn=%v %v → %v", p, tt.ok, tt.syn, tt.src, tt.dst)
			}
		})
	}
}

func TestRule_validate(t *testing.T) {
	ok := netip.MustParsePrefix("192.0.2.10/32")
	tests := []struct {
		name string
		r    Rule
		bad  bool
	}{
		{"per address", Rule{Prefix: ok, Delay: time.Millisecond}, false},
		{"per family", Rule{Prefix: DocIPv6, Loss: 1}, false},
		{"no prefix", Rule{}, true},
		{"outside doc", Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8")}, true},
		{"wider than doc", Rule{Prefix: netip.MustParsePrefix("2001::/16")}, true},
		{"negative delay", Rule{Prefix: ok, Delay: -1}, true},
		{"negative jitter", Rule{Prefix: ok, Jitter: -1}, true},
		{"loss above 1", Rule{Prefix: ok, Loss: 1.5}, true},
		{"NaN loss", Rule{Prefix: ok, Loss: nan()}, true},
		{"negative MTU", Rule{Prefix: ok, MTU: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newRuleSet(0, []Rule{tt.r})
			if (err != nil) != tt.bad {
				t.Errorf("newRuleSet(%v) error = %v; want error: %v", tt.r, err, tt.bad)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestRuleSet_longestPrefixWins(t *testing.T) {
	rs, err := newRuleSet(0, []Rule{
		{Prefix: DocIPv4, Delay: 1},
		{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Delay: 2},
		{Prefix: netip.MustParsePrefix("192.0.2.0/28"), Delay: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]time.Duration{"192.0.2.10": 2, "192.0.2.11": 3, "192.0.2.200": 1} {
		if r := rs.match(netip.MustParseAddr(addr)); r == nil || r.Delay != want {
			t.Errorf("match(%s) = %v; want the rule with delay %d", addr, r, want)
		}
	}
	if r := rs.match(netip.MustParseAddr("2001:db8::5")); r != nil {
		t.Errorf("match(2001:db8::5) = %v; want nil", r)
	}
}

func TestWire_delay(t *testing.T) {
	w, client, server := testWire(t)
	const d = 30 * time.Millisecond
	must(t, w.setRules(1, []Rule{{Prefix: DocIPv4, Delay: d}}))

	// Best of three: a late wake-up on a shared machine only ever makes a
	// packet later.
	best := time.Hour
	for range 3 {
		start := time.Now()
		client.in <- tcpPacket(cli4, srv4, tcpSYN, 0)
		if recv(server.out, time.Second) == nil {
			t.Fatal("SYN not delivered")
		}
		best = min(best, time.Since(start))
	}
	if best < d || best > d+15*time.Millisecond {
		t.Errorf("client→server took %v; want %v (+15 ms)", best, d)
	}

	// The reverse direction is delayed too: the rule is keyed by the
	// server-side address, which is the source here.
	start := time.Now()
	server.in <- tcpPacket(srv4, cli4, tcpSYN|tcpACK, 0)
	if recv(client.out, time.Second) == nil {
		t.Fatal("SYN-ACK not delivered")
	}
	if got := time.Since(start); got < d {
		t.Errorf("server→client took %v; want at least %v", got, d)
	}

	// A packet no rule matches crosses at once.
	start = time.Now()
	client.in <- tcpPacket(cli6, srv6, tcpSYN, 0)
	if recv(server.out, time.Second) == nil {
		t.Fatal("packet not delivered")
	}
	if got := time.Since(start); got > 10*time.Millisecond {
		t.Errorf("unmatched packet took %v; want no delay", got)
	}
}

func TestWire_keepsOrderOnAPath(t *testing.T) {
	w, client, server := testWire(t)
	must(t, w.setRules(1, []Rule{{Prefix: DocIPv4, Delay: 5 * time.Millisecond}}))
	for port := range uint16(20) {
		client.in <- tcpPacket(netip.AddrPortFrom(cli4.Addr(), 1000+port), srv4, tcpACK, 0)
	}
	for port := range uint16(20) {
		p := recv(server.out, time.Second)
		if p == nil {
			t.Fatal("packet not delivered")
		}
		if got := parsePacket(p).sport; got != 1000+port {
			t.Errorf("packet %d out of order: got source port %d", port, got)
		}
	}
}

func TestWire_drops(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		size int
		pass bool
	}{
		{"black hole", Rule{Prefix: DocIPv4, BlackHole: true}, 0, false},
		{"loss 1", Rule{Prefix: DocIPv4, Loss: 1}, 0, false},
		{"loss 0", Rule{Prefix: DocIPv4, Loss: 0}, 0, true},
		{"above MTU", Rule{Prefix: DocIPv4, MTU: 1000}, 1001, false},
		{"at MTU", Rule{Prefix: DocIPv4, MTU: 1000}, 1000, true},
		{"other family unaffected", Rule{Prefix: DocIPv6, BlackHole: true}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, client, server := testWire(t)
			must(t, w.setRules(1, []Rule{tt.rule}))
			client.in <- tcpPacket(cli4, srv4, tcpSYN, tt.size)
			if got := recv(server.out, 50*time.Millisecond); (got != nil) != tt.pass {
				t.Errorf("delivered = %v; want %v", got != nil, tt.pass)
			}
			want := Counters{Attempts: 1, SYNs: 1, Packets: 1}
			if !tt.pass {
				want.Dropped = 1
			}
			if c := w.snapshot()[srv4.Addr()]; c != want {
				t.Errorf("counters = %+v; want %+v", c, want)
			}
		})
	}
}

func TestWire_foreignAddressesNeverCross(t *testing.T) {
	w, client, server := testWire(t)
	for _, dst := range []string{"10.0.0.1:80", "[2001:4860::1]:80", "[fe80::1]:80"} {
		d := netip.MustParseAddrPort(dst)
		src := cli4
		if d.Addr().Is6() {
			src = cli6
		}
		client.in <- tcpPacket(src, d, tcpSYN, 0)
	}
	client.in <- []byte{0x45} // garbage
	if p := recv(server.out, 50*time.Millisecond); p != nil {
		t.Errorf("forwarded %x", p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.foreign != 4 {
		t.Errorf("foreign = %d; want 4", w.foreign)
	}
}

// TestWire_lossIsSeeded checks that loss follows the seed: the same seed
// drops the same packets, and the rate is near the rule's.
func TestWire_lossIsSeeded(t *testing.T) {
	pattern := func(seed uint64) []bool {
		w, client, server := testWire(t)
		must(t, w.setRules(seed, []Rule{{Prefix: DocIPv4, Loss: 0.3}}))
		var got []bool
		for i := range uint16(200) {
			client.in <- tcpPacket(netip.AddrPortFrom(cli4.Addr(), 1000+i), srv4, tcpACK, 0)
		}
		delivered := make(map[uint16]bool)
		for p := recv(server.out, 100*time.Millisecond); p != nil; p = recv(server.out, 100*time.Millisecond) {
			delivered[parsePacket(p).sport] = true
		}
		for i := range uint16(200) {
			got = append(got, delivered[1000+i])
		}
		return got
	}
	a, b := pattern(7), pattern(7)
	if !slices.Equal(a, b) {
		t.Error("same seed, different drops")
	}
	lost := 0
	for _, ok := range a {
		if !ok {
			lost++
		}
	}
	if lost < 35 || lost > 85 {
		t.Errorf("30%% loss dropped %d of 200 packets", lost)
	}
	if slices.Equal(a, pattern(8)) {
		t.Error("different seeds, same drops")
	}
}

func TestWire_countsAttempts(t *testing.T) {
	w, client, server := testWire(t)
	send := func(p []byte) {
		client.in <- p
		if recv(server.out, time.Second) == nil {
			t.Fatal("packet not delivered")
		}
	}
	send(tcpPacket(cli4, srv4, tcpSYN, 0))
	send(tcpPacket(cli4, srv4, tcpSYN, 0)) // retransmission
	send(tcpPacket(netip.AddrPortFrom(cli4.Addr(), 40001), srv4, tcpSYN, 0))
	send(tcpPacket(cli4, srv4, tcpACK, 0))
	server.in <- tcpPacket(srv4, cli4, tcpSYN|tcpACK, 0) // not an attempt
	if recv(client.out, time.Second) == nil {
		t.Fatal("packet not delivered")
	}

	if got, want := w.snapshot()[srv4.Addr()], (Counters{Attempts: 2, SYNs: 3, Packets: 5}); got != want {
		t.Errorf("counters = %+v; want %+v", got, want)
	}

	w.reset()
	if got := w.snapshot(); len(got) != 0 {
		t.Errorf("after reset: %v; want none", got)
	}
	// A retransmission of a connection begun before the reset is not a
	// new attempt; a new connection is.
	send(tcpPacket(cli4, srv4, tcpSYN, 0))
	send(tcpPacket(netip.AddrPortFrom(cli4.Addr(), 40002), srv4, tcpSYN, 0))
	// The same ports with a new initial sequence number: a new connection.
	send(withSeq(tcpPacket(cli4, srv4, tcpSYN, 0), 12345))
	if got, want := w.snapshot()[srv4.Addr()], (Counters{Attempts: 2, SYNs: 3, Packets: 3}); got != want {
		t.Errorf("counters = %+v; want %+v", got, want)
	}
}

// must fails the test at once on a non-nil error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWire_jitter(t *testing.T) {
	w, client, server := testWire(t)
	const d, j = 20 * time.Millisecond, 10 * time.Millisecond
	must(t, w.setRules(3, []Rule{{Prefix: DocIPv4, Delay: d, Jitter: j}}))
	var lo, hi time.Duration = time.Hour, 0
	for range 20 {
		start := time.Now()
		client.in <- tcpPacket(cli4, srv4, tcpACK, 0)
		if recv(server.out, time.Second) == nil {
			t.Fatal("packet not delivered")
		}
		took := time.Since(start)
		lo, hi = min(lo, took), max(hi, took)
	}
	if lo < d-j {
		t.Errorf("fastest packet took %v; want at least %v", lo, d-j)
	}
	if hi-lo < 3*time.Millisecond {
		t.Errorf("delays spread over %v..%v; want jitter", lo, hi)
	}
}

// TestWire_pathMTUBlackHole: an MTU rule on one IPv6 address lets the
// small packets of a TCP handshake through both ways, silently drops the
// full-size segments in either direction (nothing is sent back: no ICMPv6
// Packet Too Big), and leaves the other addresses alone.
func TestWire_pathMTUBlackHole(t *testing.T) {
	w, client, server := testWire(t)
	other := netip.MustParseAddrPort("[2001:db8:1::11]:80")
	must(t, w.setRules(1, []Rule{{Prefix: netip.PrefixFrom(srv6.Addr(), 128), MTU: 1280}}))
	steps := []struct {
		name     string
		from, to *memEnd
		pkt      []byte
		pass     bool
	}{
		{"SYN", client, server, tcpPacket(cli6, srv6, tcpSYN, 80), true},
		{"SYN-ACK", server, client, tcpPacket(srv6, cli6, tcpSYN|tcpACK, 80), true},
		{"ACK", client, server, tcpPacket(cli6, srv6, tcpACK, 60), true},
		{"1500-byte segment from the server", server, client, tcpPacket(srv6, cli6, tcpACK, 1500), false},
		{"1500-byte segment from the client", client, server, tcpPacket(cli6, srv6, tcpACK, 1500), false},
		{"1280-byte segment", server, client, tcpPacket(srv6, cli6, tcpACK, 1280), true},
		{"1500 bytes to another address", client, server, tcpPacket(cli6, other, tcpACK, 1500), true},
	}
	for _, s := range steps {
		s.from.in <- s.pkt
		if got := recv(s.to.out, 50*time.Millisecond); (got != nil) != s.pass {
			t.Errorf("%s: delivered = %v; want %v", s.name, got != nil, s.pass)
		}
		if got := recv(s.from.out, 5*time.Millisecond); got != nil {
			t.Errorf("%s: the wire sent %d bytes back to the sender; want nothing (no Packet Too Big)", s.name, len(got))
		}
	}
	if c := w.snapshot()[srv6.Addr()]; c.Dropped != 2 || c.Packets != 6 {
		t.Errorf("counters = %+v; want 6 packets, 2 dropped", c)
	}
}
