package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrNoAlert is returned when an alert id names no undelivered alert.
var ErrNoAlert = errors.New("no such undelivered alert")

// ClaimAlerts leases up to limit alerts that are due at now (undelivered,
// next attempt not in the future, not leased by anyone else) to the caller
// until now+lease, oldest first. Concurrent callers, in this process or
// another, never get the same alert while its lease runs; an alert whose
// lease expired (its deliverer died) can be claimed again. The caller ends
// each lease with AlertDelivered or AlertFailed.
func (s *Store) ClaimAlerts(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Alert, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("store: claim alerts: lease must be positive, got %s", lease)
	}
	var out []Alert
	err := s.write(ctx, func(tx conn) error {
		rows, err := tx.query(ctx, `UPDATE outbox SET leased_until = ?
			WHERE id IN (
				SELECT id FROM outbox
				WHERE delivered_at IS NULL AND next_attempt_at <= ? AND leased_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?`+s.d.skipLocked+`)
			RETURNING id, COALESCE(push_id, 0), kind, subject, message, attributes, created_at, attempts, last_error`,
			now.Add(lease).UnixMilli(), now.UnixMilli(), now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				a       Alert
				attrs   string
				created int64
			)
			if err := rows.Scan(&a.ID, &a.PushID, &a.Kind, &a.Subject, &a.Message, &attrs, &created,
				&a.Attempts, &a.LastError); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(attrs), &a.Attributes); err != nil {
				return fmt.Errorf("alert %d: attributes: %w", a.ID, err)
			}
			a.CreatedAt = fromMillis(created)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim alerts: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AlertDelivered marks an alert sent at the given time and ends its lease.
func (s *Store) AlertDelivered(ctx context.Context, id int64, at time.Time) error {
	err := s.write(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE outbox SET delivered_at = ?, leased_until = 0
			WHERE id = ? AND delivered_at IS NULL`, millis(at), id)
		if err != nil {
			return err
		}
		return oneRow(res, ErrNoAlert)
	})
	if err != nil {
		return fmt.Errorf("store: alert %d delivered: %w", id, err)
	}
	return nil
}

// AlertFailed records a failed send: it counts the attempt, keeps the
// reason, ends the lease and makes the alert due again at retryAt.
func (s *Store) AlertFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error {
	err := s.write(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE outbox
			SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, leased_until = 0
			WHERE id = ? AND delivered_at IS NULL`, text(reason), millis(retryAt), id)
		if err != nil {
			return err
		}
		return oneRow(res, ErrNoAlert)
	})
	if err != nil {
		return fmt.Errorf("store: alert %d failed: %w", id, err)
	}
	return nil
}

// PendingAlerts counts the alerts not yet delivered, due or not.
func (s *Store) PendingAlerts(ctx context.Context) (int, error) {
	var n int
	if err := s.conn().queryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending alerts: %w", err)
	}
	return n, nil
}

// oneRow returns none if the statement changed no row.
func oneRow(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}
