package tcpmetrics

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Builders for netlink messages, host byte order like the kernel's.

func nlattr(typ uint16, val []byte) []byte {
	b := make([]byte, align4(nlaHdrLen+len(val)))
	binary.NativeEndian.PutUint16(b[0:2], uint16(nlaHdrLen+len(val)))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	copy(b[nlaHdrLen:], val)
	return b
}

func u32(n uint32) []byte { return binary.NativeEndian.AppendUint32(nil, n) }
func u64(n uint64) []byte { return binary.NativeEndian.AppendUint64(nil, n) }

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// nlmsg frames payload (which, for a family message, starts with the
// genlmsghdr) as one netlink message.
func nlmsg(typ uint16, payload []byte) []byte {
	b := make([]byte, align4(nlmsgHdrLen+len(payload)))
	binary.NativeEndian.PutUint32(b[0:4], uint32(nlmsgHdrLen+len(payload)))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	copy(b[nlmsgHdrLen:], payload)
	return b
}

// entryMsg is a TCP_METRICS_CMD_GET reply message with attrs.
func entryMsg(attrs ...[]byte) []byte {
	return nlmsg(0x1b, cat(append([]byte{tcpMetricsCmdGet, tcpMetricsGenlVersion, 0, 0}, cat(attrs...)...)))
}

var doneMsg = nlmsg(nlmsgDone, u32(0))

// errMsg is a NLMSG_ERROR reporting errno.
func errMsg(errno syscall.Errno) []byte {
	code := -int32(errno)
	return nlmsg(nlmsgError, u32(uint32(code)))
}

