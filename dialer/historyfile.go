package dialer

// A History persisted in a file the user names: opt-in, on every
// platform. Nothing here runs unless Load or Save is called.

import (
	"bytes"
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dualstack-go/happyeyeballs/resolver"
)

// historyFileVersion is the version of the file format Save writes; Load
// refuses any other.
const historyFileVersion = 1

// maxHistoryFile bounds a history file: Load refuses a larger file before
// parsing it, and Save drops the least recently used entries until what
// it writes fits. A full History of typical entries (IPv6 destinations
// with round-trip times, names with a family to try second) takes about
// 0.9 MiB.
const maxHistoryFile = 1 << 20

// historyLockWait bounds how long Save waits for another process's Save
// of the same file to finish.
const historyLockWait = 10 * time.Second

// maxHistoryRTT bounds a round-trip time read from a file: no sample is
// longer than a dial, and larger values are corruption.
const maxHistoryRTT = time.Hour

// Load merges into h what a Save to path stored, so that what an earlier
// process learned applies from the first dial: typically once, at start,
// before h's Dialers dial. Persisting a History is opt-in: the package
// never reads or writes a file on its own, and the process-wide History
// of Dialers without one is never persisted; to persist what a Dialer
// learns, give it a History and Load and Save that. A path under
// os.UserCacheDir is a natural home (see the example).
//
// Entries expire as they do in memory: times are stored as absolute
// wall-clock times, so what expired while the file sat on disk is not
// loaded, and a mark lasts no longer than its lifetime from now however
// far ahead the file's clock was. Where h and the file both know a
// destination or name, the one updated last wins; entries only the file
// knows are added behind h's own, as far as h's bounds allow.
//
// Load returns an error when the file is missing (errors.Is(err,
// fs.ErrNotExist)), unreadable, larger than 1 MiB, of another version, or
// corrupt in any way; h is then unchanged. The error is safe to ignore: a
// History loaded from nothing starts empty, as it would without a file.
func (h *History) Load(path string) error {
	f, err := readHistoryFile(path, time.Now())
	if err != nil {
		return fmt.Errorf("dialer: loading history: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range f.dests {
		h.dests.merge(e.k, e.v, func(s destState) time.Time { return s.at }, maxDests)
	}
	for _, e := range f.names {
		h.names.merge(e.k, e.v, func(s nameState) time.Time { return s.at }, maxNames)
	}
	return nil
}

// Save writes what h has learned to path, atomically, so that a later
// Load, in this process or another, picks it up: typically at exit, and
// periodically in long-lived processes (a process that crashes loses only
// what it learned since its last Save). It does not change h.
//
// Save merges what path already holds, the entry updated last winning,
// so processes sharing a file keep each other's entries; it drops
// expired entries, and the least recently used ones beyond h's bounds or
// 1 MiB. It creates path's directory (mode 0700) if missing and writes the
// file (mode 0600) by renaming a synced temporary file in that
// directory, so a reader sees the old file or the new one, never a part.
// Concurrent Saves to one path are serialized by an advisory lock on a
// file next to it, path+".lock", which Save creates and leaves in place
// (on Linux, the BSDs and macOS a flock; on Windows LockFileEx; elsewhere
// Saves from several processes at once may lose each other's entries,
// but never leave a broken file). A corrupt file at path, or one of
// another version, is replaced.
func (h *History) Save(path string) error {
	if err := h.save(path); err != nil {
		return fmt.Errorf("dialer: saving history: %w", err)
	}
	return nil
}

func (h *History) save(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := lockHistoryFile(lock); err != nil {
		return err
	}
	defer unlockFile(lock)

	now := time.Now()
	mine := h.snapshot(now)
	// What another process saved; a corrupt or missing file adds nothing
	// and is replaced.
	theirs, _ := readHistoryFile(path, now)
	data, err := encodeHistoryFile(mergeHistoryFiles(mine, theirs))
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := retryRename(os.Rename, tmp.Name(), path, renameBusy, historyRenameWait); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// historyRenameWait bounds how long Save retries replacing a file that a
// reader holds open, where the platform refuses to (renameBusy).
const historyRenameWait = 2 * time.Second

// retryRename renames from to to, and while rename fails with an error
// busy says is passing (Windows refuses to replace a file another
// process has open, as a Load does for a moment), tries again, backing
// off, for up to limit.
func retryRename(rename func(from, to string) error, from, to string, busy func(error) bool, limit time.Duration) error {
	var err error
	retry(limit, func() bool {
		err = rename(from, to)
		return err == nil || !busy(err)
	})
	return err
}

// retry calls try until it reports done, for up to limit, sleeping
// between calls from 1 ms up to 50 ms, doubling; it reports whether try
// was done.
func retry(limit time.Duration, try func() (done bool)) bool {
	deadline := time.Now().Add(limit)
	wait := time.Millisecond
	for {
		if try() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// syncDir makes a rename in dir durable where the platform allows it
// (not on Windows, where it is already).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// lockHistoryFile takes the exclusive advisory lock on f, waiting at most
// historyLockWait for another holder.
func lockHistoryFile(f *os.File) error {
	var err error
	if !retry(historyLockWait, func() bool {
		var locked bool
		locked, err = tryLockFile(f)
		return err != nil || locked
	}) {
		return fmt.Errorf("%s: locked by another process for over %v", f.Name(), historyLockWait)
	}
	return err
}

// The file format, JSON:
//
//	{"version":1,
//	 "dests":[{"src":"2001:db8::100","dst":"[2001:db8::1]:443",
//	   "updated":"2026-12-04T19:30:00.123Z",
//	   "unreachable_until":"…","refused_until":"…",
//	   "srtt_ns":20000000,"rttvar_ns":10000000,"rtt_at":"…"}, …],
//	 "names":[{"host":"example.com","port":443,
//	   "src6":"2001:db8::100","src4":"192.0.2.100",
//	   "updated":"…","second":6,"second_until":"…",
//	   "aaaa_late_until":"…"}, …]}
//
// Times are RFC 3339 in UTC; a zero time or value is left out. Entries
// are listed most recently used first. Unknown fields are ignored, so a
// later version 1 may add some; anything else needs a new version.
type historyJSON struct {
	Version int        `json:"version"`
	Dests   []destJSON `json:"dests"`
	Names   []nameJSON `json:"names"`
}

type destJSON struct {
	Src              netip.Addr     `json:"src"`
	Dst              netip.AddrPort `json:"dst"`
	Updated          time.Time      `json:"updated"`
	UnreachableUntil time.Time      `json:"unreachable_until,omitzero"`
	RefusedUntil     time.Time      `json:"refused_until,omitzero"`
	SRTT             time.Duration  `json:"srtt_ns,omitzero"`
	RTTVar           time.Duration  `json:"rttvar_ns,omitzero"`
	RTTAt            time.Time      `json:"rtt_at,omitzero"`
}

type nameJSON struct {
	Host          string          `json:"host"`
	Port          uint16          `json:"port"`
	Src6          netip.Addr      `json:"src6,omitzero"`
	Src4          netip.Addr      `json:"src4,omitzero"`
	Updated       time.Time       `json:"updated"`
	Second        resolver.Family `json:"second,omitzero"`
	SecondUntil   time.Time       `json:"second_until,omitzero"`
	AAAALateUntil time.Time       `json:"aaaa_late_until,omitzero"`
}

// historyEntries is a History's content as Save and Load exchange it:
// live entries only, most recently used first, keys unique.
type historyEntries struct {
	dests []lruEntry[destKey, destState]
	names []lruEntry[nameKey, nameState]
}

// snapshot returns h's live entries at now.
func (h *History) snapshot(now time.Time) historyEntries {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out historyEntries
	for el := h.dests.order.Front(); el != nil; el = el.Next() {
		e := *el.Value.(*lruEntry[destKey, destState])
		if e.v.at.IsZero() { // not from updateDest; a file needs the time
			e.v.at = now
		}
		if e.v.prune(now) {
			out.dests = append(out.dests, e)
		}
	}
	for el := h.names.order.Front(); el != nil; el = el.Next() {
		e := *el.Value.(*lruEntry[nameKey, nameState])
		if e.v.at.IsZero() {
			e.v.at = now
		}
		if e.v.prune(now) {
			out.names = append(out.names, e)
		}
	}
	return out
}

// prune clears s's expired marks, as of now, and reports whether any is
// left: the same expiry as the dials apply.
func (s *destState) prune(now time.Time) bool {
	if !now.Before(s.unreachableUntil) {
		s.unreachableUntil = time.Time{}
	}
	if !now.Before(s.refusedUntil) {
		s.refusedUntil = time.Time{}
	}
	if s.srtt <= 0 || now.Sub(s.rttAt) >= rttTTL {
		s.srtt, s.rttvar, s.rttAt = 0, 0, time.Time{}
	}
	return !s.unreachableUntil.IsZero() || !s.refusedUntil.IsZero() || s.srtt > 0
}

func (s *nameState) prune(now time.Time) bool {
	if s.second == 0 || !now.Before(s.secondUntil) {
		s.second, s.secondUntil = 0, time.Time{}
	}
	if !now.Before(s.aaaaLate) {
		s.aaaaLate = time.Time{}
	}
	return s.second != 0 || !s.aaaaLate.IsZero()
}

// mergeHistoryFiles merges two sets of entries: a's first, then those
// only b has; where both have a key, the one updated last (a's on a tie).
func mergeHistoryFiles(a, b historyEntries) historyEntries {
	return historyEntries{
		dests: mergeEntries(a.dests, b.dests, func(s destState) time.Time { return s.at }),
		names: mergeEntries(a.names, b.names, func(s nameState) time.Time { return s.at }),
	}
}

func mergeEntries[K comparable, V any](a, b []lruEntry[K, V], at func(V) time.Time) []lruEntry[K, V] {
	out := append([]lruEntry[K, V](nil), a...)
	index := make(map[K]int, len(a)+len(b))
	for i, e := range out {
		index[e.k] = i
	}
	for _, e := range b {
		if i, ok := index[e.k]; ok {
			if at(e.v).After(at(out[i].v)) {
				out[i].v = e.v
			}
			continue
		}
		index[e.k] = len(out)
		out = append(out, e)
	}
	return out
}

// merge adds (k, v) to c: in place of what c has for k when v was
// updated later, or behind c's entries when c has room, so that loading
// never evicts what was learned in this process.
func (c *lru[K, V]) merge(k K, v V, updated func(V) time.Time, bound int) {
	if el, ok := c.index[k]; ok {
		if e := el.Value.(*lruEntry[K, V]); updated(v).After(updated(e.v)) {
			e.v = v
		}
		return
	}
	if c.order.Len() >= bound {
		return
	}
	if c.index == nil {
		c.index = make(map[K]*list.Element)
	}
	c.index[k] = c.order.PushBack(&lruEntry[K, V]{k, v})
}

// encodeHistoryFile returns the file for es, dropping the least recently
// used entries beyond the bounds of a History and of the file.
func encodeHistoryFile(es historyEntries) ([]byte, error) {
	dests := es.dests[:min(len(es.dests), maxDests)]
	names := es.names[:min(len(es.names), maxNames)]
	var ds, ns [][]byte
	size := len(`{"version":1,"dests":[],"names":[]}` + "\n")
	for _, e := range dests {
		b, err := json.Marshal(destJSON{
			Src: e.k.src, Dst: e.k.dst, Updated: wall(e.v.at),
			UnreachableUntil: wall(e.v.unreachableUntil), RefusedUntil: wall(e.v.refusedUntil),
			SRTT: e.v.srtt, RTTVar: e.v.rttvar, RTTAt: wall(e.v.rttAt),
		})
		if err != nil {
			return nil, err
		}
		ds = append(ds, b)
		size += len(b) + 1
	}
	for _, e := range names {
		b, err := json.Marshal(nameJSON{
			Host: e.k.host, Port: e.k.port, Src6: e.k.src6, Src4: e.k.src4, Updated: wall(e.v.at),
			Second: e.v.second, SecondUntil: wall(e.v.secondUntil), AAAALateUntil: wall(e.v.aaaaLate),
		})
		if err != nil {
			return nil, err
		}
		ns = append(ns, b)
		size += len(b) + 1
	}
	// Over the file's bound, drop the older of the two lists' least
	// recently used entries, one at a time.
	for size > maxHistoryFile {
		if len(ns) == 0 || len(ds) > 0 && dests[len(ds)-1].v.at.Before(names[len(ns)-1].v.at) {
			size -= len(ds[len(ds)-1]) + 1
			ds = ds[:len(ds)-1]
		} else {
			size -= len(ns[len(ns)-1]) + 1
			ns = ns[:len(ns)-1]
		}
	}
	var buf bytes.Buffer
	buf.Grow(size)
	fmt.Fprintf(&buf, `{"version":%d,"dests":[`, historyFileVersion)
	buf.Write(bytes.Join(ds, []byte(",")))
	buf.WriteString(`],"names":[`)
	buf.Write(bytes.Join(ns, []byte(",")))
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// wall is t as stored: wall-clock UTC to the millisecond (ample for
// lifetimes of seconds and minutes, and shorter), without a monotonic
// reading.
func wall(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// readHistoryFile reads and checks the file at path, and returns its live
// entries as of now, each mark cut to its lifetime from now.
func readHistoryFile(path string, now time.Time) (historyEntries, error) {
	f, err := os.Open(path)
	if err != nil {
		return historyEntries{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return historyEntries{}, err
	} else if fi.Size() > maxHistoryFile {
		return historyEntries{}, fmt.Errorf("%s: larger than %d bytes", path, maxHistoryFile)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxHistoryFile+1))
	if err != nil {
		return historyEntries{}, err
	}
	if len(data) > maxHistoryFile {
		return historyEntries{}, fmt.Errorf("%s: larger than %d bytes", path, maxHistoryFile)
	}
	es, err := parseHistoryFile(data, now)
	if err != nil {
		return historyEntries{}, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

// errHistoryFormat is wrapped by the errors for file content that is not
// a history file Load can use.
var errHistoryFormat = errors.New("not a history file")

// parseHistoryFile is readHistoryFile on the file's content.
func parseHistoryFile(data []byte, now time.Time) (historyEntries, error) {
	var v struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return historyEntries{}, fmt.Errorf("%w: %v", errHistoryFormat, err)
	}
	if v.Version == nil {
		return historyEntries{}, fmt.Errorf("%w: no version", errHistoryFormat)
	}
	if *v.Version != historyFileVersion {
		return historyEntries{}, fmt.Errorf("%w: version %d, want %d", errHistoryFormat, *v.Version, historyFileVersion)
	}
	var hf historyJSON
	if err := json.Unmarshal(data, &hf); err != nil {
		return historyEntries{}, fmt.Errorf("%w: %v", errHistoryFormat, err)
	}
	if len(hf.Dests) > maxDests || len(hf.Names) > maxNames {
		return historyEntries{}, fmt.Errorf("%w: %d destinations and %d names, want at most %d and %d",
			errHistoryFormat, len(hf.Dests), len(hf.Names), maxDests, maxNames)
	}
	var es historyEntries
	for i, d := range hf.Dests {
		if !d.Src.IsValid() || !d.Dst.IsValid() || d.Updated.IsZero() ||
			badTimes(d.Updated, d.UnreachableUntil, d.RefusedUntil, d.RTTAt) ||
			d.SRTT < 0 || d.SRTT > maxHistoryRTT || d.RTTVar < 0 || d.RTTVar > maxHistoryRTT {
			return historyEntries{}, fmt.Errorf("%w: destination %d is invalid", errHistoryFormat, i)
		}
		s := destState{
			unreachableUntil: notAfter(d.UnreachableUntil, now.Add(historyTTL)),
			refusedUntil:     notAfter(d.RefusedUntil, now.Add(refusedTTL)),
			srtt:             d.SRTT,
			rttvar:           d.RTTVar,
			rttAt:            notAfter(d.RTTAt, now),
			at:               notAfter(d.Updated, now),
		}
		if s.prune(now) {
			es.dests = append(es.dests, lruEntry[destKey, destState]{destKey{d.Src, d.Dst}, s})
		}
	}
	for i, n := range hf.Names {
		if n.Host == "" || len(n.Host) > 255 || n.Host != strings.ToLower(strings.TrimSuffix(n.Host, ".")) ||
			(n.Second != 0 && n.Second != resolver.IPv4 && n.Second != resolver.IPv6) || n.Updated.IsZero() ||
			badTimes(n.Updated, n.SecondUntil, n.AAAALateUntil) {
			return historyEntries{}, fmt.Errorf("%w: name %d is invalid", errHistoryFormat, i)
		}
		s := nameState{
			second:      n.Second,
			secondUntil: notAfter(n.SecondUntil, now.Add(historyTTL)),
			aaaaLate:    notAfter(n.AAAALateUntil, now.Add(historyTTL)),
			at:          notAfter(n.Updated, now),
		}
		if s.prune(now) {
			es.names = append(es.names, lruEntry[nameKey, nameState]{nameKey{n.Host, n.Port, n.Src6, n.Src4}, s})
		}
	}
	// A key listed twice: the entry updated last.
	es.dests = mergeEntries(nil, es.dests, func(s destState) time.Time { return s.at })
	es.names = mergeEntries(nil, es.names, func(s nameState) time.Time { return s.at })
	return es, nil
}

// badTimes reports whether any of ts, when set, is before 1970: no
// History was saved then, and such times may not survive a Save (JSON
// times stop at year 0).
func badTimes(ts ...time.Time) bool {
	for _, t := range ts {
		if !t.IsZero() && t.Before(unixEpoch) {
			return true
		}
	}
	return false
}

var unixEpoch = time.Unix(0, 0)

// notAfter is t, or limit if t is later: a mark from a file lasts no
// longer than its lifetime from now, whatever the clock of the process
// that saved it said.
func notAfter(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}
