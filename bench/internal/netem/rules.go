package netem

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// A Rule shapes the path between the client namespace and the server-side
// addresses inside Prefix. It applies to every packet to or from such an
// address, in each direction separately: Delay is one-way, so a TCP
// handshake over a path with Delay d takes 2d.
//
// A packet follows the rule with the longest Prefix that holds its
// server-side address; a packet no rule matches crosses the wire at once.
// A per-address rule is a /32 or /128 prefix; a per-family rule is DocIPv4
// or DocIPv6.
type Rule struct {
	// Prefix selects the server-side addresses the rule is for. It must
	// lie inside DocIPv4 or DocIPv6.
	Prefix netip.Prefix
	// Delay is the one-way delay added to every packet. Zero means none;
	// negative is invalid.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [-Jitter, +Jitter]
	// (never making the total negative). Packets may then be reordered, as
	// on a real path. Zero means none.
	Jitter time.Duration
	// Loss is the probability in [0, 1] that a packet is dropped, drawn
	// independently per packet from the generator seeded by SetRules.
	Loss float64
	// BlackHole drops every packet silently: SYNs go unanswered and the
	// client waits out its own timeouts.
	BlackHole bool
	// MTU, when positive, drops every packet longer than MTU bytes (IP
	// header included), in both directions, without any ICMP error (no
	// ICMPv6 Packet Too Big, RFC 8201 §4): a path-MTU black hole. The TUN
	// devices' MTU is 1500, so TCP sends full-size segments: a handshake
	// (small SYN, SYN-ACK, ACK) completes and small writes arrive, but a
	// flight larger than MTU (a TLS certificate) never does. Packetization
	// layer probing (RFC 4821) is off in both namespaces, so the kernel
	// never shrinks its segments to get through.
	MTU int
}

// String formats the rule for logs and test failures.
func (r Rule) String() string {
	s := fmt.Sprintf("%s delay=%s", r.Prefix, r.Delay)
	if r.Jitter != 0 {
		s += fmt.Sprintf(" jitter=%s", r.Jitter)
	}
	if r.Loss != 0 {
		s += fmt.Sprintf(" loss=%g", r.Loss)
	}
	if r.BlackHole {
		s += " blackhole"
	}
	if r.MTU != 0 {
		s += fmt.Sprintf(" mtu=%d", r.MTU)
	}
	return s
}

// validate reports the first problem with r, if any.
func (r Rule) validate() error {
	switch {
	case !r.Prefix.IsValid():
		return errors.New("netem: rule without a valid Prefix")
	case !prefixInDoc(r.Prefix):
		return fmt.Errorf("netem: rule prefix %s is outside %s and %s", r.Prefix, DocIPv4, DocIPv6)
	case r.Delay < 0:
		return fmt.Errorf("netem: rule %s: negative Delay", r.Prefix)
	case r.Jitter < 0:
		return fmt.Errorf("netem: rule %s: negative Jitter", r.Prefix)
	case !(r.Loss >= 0 && r.Loss <= 1): // also rejects NaN
		return fmt.Errorf("netem: rule %s: Loss %g outside [0, 1]", r.Prefix, r.Loss)
	case r.MTU < 0:
		return fmt.Errorf("netem: rule %s: negative MTU", r.Prefix)
	}
	return nil
}

// prefixInDoc reports whether every address of p is a documentation
// address.
func prefixInDoc(p netip.Prefix) bool {
	p = p.Masked()
	for _, doc := range []netip.Prefix{DocIPv4, DocIPv6} {
		if p.Addr().Is4() == doc.Addr().Is4() && p.Bits() >= doc.Bits() && doc.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// ruleSet is an immutable, validated set of rules, longest prefix first,
// with the seed for the wire's loss and jitter generator.
type ruleSet struct {
	rules []Rule
	seed  uint64
}

// newRuleSet validates rules and orders them for longest-prefix matching.
func newRuleSet(seed uint64, rules []Rule) (*ruleSet, error) {
	rs := &ruleSet{rules: slices.Clone(rules), seed: seed}
	for i := range rs.rules {
		if err := rs.rules[i].validate(); err != nil {
			return nil, err
		}
		rs.rules[i].Prefix = rs.rules[i].Prefix.Masked()
	}
	// Stable, so that of two rules with the same prefix the first given wins.
	slices.SortStableFunc(rs.rules, func(a, b Rule) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return rs, nil
}

// match returns the rule for server-side address a, or nil.
func (rs *ruleSet) match(a netip.Addr) *Rule {
	if rs == nil {
		return nil
	}
	for i := range rs.rules {
		if rs.rules[i].Prefix.Contains(a) {
			return &rs.rules[i]
		}
	}
	return nil
}

// Counters is what the wire saw for one server-side address since the
// last ResetCounters.
type Counters struct {
	// Attempts counts TCP connection attempts toward the address: distinct
	// connections (addresses, ports and initial sequence number) whose
	// first SYN reached the wire in this period. A SYN retransmission is
	// not a new attempt; a new connection that reuses the ports of an old
	// one is.
	Attempts int
	// SYNs counts SYN segments from the client, retransmissions included.
	SYNs int
	// Packets counts packets in either direction to or from the address.
	Packets int
	// Dropped counts those of Packets the wire dropped (black hole, loss,
	// MTU).
	Dropped int
}
