package dashboard

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/store"
)

// Data answers the pages' questions from the dashboard's database (and
// the gate's store, when there is one). Report results are kept until
// the database changes: a page shows the same tables many times a
// Monday, and the events only change on ingest.
type Data struct {
	db    *sql.DB
	store *store.Store // nil: no gate table

	mu      sync.Mutex
	cache   map[cacheKey]*result // the latest complete result, or the first being computed
	pending map[cacheKey]*result // a newer result being computed while cache serves the old
	used    map[[2]int64]int64   // when each window was last asked for, by a counter
	tick    int64
}

// maxWindows bounds the windows whose results are kept: a signed-in user
// may ask for any week, and each costs its reports' tables in memory.
const maxWindows = 32

type cacheKey struct {
	report string
	from   int64
	to     int64
}

// result is one report's table for one stamp of the database; ready is
// closed when it is computed, so concurrent requests wait for one query.
type result struct {
	stamp string
	ready chan struct{}
	table *compliance.Table
	err   error
}

// NewData answers from db; st may be nil.
func NewData(db *sql.DB, st *store.Store) *Data {
	return &Data{db: db, store: st, cache: map[cacheKey]*result{}, pending: map[cacheKey]*result{}, used: map[[2]int64]int64{}}
}

// stamp changes whenever events are ingested or an inventory imported:
// the newest rowid of each table and the tables' existence.
func (d *Data) stamp(ctx context.Context) (string, error) {
	var s string
	err := d.db.QueryRowContext(ctx, `
		SELECT (SELECT coalesce(max(rowid), 0) FROM events) || '/' ||
		       coalesce((SELECT group_concat(name) FROM sqlite_master WHERE type = 'table' AND name IN ('secrets', 'keys')), '')`).Scan(&s)
	if err != nil {
		return "", fmt.Errorf("reading the database: %w", err)
	}
	if strings.Contains(s, "secrets") {
		var n string
		if err := d.db.QueryRowContext(ctx, `SELECT coalesce(max(imported_at), 0) || '/' || count(*) FROM secrets`).Scan(&n); err != nil {
			return "", fmt.Errorf("reading the inventory: %w", err)
		}
		s += "/" + n
	}
	if strings.Contains(s, "keys") {
		var n string
		if err := d.db.QueryRowContext(ctx, `SELECT coalesce(max(imported_at), 0) || '/' || count(*) FROM keys`).Scan(&n); err != nil {
			return "", fmt.Errorf("reading the key inventory: %w", err)
		}
		s += "/" + n
	}
	return s, nil
}

// Table is r over w, from the cache when the database has not changed.
// When it has (an ingest, an import), the previous result is returned at
// once while the new one is computed in the background, and Refreshing
// says so: a page never waits seconds for reports over millions of
// events, except the very first time a window is asked for.
func (d *Data) Table(ctx context.Context, r *compliance.Report, w compliance.Window) (*compliance.Table, error) {
	stamp, err := d.stamp(ctx)
	if err != nil {
		return nil, err
	}
	k := cacheKey{r.Name, w.From.UnixMilli(), w.To.UnixMilli()}
	d.mu.Lock()
	d.touch(k)
	res := d.cache[k]
	switch {
	case res != nil && res.stamp == stamp:
		// current, or being computed: wait for it below
	case res != nil && res.done() && res.err == nil:
		if d.pending[k] == nil {
			next := &result{stamp: stamp, ready: make(chan struct{})}
			d.pending[k] = next
			go d.compute(context.WithoutCancel(ctx), k, next, r, w)
		}
		d.mu.Unlock()
		return res.table, nil
	default:
		res = &result{stamp: stamp, ready: make(chan struct{})}
		d.cache[k] = res
		go d.compute(context.WithoutCancel(ctx), k, res, r, w)
	}
	d.mu.Unlock()
	select {
	case <-res.ready:
		return res.table, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// compute runs a report into res and files it under k. It runs on its
// own: a closed browser tab must not cancel a result others wait for.
func (d *Data) compute(ctx context.Context, k cacheKey, res *result, r *compliance.Report, w compliance.Window) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res.table, res.err = compliance.Run(ctx, compliance.SQLite{DB: d.db}, r, w)
	close(res.ready)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending[k] == res {
		delete(d.pending, k)
		if res.err == nil {
			d.cache[k] = res
		}
	} else if res.err != nil && d.cache[k] == res {
		delete(d.cache, k)
	}
}

// touch notes that k's window is in use and, past maxWindows, forgets the
// results of the window used least lately. d.mu is held.
func (d *Data) touch(k cacheKey) {
	d.tick++
	d.used[[2]int64{k.from, k.to}] = d.tick
	if len(d.used) <= maxWindows {
		return
	}
	var oldest [2]int64
	least := d.tick
	for w, t := range d.used {
		if t < least {
			oldest, least = w, t
		}
	}
	delete(d.used, oldest)
	for ck, res := range d.cache {
		if ck.from == oldest[0] && ck.to == oldest[1] && res.done() {
			delete(d.cache, ck)
		}
	}
}

// Refreshing says whether reports are being recomputed after the
// database changed, so that pages may show figures from before it.
func (d *Data) Refreshing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) > 0
}

func (r *result) done() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}

