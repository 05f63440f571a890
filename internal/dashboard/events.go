package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/internal/compliance"
)

// EventQuery picks the CloudTrail events behind a number.
type EventQuery struct {
	Window    compliance.Window
	Secret    string // secret ID (ARN without suffix)
	Principal string
	Session   string
	Kind      string // a compliance.Kinds name, or "" for all
	Offset    int
	Limit     int
}

// Event is one normalised CloudTrail event, as the events page lists it.
// It holds names and ARNs only: CloudTrail never logs a secret's value,
// and ingest keeps no request or response bodies.
type Event struct {
	ID, Time, Source, Name, Region, Account string
	Principal, PrincipalType, Session       string
	MFA                                     bool
	SourceIP, UserAgent                     string
	Secret, Key, Parameter                  string
	ErrorCode, ErrorMessage                 string
	File                                    string
}

// countCap is where Events stops counting.
const countCap = 10000

// Events lists the events q picks, oldest first, and how many there are
// (countCap+1 for "more than countCap").
func (d *Data) Events(ctx context.Context, q EventQuery) ([]Event, int, error) {
	cond, ok := compliance.Kinds[q.Kind]
	if !ok && q.Kind != "" && q.Kind != "all" {
		return nil, 0, fmt.Errorf("kind %q: want read, denied, rotation, deleted, break-glass or all", q.Kind)
	}
	where := []string{"event_time >= :from", "event_time < :to"}
	if cond != "" {
		where = append(where, cond)
	}
	if q.Secret != "" {
		where = append(where, compliance.OnSecret("", ":secret"))
	}
	if q.Principal != "" {
		where = append(where, "principal = :principal")
	}
	if q.Session != "" {
		where = append(where, "session_name = :session")
	}
	args := []any{
		sql.Named("from", q.Window.From.UnixMilli()), sql.Named("to", q.Window.To.UnixMilli()),
		sql.Named("secret", q.Secret), sql.Named("principal", q.Principal), sql.Named("session", q.Session),
		sql.Named("limit", q.Limit), sql.Named("offset", q.Offset),
	}
	w := strings.Join(where, " AND ")
	// Counting stops at countCap: a week's reads run to hundreds of
	// thousands, and nobody pages through them.
	var total int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE `+w+` LIMIT `+strconv.Itoa(countCap+1)+`)`, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting events: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `
		SELECT event_id, strftime('%Y-%m-%dT%H:%M:%SZ', event_time / 1000, 'unixepoch'), event_source, event_name, region,
		       account_id, principal, principal_type, session_name, mfa, source_ip, user_agent, secret_id, key_id,
		       parameter_name, error_code, error_message, (SELECT path FROM files WHERE id = file_id)
		FROM events WHERE `+w+`
		ORDER BY event_time, event_id LIMIT :limit OFFSET :offset`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.Time, &e.Source, &e.Name, &e.Region, &e.Account, &e.Principal, &e.PrincipalType,
			&e.Session, &e.MFA, &e.SourceIP, &e.UserAgent, &e.Secret, &e.Key, &e.Parameter, &e.ErrorCode,
			&e.ErrorMessage, &e.File); err != nil {
			return nil, 0, fmt.Errorf("listing events: %w", err)
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}
