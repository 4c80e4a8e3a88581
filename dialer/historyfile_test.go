package dialer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// The source addresses simnet.SourceAll gives.
var (
	simSrc6 = netip.MustParseAddr("2001:db8::100")
	simSrc4 = netip.MustParseAddr("192.0.2.100")
)

// historyState is h's content as Save would write it at now, for
// comparing Histories.
func historyState(t testing.TB, h *History, now time.Time) string {
	t.Helper()
	b, err := encodeHistoryFile(h.snapshot(now))
	require.NoError(t, err)
	return string(b)
}

// writeHistoryJSON writes hf to path as a history file.
func writeHistoryJSON(t testing.TB, path string, hf historyJSON) {
	t.Helper()
	b, err := json.Marshal(hf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// readHistoryJSON parses the history file at path.
func readHistoryJSON(t testing.TB, path string) historyJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var hf historyJSON
	require.NoError(t, json.Unmarshal(b, &hf))
	require.Equal(t, historyFileVersion, hf.Version)
	return hf
}

// What a Dialer learned applies after a Save and a Load into a fresh
// History, as in a new process: the black-holed IPv6 address still sorts
// last, the name still tries IPv6 second, and the measured round trip
// still sets the Connection Attempt Delay.
func TestHistory_SaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", "history.json")
	synctest.Test(t, func(t *testing.T) {
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*ms))
		d := simDialer(&n, dualStatic(v6a, v4a))
		d.History = new(History)
		took, won := dialTimes(t, d, "tcp", 1)
		require.Equal(t, []time.Duration{270 * ms}, took)
		require.Equal(t, []netip.Addr{v4a}, won)
		require.NoError(t, d.History.Save(path))

		d2 := simDialer(&n, dualStatic(v6a, v4a))
		d2.History = new(History)
		require.NoError(t, d2.History.Load(path))
		now := time.Now()
		require.Equal(t, historyState(t, d.History, now), historyState(t, d2.History, now))
		require.Equal(t, 2, d2.History.dests.order.Len(), "both destinations")
		require.Equal(t, 1, d2.History.names.order.Len(), "the name")

		took, won = dialTimes(t, d2, "tcp", 1)
		require.Equal(t, []time.Duration{20 * ms}, took, "IPv6 sorted last")
		require.Equal(t, []netip.Addr{v4a}, won)

		// IPv4's 20 ms round trip, from the file, gives a Connection
		// Attempt Delay of 100 ms (RFC 8305 §5), not 250 ms.
		n.Set(v6a, simnet.Accepting(10*ms))
		n.Set(v4a, simnet.BlackHoled())
		took, won = dialTimes(t, d2, "tcp", 1)
		require.Equal(t, []time.Duration{110 * ms}, took)
		require.Equal(t, []netip.Addr{v6a}, won)
	})
}

