package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func jobIDs(js []Job) string {
	var out []string
	for _, j := range js {
		out = append(out, fmt.Sprintf("%d:%s", j.ID, j.DeliveryID))
	}
	return strings.Join(out, " ")
}

// TestJobLifecycle walks jobs through the queue: a redelivery queued once,
// claims in order, a lease that runs out when its worker dies, a retry, a
// final failure.
func TestJobLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		before := time.Now().Add(-time.Second).UTC()
		payload := []byte("{\"ref\":\"refs/heads/main\"}\x00\xff") // bytes, not text: kept exactly
		for i, d := range []string{"d-1", "d-2", "d-3"} {
			id, dup, err := s.EnqueueJob(ctx, "push", d, payload)
			if err != nil || dup || id != int64(i+1) {
				t.Fatalf("EnqueueJob(%s) = %d, %v, %v", d, id, dup, err)
			}
		}
		// GitHub redelivers d-2: same job, not queued twice, payload kept.
		if id, dup, err := s.EnqueueJob(ctx, "push", "d-2", []byte("other")); err != nil || !dup || id != 2 {
			t.Fatalf("redelivery = %d, %v, %v; want 2, dup", id, dup, err)
		}
		if _, _, err := s.EnqueueJob(ctx, "push", "", nil); err == nil {
			t.Error("EnqueueJob without a delivery id succeeded")
		}
		if _, _, err := s.EnqueueJob(ctx, "", "d-9", nil); err == nil {
			t.Error("EnqueueJob without a kind succeeded")
		}
		wantCounts := func(want string) {
			t.Helper()
			got, err := s.JobCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != want {
				t.Errorf("JobCounts = %v, want %s", got, want)
			}
		}
		wantCounts("map[done:0 failed:0 queued:3 running:0]")

		now := time.Now().UTC()
		lease := time.Minute
		if got, _ := s.ClaimJobs(ctx, before.Add(-time.Hour), 10, lease); len(got) != 0 {
			t.Errorf("claimed %s before they were queued", jobIDs(got))
		}
		got, err := s.ClaimJobs(ctx, now, 2, lease)
		if err != nil {
			t.Fatal(err)
		}
		if jobIDs(got) != "1:d-1 2:d-2" {
			t.Fatalf("first claim = %s", jobIDs(got))
		}
		j := got[0]
		if j.Kind != "push" || string(j.Payload) != string(payload) || j.State != JobStateRunning || j.Attempts != 1 ||
			!j.LeasedUntil.Equal(now.Add(lease).Truncate(time.Millisecond)) || j.CreatedAt.Before(before) ||
			!j.RunAfter.Equal(j.CreatedAt) || !j.DoneAt.IsZero() || j.LastError != "" {
			t.Errorf("claimed job = %+v", j)
		}
		// Leased: a second worker gets only the third.
		got, _ = s.ClaimJobs(ctx, now.Add(time.Second), 10, lease)
		if jobIDs(got) != "3:d-3" {
			t.Fatalf("second claim = %s", jobIDs(got))
		}
		wantCounts("map[done:0 failed:0 queued:0 running:3]")
		// 1 done, 2 failed (retry in 5 minutes), 3's worker died.
		if err := s.JobDone(ctx, 1, now.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.JobFailed(ctx, 2, "GitHub API: 502", now.Add(5*time.Minute), false); err != nil {
			t.Fatal(err)
		}
		wantCounts("map[done:1 failed:0 queued:1 running:1]")
		if got, _ := s.ClaimJobs(ctx, now.Add(30*time.Second), 10, lease); len(got) != 0 {
			t.Errorf("claimed %s while 2 waits for its retry and 3 is leased", jobIDs(got))
		}
		// 3's lease ran out: another worker takes it, its second attempt.
		got, _ = s.ClaimJobs(ctx, now.Add(90*time.Second), 10, lease)
		if jobIDs(got) != "3:d-3" || got[0].Attempts != 2 {
			t.Errorf("claim after lease expiry = %s %+v, want 3 on its second attempt", jobIDs(got), got)
		}
		if err := s.JobDone(ctx, 3, now.Add(91*time.Second)); err != nil {
			t.Fatal(err)
		}
		// 2 is due again, with its last error; it fails for good.
		got, _ = s.ClaimJobs(ctx, now.Add(5*time.Minute), 10, lease)
		if jobIDs(got) != "2:d-2" || got[0].Attempts != 2 || got[0].LastError != "GitHub API: 502" {
			t.Errorf("claim at retry time = %s %+v", jobIDs(got), got)
		}
		if err := s.JobFailed(ctx, 2, "GitHub API: 404", now.Add(6*time.Minute), true); err != nil {
			t.Fatal(err)
		}
		wantCounts("map[done:2 failed:1 queued:0 running:0]")
		if got, _ := s.ClaimJobs(ctx, now.Add(24*time.Hour), 10, lease); len(got) != 0 {
			t.Errorf("claimed %s: done and failed jobs are never claimed", jobIDs(got))
		}
		// A redelivery of a finished job is still not queued again.
		if id, dup, err := s.EnqueueJob(ctx, "push", "d-1", nil); err != nil || !dup || id != 1 {
			t.Errorf("redelivery of a done job = %d, %v, %v; want 1, dup", id, dup, err)
		}
		var doneAt int64
		var lastErr string
		if err := s.db.QueryRow(`SELECT done_at, last_error FROM jobs WHERE id = 2`).Scan(&doneAt, &lastErr); err != nil {
			t.Fatal(err)
		}
		if doneAt != now.Add(6*time.Minute).UnixMilli() || lastErr != "GitHub API: 404" {
			t.Errorf("failed job: done_at %d, last_error %q", doneAt, lastErr)
		}

		if err := s.JobDone(ctx, 1, now); !errors.Is(err, ErrNoJob) {
			t.Errorf("finishing a job twice: err = %v, want ErrNoJob", err)
		}
		if err := s.JobFailed(ctx, 99, "x", now, false); !errors.Is(err, ErrNoJob) {
			t.Errorf("failing a missing job: err = %v, want ErrNoJob", err)
		}
		if _, err := s.ClaimJobs(ctx, now, 1, 0); err == nil {
			t.Error("ClaimJobs with no lease succeeded")
		}
	})
}

