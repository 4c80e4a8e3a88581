//go:build linux

package dialer

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dualstack-go/happyeyeballs/internal/loopback"
)

// loopbackConn is a connection to a loopback listener, closed when the
// test ends, whose descriptors are counted.
func loopbackConn(t *testing.T) net.Conn {
	fdBaseline(t) // checked once the endpoint has closed what it accepted
	e := loopback.Single(t, loopback.V4, loopback.Accept)
	c, err := net.Dial("tcp", e.Addr.String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestKernelRTT: on a loopback connection the kernel has measured a round
// trip of well under 100 ms.
func TestKernelRTT(t *testing.T) {
	c := loopbackConn(t)
	rc, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	rtt, ok := kernelRTT(rc)
	require.True(t, ok, "the kernel has no RTT for a connected loopback socket")
	assert.Greater(t, rtt, time.Duration(0))
	assert.Less(t, rtt, 100*time.Millisecond)
}

// TestMeasuredRTT: a quick connect's time is its round trip; a slow one's
// (Karn's rule, RFC 6298 §3: its SYN may have been sent again) gives way
// to the kernel's measurement where there is one; a connection with no
// socket keeps its connect time.
func TestMeasuredRTT(t *testing.T) {
	c := loopbackConn(t)
	assert.Equal(t, 30*time.Millisecond, measuredRTT(c, 30*time.Millisecond), "a quick connect")
	assert.Less(t, measuredRTT(c, 1200*time.Millisecond), 100*time.Millisecond, "a slow connect: the kernel's loopback RTT")
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	assert.Equal(t, 1200*time.Millisecond, measuredRTT(p1, 1200*time.Millisecond), "no socket")
}