// Times in the file are absolute: what expired on disk is not loaded,
// what is live applies for what is left of its lifetime, and no mark
// lasts longer than its lifetime from now.
func TestHistory_LoadExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.json")
	now := time.Now().UTC()
	dest := func(a netip.Addr, d destJSON) destJSON {
		d.Src, _ = simnet.SourceAll(a)
		d.Dst = netip.AddrPortFrom(a, 443)
		d.Updated = now.Add(-time.Minute)
		return d
	}
	name := func(host string, n nameJSON) nameJSON {
		n.Host, n.Port, n.Src6, n.Src4, n.Updated = host, 443, simSrc6, simSrc4, now.Add(-time.Minute)
		return n
	}
	writeHistoryJSON(t, path, historyJSON{
		Version: 1,
		Dests: []destJSON{
			dest(v6a, destJSON{UnreachableUntil: now.Add(5 * time.Minute)}),
			dest(v6b, destJSON{UnreachableUntil: now.Add(-time.Second)}),                               // expired
			dest(v6c, destJSON{UnreachableUntil: now.Add(1000 * time.Hour)}),                           // cut to 10 minutes
			dest(v4a, destJSON{SRTT: 50 * ms, RTTVar: 20 * ms, RTTAt: now.Add(-time.Minute)}),          // live
			dest(v4b, destJSON{RefusedUntil: now.Add(10 * time.Second)}),                               // live
			dest(v4c, destJSON{SRTT: 50 * ms, RTTVar: 20 * ms, RTTAt: now.Add(-rttTTL - time.Second)}), // expired
		},
		Names: []nameJSON{
			name("example.com", nameJSON{Second: resolver.IPv6, SecondUntil: now.Add(time.Minute)}),
			name("example.net", nameJSON{Second: resolver.IPv6, SecondUntil: now.Add(-time.Second), AAAALateUntil: now.Add(-time.Second)}),
		},
	})
	h := new(History)
	require.NoError(t, h.Load(path))
	require.Equal(t, 4, h.dests.order.Len())
	require.Equal(t, 1, h.names.order.Len())

	l := &learner{h: h, src: simnet.SourceAll, host: "example.com", port: 443}
	src := l.sourceFunc()
	for a, usable := range map[netip.Addr]bool{v6a: false, v6b: true, v6c: false, v4a: true} {
		if _, ok := src(a); ok != usable {
			t.Errorf("source for %v: usable = %v, want %v", a, ok, usable)
		}
	}
	st, _ := h.dest(destKey{simSrc6, netip.AddrPortFrom(v6c, 443)})
	if limit := time.Now().Add(historyTTL); st.unreachableUntil.After(limit) {
		t.Errorf("a mark from the file lasts until %v, after %v", st.unreachableUntil, limit)
	}
	if r := l.rank(v4b); r >= 1<<15 {
		t.Errorf("rank of the refused address = %#x, want it refused", r)
	}
	if d, _, ok := l.attemptDelay(netip.AddrPortFrom(v4a, 443), time.Now()); d != 130*ms || !ok {
		t.Errorf("attempt delay = %v, %v; want 130ms from 50 ms + 4×20 ms", d, ok)
	}
	if _, _, ok := l.attemptDelay(netip.AddrPortFrom(v4c, 443), time.Now()); ok {
		t.Error("an expired round trip sets the attempt delay")
	}
	if ns := l.nameState(); ns.second != resolver.IPv6 {
		t.Errorf("name state = %+v, want IPv6 second", ns)
	}
	l.host = "example.net"
	if ns := l.nameState(); ns != (nameState{}) {
		t.Errorf("expired name state loaded: %+v", ns)
	}
}

// Load merges: where both know a key, the entry updated last wins (the
// History's on a tie); entries only the file has go behind the
// History's, and never push them out.
func TestHistory_LoadMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.json")
	now := time.Now()
	key := func(a netip.Addr) destKey { s, _ := simnet.SourceAll(a); return destKey{s, netip.AddrPortFrom(a, 443)} }
	writeHistoryJSON(t, path, historyJSON{Version: 1, Dests: []destJSON{
		{Src: simSrc6, Dst: netip.AddrPortFrom(v6a, 443), Updated: now.Add(-2 * time.Minute), SRTT: 50 * ms, RTTAt: now.Add(-2 * time.Minute)},
		{Src: simSrc6, Dst: netip.AddrPortFrom(v6b, 443), Updated: now.Add(-time.Minute), SRTT: 50 * ms, RTTAt: now.Add(-time.Minute)},
		{Src: simSrc4, Dst: netip.AddrPortFrom(v4a, 443), Updated: now.Add(-time.Minute), SRTT: 50 * ms, RTTAt: now.Add(-time.Minute)},
	}})

	h := new(History)
	h.dests.put(key(v6a), destState{srtt: 10 * ms, rttAt: now.Add(-time.Minute), at: now.Add(-time.Minute)}, maxDests)
	h.dests.put(key(v6b), destState{srtt: 10 * ms, rttAt: now.Add(-2 * time.Minute), at: now.Add(-2 * time.Minute)}, maxDests)
	require.NoError(t, h.Load(path))

	var got []string
	for el := h.dests.order.Front(); el != nil; el = el.Next() {
		e := el.Value.(*lruEntry[destKey, destState])
		got = append(got, fmt.Sprintf("%v %v", e.k.dst.Addr(), e.v.srtt))
	}
	require.Equal(t, []string{
		"2001:db8::2 50ms", // the file's is newer
		"2001:db8::1 10ms", // the History's is newer
		"192.0.2.1 50ms",   // only in the file: behind
	}, got)

	// A full History takes nothing new from a file.
	h = new(History)
	for i := range maxDests {
		h.updateDest(destKey{simSrc4, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 443)},
			func(st *destState) { st.srtt, st.rttAt = ms, time.Now() })
	}
	before := historyState(t, h, now)
	require.NoError(t, h.Load(path))
	require.Equal(t, before, historyState(t, h, now))
}

