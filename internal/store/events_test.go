package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRecordPushEventIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		c1, c2 := strings.Repeat("a", 40), strings.Repeat("b", 40)
		p := Push{Repo: "shop", Source: "codecommit", Verdict: VerdictRejected, EventID: "evt-1/0", ScannedCommits: []string{c1, c2}}
		alerts := []Alert{{Kind: "secret_pushed", Subject: "s", Message: "{}", Attributes: map[string]string{}}}
		if _, err := s.RecordPush(ctx, p, nil, alerts); err != nil {
			t.Fatal(err)
		}
		// The Lambda is retried with the same event: nothing more is written.
		if _, err := s.RecordPush(ctx, p, nil, alerts); !errors.Is(err, ErrDuplicateEvent) {
			t.Fatalf("second record: %v", err)
		}
		if n := count(t, s, "pushes"); n != 1 {
			t.Errorf("%d pushes", n)
		}
		if n := count(t, s, "outbox"); n != 1 {
			t.Errorf("%d alerts: a retried event alerted twice", n)
		}
		// Pushes without an event id never collide.
		for range 2 {
			if _, err := s.RecordPush(ctx, Push{Repo: "shop", Verdict: VerdictAccepted}, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Scanned(ctx, "shop", []string{c1, c2, strings.Repeat("c", 40)})
		if err != nil || len(got) != 2 || !got[c1] || !got[c2] {
			t.Errorf("scanned: %v %v", got, err)
		}
		if other, _ := s.Scanned(ctx, "other", []string{c1}); len(other) != 0 {
			t.Errorf("scanned commits leak across repositories: %v", other)
		}
	})
}

func TestJobPayloadDroppedWhenDone(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		for _, d := range []string{"d1", "d2"} {
			if _, _, err := s.EnqueueJob(ctx, "push", d, []byte(`{"head_commit":{"message":"token ghp_x"}}`)); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := s.ClaimJobs(ctx, time.Now(), 2, time.Minute)
		if err != nil || len(jobs) != 2 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		s.JobDone(ctx, jobs[0].ID, time.Now())
		s.JobFailed(ctx, jobs[1].ID, "gone", time.Now(), true)
		var left int
		if err := s.conn().queryRow(ctx, `SELECT count(*) FROM jobs WHERE length(payload) > 0`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d finished jobs still hold their payload", left)
		}
	})
}
