package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

// RecordPush writes a push, its findings, a bypass per finding fingerprint
// when the push was bypassed, and its alerts, in one transaction: either all
// of it is stored or none of it is. It returns the new push's id; the
// alerts are stored with that push id whatever their PushID says.
func (s *Store) RecordPush(ctx context.Context, p Push, findings []scan.Finding, alerts []Alert) (int64, error) {
	updates, err := json.Marshal(nonNil(p.Updates))
	if err != nil {
		return 0, fmt.Errorf("store: record push: %w", err)
	}
	unscanned, err := json.Marshal(nonNil(p.Unscanned))
	if err != nil {
		return 0, fmt.Errorf("store: record push: %w", err)
	}
	at := p.At
	if at.IsZero() {
		at = time.Now()
	}
	var id int64
	err = s.write(ctx, func(tx conn) error {
		if p.EventID != "" {
			var seen int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM pushes WHERE event_id = ?`, p.EventID).Scan(&seen); err != nil {
				return fmt.Errorf("push: %w", err)
			}
			if seen > 0 {
				return ErrDuplicateEvent
			}
		}
		var eventID any // NULL when not set: the unique index ignores NULLs
		if p.EventID != "" {
			eventID = text(p.EventID)
		}
		if err := tx.queryRow(ctx, `INSERT INTO pushes
			(repo, pusher, source, at, updates, verdict, reason, commits, duration_ms, unscanned, event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			text(p.Repo), text(p.Pusher), text(p.Source), millis(at), string(updates), string(p.Verdict), text(p.Reason),
			p.Commits, p.Duration.Milliseconds(), string(unscanned), eventID).Scan(&id); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		for _, c := range p.ScannedCommits {
			if _, err := tx.exec(ctx, `INSERT INTO scanned_commits (repo, commit_id, push_id) VALUES (?, ?, ?)
				ON CONFLICT (repo, commit_id) DO NOTHING`, text(p.Repo), c, id); err != nil {
				return fmt.Errorf("scanned commits: %w", err)
			}
		}
		if err := insertFindings(ctx, tx, id, findings); err != nil {
			return err
		}
		if p.Verdict == VerdictBypassed {
			if err := insertBypasses(ctx, tx, id, p, at, findings); err != nil {
				return err
			}
		}
		if s.beforeAlerts != nil {
			if err := s.beforeAlerts(ctx); err != nil {
				return err
			}
		}
		return insertAlerts(ctx, tx, id, at, alerts)
	})
	if errors.Is(err, ErrDuplicateEvent) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("store: record push to %s: %w", p.Repo, err)
	}
	return id, nil
}

// ErrDuplicateEvent: the push's event was recorded before (a retry).
var ErrDuplicateEvent = errors.New("store: event already recorded")

// Scanned reports which of the commits were scanned before in repo.
func (s *Store) Scanned(ctx context.Context, repo string, commits []string) (map[string]bool, error) {
	out := make(map[string]bool)
	for _, c := range commits {
		var n int
		if err := s.conn().queryRow(ctx, `SELECT count(*) FROM scanned_commits WHERE repo = ? AND commit_id = ?`, text(repo), c).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: scanned commits: %w", err)
		}
		if n > 0 {
			out[c] = true
		}
	}
	return out, nil
}

func insertFindings(ctx context.Context, tx conn, pushID int64, findings []scan.Finding) error {
	if len(findings) == 0 {
		return nil
	}
	stmt, err := tx.prepare(ctx, `INSERT INTO findings
		(push_id, rule_id, severity, commit_id, path, line, col, redacted, fingerprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("finding: %w", err)
	}
	defer stmt.Close()
	for _, f := range findings {
		if _, err := stmt.ExecContext(ctx, pushID, text(f.RuleID), f.Severity.String(), text(f.Commit), text(f.Path),
			f.Line, f.Column, text(f.Redacted), text(f.Fingerprint)); err != nil {
			return fmt.Errorf("finding %s in %s: %w", f.RuleID, f.Path, err)
		}
	}
	return nil
}

// insertBypasses records that the pusher accepted each fingerprint in the
// repository; a fingerprint bypassed before keeps its first record. The
// fingerprints go in sorted order, once each: two pushes bypassing the same
// secrets at once then take their row locks in the same order and cannot
// deadlock on PostgreSQL.
func insertBypasses(ctx context.Context, tx conn, pushID int64, p Push, at time.Time, findings []scan.Finding) error {
	var fps []string
	for _, f := range findings {
		if f.Fingerprint != "" {
			fps = append(fps, text(f.Fingerprint))
		}
	}
	if len(fps) == 0 {
		return nil
	}
	slices.Sort(fps)
	fps = slices.Compact(fps)
	stmt, err := tx.prepare(ctx, `INSERT INTO bypasses (repo, fingerprint, push_id, pusher, reason, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo, fingerprint) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("bypass: %w", err)
	}
	defer stmt.Close()
	for _, fp := range fps {
		if _, err := stmt.ExecContext(ctx, text(p.Repo), fp, pushID, text(p.Pusher), text(p.Reason), millis(at)); err != nil {
			return fmt.Errorf("bypass: %w", err)
		}
	}
	return nil
}

