package integration

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// startGRPC serves the gRPC health service on 127.0.0.1:port in process.
func startGRPC(t *testing.T, port uint16) {
	t.Helper()
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(ln)
	t.Cleanup(s.Stop)
}

// healthCheck makes a new client for target, makes one health check (its
// first connection) and closes it.
func healthCheck(ctx context.Context, target string, opts ...grpc.DialOption) error {
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		return err
	}
	defer cc.Close()
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// TestGRPC_health checks the gRPC recipe: a passthrough target hands the
// name to the context dialer, the Dialer, which races ::1 and 127.0.0.1
// (RFC 8305 §5).
func TestGRPC_health(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "grpc")
	startGRPC(t, tg.Port)

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (gRPC), with the test's Trace added: gRPC dials
		// on the ClientConn's context, which carries none of ctx's values.
		return healthCheck(ctx, "passthrough:///"+tg.Addr(), grpc.WithContextDialer(tracedTCP(ctx, d.DialTCP)))
	})
	recipe("gRPC (grpc-go)", "passthrough:/// + WithContextDialer(d.DialTCP)", first, second)

	// Default: the dns resolver (here asking the test's DNS server) and
	// gRPC's own dialer, which dials the IP addresses it resolved.
	naive(t, "gRPC (grpc-go)", "default (dns:/// target)", func(ctx context.Context) error {
		return healthCheck(ctx, fmt.Sprintf("dns://%v/%s", dnsServer.Addr, tg.Addr()))
	})
	// The dns resolver with the Dialer: it gets IP literals, one at a time.
	naive(t, "gRPC (grpc-go)", "dns:/// + WithContextDialer(d.DialTCP)", func(ctx context.Context) error {
		return healthCheck(ctx, fmt.Sprintf("dns://%v/%s", dnsServer.Addr, tg.Addr()), grpc.WithContextDialer(d.DialTCP))
	})
}
