package resolver

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Cache defaults.
const (
	defaultCacheSize   = 4096
	defaultMaxTTL      = time.Hour
	defaultNegativeTTL = 5 * time.Minute
	// lateAnswerWindow is how long a lookup keeps running after every
	// caller has stopped waiting for it, so that its answer still fills
	// the cache (RFC 8305 §5 processes late answers for 1 s).
	lateAnswerWindow = time.Second
	// maxLingering bounds the lookups kept running that way; beyond it an
	// abandoned lookup ends at once.
	maxLingering = 128
)

// cacheKey is one name (canonical, rooted) and one query type.
type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	key     cacheKey
	res     result
	expires time.Time
}

// cache is a TTL cache of lookup results per (name, type) with an LRU
// bound, plus the table of lookups in flight that identical queries join
// (coalescing). Failures are never cached; negative answers are (RFC 2308)
// when they carry a TTL.
type cache struct {
	mu      sync.Mutex
	max     int                        // entries; ≤ 0 caches nothing
	ll      list.List                  // of *cacheEntry, most recently used first
	entries map[cacheKey]*list.Element // index into ll
	flights map[cacheKey]*flight
	// lingering counts the flights without waiters kept running for a
	// late answer.
	lingering int
}

// get returns the cached result for k with its remaining TTL.
func (c *cache) get(k cacheKey, now time.Time) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(k, now)
}

func (c *cache) getLocked(k cacheKey, now time.Time) (result, bool) {
	el, ok := c.entries[k]
	if !ok {
		return result{}, false
	}
	e := el.Value.(*cacheEntry)
	left := e.expires.Sub(now)
	if left <= 0 {
		c.ll.Remove(el)
		delete(c.entries, k)
		return result{}, false
	}
	c.ll.MoveToFront(el)
	r := e.res
	r.ttl = left
	return r, true
}

// putLocked stores r (whose ttl is already clamped) for k; a zero TTL
// removes any older entry, since the newer answer says not to keep it.
func (c *cache) putLocked(k cacheKey, r result, now time.Time) {
	if c.max <= 0 {
		return
	}
	if el, ok := c.entries[k]; ok {
		if r.ttl <= 0 {
			c.ll.Remove(el)
			delete(c.entries, k)
			return
		}
		e := el.Value.(*cacheEntry)
		e.res, e.expires = r, now.Add(r.ttl)
		c.ll.MoveToFront(el)
		return
	}
	if r.ttl <= 0 {
		return
	}
	if c.entries == nil {
		c.entries = make(map[cacheKey]*list.Element)
	}
	c.entries[k] = c.ll.PushFront(&cacheEntry{key: k, res: r, expires: now.Add(r.ttl)})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).key)
	}
}

// flush drops every cached entry (lookups in flight are left alone).
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.entries)
}

// len returns the number of entries (expired ones included until touched).
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// flight is one lookup in progress, shared by every caller asking for the
// same (name, type) meanwhile. It runs in its own goroutine with its own
// context, so a caller that gives up does not cancel it for the others;
// when the last waiter leaves, it is cancelled lateAnswerWindow later.
type flight struct {
	done    chan struct{} // closed when res is set
	exited  chan struct{} // closed when its goroutine has returned
	res     result
	waiters int // guarded by cache.mu
	ctx     context.Context
	cancel  context.CancelCauseFunc
	linger  *time.Timer // set while it lingers without waiters; guarded by cache.mu
}

// join returns the cached result for k, or a flight to wait on: one in
// flight, or one it starts with start (started is then true). The caller
// must call leave(fl) once it stops waiting.
func (c *cache) join(k cacheKey, now time.Time, start func(*flight)) (r result, fl *flight, started bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.getLocked(k, now); ok {
		return r, nil, false
	}
	if fl, ok := c.flights[k]; ok && fl.ctx.Err() == nil {
		if fl.linger == nil || fl.linger.Stop() {
			if fl.linger != nil {
				fl.linger = nil
				c.lingering--
			}
			fl.waiters++
			return result{}, fl, false
		}
		// The linger timer already fired: that flight is being
		// cancelled. Start a fresh one.
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	fl = &flight{done: make(chan struct{}), exited: make(chan struct{}), waiters: 1, ctx: ctx, cancel: cancel}
	if c.flights == nil {
		c.flights = make(map[cacheKey]*flight)
	}
	c.flights[k] = fl
	start(fl)
	return result{}, fl, true
}

// leave records that one waiter stopped waiting on fl. The last one to
// leave lets it linger for window, unless maxLingering flights already
// do: then it is cancelled at once, so that a burst of abandoned lookups
// cannot hold thousands of sockets.
func (c *cache) leave(fl *flight, window time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fl.waiters--
	if fl.waiters > 0 {
		return
	}
	select {
	case <-fl.done:
		return
	default:
	}
	if c.lingering >= maxLingering {
		fl.cancel(errAbandoned)
		return
	}
	c.lingering++
	fl.linger = time.AfterFunc(window, func() { fl.cancel(errAbandoned) })
}

// finish publishes a flight's result, its TTL already clamped: to the
// cache (unless it is a failure) and to its waiters.
func (c *cache) finish(k cacheKey, fl *flight, r result, now time.Time) {
	c.mu.Lock()
	if c.flights[k] == fl {
		delete(c.flights, k)
	}
	if r.kind != failed {
		c.putLocked(k, r, now)
	}
	fl.res = r
	close(fl.done)
	if fl.linger != nil {
		fl.linger.Stop()
		fl.linger = nil
		c.lingering--
	}
	c.mu.Unlock()
	fl.cancel(nil)
}