// TestConcurrentJobs has webhook handlers on two "replicas" enqueue the
// same deliveries at once, then 16 workers claim from the queue: every
// delivery is queued once and every job handed out exactly once.
func TestConcurrentJobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.dsn(t)
		ctx := context.Background()
		var stores [2]*Store
		for i := range stores {
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		const deliveries, handlers = 100, 6
		var (
			mu     sync.Mutex
			queued = map[string]int{} // delivery → times enqueued as new
			ids    = map[string]int64{}
			wg     sync.WaitGroup
		)
		for h := range handlers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range deliveries {
					delivery := fmt.Sprintf("delivery-%03d", (d+h*17)%deliveries)
					id, dup, err := stores[h%2].EnqueueJob(ctx, "pull_request", delivery, []byte(delivery))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if !dup {
						queued[delivery]++
					}
					if prev, ok := ids[delivery]; ok && prev != id {
						t.Errorf("%s: ids %d and %d", delivery, prev, id)
					}
					ids[delivery] = id
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(queued) != deliveries {
			t.Errorf("%d deliveries queued, want %d", len(queued), deliveries)
		}
		for d, n := range queued {
			if n != 1 {
				t.Errorf("%s queued %d times", d, n)
			}
		}

		claimed := map[int64]int{}
		now := time.Now()
		for w := range 16 {
			s := stores[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimJobs(ctx, now, 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, j := range got {
						mu.Lock()
						claimed[j.ID]++
						mu.Unlock()
						if string(j.Payload) != j.DeliveryID {
							t.Errorf("job %d: payload %q for delivery %s", j.ID, j.Payload, j.DeliveryID)
						}
						if err := s.JobDone(ctx, j.ID, now); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(claimed) != deliveries {
			t.Errorf("%d jobs claimed, want %d", len(claimed), deliveries)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("job %d claimed %d times", id, n)
			}
		}
		if c, err := stores[1].JobCounts(ctx); err != nil || c[JobStateDone] != deliveries || c[JobStateQueued]+c[JobStateRunning] != 0 {
			t.Errorf("JobCounts = %v, %v; want all %d done", c, err, deliveries)
		}
	})
}
