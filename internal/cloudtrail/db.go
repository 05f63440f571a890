package cloudtrail

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/sqlite"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver (cgo)
)

// busyTimeout is how long a connection waits for another writer (another
// ingest, a dashboard refreshing its inventory) before giving up.
const busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the dashboard's own SQLite database of events.
type DB struct {
	db   *sql.DB
	path string
}

// Open opens (creating it and its folder if needed) the SQLite file at path
// in WAL mode and brings its schema up to date.
func Open(ctx context.Context, file string) (*DB, error) {
	if file == "" {
		return nil, errors.New("cloudtrail: no database path")
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: %s: %w", file, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("cloudtrail: %w", err)
	}
	db, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: %s: %w", abs, err)
	}
	if err := sqlite.Ping(ctx, db, busyTimeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("cloudtrail: open %s: %w", abs, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cloudtrail: %s: %w", abs, err)
	}
	// indexes left dropped by an ingest that did not reach its end
	if err := buildDeferredIndexes(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cloudtrail: %s: building indexes: %w", abs, err)
	}
	return &DB{db: db, path: abs}, nil
}

// dsn is the go-sqlite3 URI of an absolute path, escaped so that '?', '#'
// or '%' in a folder name is not read as URI syntax.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	q.Set("_cache_size", "-65536") // 64 MiB
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}

// SQL is the database, for queries.
func (d *DB) SQL() *sql.DB { return d.db }

// Path is the absolute path of the SQLite file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, n := range names { // fs.Glob returns names sorted
		base := path.Base(n)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", base, i+1)
		}
		text, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(text)})
	}
	return ms, nil
}

// migrate applies the migrations the database has not seen, in order, in
// one transaction (BEGIN IMMEDIATE, so concurrent openers take turns),
// recording each in schema_migrations. A database newer than this build is
// refused rather than written to.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("database schema is version %d, newer than version %d that this build knows: use a newer secretgate", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}
