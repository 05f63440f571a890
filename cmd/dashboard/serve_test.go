package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a buffer the server goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve starts with a one-time password, signs in with it over HTTP and
// shows the overview; it stops when its context ends.
func TestServe(t *testing.T) {
	db := weekDB(t)
	// a password file left by an earlier run that anyone could read
	if err := os.WriteFile(filepath.Join(filepath.Dir(db), "dashboard-admin-password"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var out, errs syncBuffer
	done := make(chan int)
	go func() {
		done <- serve(ctx, []string{"--db", db, "--addr", "127.0.0.1:0"}, &out, &errs, false, func(a string) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errs.String())
	}
	// Not on a terminal: the password is in a file only its owner reads,
	// and in no log.
	file := filepath.Join(filepath.Dir(db), "dashboard-admin-password")
	if !strings.Contains(errs.String(), "the password in "+file) {
		t.Fatalf("stderr %q", errs.String())
	}
	pw, err := os.ReadFile(file)
	if st, _ := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 || strings.Contains(errs.String(), strings.TrimSpace(string(pw))) {
		t.Fatalf("password file: %v %v", err, st.Mode())
	}
	m := []string{"", strings.TrimSpace(string(pw))}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.Get(base + "/?week=2026-W48")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Errorf("unauthenticated: at %s, want /login", resp.Request.URL)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"user": {"admin"}, "password": {m[1]}, "next": {"/?week=2026-W48"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Overview, 2026-W48") {
		t.Errorf("after sign-in: %d %.200s", resp.StatusCode, body)
	}
	if strings.Contains(out.String()+errs.String(), "GetSecretValue") {
		t.Error("the log holds event data")
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the password file outlived the dashboard: %v", err)
	}
}

func TestServeCheck(t *testing.T) {
	db := weekDB(t)
	dir := filepath.Join(t.TempDir(), "pages")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--db", db, "--check", dir}, &out, &errs, false); code != exitOK {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	for _, f := range []string{"overview.html", "access.html", "rotation.html", "violations.html", "gate.html", "secret.html", "evidence.pdf", "evidence.zip"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n := strings.Count(out.String(), "\n200  "); n != 8 {
		t.Errorf("%d pages at 200:\n%s", n+1, out.String())
	}
	// Bad flags are refused before anything starts.
	for _, args := range [][]string{
		{"serve", "--db", db, "--auth", "proxy"},
		{"serve", "--db", db, "--auth", "proxy", "--proxy-header", "X-Email"},
		{"serve", "--db", db, "--auth", "magic"},
		{"serve", "--db", db, "--tls-cert", "c.pem"},
		{"serve", "--db", db, "--users", filepath.Join(t.TempDir(), "none")},
		{"serve", "--db", filepath.Join(t.TempDir(), "typo.db")},
	} {
		errs.Reset()
		if code := run(context.Background(), args, &out, &errs, false); code != exitError || errs.Len() == 0 {
			t.Errorf("%q: exit %d, %q", args, code, errs.String())
		}
	}
}

func TestPasswd(t *testing.T) {
	var out, errs bytes.Buffer
	if code := passwd([]string{"dana"}, strings.NewReader("correct horse battery\n"), &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !regexp.MustCompile(`^dana:\$2a\$10\$\S{53}\n$`).MatchString(out.String()) || strings.Contains(out.String(), "horse") {
		t.Errorf("line %q", out.String())
	}
	out.Reset()
	if code := passwd([]string{"dana"}, strings.NewReader("short\n"), &out, &errs); code != exitError || out.Len() != 0 {
		t.Errorf("short password: exit %d, %q", code, out.String())
	}
}
