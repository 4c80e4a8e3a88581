package resolver

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// recheckEvery is how often a configuration file is checked for changes
// (Go's resolver uses the same 5 s).
const recheckEvery = 5 * time.Second

// fileWatch holds the parsed content of a file and re-reads it when it
// changes, checking at most every recheckEvery. A missing file parses as
// empty content. get is cheap (one atomic load) between checks.
type fileWatch[T any] struct {
	path  string
	parse func([]byte) T

	cur atomic.Pointer[watched[T]]
	mu  sync.Mutex // serializes reloads
}

type watched[T any] struct {
	val     T
	checked time.Time
	stamp   fileStamp
	noCheck bool // the content asked not to be re-read (no-reload)
}

// fileStamp identifies a version of a file well enough to notice edits.
type fileStamp struct {
	exists bool
	mtime  time.Time
	size   int64
	ino    uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{exists: true, mtime: fi.ModTime(), size: fi.Size()}
	if ino, ok := inode(fi); ok {
		s.ino = ino
	}
	return s
}

func (s fileStamp) equal(t fileStamp) bool {
	return s.exists == t.exists && s.mtime.Equal(t.mtime) && s.size == t.size && s.ino == t.ino
}

// get returns the file's parsed content, re-reading it if it changed since
// the last check and that check is older than recheckEvery.
func (w *fileWatch[T]) get(noReload func(T) bool) T {
	now := time.Now()
	cur := w.cur.Load()
	if cur != nil && (cur.noCheck || now.Sub(cur.checked) < recheckEvery) {
		return cur.val
	}
	if cur != nil && !w.mu.TryLock() {
		return cur.val // someone else is checking: use what we have
	} else if cur == nil {
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if c := w.cur.Load(); c != cur {
		return c.val // reloaded while we waited for the lock
	}
	var stamp fileStamp
	if fi, err := os.Stat(w.path); err == nil {
		stamp = stampOf(fi)
	}
	if cur != nil && cur.stamp.equal(stamp) {
		w.cur.Store(&watched[T]{val: cur.val, checked: now, stamp: stamp})
		return cur.val
	}
	var data []byte
	if stamp.exists {
		// An unreadable file counts as empty, like a missing one.
		data, _ = readBounded(w.path)
	}
	val := w.parse(data)
	next := &watched[T]{val: val, checked: now, stamp: stamp}
	if noReload != nil && noReload(val) {
		next.noCheck = true
	}
	w.cur.Store(next)
	return val
}

// expire makes the next get check the file, as if recheckEvery had
// passed (for tests).
func (w *fileWatch[T]) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur := w.cur.Load(); cur != nil {
		c := *cur
		c.checked = time.Time{}
		w.cur.Store(&c)
	}
}
