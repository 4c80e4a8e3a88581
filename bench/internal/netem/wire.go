package netem

import (
	"container/heap"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinWindow is how long before a packet's due time the wire stops
// sleeping on a timer and polls instead. Go timers fire about 0.5 ms late;
// without the spin every emulated round trip would be about 1 ms too long.
const spinWindow = 1500 * time.Microsecond

// flowMemory is how long the wire remembers a connection's first SYN, so
// that its retransmissions (Linux retries a SYN for about 127 s) are not
// counted as new attempts after a ResetCounters.
const flowMemory = 3 * time.Minute

// The two ends of the wire.
const (
	clientEnd = 0
	serverEnd = 1
)

// frame is one packet read from one end, stamped on arrival.
type frame struct {
	data []byte
	from int
	at   time.Time
}

// flowKey names one TCP connection attempt: its addresses, ports and
// initial sequence number (a client may reuse the ports of a closed
// connection to the same server, but not its ISN).
type flowKey struct {
	src, dst netip.AddrPort
	isn      uint32
}

// scheduled is a packet waiting in the wire for its due time.
type scheduled struct {
	due  time.Time
	seq  uint64 // arrival order: ties leave in the order they came
	to   int
	data []byte
}

// schedHeap is a min-heap of packets by due time, then arrival.
type schedHeap []scheduled

func (h schedHeap) Len() int { return len(h) }
func (h schedHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h schedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *schedHeap) Push(x any)   { *h = append(*h, x.(scheduled)) }
func (h *schedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = scheduled{}
	*h = old[:len(old)-1]
	return it
}

// wire moves packets between two packet-preserving ends (the TUN devices;
// in-memory ends in tests). One reader goroutine per end feeds a single
// scheduler goroutine that applies the rules and keeps delayed packets in
// a timer heap: there is no goroutine per packet.
type wire struct {
	ends  [2]io.ReadWriter
	in    chan frame
	done  chan struct{}
	wg    sync.WaitGroup
	rules atomic.Pointer[ruleSet]

	mu       sync.Mutex // guards the fields below
	counters map[netip.Addr]*Counters
	flows    map[flowKey]time.Time // first SYN of each connection seen
	foreign  int                   // packets dropped for leaving the documentation ranges
}

// newWire starts a wire between the client end c and the server end s,
// with no rules. Stop it with stop, after closing both ends.
func newWire(c, s io.ReadWriter, seed uint64) *wire {
	w := &wire{
		ends:     [2]io.ReadWriter{c, s},
		in:       make(chan frame, 256), // absorbs bursts; a full queue blocks the readers, like a full NIC ring
		done:     make(chan struct{}),
		counters: make(map[netip.Addr]*Counters),
		flows:    make(map[flowKey]time.Time),
	}
	rs, _ := newRuleSet(seed, nil)
	w.rules.Store(rs)
	w.wg.Add(3)
	go w.read(clientEnd)
	go w.read(serverEnd)
	go w.run()
	return w
}

// stop ends the scheduler and waits for the readers, which return once
// their ends are closed. Packets still in flight are discarded.
func (w *wire) stop() {
	close(w.done)
	w.wg.Wait()
}

// read copies packets from one end into the scheduler's queue until the
// end fails (it is closed at teardown).
func (w *wire) read(end int) {
	defer w.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, err := w.ends[end].Read(buf)
		if err != nil {
			return
		}
		if n == 0 {
			continue
		}
		f := frame{data: append([]byte(nil), buf[:n]...), from: end, at: time.Now()}
		select {
		case w.in <- f:
		case <-w.done:
			return
		}
	}
}

// run is the scheduler loop: it takes packets in, decides their fate, and
// writes each one to the other end when it is due.
func (w *wire) run() {
	defer w.wg.Done()
	var (
		queue   schedHeap
		seq     uint64
		current *ruleSet
		rng     *rand.Rand
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	accept := func(f frame) {
		if rs := w.rules.Load(); rs != current {
			current = rs
			rng = rand.New(rand.NewPCG(rs.seed, rs.seed^0x9e3779b97f4a7c15))
		}
		delay, ok := w.decide(f, current, rng)
		if !ok {
			return
		}
		seq++
		heap.Push(&queue, scheduled{due: f.at.Add(delay), seq: seq, to: 1 - f.from, data: f.data})
	}
	for {
		now := time.Now()
		for len(queue) > 0 && !queue[0].due.After(now) {
			it := heap.Pop(&queue).(scheduled)
			// A write to a TUN device does not block; an error means the
			// device is going away, and the packet is lost like on a
			// link that went down.
			_, _ = w.ends[it.to].Write(it.data)
		}
		if len(queue) > 0 {
			wait := queue[0].due.Sub(now)
			if wait <= spinWindow {
				select {
				case f := <-w.in:
					accept(f)
				case <-w.done:
					return
				default:
					runtime.Gosched()
				}
				continue
			}
			timer.Reset(wait - spinWindow)
		}
		select {
		case f := <-w.in:
			accept(f)
		case <-timer.C:
		case <-w.done:
			return
		}
		timer.Stop()
	}
}

// decide counts the packet and returns its delay, or ok false to drop it.
func (w *wire) decide(f frame, rs *ruleSet, rng *rand.Rand) (delay time.Duration, ok bool) {
	p := parsePacket(f.data)
	if !p.ok || !isDoc(p.src) || !isDoc(p.dst) {
		w.mu.Lock()
		w.foreign++
		w.mu.Unlock()
		return 0, false
	}
	server := p.dst
	if f.from == serverEnd {
		server = p.src
	}
	r := rs.match(server)
	ok = true
	if r != nil {
		switch {
		case r.BlackHole:
			ok = false
		case r.MTU > 0 && len(f.data) > r.MTU:
			ok = false
		case r.Loss > 0 && rng.Float64() < r.Loss:
			ok = false
		}
		delay = r.Delay
		if ok && r.Jitter > 0 {
			delay += time.Duration(rng.Int64N(int64(2*r.Jitter)+1)) - r.Jitter
			delay = max(delay, 0)
		}
	}

	w.mu.Lock()
	c := w.counters[server]
	if c == nil {
		c = new(Counters)
		w.counters[server] = c
	}
	c.Packets++
	if !ok {
		c.Dropped++
	}
	if f.from == clientEnd && p.syn {
		c.SYNs++
		k := flowKey{netip.AddrPortFrom(p.src, p.sport), netip.AddrPortFrom(p.dst, p.dport), p.seq}
		if _, seen := w.flows[k]; !seen {
			w.flows[k] = f.at
			c.Attempts++
		}
	}
	w.mu.Unlock()
	return delay, ok
}

// setRules replaces the rules and reseeds the loss and jitter generator.
func (w *wire) setRules(seed uint64, rules []Rule) error {
	rs, err := newRuleSet(seed, rules)
	if err != nil {
		return err
	}
	w.rules.Store(rs)
	return nil
}

// snapshot returns a copy of the counters.
func (w *wire) snapshot() map[netip.Addr]Counters {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[netip.Addr]Counters, len(w.counters))
	for a, c := range w.counters {
		m[a] = *c
	}
	return m
}

// reset zeroes the counters and forgets connections older than flowMemory.
func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	clear(w.counters)
	for k, t := range w.flows {
		if now.Sub(t) > flowMemory {
			delete(w.flows, k)
		}
	}
	w.foreign = 0
}