// Tables runs reports side by side.
func (d *Data) Tables(ctx context.Context, w compliance.Window, reports ...*compliance.Report) ([]*compliance.Table, error) {
	out := make([]*compliance.Table, len(reports))
	errs := make([]error, len(reports))
	var wg sync.WaitGroup
	for i, r := range reports {
		wg.Go(func() { out[i], errs[i] = d.Table(ctx, r, w) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Evidence is the week's evidence as the weekly report has it: every
// report the database can give, and the gate's table.
func (d *Data) Evidence(ctx context.Context, w compliance.Window) ([]*compliance.Table, error) {
	reports, missing := compliance.Local(ctx, d.db)
	tables, err := d.Tables(ctx, w, reports...)
	if err != nil {
		return nil, err
	}
	if d.store != nil {
		g, err := d.Gate(ctx, w)
		if err != nil {
			return nil, err
		}
		tables = append(tables, g)
	} else {
		missing = append(missing, "no gate record (serve --store): the pushes the gate blocked and bypassed are left out")
	}
	return compliance.WithCaveats(ctx, compliance.SQLite{DB: d.db}, w, tables, missing)
}

// Gate is the gate's table for w; nil without a store.
func (d *Data) Gate(ctx context.Context, w compliance.Window) (*compliance.Table, error) {
	if d.store == nil {
		return nil, nil
	}
	acts, err := d.store.Activity(ctx, w.From, w.To)
	if err != nil {
		return nil, fmt.Errorf("reading the gate's store: %w", err)
	}
	return compliance.GateTable(acts, w), nil
}

// HasEvents says whether any event was ingested.
func (d *Data) HasEvents(ctx context.Context) bool {
	var n int
	d.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`).Scan(&n)
	return n > 0
}

// HasInventory says whether a secret inventory was imported.
func (d *Data) HasInventory(ctx context.Context) bool {
	var n int
	d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'secrets'`).Scan(&n)
	return n > 0
}

// Secret is what the inventory says of one secret.
type Secret struct {
	ID, Name, ARN, Region, Account string
	Service, Environment, Team     string
	RotationEnabled                bool
	RotationDays                   sql.NullInt64
	Schedule                       string
	LastRotated, LastAccessed      sql.NullInt64
	NextRotation                   sql.NullInt64
	KMSKey                         string
	Deleted                        bool
	DeletedDate                    sql.NullInt64
	Tags                           string
}

// Inventory is the imported secrets by secret ID; empty without one.
func (d *Data) Inventory(ctx context.Context) (map[string]Secret, error) {
	out := map[string]Secret{}
	if !d.HasInventory(ctx) {
		return out, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT secret_id, name, arn, region, account_id, service, environment,
		coalesce(json_extract(tags, '$.team'), json_extract(tags, '$.Team'), ''),
		rotation_enabled, rotation_days, rotation_schedule, last_rotated, last_accessed, next_rotation,
		kms_key_id, deleted, deleted_date, tags FROM secrets`)
	if err != nil {
		return nil, fmt.Errorf("reading the inventory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Secret
		if err := rows.Scan(&s.ID, &s.Name, &s.ARN, &s.Region, &s.Account, &s.Service, &s.Environment, &s.Team,
			&s.RotationEnabled, &s.RotationDays, &s.Schedule, &s.LastRotated, &s.LastAccessed, &s.NextRotation,
			&s.KMSKey, &s.Deleted, &s.DeletedDate, &s.Tags); err != nil {
			return nil, fmt.Errorf("reading the inventory: %w", err)
		}
		out[s.ID] = s
	}
	return out, rows.Err()
}

// Weeks lists the ISO weeks that hold events, newest first (two years
// at most); none for an empty database.
func (d *Data) Weeks(ctx context.Context) ([]string, error) {
	var lo, hi sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT (SELECT min(event_time) FROM events), (SELECT max(event_time) FROM events)`).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("reading the database: %w", err)
	}
	if !lo.Valid {
		return nil, nil
	}
	first := weekOf(time.UnixMilli(lo.Int64)).From
	var weeks []string
	for m := weekOf(time.UnixMilli(hi.Int64)).From; !m.Before(first) && len(weeks) < 104; m = m.AddDate(0, 0, -7) {
		weeks = append(weeks, weekName(m))
	}
	return weeks, nil
}

// weekOf is the ISO week holding t.
func weekOf(t time.Time) compliance.Window {
	next := compliance.LastWeek(t.AddDate(0, 0, 7))
	return next
}

func weekName(t time.Time) string {
	y, n := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, n)
}

// SecretDaily is one secret's successful reads and denied attempts per day
// of w, counted over the events Events lists for it, as a table shaped like
// compliance.Daily's.
func (d *Data) SecretDaily(ctx context.Context, secret string, w compliance.Window) (*compliance.Table, error) {
	rows, err := d.db.QueryContext(ctx, `
		SELECT strftime('%Y-%m-%d', event_time / 1000, 'unixepoch'),
		       sum(`+compliance.Kinds["read"]+`), sum(`+compliance.Kinds["denied"]+`)
		FROM events WHERE `+compliance.OnSecret("", "?")+` AND event_time >= ? AND event_time < ?
		GROUP BY 1`, secret, w.From.UnixMilli(), w.To.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("reading the secret's events: %w", err)
	}
	defer rows.Close()
	var days [][]string
	for rows.Next() {
		var day string
		var reads, denied int
		if err := rows.Scan(&day, &reads, &denied); err != nil {
			return nil, fmt.Errorf("reading the secret's events: %w", err)
		}
		days = append(days, []string{day, fmt.Sprint(reads), fmt.Sprint(denied)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return &compliance.Table{Report: compliance.Daily, Window: w, Columns: compliance.Daily.Columns,
		Rows: compliance.FillDays(days, w, compliance.Daily.Missing, time.Now())}, nil
}
