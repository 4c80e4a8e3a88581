package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// redisPing pings the Redis server on 127.0.0.1:port with go-redis's own
// dialer, over TLS when cert is set.
func redisPing(ctx context.Context, port uint16, cert *testCert) error {
	opt := &redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1}
	if cert != nil {
		opt.TLSConfig = &tls.Config{RootCAs: cert.pool}
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	return rdb.Ping(ctx).Err()
}

// ping makes a new client from opt, pings (its first connection), and
// closes it, so that every call dials.
func ping(ctx context.Context, opt *redis.Options) error {
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	return rdb.Ping(ctx).Err()
}

// TestRedis_goredis checks the go-redis recipe: Options.Dialer is the
// Dialer, which gets the name and races ::1 and 127.0.0.1 (RFC 8305 §5).
func TestRedis_goredis(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "redis")
	startRedis(t, tg.Port, nil)

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (go-redis).
		opt, err := redis.ParseURL("redis://" + tg.Addr() + "/0")
		if err != nil {
			return err
		}
		opt.Dialer = d.DialContext
		// The test's Trace: go-redis dials on a context of its own.
		opt.Dialer = traced(ctx, opt.Dialer)
		return ping(ctx, opt)
	})
	recipe("Redis (go-redis v9)", "Options.Dialer", first, second)

	// Default: go-redis dials with a net.Dialer (RFC 6555: 300 ms for
	// IPv6 before IPv4, on every connection); here its resolver asks the
	// test's DNS server.
	naive(t, "Redis (go-redis v9)", "default (net.Dialer)", func(ctx context.Context) error {
		nd := &net.Dialer{Resolver: naiveResolver, Timeout: 5 * time.Second, KeepAlive: 5 * time.Minute}
		return ping(ctx, &redis.Options{Addr: tg.Addr(), Dialer: nd.DialContext})
	})
}

// TestRedis_goredisTLS checks the go-redis recipe for rediss: with a
// custom Dialer go-redis does not add TLS itself, so Options.Dialer is a
// TLSDialer, whose handshake runs inside the race.
func TestRedis_goredisTLS(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "redis-tls")
	cert := serverCert(t)
	startRedis(t, tg.Port, cert)

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (go-redis over TLS).
		opt, err := redis.ParseURL("rediss://" + tg.Addr() + "/0")
		if err != nil {
			return err
		}
		opt.TLSConfig.RootCAs = cert.pool // the test's self-signed certificate
		opt.Dialer = (&dialer.TLSDialer{NetDialer: &d, Config: opt.TLSConfig}).DialContext
		// The test's Trace: go-redis dials on a context of its own.
		opt.Dialer = traced(ctx, opt.Dialer)
		return ping(ctx, opt)
	})
	recipe("Redis over TLS (go-redis v9)", "Options.Dialer = TLSDialer", first, second)

	// Default: go-redis's own dialer, a net.Dialer and then TLS.
	naive(t, "Redis over TLS (go-redis v9)", "default (net.Dialer + TLS)", func(ctx context.Context) error {
		td := &tls.Dialer{
			NetDialer: &net.Dialer{Resolver: naiveResolver, Timeout: 5 * time.Second, KeepAlive: 5 * time.Minute},
			Config:    &tls.Config{RootCAs: cert.pool, ServerName: tg.Name},
		}
		return ping(ctx, &redis.Options{Addr: tg.Addr(), Dialer: td.DialContext})
	})
}