func addr(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func TestParseDump(t *testing.T) {
	v4 := entryMsg(
		nlattr(attrAddrIPv4, addr("192.0.2.1")),
		nlattr(attrSAddrIPv4, addr("192.0.2.100")),
		nlattr(attrAge, u64(1500)),
		nlattr(attrVals|0x8000, cat( // NLA_F_NESTED, as the kernel sets it
			nlattr(valRTTUs, u32(8*12345)),
			nlattr(valRTTVarUs, u32(4*678)),
			nlattr(valRTT, u32(98)),
			nlattr(valRTTVar, u32(2)),
			nlattr(4, u32(10)), // TCP_METRIC_CWND, ignored
		)),
	)
	want4 := Entry{
		Src: netip.MustParseAddr("192.0.2.100"), Dst: netip.MustParseAddr("192.0.2.1"),
		RTT: 12345 * time.Microsecond, RTTVar: 678 * time.Microsecond, Age: 1500 * time.Millisecond,
	}
	tests := []struct {
		name     string
		in       []byte
		max      int
		want     []Entry
		wantDone bool
		wantErr  error
	}{
		{name: "empty", in: nil, max: 10},
		{name: "done", in: doneMsg, max: 10, wantDone: true},
		{name: "ipv4 entry then done", in: cat(v4, doneMsg), max: 10, want: []Entry{want4}, wantDone: true},
		{
			name: "old kernel: milliseconds, no source",
			in: entryMsg(
				nlattr(attrAddrIPv6, addr("2001:db8::1")),
				nlattr(attrVals, cat(nlattr(valRTT, u32(80)), nlattr(valRTTVar, u32(40)))),
			),
			max:  10,
			want: []Entry{{Dst: netip.MustParseAddr("2001:db8::1"), RTT: 10 * time.Millisecond, RTTVar: 10 * time.Millisecond}},
		},
		{
			name: "ipv4-mapped ipv6 is unmapped",
			in:   entryMsg(nlattr(attrAddrIPv6, addr("::ffff:192.0.2.1")), nlattr(attrSAddrIPv6, addr("::ffff:192.0.2.100"))),
			max:  10,
			want: []Entry{{Src: netip.MustParseAddr("192.0.2.100"), Dst: netip.MustParseAddr("192.0.2.1")}},
		},
		{
			name: "age saturates",
			in:   entryMsg(nlattr(attrAddrIPv4, addr("192.0.2.1")), nlattr(attrAge, u64(math.MaxUint64))),
			max:  10,
			want: []Entry{{Dst: netip.MustParseAddr("192.0.2.1"), Age: math.MaxInt64}},
		},
		{
			name: "no destination: skipped",
			in:   cat(entryMsg(nlattr(attrAge, u64(1))), v4),
			max:  10,
			want: []Entry{want4},
		},
		{
			name: "bad address length, truncated attribute: ignored",
			in:   cat(entryMsg(nlattr(attrAddrIPv4, []byte{1, 2, 3}), []byte{0xff, 0x00, 0x01, 0x00}), v4),
			max:  10,
			want: []Entry{want4},
		},
		{name: "noop skipped", in: cat(nlmsg(nlmsgNoop, nil), v4), max: 10, want: []Entry{want4}},
		{name: "bounded", in: cat(v4, v4, v4, doneMsg), max: 2, want: []Entry{want4, want4}, wantDone: true},
		{name: "netlink error", in: cat(v4, errMsg(syscall.EPERM)), max: 10, want: []Entry{want4}, wantErr: syscall.EPERM},
		{name: "ack is not a dump", in: nlmsg(nlmsgError, u32(0)), max: 10, wantErr: errAny},
		{name: "short header", in: v4[:10], max: 10, wantErr: errMalformed},
		{name: "length past the end", in: v4[:len(v4)-4], max: 10, wantErr: errMalformed},
		{name: "no genlmsghdr", in: nlmsg(0x1b, []byte{1}), max: 10, wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done, err := parseDump(tt.in, nil, tt.max)
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == errAny && err != nil) {
				t.Errorf("err = %v; want %v", err, tt.wantErr)
			}
			if done != tt.wantDone {
				t.Errorf("done = %v; want %v", done, tt.wantDone)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// errAny stands for "some error" in test tables.
var errAny = errors.New("any error")

// The addresses of TestNamespaceDump's namespaces, which its captures in
// testdata hold: the client has 198.51.100.1 and 2001:db8::1, the server
// 198.51.100.2 and 2001:db8::2 to 2001:db8::9.
var (
	clientAddrs = []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8::1")}
	serverAddrs = func() []netip.Addr {
		as := []netip.Addr{netip.MustParseAddr("198.51.100.2")}
		for i := 2; i <= 9; i++ {
			as = append(as, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
		}
		return as
	}()
)

// captures returns the kernel replies saved by TestNamespaceDump -capture.
func captures(t testing.TB, prefix string) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", prefix+"-*.bin"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata/%s-*.bin: %v", prefix, err)
	}
	var bs [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	return bs
}

// TestParseDump_captured parses a real dump, taken in TestNamespaceDump's
// client namespace on Linux 6.18 (little-endian): one connection to each
// server address.
func TestParseDump_captured(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("captures are little-endian")
	}
	var es []Entry
	var done bool
	for _, b := range captures(t, "dump") {
		var err error
		if es, done, err = parseDump(b, es, maxEntries); err != nil {
			t.Fatal(err)
		}
	}
	if !done {
		t.Errorf("no NLMSG_DONE")
	}
	got := make(map[pair]Entry)
	for _, e := range es {
		got[pair{e.Src, e.Dst}] = e
		if e.RTT <= 0 || e.RTT > time.Millisecond || e.RTTVar <= 0 || e.Age < 0 || e.Age > time.Second {
			t.Errorf("implausible entry %+v", e)
		}
	}
	for _, dst := range serverAddrs {
		src := clientAddrs[0]
		if dst.Is6() {
			src = clientAddrs[1]
		}
		if _, ok := got[pair{src, dst}]; !ok {
			t.Errorf("no entry %v -> %v", src, dst)
		}
	}
	if len(es) != len(serverAddrs) {
		t.Errorf("%d entries; want %d", len(es), len(serverAddrs))
	}
}

func TestParseFamilyID_captured(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("captures are little-endian")
	}
	for _, b := range captures(t, "family") {
		if id, err := parseFamilyID(b); err != nil || id < nlmsgMinType {
			t.Errorf("parseFamilyID = %d, %v; want an id >= %#x", id, err, nlmsgMinType)
		}
	}
}

func TestParseFamilyID(t *testing.T) {
	genl := []byte{1, 2, 0, 0} // CTRL_CMD_NEWFAMILY
	tests := []struct {
		name    string
		in      []byte
		want    uint16
		wantErr error
	}{
		{name: "id", in: nlmsg(genlIDCtrl, cat(genl, nlattr(ctrlAttrFamilyName, []byte("tcp_metrics\x00")), nlattr(ctrlAttrFamilyID, []byte{0x1b, 0}))), want: binary.NativeEndian.Uint16([]byte{0x1b, 0})},
		{name: "unknown family", in: errMsg(syscall.ENOENT), wantErr: syscall.ENOENT},
		{name: "no id", in: nlmsg(genlIDCtrl, genl), wantErr: errAny},
		{name: "reserved id", in: nlmsg(genlIDCtrl, cat(genl, nlattr(ctrlAttrFamilyID, u32(0)[:2]))), wantErr: errAny},
		{name: "truncated", in: []byte{1, 2, 3}, wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFamilyID(tt.in)
			errOK := errors.Is(err, tt.wantErr) || (tt.wantErr == errAny && err != nil)
			if got != tt.want || !errOK {
				t.Errorf("parseFamilyID = %#x, %v; want %#x, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzParseDump feeds parseDump arbitrary datagrams, seeded with real
// ones. Whatever the input, it must not panic, must stay within max, and
// must return only entries with a destination and sane durations.
func FuzzParseDump(f *testing.F) {
	for _, b := range captures(f, "dump") {
		f.Add(b, uint16(maxEntries))
		f.Add(b, uint16(3))
	}
	for _, b := range captures(f, "family") {
		f.Add(b, uint16(maxEntries))
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint16) {
		es, _, _ := parseDump(b, nil, int(max))
		if len(es) > int(max) {
			t.Fatalf("%d entries over max %d", len(es), max)
		}
		for _, e := range es {
			if !e.Dst.IsValid() || e.Dst.Zone() != "" || e.Dst.Is4In6() || e.Src.Is4In6() {
				t.Fatalf("bad addresses in %+v", e)
			}
			if e.RTT < 0 || e.RTTVar < 0 || e.Age < 0 {
				t.Fatalf("negative duration in %+v", e)
			}
		}
	})
}

// FuzzParseFamilyID: no panic, and an id is never a reserved type.
func FuzzParseFamilyID(f *testing.F) {
	for _, b := range captures(f, "family") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseFamilyID(b)
		if err == nil && id < nlmsgMinType {
			t.Fatalf("id %#x with no error", id)
		}
	})
}
