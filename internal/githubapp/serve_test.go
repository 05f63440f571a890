package githubapp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
)

func deliver(t *testing.T, url string, secret []byte, event, id string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitRuns waits for n concluded check runs.
func waitRuns(t *testing.T, gh *ghtest.Server, n int) []ghtest.CheckRun {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		runs := gh.CheckRuns("acme", "shop")
		done := 0
		for _, r := range runs {
			if r.Status == "completed" {
				done++
			}
		}
		if done >= n || time.Now().After(deadline) {
			if done != n {
				t.Fatalf("%d check runs completed, want %d", done, n)
			}
			return runs
		}
	}
}

func TestServeEndToEnd(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a.txt": "a\n"})
	head := gh.Commit("acme", "shop", "main", "token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	app, st := newApp(t, gh)
	secret := []byte("webhook-secret")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	workers := &Workers{Jobs: st, Handler: app, N: 2, Poll: 20 * time.Millisecond, Log: log}
	srv := httptest.NewServer(Routes(&Webhook{Secret: secret, Queue: st, Log: log, Queued: workers.Wake}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go workers.Run(ctx)

	body := pushPayload(gh, "acme", "shop", base, head)
	if code := deliver(t, srv.URL, secret, "push", "delivery-1", body); code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	// GitHub redelivers: acknowledged, not processed again.
	if code := deliver(t, srv.URL, secret, "push", "delivery-1", body); code != http.StatusAccepted {
		t.Fatalf("redelivery: status %d", code)
	}
	runs := waitRuns(t, gh, 1)
	time.Sleep(200 * time.Millisecond)
	if runs = gh.CheckRuns("acme", "shop"); len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].HeadSHA != head {
		t.Fatalf("check runs: %d, first %s on %s", len(runs), runs[0].Conclusion, runs[0].HeadSHA)
	}
	counts, _ := st.JobCounts(ctx)
	if counts["done"] != 1 {
		t.Errorf("job counts %v", counts)
	}
}

// A worker that dies holding a job (here: claims it and never finishes)
// loses nothing: once the lease runs out, another worker takes the job.
func TestServeWorkerDies(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a.txt": "a\n"})
	head := gh.Commit("acme", "shop", "main", "second", map[string]string{"b.txt": "b\n"})
	app, st := newApp(t, gh)
	ctx := context.Background()
	if _, _, err := st.EnqueueJob(ctx, "push", "d-1", pushPayload(gh, "acme", "shop", base, head)); err != nil {
		t.Fatal(err)
	}
	// The dead worker's claim, with a short lease.
	if jobs, err := st.ClaimJobs(ctx, time.Now(), 1, 300*time.Millisecond); err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go (&Workers{Jobs: st, Handler: app, N: 1, Poll: 50 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(wctx)
	if runs := waitRuns(t, gh, 1); runs[0].Conclusion != "success" {
		t.Errorf("conclusion %s", runs[0].Conclusion)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 20: 10 * time.Minute} {
		if got := backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

type panicky struct{}

func (panicky) Handle(context.Context, string, []byte) error { panic("boom") }

func TestWorkerPanicFailsJob(t *testing.T) {
	_, st := newApp(t, ghtest.NewServer(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.EnqueueJob(ctx, "push", "p-1", []byte(`{}`))
	go (&Workers{Jobs: st, Handler: panicky{}, N: 1, Poll: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, _ := st.JobCounts(ctx); c["failed"] == 1 {
			return
		}
	}
	t.Error("a panicking job was not failed")
}
