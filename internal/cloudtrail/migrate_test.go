package cloudtrail

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

// rowsOf reads every event with its file's path, in event_id order.
func rowsOf(t *testing.T, db *sql.DB, cols string) [][]any {
	t.Helper()
	rows, err := db.Query(`SELECT ` + cols + ` FROM events ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ct, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(ct))
		ptrs := make([]any, len(ct))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const v3Columns = `event_id, event_time, event_source, event_name, region, account_id, principal, principal_type,
	session_name, mfa, source_ip, user_agent, secret_id, key_id, parameter_name, error_code, error_message, is_read, via`

// A database of schema version 3 (the path in every row, notable worked
// out by the index) migrates to the same rows a fresh ingest writes: the
// migration's SQL and ingest's Go agree on which events are notable.
func TestMigrationToLeanEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	trail := filepath.Join(dir, "trail")
	if _, err := gen.Write(trail, gen.Config{Seed: 5, Days: 3, Events: 4000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	fresh, err := Open(ctx, filepath.Join(dir, "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Ingest(ctx, []string{"testdata", trail}, Options{}); err != nil {
		t.Fatal(err)
	}
	withPath := v3Columns + `, notable, (SELECT path FROM files WHERE id = file_id)`
	want := rowsOf(t, fresh.SQL(), withPath)
	notables := 0
	for _, r := range want {
		if r[19].(int64) == 1 {
			notables++
		}
	}
	if notables == 0 || notables == len(want) {
		t.Fatalf("%d of %d events notable: the test proves nothing", notables, len(want))
	}

	// version 3, filled with the same events
	old, err := sql.Open("sqlite3", dsn(filepath.Join(dir, "old.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:3] {
		if _, err := old.Exec(m.sql); err != nil {
			t.Fatal(m.name, err)
		}
		if _, err := old.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`ATTACH DATABASE ? AS fresh`, filepath.Join(dir, "fresh.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO events (` + v3Columns + `, file)
		SELECT ` + v3Columns + `, (SELECT path FROM fresh.files f WHERE f.id = e.file_id) FROM fresh.events e`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`DETACH DATABASE fresh`); err != nil {
		t.Fatal(err)
	}

	if err := migrate(ctx, old); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, old, withPath)
	if len(got) != len(want) {
		t.Fatalf("%d rows after the migration, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d after the migration:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
	if _, err := old.Exec(`INSERT INTO events (` + v3Columns + `, notable, file_id) SELECT ` + v3Columns + `, notable, file_id FROM events LIMIT 1`); err == nil {
		t.Error("an event written twice after the migration: event_id is no longer unique")
	}
}

func TestNotable(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/"
	tests := []struct {
		e    Event
		want bool
	}{
		{Event{Name: "GetSecretValue", Principal: role + "app"}, false},
		{Event{Name: "RotationFailed", Principal: "secretsmanager.amazonaws.com"}, true},
		{Event{Name: "PutKeyPolicy", Principal: role + "admin"}, true},
		{Event{Name: "GetSecretValue", Principal: role + "app", ErrorCode: "AccessDenied"}, true},
		{Event{Name: "GetSecretValue", Principal: role + "break-glass"}, true},
		{Event{Name: "GetSecretValue", Principal: role + "ops/Break-Glass-admin"}, true},
		{Event{Name: "GetSecretValue", Principal: "arn:aws:iam::111122223333:ROLE/BREAK-GLASS"}, true},
		{Event{Name: "GetSecretValue", Principal: "arn:aws:iam::111122223333:user/break-glass"}, false},
		{Event{Name: "GetSecretValue", Principal: "break-glass:role/x"}, false},
		{Event{Name: "GetSecretValue", Principal: role + "brea\u212a-glass"}, false}, // the Kelvin sign: LIKE folds ASCII only
		{Event{Name: "GetSecretValue", Principal: role + "x\x00break-glass"}, false}, // LIKE stops at a NUL
		{Event{Name: "getsecretvalue", Principal: role + "app"}, false},
		{Event{Name: "rotationfailed", Principal: role + "app"}, false}, // names are matched exactly
	}
	for _, tt := range tests {
		if got := notable(&tt.e); got != tt.want {
			t.Errorf("notable(%s by %s, error %q) = %v, want %v", tt.e.Name, tt.e.Principal, tt.e.ErrorCode, got, tt.want)
		}
	}
}

// A database of schema version 4 migrates to the indexes a new database
// has, with its rows as they were; one that an interrupted first ingest
// left without indexes, and with events written twice, also loses the
// second copies.
func TestMigrationToFewerIndexes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fresh, err := Open(ctx, filepath.Join(dir, "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Ingest(ctx, []string{"testdata"}, Options{}); err != nil {
		t.Fatal(err)
	}
	const cols = v3Columns + `, notable, file_id`
	want := rowsOf(t, fresh.SQL(), cols)
	wantIndexes := eventIndexes(t, fresh)
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}

	for _, interrupted := range []bool{false, true} {
		old, err := sql.Open("sqlite3", dsn(filepath.Join(dir, fmt.Sprintf("v4-%v.db", interrupted))))
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		old.SetMaxOpenConns(1) // the ATTACH holds for one connection
		setup := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
		for _, m := range ms[:4] {
			setup = append(setup, m.sql, fmt.Sprintf(`INSERT INTO schema_migrations VALUES (%d, '%s', 0)`, m.version, m.name))
		}
		if interrupted { // as deferIndexes leaves it
			setup = append(setup, `INSERT INTO deferred_indexes (name, sql) SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL`,
				`DROP INDEX events_event_id`, `DROP INDEX events_time`, `DROP INDEX events_secret_time`, `DROP INDEX events_notable`)
		}
		setup = append(setup, `ATTACH DATABASE '`+filepath.Join(dir, "fresh.db")+`' AS fresh`,
			`INSERT INTO files SELECT * FROM fresh.files`,
			`INSERT INTO events (`+cols+`) SELECT `+cols+` FROM fresh.events`)
		if interrupted {
			setup = append(setup, `INSERT INTO events (`+cols+`) SELECT `+cols+` FROM fresh.events WHERE rowid % 3 = 0`)
		}
		setup = append(setup, `DETACH DATABASE fresh`)
		for _, s := range setup {
			if _, err := old.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}

		if err := migrate(ctx, old); err != nil {
			t.Fatal(interrupted, err)
		}
		if got := rowsOf(t, old, cols); !reflect.DeepEqual(got, want) {
			t.Errorf("interrupted %v: %d rows after the migration, want the %d of a fresh ingest", interrupted, len(got), len(want))
		}
		if got := eventIndexes(t, &DB{db: old}); !reflect.DeepEqual(got, wantIndexes) {
			t.Errorf("interrupted %v: indexes after the migration %v, want %v", interrupted, got, wantIndexes)
		}
		var deferred int
		if err := old.QueryRow(`SELECT count(*) FROM deferred_indexes`).Scan(&deferred); err != nil || deferred != 0 {
			t.Errorf("interrupted %v: %d indexes still deferred (%v)", interrupted, deferred, err)
		}
	}
}

// Processes that open a new database at once (two ingests started
// together) all get it, migrated once: the losers of the race to turn on
// WAL try again rather than fail with "database is locked".
func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	dbs := make([]*DB, 8)
	var wg sync.WaitGroup
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), path)
			if err != nil {
				t.Error(err)
				return
			}
			dbs[i] = db
		}()
	}
	wg.Wait()
	for _, db := range dbs {
		if db != nil {
			defer db.Close()
		}
	}
	if dbs[0] == nil {
		return
	}
	var n, max int
	if err := dbs[0].SQL().QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != len(ms) {
		t.Errorf("schema_migrations: %d rows up to version %d, want %d", n, max, len(ms))
	}
}
