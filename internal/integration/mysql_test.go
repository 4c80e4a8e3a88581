package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// mysqlPing pings MariaDB on 127.0.0.1:port with the driver's own dialer.
func mysqlPing(ctx context.Context, port uint16) error {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	cfg.DialFunc = (&net.Dialer{}).DialContext
	return sqlPing(ctx, cfg)
}

// sqlPing opens a database with cfg, pings (its first connection) and
// closes it, so that every call dials.
func sqlPing(ctx context.Context, cfg *mysql.Config) error {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	return db.PingContext(ctx)
}

// TestMariaDB_mysql checks the go-sql-driver/mysql recipe: the "tcp"
// network is registered to dial with the Dialer, which gets the name from
// the DSN and races ::1 and 127.0.0.1 (RFC 8305 §5).
func TestMariaDB_mysql(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "mariadb")
	startMariaDB(t, tg.Port)

	d := dialer.Dialer{Resolver: testResolver}
	// README recipe (go-sql-driver/mysql): every "tcp" DSN dials with d.
	mysql.RegisterDialContext("tcp", d.DialTCP)
	dsn := fmt.Sprintf("root@tcp(%s)/mysql", tg.Addr())
	first, second := checkRace(t, tg, func(ctx context.Context) error {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
	recipe("MariaDB (go-sql-driver/mysql)", "RegisterDialContext(\"tcp\", d.DialTCP)", first, second)

	// Default: the driver dials with a net.Dialer (RFC 6555: 300 ms for
	// IPv6 before IPv4, on every connection); here its resolver asks the
	// test's DNS server.
	naive(t, "MariaDB (go-sql-driver/mysql)", "default (net.Dialer)", func(ctx context.Context) error {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", tg.Addr(), "mysql"
		cfg.DialFunc = (&net.Dialer{Resolver: naiveResolver, Timeout: 5 * time.Second}).DialContext
		return sqlPing(ctx, cfg)
	})
}
