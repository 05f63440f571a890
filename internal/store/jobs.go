package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrNoJob is returned when a job id names no running job.
var ErrNoJob = errors.New("no such running job")

// EnqueueJob queues a webhook delivery, due at once. A delivery id already
// queued (GitHub redelivers, a replica retries) is not queued again: the
// existing job's id comes back with dup set.
func (s *Store) EnqueueJob(ctx context.Context, kind, deliveryID string, payload []byte) (id int64, dup bool, err error) {
	if kind == "" || deliveryID == "" {
		return 0, false, fmt.Errorf("store: enqueue job: kind %q and delivery id %q must both be given", kind, deliveryID)
	}
	if payload == nil {
		payload = []byte{}
	}
	now := millis(time.Now())
	err = s.write(ctx, func(tx conn) error {
		err := tx.queryRow(ctx, `INSERT INTO jobs (kind, delivery_id, payload, run_after, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING RETURNING id`,
			text(kind), text(deliveryID), payload, now, now).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		dup = true
		return tx.queryRow(ctx, `SELECT id FROM jobs WHERE delivery_id = ?`, text(deliveryID)).Scan(&id)
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: enqueue job %s (delivery %s): %w", kind, deliveryID, err)
	}
	return id, dup, nil
}

// ClaimJobs leases up to limit jobs due at now to the caller until
// now+lease, oldest first, and counts the attempt. Due are queued jobs
// whose RunAfter has come and running jobs whose lease ran out (their
// worker died). Concurrent callers, in this process or on another replica,
// never get the same job while its lease runs. The caller ends each lease
// with JobDone or JobFailed.
func (s *Store) ClaimJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("store: claim jobs: lease must be positive, got %s", lease)
	}
	var out []Job
	err := s.write(ctx, func(tx conn) error {
		rows, err := tx.query(ctx, `UPDATE jobs SET state = 'running', leased_until = ?, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM jobs
				WHERE state IN ('queued', 'running') AND run_after <= ? AND leased_until <= ?
				ORDER BY run_after, id LIMIT ?`+s.d.skipLocked+`)
			RETURNING id, kind, delivery_id, payload, state, attempts, run_after, leased_until, last_error,
				created_at, COALESCE(done_at, 0)`,
			now.Add(lease).UnixMilli(), now.UnixMilli(), now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				j                                 Job
				runAfter, leased, created, doneAt int64
			)
			if err := rows.Scan(&j.ID, &j.Kind, &j.DeliveryID, &j.Payload, &j.State, &j.Attempts, &runAfter,
				&leased, &j.LastError, &created, &doneAt); err != nil {
				return err
			}
			j.RunAfter, j.LeasedUntil = fromMillis(runAfter), fromMillis(leased)
			j.CreatedAt, j.DoneAt = fromMillis(created), fromMillis(doneAt)
			out = append(out, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim jobs: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// JobDone marks a running job done at the given time and ends its lease.
// The payload is dropped: a webhook body carries commit messages and pull
// request text, where people paste secrets, and a done job needs none of it.
func (s *Store) JobDone(ctx context.Context, id int64, at time.Time) error {
	err := s.write(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE jobs SET state = 'done', done_at = ?, leased_until = 0, payload = ?
			WHERE id = ? AND state = 'running'`, millis(at), []byte{}, id)
		if err != nil {
			return err
		}
		return oneRow(res, ErrNoJob)
	})
	if err != nil {
		return fmt.Errorf("store: job %d done: %w", id, err)
	}
	return nil
}

// JobFailed records a failed attempt: it keeps the reason and ends the
// lease. The job is queued again, due at retryAt, or, if final, failed for
// good, retryAt then being the time it ended.
func (s *Store) JobFailed(ctx context.Context, id int64, reason string, retryAt time.Time, final bool) error {
	q := `UPDATE jobs SET state = 'queued', run_after = ?, last_error = ?, leased_until = 0
		WHERE id = ? AND state = 'running'`
	if final {
		// Failed for good: the payload goes too (see JobDone).
		q = `UPDATE jobs SET state = 'failed', done_at = ?, last_error = ?, leased_until = 0, payload = ?
		WHERE id = ? AND state = 'running'`
	}
	args := []any{millis(retryAt), text(reason), id}
	if final {
		args = []any{millis(retryAt), text(reason), []byte{}, id}
	}
	err := s.write(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, q, args...)
		if err != nil {
			return err
		}
		return oneRow(res, ErrNoJob)
	})
	if err != nil {
		return fmt.Errorf("store: job %d failed: %w", id, err)
	}
	return nil
}

// JobCounts counts the jobs in each state; every state is in the map,
// with 0 if no job is in it.
func (s *Store) JobCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{JobStateQueued: 0, JobStateRunning: 0, JobStateDone: 0, JobStateFailed: 0}
	rows, err := s.conn().query(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: job counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: job counts: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: job counts: %w", err)
	}
	return out, nil
}
