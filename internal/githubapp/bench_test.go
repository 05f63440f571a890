package githubapp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
	"github.com/secretgate/secretgate/internal/store"
)

// BenchmarkWebhookAck is the time GitHub waits for an answer: signature
// check and durable enqueue in SQLite, over loopback HTTP, 50 deliveries at
// a time. It reports the 50th and 99th percentiles.
func BenchmarkWebhookAck(b *testing.B) {
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "q.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	secret := []byte("bench")
	srv := httptest.NewServer(Routes(&Webhook{Secret: secret, Queue: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	body := []byte(`{"ref":"refs/heads/main","before":"a","after":"b","repository":{"name":"r","owner":{"login":"o"}}}`)
	sig := sign(secret, body)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const concurrency = 50
	var (
		mu   sync.Mutex
		lats []time.Duration
		n    int
	)
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan int)
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequest("POST", srv.URL+"/webhooks/github", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "push")
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
				req.Header.Set("X-Hub-Signature-256", sig)
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					b.Errorf("delivery %d: %v %v", i, resp, err)
					continue
				}
				resp.Body.Close()
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}
		})
	}
	for b.Loop() {
		next <- n
		n++
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkPushToCheckRun is a 10-commit push from delivery to concluded
// check run: token, check run, fetch over smart HTTP, scan, record, report.
func BenchmarkPushToCheckRun(b *testing.B) {
	gh := ghtest.NewServer(b)
	gh.AddRepo("acme", "shop")
	app, _ := newApp(b, gh)
	prev := gh.Commit("acme", "shop", "main", "first", map[string]string{"app.py": "print(1)\n"})
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		base := prev
		for c := range 10 {
			prev = gh.Commit("acme", "shop", "main", fmt.Sprintf("change %d.%d", i, c), map[string]string{
				fmt.Sprintf("src/mod%d.py", c): fmt.Sprintf("def f%d_%d():\n    return %d\n", i, c, c),
			})
		}
		body := pushPayload(gh, "acme", "shop", base, prev)
		b.StartTimer()
		if err := app.Handle(context.Background(), "push", body); err != nil {
			b.Fatal(err)
		}
	}
}
