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
	"path/filepath"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
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