// validHistoryFile is a history file with one live entry of each kind.
func validHistoryFile(now time.Time) []byte {
	b, err := json.Marshal(historyJSON{
		Version: 1,
		Dests: []destJSON{{Src: simSrc6, Dst: netip.AddrPortFrom(v6a, 443), Updated: now,
			UnreachableUntil: now.Add(time.Minute), SRTT: 20 * ms, RTTVar: 10 * ms, RTTAt: now}},
		Names: []nameJSON{{Host: "example.com", Port: 443, Src6: simSrc6, Src4: simSrc4, Updated: now,
			Second: resolver.IPv6, SecondUntil: now.Add(time.Minute)}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// A file that is not a history file Load can use is an error, and leaves
// the History as it was; a Dialer using it still dials.
func TestHistory_LoadBad(t *testing.T) {
	dir := t.TempDir()
	valid := validHistoryFile(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) // synctest's epoch
	entry := func(dest string) string {
		return `{"version":1,"dests":[` + dest + `]}`
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"version":1,"dests":[`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"src":"192.0.2.100","dst":"10.0.%d.%d:443","updated":"2000-01-01T00:00:00Z","srtt_ns":1000000,"rtt_at":"2000-01-01T00:00:00Z"}`, i>>8, i&0xff)
		}
		b.WriteString("]}")
		return b.String()
	}
	for _, tc := range []struct {
		name, content string
	}{
		{"empty", ""},
		{"truncated", string(valid[:len(valid)/2])},
		{"garbage", "\x00\xff\x13garbage\n"},
		{"null", "null"},
		{"array", "[]"},
		{"no version", `{"dests":[]}`},
		{"version 0", `{"version":0}`},
		{"newer version", `{"version":2,"dests":[],"names":[]}`},
		{"version string", `{"version":"1"}`},
		{"trailing data", string(valid) + "x"},
		{"two documents", string(valid) + string(valid)},
		{"huge", string(valid[:len(valid)-1]) + strings.Repeat(" ", maxHistoryFile) + "}"},
		{"too many destinations", many(maxDests + 1)},
		{"bad source", entry(`{"src":"2001:db8::zz","dst":"[2001:db8::1]:443","updated":"2000-01-01T00:00:00Z"}`)},
		{"no source", entry(`{"dst":"[2001:db8::1]:443","updated":"2000-01-01T00:00:00Z"}`)},
		{"no port", entry(`{"src":"2001:db8::100","dst":"2001:db8::1","updated":"2000-01-01T00:00:00Z"}`)},
		{"no update time", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","srtt_ns":1}`)},
		{"bad time", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","updated":"yesterday"}`)},
		{"negative rtt", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","updated":"2000-01-01T00:00:00Z","srtt_ns":-1}`)},
		{"huge rtt", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","updated":"2000-01-01T00:00:00Z","srtt_ns":9223372036854775807}`)},
		{"rtt overflow", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","updated":"2000-01-01T00:00:00Z","srtt_ns":1e30}`)},
		{"bad family", `{"version":1,"names":[{"host":"example.com","port":443,"updated":"2000-01-01T00:00:00Z","second":5}]}`},
		{"no host", `{"version":1,"names":[{"port":443,"updated":"2000-01-01T00:00:00Z","second":6}]}`},
		{"host not canonical", `{"version":1,"names":[{"host":"Example.com.","port":443,"updated":"2000-01-01T00:00:00Z","second":6}]}`},
		{"time before 1970", entry(`{"src":"2001:db8::100","dst":"[2001:db8::1]:443","updated":"0000-01-01T00:00:00+01:00","srtt_ns":1}`)},
		{"port too large", `{"version":1,"names":[{"host":"example.com","port":65536,"updated":"2000-01-01T00:00:00Z","second":6}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			synctest.Test(t, func(t *testing.T) {
				var n simnet.Network
				n.Set(v6a, simnet.Accepting(10*ms))
				n.Set(v4a, simnet.Accepting(20*ms))
				d := simDialer(&n, dualStatic(v6a, v4a))
				d.History = new(History)
				d.History.updateDest(destKey{simSrc4, netip.AddrPortFrom(v4b, 80)}, func(st *destState) {
					st.unreachableUntil = time.Now().Add(time.Minute)
				})
				before := historyState(t, d.History, time.Now())

				err := d.History.Load(path)
				require.Error(t, err)
				require.False(t, errors.Is(err, fs.ErrNotExist))
				require.Equal(t, before, historyState(t, d.History, time.Now()), "History changed")
				took, won := dialTimes(t, d, "tcp", 1)
				require.Equal(t, []time.Duration{10 * ms}, took)
				require.Equal(t, []netip.Addr{v6a}, won)
			})
		})
	}

	t.Run("missing", func(t *testing.T) {
		var h History
		err := h.Load(filepath.Join(dir, "none", "history.json"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
	t.Run("directory", func(t *testing.T) {
		var h History
		require.Error(t, h.Load(dir))
	})
	t.Run("valid", func(t *testing.T) { // the cases above fail for their own reason
		synctest.Test(t, func(t *testing.T) {
			path := filepath.Join(dir, "valid")
			require.NoError(t, os.WriteFile(path, valid, 0o600))
			var h History
			require.NoError(t, h.Load(path))
			require.Equal(t, 1, h.dests.order.Len())
			require.Equal(t, 1, h.names.order.Len())
			require.NoError(t, os.WriteFile(path, []byte(many(maxDests)), 0o600))
			require.NoError(t, h.Load(path))
		})
	})
}

// Save creates the directory (0700) and the file (0600), leaves no
// temporary file, replaces a corrupt file, and drops expired entries.
func TestHistory_SaveFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "history.json")
	now := time.Now()

	var h History
	h.updateDest(destKey{simSrc6, netip.AddrPortFrom(v6a, 443)}, func(st *destState) { st.unreachableUntil = now.Add(time.Minute) })
	h.updateDest(destKey{simSrc6, netip.AddrPortFrom(v6b, 443)}, func(st *destState) { st.refusedUntil = now.Add(-time.Second) })
	h.updateName(nameKey{host: "example.com", port: 443}, func(st *nameState) { st.aaaaLate = now.Add(time.Minute) })
	require.NoError(t, h.Save(path))

	hf := readHistoryJSON(t, path)
	require.Len(t, hf.Dests, 1, "the expired destination is dropped")
	require.Equal(t, netip.AddrPortFrom(v6a, 443), hf.Dests[0].Dst)
	require.Equal(t, time.UTC, hf.Dests[0].UnreachableUntil.Location())
	require.Equal(t, now.Add(time.Minute).UTC().Truncate(ms), hf.Dests[0].UnreachableUntil, "to the millisecond")
	require.Len(t, hf.Names, 1)

	if runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
		fi, err = os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	}
	files := func() []string {
		des, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}
	require.Equal(t, []string{"history.json", "history.json.lock"}, files())

	// A corrupt file is replaced; an empty History writes a valid file.
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	require.NoError(t, new(History).Save(path))
	hf = readHistoryJSON(t, path)
	require.Empty(t, hf.Dests)
	require.Empty(t, hf.Names)
	require.Equal(t, []string{"history.json", "history.json.lock"}, files())

	// A path Save cannot write (a directory): an error.
	require.Error(t, h.Save(dir))
}

// Save merges what the file holds: another process's entries stay, the
// entry updated last wins, and the file's expired entries go.
func TestHistory_SaveMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.json")
	now := time.Now().UTC()
	writeHistoryJSON(t, path, historyJSON{Version: 1, Dests: []destJSON{
		{Src: simSrc6, Dst: netip.AddrPortFrom(v6a, 443), Updated: now.Add(-time.Minute), UnreachableUntil: now.Add(9 * time.Minute)},
		{Src: simSrc6, Dst: netip.AddrPortFrom(v6b, 443), Updated: now.Add(-time.Minute), UnreachableUntil: now.Add(9 * time.Minute)},
		{Src: simSrc6, Dst: netip.AddrPortFrom(v6c, 443), Updated: now.Add(-time.Hour), UnreachableUntil: now.Add(-50 * time.Minute)},
	}})
	// This process connected to v6b after the other marked it; it knows
	// v4a, which the other does not.
	var h History
	h.updateDest(destKey{simSrc6, netip.AddrPortFrom(v6b, 443)}, func(st *destState) {
		st.srtt, st.rttvar, st.rttAt = 10*ms, 5*ms, time.Now()
	})
	h.updateDest(destKey{simSrc4, netip.AddrPortFrom(v4a, 443)}, func(st *destState) {
		st.srtt, st.rttvar, st.rttAt = 20*ms, 10*ms, time.Now()
	})
	require.NoError(t, h.Save(path))

	hf := readHistoryJSON(t, path)
	var got []string
	for _, d := range hf.Dests {
		got = append(got, fmt.Sprintf("%v unreachable:%v srtt:%v", d.Dst.Addr(), !d.UnreachableUntil.IsZero(), d.SRTT))
	}
	require.Equal(t, []string{
		"192.0.2.1 unreachable:false srtt:20ms",
		"2001:db8::2 unreachable:false srtt:10ms",
		"2001:db8::1 unreachable:true srtt:0s",
	}, got)
}

// The file is bounded: a full History of the largest entries fits in
// 1 MiB by dropping the least recently used ones; one of typical entries
// fits whole.
func TestHistory_SaveBounded(t *testing.T) {
	dir := t.TempDir()
	fill := func(worst bool) *History {
		h := new(History)
		now := time.Now()
		for i := range maxDests + 5 {
			k := destKey{simSrc6, netip.AddrPortFrom(simMany(true, maxDests+5)[i], 443)}
			if worst {
				a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(i >> 8), byte(i)})
				k = destKey{a.WithZone("zone-of-16-bytes"), netip.AddrPortFrom(a.WithZone("zone-of-16-bytes"), 65535)}
			}
			h.updateDest(k, func(st *destState) {
				st.srtt, st.rttvar, st.rttAt = 123456789*time.Nanosecond, 23456789*time.Nanosecond, now
				if worst {
					st.unreachableUntil, st.refusedUntil = now.Add(time.Minute), now.Add(time.Second)
				}
			})
		}
		for i := range maxNames + 5 {
			k := nameKey{host: fmt.Sprintf("www%d.example.com", i), port: 443, src6: simSrc6, src4: simSrc4}
			if worst {
				k.host = fmt.Sprintf("%05d", i) + strings.Repeat(".abcdefghijklmnopqrstuvwxyz", 9)
				k.src6 = netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff%zone-of-16-bytes")
			}
			h.updateName(k, func(st *nameState) {
				st.second, st.secondUntil, st.aaaaLate = resolver.IPv6, now.Add(time.Minute), now.Add(time.Minute)
			})
		}
		return h
	}
	for _, worst := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("worst-%v", worst))
		h := fill(worst)
		require.NoError(t, h.Save(path))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.LessOrEqual(t, fi.Size(), int64(maxHistoryFile))
		t.Logf("worst case %v: %d bytes", worst, fi.Size())

		var h2 History
		require.NoError(t, h2.Load(path))
		if !worst {
			require.Equal(t, maxDests, h2.dests.order.Len())
			require.Equal(t, maxNames, h2.names.order.Len())
			continue
		}
		// The most recently used entries are the ones kept.
		require.Positive(t, h2.dests.order.Len())
		require.Positive(t, h2.names.order.Len())
		first := func(c *lru[destKey, destState]) destKey {
			return c.order.Front().Value.(*lruEntry[destKey, destState]).k
		}
		require.Equal(t, first(&h.dests), first(&h2.dests))
	}
}

// The environment variable that makes the test binary a writer process
// for TestHistory_SaveConcurrentProcesses: "path id count".
const writerEnv = "HAPPYEYEBALLS_HISTORY_WRITER"

// writerKey is the id-th writer's i-th destination.
func writerKey(id, i int) destKey {
	return destKey{simSrc4, netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(id), byte(i)}), 443)}
}

// Two processes saving to one file at once, each its own entries, each
// after every new one: neither loses the other's, and the file parses
// whenever it is read.
func TestHistory_SaveConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "cache", "history.json")
	const count = 100

	var wg sync.WaitGroup
	errs := make(chan error, 2) // one per writer: they never wait to send
	for id := range 2 {
		cmd := exec.Command(exe, "-test.run=^TestHistory_SaveWriterProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", writerEnv, path, id+1, count))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer %d: %v\n%s", id+1, err, out)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	loads := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		var h History
		if err := h.Load(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("load while writers save: %v", err)
		} else if err == nil {
			loads++
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d loads while writing", loads)

	var h History
	require.NoError(t, h.Load(path))
	for id := 1; id <= 2; id++ {
		for i := range count {
			if _, ok := h.dest(writerKey(id, i)); !ok {
				t.Errorf("writer %d's entry %d lost", id, i)
			}
		}
	}
	require.Equal(t, 2*count, h.dests.order.Len())
}

// TestHistory_SaveWriterProcess is a writer process for
// TestHistory_SaveConcurrentProcesses; it does nothing in a test run.
func TestHistory_SaveWriterProcess(t *testing.T) {
	args := strings.Fields(os.Getenv(writerEnv))
	if len(args) != 3 {
		return
	}
	path := args[0]
	id, err := strconv.Atoi(args[1])
	require.NoError(t, err)
	count, err := strconv.Atoi(args[2])
	require.NoError(t, err)
	var h History
	for i := range count {
		h.updateDest(writerKey(id, i), func(st *destState) { st.unreachableUntil = time.Now().Add(historyTTL) })
		require.NoError(t, h.Save(path))
	}
}

// FuzzHistoryLoad: whatever the file holds, Load does not panic; when it
// fails the History is unchanged, and when it succeeds the History is
// within its bounds and saves a file that loads back the same.
func FuzzHistoryLoad(f *testing.F) {
	now := time.Now()
	f.Add(validHistoryFile(now))
	f.Add(validHistoryFile(now.Add(-time.Hour)))
	f.Add([]byte(`{"version":1,"dests":[],"names":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"names":[{"host":"example.com","port":443,"updated":"2000-01-01T00:00:00Z","second":6,"second_until":"9999-01-01T00:00:00Z"}]}`))
	f.Add([]byte("garbage"))
	dir := f.TempDir()
	var n int
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("h%d", n))
		require.NoError(t, os.WriteFile(path, data, 0o600))
		defer os.Remove(path)

		h := new(History)
		h.updateDest(destKey{simSrc6, netip.AddrPortFrom(v6a, 443)}, func(st *destState) { st.srtt, st.rttAt = ms, time.Now() })
		h.updateName(nameKey{host: "example.com", port: 443, src6: simSrc6, src4: simSrc4}, func(st *nameState) {
			st.second, st.secondUntil = resolver.IPv4, time.Now().Add(time.Minute)
		})
		at := time.Now()
		before := historyState(t, h, at)
		if err := h.Load(path); err != nil {
			require.Equal(t, before, historyState(t, h, at), "a failed Load changed the History")
			return
		}
		require.LessOrEqual(t, h.dests.order.Len(), maxDests)
		require.LessOrEqual(t, h.names.order.Len(), maxNames)
		for el := h.dests.order.Front(); el != nil; el = el.Next() {
			st := el.Value.(*lruEntry[destKey, destState]).v
			require.False(t, st.unreachableUntil.After(time.Now().Add(historyTTL)), "a mark beyond its lifetime")
			require.LessOrEqual(t, st.srtt, maxHistoryRTT)
		}

		saved := path + ".saved"
		defer os.Remove(saved)
		defer os.Remove(saved + ".lock")
		require.NoError(t, h.Save(saved))
		data2, err := os.ReadFile(saved)
		require.NoError(t, err)
		h2 := new(History)
		require.NoError(t, h2.Load(saved), "%s", data2)
		at = time.Now()
		require.Equal(t, historyState(t, h, at), historyState(t, h2, at))
		require.True(t, bytes.HasPrefix(data2, []byte(`{"version":1,`)))
	})
}

// TestRetryRename: Save retries replacing the file while the platform
// says another handle holds it open (Windows), and only then.
func TestRetryRename(t *testing.T) {
	busy := errors.New("in use")
	isBusy := func(err error) bool { return err == busy }
	failing := func(n int, err error) (func(string, string) error, *int) {
		calls := 0
		return func(string, string) error {
			calls++
			if calls <= n {
				return err
			}
			return nil
		}, &calls
	}

	rename, calls := failing(3, busy)
	require.NoError(t, retryRename(rename, "a", "b", isBusy, time.Second))
	assert.Equal(t, 4, *calls, "renames until the file was free")

	other := errors.New("no such file")
	rename, calls = failing(3, other)
	assert.ErrorIs(t, retryRename(rename, "a", "b", isBusy, time.Second), other)
	assert.Equal(t, 1, *calls, "renames after an error that does not pass")

	rename, calls = failing(1<<30, busy)
	start := time.Now()
	assert.ErrorIs(t, retryRename(rename, "a", "b", isBusy, 20*time.Millisecond), busy)
	assert.Less(t, time.Since(start), time.Second, "gave up after its limit")
	assert.Greater(t, *calls, 1)
}
