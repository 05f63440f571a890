// Package inventory keeps the dashboard's list of secrets: what Secrets
// Manager says about each one (rotation, its interval, last rotation and
// access, KMS key, tags, planned deletion), in the `secrets` table of the
// dashboard database, keyed by the same secret identity as the events
// (cloudtrail.SecretID) so that the two join.
//
// It fills the table from the JSON that `aws secretsmanager list-secrets`
// prints (Import) or from the API itself (Live).
package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
)

// Schema is the secrets table. The cloudtrail package's migrations are
// embedded and closed to other packages, so the table is created here,
// idempotently, by whoever writes to it first.
//
// Times are Unix milliseconds (UTC), NULL when Secrets Manager gives none;
// flags are 0/1; absent text is ”.
const Schema = `CREATE TABLE IF NOT EXISTS secrets (
	secret_id         TEXT    PRIMARY KEY, -- cloudtrail.SecretID: the ARN without its random suffix
	name              TEXT    NOT NULL,
	arn               TEXT    NOT NULL,    -- as Secrets Manager gives it, with the suffix
	region            TEXT    NOT NULL,
	account_id        TEXT    NOT NULL,
	rotation_enabled  INTEGER NOT NULL CHECK (rotation_enabled IN (0, 1)),
	rotation_days     INTEGER,             -- AutomaticallyAfterDays or rate(N days); NULL for cron, hours or none
	rotation_schedule TEXT    NOT NULL,    -- ScheduleExpression as given ('' when none)
	last_rotated      INTEGER,
	last_accessed     INTEGER,             -- Secrets Manager keeps the day only
	next_rotation     INTEGER,
	kms_key_id        TEXT    NOT NULL,    -- '' = the AWS managed key aws/secretsmanager
	deleted           INTEGER NOT NULL CHECK (deleted IN (0, 1)), -- deletion scheduled
	deleted_date      INTEGER,
	tags              TEXT    NOT NULL,    -- JSON object {key: value}
	service           TEXT    NOT NULL,    -- tag service, else team (any case)
	environment       TEXT    NOT NULL,    -- tag environment, else env (any case)
	imported_at       INTEGER NOT NULL
)`

// Secret is one secret of the inventory, as stored.
type Secret struct {
	ID               string // cloudtrail.SecretID of the ARN
	Name, ARN        string
	Region, Account  string
	RotationEnabled  bool
	RotationDays     int // 0 when unknown: a cron schedule, hours, or no rules
	RotationSchedule string
	LastRotated      time.Time // zero when absent
	LastAccessed     time.Time
	NextRotation     time.Time
	KMSKeyID         string // "" for the AWS managed key aws/secretsmanager
	Deleted          bool
	DeletedDate      time.Time
	Tags             map[string]string
	Service          string
	Environment      string
}

// entry is one element of SecretList as the CLI prints it.
type entry struct {
	ARN             string
	Name            string
	KmsKeyId        string
	RotationEnabled bool
	RotationRules   *struct {
		AutomaticallyAfterDays int64
		ScheduleExpression     string
	}
	LastRotatedDate  cliTime
	LastAccessedDate cliTime
	NextRotationDate cliTime
	DeletedDate      cliTime
	Tags             []struct{ Key, Value string }
}

// cliTime is a date as the CLI prints it: an ISO 8601 string (CLI v2) or
// epoch seconds, a number (CLI v1, the wire format) or a string of one.
type cliTime struct{ time.Time }

func (t *cliTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

var layouts = []string{
	time.RFC3339Nano,                      // 2026-01-10T08:00:00.123000+00:00, …Z
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00", // a space for the T
	"2006-01-02 15:04:05.999999999",
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return time.Time{}, fmt.Errorf("date %q: epoch seconds out of range", s)
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond).UTC(), nil
	}
	for _, l := range layouts {
		if v, err := time.Parse(l, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: neither ISO 8601 nor epoch seconds", s)
}

func (e *entry) secret() (Secret, error) {
	s := Secret{
		Name:            e.Name,
		ARN:             e.ARN,
		RotationEnabled: e.RotationEnabled,
		LastRotated:     e.LastRotatedDate.Time,
		LastAccessed:    e.LastAccessedDate.Time,
		NextRotation:    e.NextRotationDate.Time,
		DeletedDate:     e.DeletedDate.Time,
		Deleted:         !e.DeletedDate.IsZero(),
		KMSKeyID:        kmsKey(e.KmsKeyId),
		Tags:            map[string]string{},
	}
	if e.RotationRules != nil {
		s.RotationSchedule = e.RotationRules.ScheduleExpression
		s.RotationDays = rotationDays(e.RotationRules.AutomaticallyAfterDays, s.RotationSchedule)
	}
	if s.ARN == "" {
		return s, fmt.Errorf("secret %q: no ARN", e.Name)
	}
	s.ID = cloudtrail.SecretID(s.ARN, "", "")
	if f := strings.Split(s.ARN, ":"); len(f) >= 7 && f[2] == "secretsmanager" {
		s.Region, s.Account = f[3], f[4]
		if s.Name == "" {
			s.Name = s.ID[strings.Index(s.ID, ":secret:")+len(":secret:"):]
		}
	} else {
		return s, fmt.Errorf("secret %q: %q is not a Secrets Manager ARN", e.Name, s.ARN)
	}
	for _, t := range e.Tags {
		s.Tags[t.Key] = t.Value
	}
	s.Service = tag(s.Tags, "service", "team")
	s.Environment = tag(s.Tags, "environment", "env")
	return s, nil
}

// kmsKey is the key ID with the AWS managed key, however named, as "".
func kmsKey(k string) string {
	if k == "alias/aws/secretsmanager" || strings.HasSuffix(k, ":alias/aws/secretsmanager") {
		return ""
	}
	return k
}

// rotationDays is the rotation interval in days: AutomaticallyAfterDays,
// else N of a rate(N days) schedule; 0 for a cron schedule, rate(N hours)
// or no rules.
func rotationDays(after int64, schedule string) int {
	schedule = strings.TrimSpace(schedule)
	if strings.HasPrefix(schedule, "cron(") {
		return 0
	}
	if after > 0 {
		return int(after)
	}
	inner, ok := strings.CutPrefix(schedule, "rate(")
	if !ok {
		return 0
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return 0
	}
	num, unit, _ := strings.Cut(strings.TrimSpace(inner), " ")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0
	}
	if u := strings.TrimSpace(unit); u != "day" && u != "days" {
		return 0
	}
	return n
}

