package githubapp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type fakeQueue struct {
	mu   sync.Mutex
	jobs map[string]string // delivery -> kind
	err  error
}

func (q *fakeQueue) EnqueueJob(_ context.Context, kind, delivery string, _ []byte) (int64, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return 0, false, q.err
	}
	if q.jobs == nil {
		q.jobs = map[string]string{}
	}
	if _, dup := q.jobs[delivery]; dup {
		return 1, true, nil
	}
	q.jobs[delivery] = kind
	return int64(len(q.jobs)), false, nil
}

func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func sha1Sign(secret, body []byte) string {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GitHub's published test vector for X-Hub-Signature-256.
func TestSignatureVector(t *testing.T) {
	got := sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	if got != "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" {
		t.Errorf("sign = %s", got)
	}
	q := &fakeQueue{}
	h := Routes(&Webhook{Secret: []byte("It's a Secret to Everybody"), Queue: q, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader("Hello, World!"))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-Hub-Signature-256", got)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("vector: %d %s", rec.Code, rec.Body)
	}
}

func TestWebhook(t *testing.T) {
	secret := []byte("s3cret-for-tests")
	q := &fakeQueue{}
	var logs bytes.Buffer
	h := Routes(&Webhook{Secret: secret, Queue: q, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	push := payload(t, "github-push-with-installation.json")
	tests := []struct {
		name, event, delivery, file string
		body                        []byte
		signature                   string // "" signs correctly; "-" sends none
		code                        int
		queued                      string
	}{
		{name: "push", event: "push", delivery: "d-1", body: push, code: 202, queued: "push"},
		{name: "redelivery", event: "push", delivery: "d-1", body: push, code: 202},
		{name: "wrong signature", event: "push", delivery: "d-2", body: push, signature: sign([]byte("other"), push), code: 401},
		{name: "no signature", event: "push", delivery: "d-3", body: push, signature: "-", code: 401},
		{name: "tampered body", event: "push", delivery: "d-4", body: append(bytes.Clone(push), ' '), signature: sign(secret, push), code: 401},
		{name: "pull request opened", event: "pull_request", delivery: "d-5", file: "github-pull_request-opened.json", code: 202, queued: "pull_request"},
		{name: "pull request synchronize", event: "pull_request", delivery: "d-6", file: "github-pull_request-synchronize.json", code: 202, queued: "pull_request"},
		{name: "pull request closed: not ours", event: "pull_request", delivery: "d-7", body: []byte(`{"action":"closed"}`), code: 204},
		{name: "check suite requested", event: "check_suite", delivery: "d-8", file: "github-check_suite-requested.json", code: 202, queued: "check_suite"},
		{name: "check run rerequested", event: "check_run", delivery: "d-9", file: "github-check_run-rerequested.json", code: 202, queued: "check_run"},
		{name: "installation", event: "installation", delivery: "d-10", file: "github-installation-created.json", code: 202, queued: "installation"},
		{name: "unknown event", event: "star", delivery: "d-11", body: []byte(`{"action":"created"}`), code: 204},
		{name: "no delivery id", event: "push", body: push, code: 400},
		{name: "sha1 HMAC under the sha256 header", event: "push", delivery: "d-12", body: push, signature: sha1Sign(secret, push), code: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if tt.file != "" {
				body = payload(t, tt.file)
			}
			req := httptest.NewRequest("POST", "/webhooks/github", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", tt.event)
			if tt.delivery != "" {
				req.Header.Set("X-GitHub-Delivery", tt.delivery)
			}
			switch tt.signature {
			case "":
				req.Header.Set("X-Hub-Signature-256", sign(secret, body))
			case "-":
			default:
				req.Header.Set("X-Hub-Signature-256", tt.signature)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.code, rec.Body)
			}
			if tt.queued != "" && q.jobs[tt.delivery] != tt.queued {
				t.Errorf("queued %q, want %q", q.jobs[tt.delivery], tt.queued)
			}
			if tt.code >= 400 && q.jobs[tt.delivery] != "" {
				t.Errorf("refused delivery was queued")
			}
		})
	}
	if len(q.jobs) != 6 {
		t.Errorf("%d jobs queued, want 6 (redelivery deduplicated)", len(q.jobs))
	}
	if !strings.Contains(logs.String(), `"delivery":"d-1"`) {
		t.Errorf("logs lack the delivery id:\n%s", logs.String())
	}
}

func TestWebhookQueueDown(t *testing.T) {
	secret := []byte("k")
	h := Routes(&Webhook{Secret: secret, Queue: &fakeQueue{err: errors.New("database is locked")}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := []byte(`{"ref":"refs/heads/main"}`)
	req := httptest.NewRequest("POST", "/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "x")
	req.Header.Set("X-Hub-Signature-256", sign(secret, body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d: GitHub must see a failure so the delivery can be redelivered", rec.Code)
	}
}

func TestWebhookNoSecret(t *testing.T) {
	h := Routes(&Webhook{Queue: &fakeQueue{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("unsigned delivery with no secret configured: %d", rec.Code)
	}
}
