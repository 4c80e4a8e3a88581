package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a server to accept its first client.
const readyTimeout = 60 * time.Second

// binary finds a server program: the first of names on PATH (plus the
// sbin directories, where MariaDB lives), or the newest match of a glob
// such as /usr/lib/postgresql/*/bin/postgres.
func binary(t *testing.T, names ...string) string {
	t.Helper()
	path := os.Getenv("PATH") + ":/usr/sbin:/sbin:/usr/local/sbin"
	for _, name := range names {
		if filepath.IsAbs(name) {
			m, _ := filepath.Glob(name)
			if len(m) > 0 {
				slices.Sort(m) // PostgreSQL versions are two digits: 15 < 16
				return m[len(m)-1]
			}
			continue
		}
		for _, dir := range filepath.SplitList(path) {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	need(t, false, "no %v here (on Debian: apt-get install %s)", names, pkgOf(names[0]))
	return ""
}

func pkgOf(name string) string {
	switch filepath.Base(name) {
	case "postgres", "initdb":
		return "postgresql"
	case "redis-server":
		return "redis-server"
	case "mariadbd", "mysqld", "mariadb-install-db":
		return "mariadb-server"
	}
	return filepath.Base(name)
}

// tempDir makes a directory outside the test's own TempDir (which is 0700
// under root's) so that a server running as another user can use it, and
// removes it when the test ends.
func tempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// server is a server process started by a test.
type server struct {
	name string
	cmd  *exec.Cmd
	log  string // its output
	done chan struct{}
	err  error // set when done is closed
}

// start runs cmd, logging to dir/name.log, and stops it with stop (then
// SIGKILL after 10 s) when the test ends. The process is killed if the test
// binary dies first.
func start(t *testing.T, name, dir string, stop syscall.Signal, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{name: name, cmd: cmd, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = new(syscall.SysProcAttr)
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(stop)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Logf("%s did not stop within 10 s of %v: killing it", name, stop)
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// tail returns the end of the server's log, for failure messages.
func (s *server) tail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitReady polls ready every 50 ms until it succeeds, the process exits,
// or readyTimeout passes.
func (s *server) waitReady(t *testing.T, ready func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited (%v) before it was ready: %v\n%s", s.name, s.err, err, s.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %v\n%s", s.name, readyTimeout, err, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a setup command to completion, bounded by readyTimeout.
func runCmd(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env, c.SysProcAttr = cmd.Dir, cmd.Env, cmd.SysProcAttr
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", c.Args, err, out)
	}
}

// asUser returns attributes that run a process as the named user, and that
// user's ids, for servers that refuse to run as root (PostgreSQL).
func asUser(t *testing.T, name string) (*syscall.SysProcAttr, int, int) {
	t.Helper()
	u, err := user.Lookup(name)
	need(t, err == nil, "no %q user to run the server as: %v", name, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, uid, gid
}

// startPostgres initialises a throw-away cluster and runs PostgreSQL on
// 127.0.0.1:port only, with trust authentication for user postgres.
func startPostgres(t *testing.T, port uint16) {
	t.Helper()
	needRoot(t)
	postgres := binary(t, "/usr/lib/postgresql/*/bin/postgres", "postgres")
	initdb := filepath.Join(filepath.Dir(postgres), "initdb")
	attr, uid, gid := asUser(t, "postgres")
	dir := tempDir(t, "happyeyeballs-postgres-")
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync")
	cmd.Dir, cmd.SysProcAttr = dir, attr
	runCmd(t, cmd)
	cmd = exec.Command(postgres, "-D", data,
		"-p", fmt.Sprint(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "logging_collector=off")
	cmd.Dir, cmd.SysProcAttr = dir, attr
	s := start(t, "postgres", dir, syscall.SIGINT, cmd) // SIGINT: fast shutdown
	s.waitReady(t, func(ctx context.Context) error {
		return pgPing(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	})
}

// startRedis runs redis-server on 127.0.0.1:port only, without
// persistence; with tlsCert, the port speaks TLS only.
func startRedis(t *testing.T, port uint16, tlsCert *testCert) {
	t.Helper()
	redis := binary(t, "redis-server")
	dir := tempDir(t, "happyeyeballs-redis-")
	args := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no"}
	if tlsCert == nil {
		args = append(args, "--port", fmt.Sprint(port))
	} else {
		args = append(args, "--port", "0", "--tls-port", fmt.Sprint(port),
			"--tls-cert-file", tlsCert.certFile, "--tls-key-file", tlsCert.keyFile,
			"--tls-ca-cert-file", tlsCert.certFile, "--tls-auth-clients", "no")
	}
	s := start(t, "redis-server", dir, syscall.SIGTERM, exec.Command(redis, args...))
	s.waitReady(t, func(ctx context.Context) error {
		return redisPing(ctx, port, tlsCert)
	})
}

// startMariaDB initialises a throw-away data directory and runs MariaDB on
// 127.0.0.1:port only, without grant tables (any user, no password).
func startMariaDB(t *testing.T, port uint16) {
	t.Helper()
	needRoot(t)
	mariadbd := binary(t, "mariadbd", "mysqld")
	install := binary(t, "mariadb-install-db", "mysql_install_db")
	dir := tempDir(t, "happyeyeballs-mariadb-")
	data := filepath.Join(dir, "data")
	runCmd(t, exec.Command(install, "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db"))
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+data,
		"--port="+fmt.Sprint(port), "--bind-address=127.0.0.1",
		"--socket="+filepath.Join(dir, "mysqld.sock"), "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--user=root", "--skip-grant-tables", "--skip-name-resolve",
		"--innodb-buffer-pool-size=16M", "--log-error="+filepath.Join(dir, "error.log"))
	s := start(t, "mariadbd", dir, syscall.SIGTERM, cmd)
	s.log = filepath.Join(dir, "error.log")
	s.waitReady(t, func(ctx context.Context) error {
		return mysqlPing(ctx, port)
	})
}

// startMicrosocks runs microsocks, a SOCKS5 proxy without authentication,
// on 127.0.0.1:port only.
func startMicrosocks(t *testing.T, port uint16) {
	t.Helper()
	microsocks := binary(t, "microsocks")
	dir := tempDir(t, "happyeyeballs-microsocks-")
	s := start(t, "microsocks", dir, syscall.SIGTERM,
		exec.Command(microsocks, "-i", "127.0.0.1", "-p", fmt.Sprint(port)))
	s.waitReady(t, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err
	})
}

// testCert is a self-signed certificate for every name under zoneSuffix.
type testCert struct {
	cert              tls.Certificate
	pool              *x509.CertPool
	certFile, keyFile string
}

var certOnce struct {
	sync.Once
	c   *testCert
	err error
}

// serverCert returns the tests' self-signed certificate (ECDSA P-256, valid
// for *.happyeyeballs.test and 127.0.0.1, made once), written to files in a
// directory of the test's own for servers that read them.
func serverCert(t *testing.T) *testCert {
	t.Helper()
	certOnce.Do(func() { certOnce.c, certOnce.err = newCert() })
	if certOnce.err != nil {
		t.Fatal(certOnce.err)
	}
	c := *certOnce.c
	dir := tempDir(t, "happyeyeballs-cert-")
	c.certFile, c.keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(c.certFile, pemCert(c.cert), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &c
}

func pemCert(c tls.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
}

func newCert() (*testCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "happyeyeballs integration tests"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"*" + zoneSuffix},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &testCert{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pool: pool,
	}, nil
}