// tag is the value of the first of names present among tags, matching
// keys in any case.
func tag(tags map[string]string, names ...string) string {
	for _, n := range names {
		for k, v := range tags {
			if strings.EqualFold(k, n) {
				return v
			}
		}
	}
	return ""
}

// writer upserts secrets in one transaction.
type writer struct {
	tx   *sql.Tx
	stmt *sql.Stmt
	now  int64
	n    int
}

func begin(ctx context.Context, db *sql.DB) (*writer, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if _, err := tx.ExecContext(ctx, Schema); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("inventory: create secrets table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO secrets (secret_id, name, arn, region, account_id,
		rotation_enabled, rotation_days, rotation_schedule, last_rotated, last_accessed, next_rotation,
		kms_key_id, deleted, deleted_date, tags, service, environment, imported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (secret_id) DO UPDATE SET name = excluded.name, arn = excluded.arn,
		region = excluded.region, account_id = excluded.account_id,
		rotation_enabled = excluded.rotation_enabled, rotation_days = excluded.rotation_days,
		rotation_schedule = excluded.rotation_schedule, last_rotated = excluded.last_rotated,
		last_accessed = excluded.last_accessed, next_rotation = excluded.next_rotation,
		kms_key_id = excluded.kms_key_id, deleted = excluded.deleted, deleted_date = excluded.deleted_date,
		tags = excluded.tags, service = excluded.service, environment = excluded.environment,
		imported_at = excluded.imported_at`)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return &writer{tx: tx, stmt: stmt, now: time.Now().UnixMilli()}, nil
}

func (w *writer) put(ctx context.Context, s Secret) error {
	tags, err := json.Marshal(s.Tags) // keys sorted: the same tags, the same text
	if err != nil {
		return err
	}
	var days any
	if s.RotationDays > 0 {
		days = s.RotationDays
	}
	if _, err := w.stmt.ExecContext(ctx, s.ID, s.Name, s.ARN, s.Region, s.Account,
		flag(s.RotationEnabled), days, s.RotationSchedule, ms(s.LastRotated), ms(s.LastAccessed), ms(s.NextRotation),
		s.KMSKeyID, flag(s.Deleted), ms(s.DeletedDate), string(tags), s.Service, s.Environment, w.now); err != nil {
		return fmt.Errorf("inventory: %s: %w", s.ID, err)
	}
	w.n++
	return nil
}

func (w *writer) commit() (int, error) {
	w.stmt.Close()
	if err := w.tx.Commit(); err != nil {
		return 0, fmt.Errorf("inventory: %w", err)
	}
	return w.n, nil
}

func (w *writer) rollback() { w.stmt.Close(); w.tx.Rollback() }

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

var errNoList = errors.New(`no "SecretList" array`)

// Secrets reads the inventory back, ordered by secret ID.
func Secrets(ctx context.Context, db *sql.DB) ([]Secret, error) {
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return nil, fmt.Errorf("inventory: create secrets table: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT secret_id, name, arn, region, account_id, rotation_enabled,
		COALESCE(rotation_days, 0), rotation_schedule, last_rotated, last_accessed, next_rotation,
		kms_key_id, deleted, deleted_date, tags, service, environment FROM secrets ORDER BY secret_id`)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer rows.Close()
	var out []Secret
	for rows.Next() {
		var s Secret
		var rotated, accessed, next, deleted sql.NullInt64
		var tags string
		if err := rows.Scan(&s.ID, &s.Name, &s.ARN, &s.Region, &s.Account, &s.RotationEnabled,
			&s.RotationDays, &s.RotationSchedule, &rotated, &accessed, &next,
			&s.KMSKeyID, &s.Deleted, &deleted, &tags, &s.Service, &s.Environment); err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		s.LastRotated, s.LastAccessed, s.NextRotation, s.DeletedDate = unms(rotated), unms(accessed), unms(next), unms(deleted)
		if err := json.Unmarshal([]byte(tags), &s.Tags); err != nil {
			return nil, fmt.Errorf("inventory: %s: tags: %w", s.ID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return out, nil
}

func unms(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
