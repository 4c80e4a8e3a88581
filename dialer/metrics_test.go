package dialer

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/simnet"
	"github.com/dualstack-go/happyeyeballs/resolver"
)

// TestMetrics counts a few dials in virtual time and checks every figure
// against what the dials did.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m Metrics
		var n simnet.Network
		n.Set(v6a, simnet.BlackHoled())
		n.Set(v4a, simnet.Accepting(20*time.Millisecond))
		n.Set(v6b, simnet.Refusing(time.Millisecond))
		n.Set(v4b, simnet.Accepting(time.Millisecond))
		dial := func(r resolver.Resolver, policy func(string, netip.AddrPort) error) error {
			d := simDialer(&n, r)
			d.Metrics, d.Policy = &m, policy
			c, err := d.DialContext(context.Background(), "tcp", "example.com:443")
			if c != nil {
				c.Close()
			}
			synctest.Wait() // losers count themselves cancelled as they end
			return err
		}

		// 1. IPv6 black-holed: IPv4 wins at 250+20 ms, a fallback.
		require.NoError(t, dial(dualStatic(v6a, v4a), nil))
		// 2. IPv6 refused: IPv4 at once, a fallback.
		require.NoError(t, dial(dualStatic(v6b, v4b), nil))
		// 3. IPv6 works: no fallback; the AAAA answer is negative for A.
		n.Set(v6b, simnet.Accepting(time.Millisecond))
		require.NoError(t, dial(&resolver.Static{AAAA: simAnswer(0, v6b)}, nil))
		// 4. A policy rejects IPv6; the A answer is an error: the dial fails.
		noV6 := func(_ string, ap netip.AddrPort) error {
			if ap.Addr().Is6() {
				return errors.New("no IPv6")
			}
			return nil
		}
		require.Error(t, dial(&resolver.Static{AAAA: simAnswer(0, v6b), A: simServFail(10 * ms)}, noV6))

		s := m.Snapshot()
		assert.EqualValues(t, 4, s.Dials)
		assert.EqualValues(t, 3, s.Connected)
		assert.EqualValues(t, 1, s.Failed)
		assert.EqualValues(t, 2, s.FellBack)
		assert.InDelta(t, 1.0/3, s.IPv6Share, 1e-9)
		assert.EqualValues(t, 3, s.ConnectTime.Count)
		// 250+20 ms; 10 ms (the floor after the refusal) + 1; 1 ms.
		assert.Equal(t, 270*ms+11*ms+ms, s.ConnectTime.Sum)
		assert.Equal(t, []int64{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0}, s.ConnectTime.Counts)

		v6, v4 := s.IPv6, s.IPv4
		assert.EqualValues(t, 4, v6.DNSPositive)
		assert.EqualValues(t, 2, v4.DNSPositive)
		assert.EqualValues(t, 1, v4.DNSNegative)
		assert.EqualValues(t, 1, v4.DNSErrors)
		assert.EqualValues(t, 4, v6.DNSLatency.Count)
		assert.EqualValues(t, 3, v6.AttemptsStarted)
		assert.EqualValues(t, 1, v6.AttemptsWon)
		assert.EqualValues(t, 1, v6.AttemptsCancelled, "the black hole, when IPv4 won")
		assert.Equal(t, AttemptFailures{Refused: 1}, v6.AttemptsFailed)
		assert.EqualValues(t, 1, v6.Rejected)
		assert.EqualValues(t, 2, v4.AttemptsStarted)
		assert.EqualValues(t, 2, v4.AttemptsWon)
		assert.EqualValues(t, 2, v4.ConnectTime.Count)
	})
}

// TestMetrics_causes: each failure lands in its class.
func TestMetrics_causes(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{op(syscall.ECONNREFUSED), causeRefused},
		{op(syscall.ETIMEDOUT), causeTimeout},
		{&net.OpError{Op: "dial", Err: errAttemptTimeout}, causeTimeout},
		{context.DeadlineExceeded, causeTimeout},
		{op(syscall.EHOSTUNREACH), causeUnreachable},
		{op(syscall.ENETUNREACH), causeUnreachable},
		{errors.New("tls: handshake failure"), causeOther},
		{errAttemptCanceled, causeOther},
	} {
		assert.Equal(t, tc.want, causeOf(tc.err), "%v", tc.err)
	}
}

// TestMetrics_allocs: counting allocates nothing, and a nil *Metrics does
// nothing.
func TestMetrics_allocs(t *testing.T) {
	var m Metrics
	ap := netip.AddrPortFrom(v6a, 443)
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	neg := resolver.Answer{Family: resolver.IPv4, Err: resolver.NotFoundError("example.com", resolver.ErrNoData)}
	pos := resolver.Answer{Family: resolver.IPv6, Addrs: []netip.Addr{v6a}}
	for _, mm := range []*Metrics{&m, nil} {
		allocs := testing.AllocsPerRun(100, func() {
			mm.dnsAnswer(pos, 3*ms)
			mm.dnsAnswer(neg, 3*ms)
			mm.attemptStarted(ap)
			mm.attemptFailed(ap, refused)
			mm.attemptCancelled(ap)
			mm.addressRejected(v4a)
			mm.dialWon(v4a, v6a, 40*ms)
			mm.dialFailed()
		})
		assert.Zero(t, allocs, "metrics %p", mm)
	}
	assert.EqualValues(t, 101, m.Snapshot().Dials/2, "AllocsPerRun runs the function 101 times")
}

// A *Metrics is an expvar.Var whose value is the snapshot in JSON.
func TestMetrics_expvar(t *testing.T) {
	var m Metrics
	m.dialWon(v6a, v6a, 30*ms)
	var _ expvar.Var = &m
	var s MetricsSnapshot
	require.NoError(t, json.Unmarshal([]byte(m.String()), &s))
	assert.EqualValues(t, 1, s.Connected)
	assert.Equal(t, 1.0, s.IPv6Share)
	assert.Equal(t, m.Snapshot(), s)
}