func insertAlerts(ctx context.Context, tx conn, pushID int64, at time.Time, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	stmt, err := tx.prepare(ctx, `INSERT INTO outbox
		(push_id, kind, subject, message, attributes, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("alert: %w", err)
	}
	defer stmt.Close()
	for _, a := range alerts {
		attrs, err := json.Marshal(nonNilMap(a.Attributes))
		if err != nil {
			return fmt.Errorf("alert %q: %w", a.Kind, err)
		}
		created := a.CreatedAt
		if created.IsZero() {
			created = at
		}
		if _, err := stmt.ExecContext(ctx, pushID, text(a.Kind), text(a.Subject), text(a.Message), string(attrs),
			millis(created), millis(created)); err != nil {
			return fmt.Errorf("alert %q: %w", a.Kind, err)
		}
	}
	return nil
}

// Bypassed says which of the fingerprints were already accepted by a bypass
// in the repository. Fingerprints not bypassed are absent from the map.
func (s *Store) Bypassed(ctx context.Context, repo string, fingerprints []string) (map[string]bool, error) {
	out := make(map[string]bool)
	const chunk = 500 // well under SQLite's (and PostgreSQL's) limit on bound parameters
	for start := 0; start < len(fingerprints); start += chunk {
		part := fingerprints[start:min(start+chunk, len(fingerprints))]
		args := make([]any, 0, len(part)+1)
		args = append(args, text(repo))
		for _, fp := range part {
			args = append(args, text(fp))
		}
		q := `SELECT fingerprint FROM bypasses WHERE repo = ? AND fingerprint IN (?` +
			strings.Repeat(", ?", len(part)-1) + `)`
		rows, err := s.conn().query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: bypasses in %s: %w", repo, err)
		}
		for rows.Next() {
			var fp string
			if err := rows.Scan(&fp); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: bypasses in %s: %w", repo, err)
			}
			out[fp] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: bypasses in %s: %w", repo, err)
		}
	}
	return out, nil
}

// Pushes lists recorded pushes, newest first; limit <= 0 lists them all.
// Times come back in UTC, to the millisecond.
func (s *Store) Pushes(ctx context.Context, limit int) ([]Push, error) {
	q := `SELECT id, repo, pusher, source, at, updates, verdict, reason,
		commits, duration_ms, unscanned FROM pushes ORDER BY at DESC, id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.conn().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pushes: %w", err)
	}
	defer rows.Close()
	var out []Push
	for rows.Next() {
		var (
			p                  Push
			at, durationMS     int64
			updates, unscanned string
			verdict            string
		)
		if err := rows.Scan(&p.ID, &p.Repo, &p.Pusher, &p.Source, &at, &updates, &verdict, &p.Reason,
			&p.Commits, &durationMS, &unscanned); err != nil {
			return nil, fmt.Errorf("store: pushes: %w", err)
		}
		p.At = fromMillis(at)
		p.Verdict = Verdict(verdict)
		p.Duration = time.Duration(durationMS) * time.Millisecond
		if err := json.Unmarshal([]byte(updates), &p.Updates); err != nil {
			return nil, fmt.Errorf("store: push %d: updates: %w", p.ID, err)
		}
		if err := json.Unmarshal([]byte(unscanned), &p.Unscanned); err != nil {
			return nil, fmt.Errorf("store: push %d: unscanned: %w", p.ID, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pushes: %w", err)
	}
	return out, nil
}

// Findings lists a push's findings in the order they were recorded.
func (s *Store) Findings(ctx context.Context, pushID int64) ([]Finding, error) {
	rows, err := s.conn().query(ctx, `SELECT push_id, rule_id, severity, commit_id, path, line, col,
		redacted, fingerprint FROM findings WHERE push_id = ? ORDER BY id`, pushID)
	if err != nil {
		return nil, fmt.Errorf("store: findings of push %d: %w", pushID, err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		if err := rows.Scan(&f.PushID, &f.RuleID, &f.Severity, &f.Commit, &f.Path, &f.Line, &f.Column,
			&f.Redacted, &f.Fingerprint); err != nil {
			return nil, fmt.Errorf("store: findings of push %d: %w", pushID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: findings of push %d: %w", pushID, err)
	}
	return out, nil
}

func nonNil(u []RefUpdate) []RefUpdate {
	if u == nil {
		return []RefUpdate{}
	}
	return u
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
