package githubapp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/secretgate/secretgate/internal/store"
)

// Jobs is the durable queue the workers take deliveries from.
type Jobs interface {
	ClaimJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]store.Job, error)
	JobDone(ctx context.Context, id int64, at time.Time) error
	JobFailed(ctx context.Context, id int64, reason string, retryAt time.Time, final bool) error
}

// Handler processes one delivery; *App is one.
type Handler interface {
	Handle(ctx context.Context, event string, payload []byte) error
}

// Workers run queued deliveries: N at a time, each under a lease, so a
// delivery in flight when the process dies is taken again after a restart.
type Workers struct {
	Jobs        Jobs
	Handler     Handler
	N           int           // default 4
	Lease       time.Duration // default 10 minutes: longer than any one delivery may take
	Poll        time.Duration // default 1 s; Wake cuts it short
	MaxAttempts int           // default 8
	Log         *slog.Logger

	wake chan struct{}
	once sync.Once
}

func (w *Workers) init() {
	w.once.Do(func() {
		w.wake = make(chan struct{}, 1)
		if w.N <= 0 {
			w.N = 4
		}
		if w.Lease <= 0 {
			w.Lease = 10 * time.Minute
		}
		if w.Poll <= 0 {
			w.Poll = time.Second
		}
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 8
		}
	})
}

// Wake tells an idle worker that a delivery was queued.
func (w *Workers) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is done.
func (w *Workers) Run(ctx context.Context) {
	w.init()
	var wg sync.WaitGroup
	for range w.N {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
}

func (w *Workers) loop(ctx context.Context) {
	for ctx.Err() == nil {
		jobs, err := w.Jobs.ClaimJobs(ctx, time.Now(), 1, w.Lease)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("claiming jobs", "err", err)
		}
		if len(jobs) == 0 {
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-time.After(w.Poll):
			}
			continue
		}
		w.run(ctx, jobs[0])
	}
}

func (w *Workers) run(ctx context.Context, j store.Job) {
	log := w.Log.With("job", j.ID, "delivery", j.DeliveryID, "event", j.Kind, "attempt", j.Attempts)
	jctx, cancel := context.WithTimeout(ctx, w.Lease)
	err := w.handle(jctx, j)
	cancel()
	// Marking the outcome outlives a shutdown: a finished job must not run again.
	done := context.WithoutCancel(ctx)
	if err == nil {
		if err := w.Jobs.JobDone(done, j.ID, time.Now()); err != nil {
			log.Error("marking the job done", "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down: leave the lease to run out; the job runs again.
		log.Info("stopped mid-job; it will run again", "err", err)
		return
	}
	final := Permanent(err) || j.Attempts >= w.MaxAttempts
	retry := backoff(j.Attempts)
	if d, ok := RetryAfter(err); ok {
		retry = max(d, time.Second)
	}
	log.Warn("delivery failed", "err", err, "final", final, "retry_in", retry)
	if err := w.Jobs.JobFailed(done, j.ID, err.Error(), time.Now().Add(retry), final); err != nil {
		log.Error("marking the job failed", "err", err)
	}
}

// handle runs the handler, turning a panic into a permanent failure: a
// delivery that crashes its worker would otherwise crash one after each lease.
func (w *Workers) handle(ctx context.Context, j store.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = permanent(fmt.Errorf("panic: %v", p))
		}
	}()
	return w.Handler.Handle(ctx, j.Kind, j.Payload)
}

// backoff is 10 s doubling per attempt, capped at 10 minutes.
func backoff(attempt int) time.Duration {
	d := 10 * time.Second << min(max(attempt-1, 0), 6)
	return min(d, 10*time.Minute)
}
