package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// pgPing connects to url with pgx's defaults and pings.
func pgPing(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// TestPostgres_pgx checks the pgx recipe: DialFunc is the Dialer and
// LookupFunc returns the host unchanged, so that pgx hands the name to the
// Dialer, which races ::1 and 127.0.0.1 (RFC 8305 §5), instead of resolving
// it itself and dialing the addresses one after another.
func TestPostgres_pgx(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "postgres")
	startPostgres(t, tg.Port)
	url := fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", tg.Addr())

	d := dialer.Dialer{Resolver: testResolver}
	connect := func(ctx context.Context) error {
		// README recipe (pgx): the Dialer dials, and LookupFunc passes the
		// name through so that the Dialer resolves it.
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return err
		}
		cfg.DialFunc = d.DialContext
		cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
			return []string{host}, nil
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		return conn.Ping(ctx)
	}
	first, second := checkRace(t, tg, connect)
	recipe("PostgreSQL (pgx v5)", "DialFunc + LookupFunc passing the name", first, second)

	// Naive: DialFunc alone. pgx resolves the name itself (its default
	// LookupFunc is net.DefaultResolver.LookupHost; here a Go resolver asking
	// the test's DNS server) and calls DialFunc once per address, in order,
	// each until connect_timeout: ::1 first, whose SYNs are dropped.
	naive(t, "PostgreSQL (pgx v5)", "DialFunc alone, connect_timeout=1 (pgx resolves)", func(ctx context.Context) error {
		cfg, err := pgx.ParseConfig(url + "&connect_timeout=1")
		if err != nil {
			return err
		}
		cfg.DialFunc = d.DialContext
		cfg.LookupFunc = naiveResolver.LookupHost
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		return conn.Ping(ctx)
	})
}

// TestPostgres_pgxpool checks the pgx recipe on a pool: the same two
// settings on the pool's ConnConfig.
func TestPostgres_pgxpool(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "postgres-pool")
	startPostgres(t, tg.Port)
	url := fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", tg.Addr())

	d := dialer.Dialer{Resolver: testResolver}
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		// README recipe (pgxpool).
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return err
		}
		cfg.ConnConfig.DialFunc = d.DialContext
		cfg.ConnConfig.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
			return []string{host}, nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pool.Ping(ctx)
	})
	recipe("PostgreSQL (pgx v5)", "pgxpool: ConnConfig.DialFunc + LookupFunc", first, second)
}
