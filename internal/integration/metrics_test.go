package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// startHTTP serves plain HTTP/1.1 on 127.0.0.1:port in process.
func startHTTP(t *testing.T, port uint16) {
	t.Helper()
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// meteredDials makes n GET requests to tg, each on a new connection made
// by a Dialer that counts into metrics, then one dial to a closed port of
// 127.0.0.1, and returns once every attempt those dials started has
// ended: an attempt that lost the race counts itself cancelled after
// DialContext has returned.
//
// With tg's ::1 black-holed, the first dial tries ::1, then 127.0.0.1 one
// Connection Attempt Delay later (RFC 8305 §5), and connects there: a
// fallback. The later dials go to 127.0.0.1 at once, since the Dialer's
// History has sorted the unanswered ::1 last (RFC 6724 rule 1). The last
// dial fails, refused.
func meteredDials(t *testing.T, tg target, metrics *dialer.Metrics, n int) {
	t.Helper()
	// A History of its own: what other tests' Dialers learned cannot
	// change this one's first dial.
	d := dialer.Dialer{Resolver: testResolver, History: new(dialer.History), Metrics: metrics}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	defer tr.CloseIdleConnections()

	var running sync.WaitGroup // attempts started and not yet ended
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = dialer.WithTrace(ctx, &dialer.Trace{
		AttemptStart: func(dialer.AttemptStartInfo) { running.Add(1) },
		AttemptDone:  func(dialer.AttemptDoneInfo) { running.Done() },
	})
	for range n {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+tg.Addr()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections() // the next request dials anew
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if c, err := d.DialContext(ctx, "tcp", closed); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial to the closed port %s: %v; want connection refused", closed, err)
	}

	// Every AttemptStart ran before its DialContext returned, so Wait
	// does not race with Add.
	ended := make(chan struct{})
	go func() {
		running.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatal("attempts still running after the dials returned")
	}
}

// TestREADME_metrics checks that the README's Metrics recipes are the
// tested code: every Go block there that starts with a comment (a copied
// declaration) appears verbatim in prometheus_test.go or otel_test.go.
func TestREADME_metrics(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources []byte
	for _, name := range []string{"prometheus_test.go", "otel_test.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, b...)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Metrics\n")
	if !ok {
		t.Fatal(`README has no "### Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := 0
	for _, part := range strings.Split(section, "```go\n")[1:] {
		code, _, ok := strings.Cut(part, "\n```\n")
		if !ok {
			t.Fatalf("README: a Go block in the Metrics section does not end with a fence line")
		}
		code += "\n"
		if !strings.HasPrefix(code, "// ") {
			continue
		}
		blocks++
		if !strings.Contains(string(sources), code) {
			first, _, _ := strings.Cut(code, "\n")
			t.Errorf("README block %q… differs from the tested code", first)
		}
	}
	if blocks != 2 {
		t.Errorf("found %d copied blocks in the README's Metrics section; want 2 (Prometheus, OpenTelemetry)", blocks)
	}
}
