package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
	"github.com/secretgate/secretgate/internal/store"
)

func TestServe(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a.txt": "a\n"})
	head := gh.Commit("acme", "shop", "main", "token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghToken + "\n"})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.pem"), gh.AppKey(), 0o600)
	os.WriteFile(filepath.Join(dir, "webhook-secret"), []byte("hook-secret\n"), 0o600)
	pol := filepath.Join(dir, "secretgate.toml")
	os.WriteFile(pol, []byte(fmt.Sprintf("[github]\napp_id = %d\nprivate_key_file = \"app.pem\"\nwebhook_secret_file = \"webhook-secret\"\napi_url = %q\nlisten = \"127.0.0.1:0\"\nworkers = 2\n", gh.AppID, gh.APIURL())), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, []string{"serve", "--config", pol}, nil, io.Discard, pw); pw.Close() }()
	addr := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			addr = line.Addr
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if addr == "" {
		t.Fatal("serve did not start")
	}

	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": base, "after": head,
		"repository":   map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}, "clone_url": gh.URL + "/acme/shop.git", "default_branch": "main"},
		"installation": map[string]any{"id": gh.Installation("acme")},
	})
	m := hmac.New(sha256.New, []byte("hook-secret"))
	m.Write(body)
	req, _ := http.NewRequest("POST", "http://"+addr+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "d-1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery: %v %v", resp, err)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		runs := gh.CheckRuns("acme", "shop")
		if len(runs) == 1 && runs[0].Status == "completed" {
			if runs[0].Conclusion != "failure" || runs[0].Title != "1 secret found" {
				t.Errorf("check run: %s %q", runs[0].Conclusion, runs[0].Title)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no concluded check run")
		}
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// startServe runs `gatekeeper serve` as its own process (this test binary
// doubles as gatekeeper) and returns it with the address it listens on.
func startServe(t *testing.T, pol string, logs io.Writer) (*exec.Cmd, string) {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self, "serve", "--config", pol)
	cmd.Env = append(os.Environ(), "GATEKEEPER_TEST_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		logs.Write(append(sc.Bytes(), '\n'))
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			go io.Copy(logs, stderr)
			return cmd, line.Addr
		}
	}
	t.Fatal("serve did not start")
	return nil, ""
}

// TestServeLoadAndCrash: 500 deliveries at concurrency 50, all
// acknowledged; the server is killed with SIGKILL while it works and
// restarted; every delivery is done exactly once by the queue's count, and
// each pushed head ends with exactly one completed check run.
func TestServeLoadAndCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a.txt": "a\n"})
	const pushes = 30
	heads := make([]string, pushes)
	for i := range heads {
		files := map[string]string{fmt.Sprintf("f%d.txt", i): fmt.Sprintf("%d\n", i)}
		if i%3 == 0 {
			files["ci.env"] = "GITHUB_TOKEN=" + ghToken + "\n"
		}
		heads[i] = gh.Commit("acme", "shop", fmt.Sprintf("b%d", i), fmt.Sprintf("change %d", i), files)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.pem"), gh.AppKey(), 0o600)
	os.WriteFile(filepath.Join(dir, "webhook-secret"), []byte("hook-secret"), 0o600)
	pol := filepath.Join(dir, "secretgate.toml")
	os.WriteFile(pol, []byte(fmt.Sprintf("[github]\napp_id = %d\nprivate_key_file = \"app.pem\"\nwebhook_secret_file = \"webhook-secret\"\napi_url = %q\nlisten = \"127.0.0.1:0\"\nworkers = 4\njob_lease = \"2s\"\n", gh.AppID, gh.APIURL())), 0o644)
	var logs syncBuffer
	cmd, addr := startServe(t, pol, &logs)

	deliveryBody := func(i int) (string, []byte) {
		if i < pushes {
			b, _ := json.Marshal(map[string]any{
				"ref": fmt.Sprintf("refs/heads/b%d", i), "before": base, "after": heads[i],
				"repository":   map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}, "clone_url": gh.URL + "/acme/shop.git", "default_branch": "main"},
				"installation": map[string]any{"id": gh.Installation("acme")},
			})
			return "push", b
		}
		return "installation", []byte(fmt.Sprintf(`{"action":"created","installation":{"id":%d}}`, i))
	}
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := range 500 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			event, body := deliveryBody(i)
			m := hmac.New(sha256.New, []byte("hook-secret"))
			m.Write(body)
			req, _ := http.NewRequest("POST", "http://"+addr+"/webhooks/github", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("load-%d", i))
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusAccepted {
				refused.Add(1)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := refused.Load(); n > 0 {
		t.Fatalf("%d deliveries not acknowledged", n)
	}

	st, err := store.Open(context.Background(), filepath.Join(dir, "secretgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counts := func() map[string]int {
		c, _ := st.JobCounts(context.Background())
		return c
	}
	// Kill it mid-work, then start it again.
	for deadline := time.Now().Add(30 * time.Second); counts()["done"] < 100 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := counts()
	startServe(t, pol, &logs)
	for deadline := time.Now().Add(60 * time.Second); counts()["done"] < 500 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	after := counts()
	if after["done"] != 500 || after["failed"] != 0 || after["queued"]+after["running"] != 0 {
		t.Fatalf("jobs %v after restart (killed at %v)", after, before)
	}
	byHead := map[string]int{}
	for _, r := range gh.CheckRuns("acme", "shop") {
		if r.Status != "completed" {
			t.Errorf("check run on %s left %s", r.HeadSHA[:8], r.Status)
		}
		byHead[r.HeadSHA]++
	}
	for i, h := range heads {
		if byHead[h] != 1 {
			t.Errorf("head %d: %d check runs, want 1", i, byHead[h])
		}
	}
	t.Logf("killed with jobs %v; after restart %v", before, after)

	// No planted secret in what was sent to GitHub, logged, or stored.
	for _, req := range gh.Requests() {
		if bytes.Contains(req.Body, []byte(ghToken)) {
			t.Errorf("%s %s sent the secret", req.Method, req.Path)
		}
	}
	if strings.Contains(logs.String(), ghToken) {
		t.Error("the server logged the secret")
	}
	for _, f := range []string{"secretgate.db", "secretgate.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); bytes.Contains(b, []byte(ghToken)) {
			t.Errorf("%s holds the secret", f)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
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
