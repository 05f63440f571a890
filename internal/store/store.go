package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver (cgo)
)

// BusyTimeout is how long a connection waits for another writer (another
// hook process, another deliverer) before giving up with SQLITE_BUSY.
const BusyTimeout = 15 * time.Second

// Store is the gate's record in one SQLite file. It is safe for concurrent
// use, and several processes may open the same file at once.
type Store struct {
	db   *sql.DB
	path string

	// beforeAlerts, when set (by tests), runs inside RecordPush's
	// transaction after the push and its findings are written and before
	// the alerts are: a failure here must leave nothing behind.
	beforeAlerts func(ctx context.Context) error
}

// Open opens the store at path, creating the file and its folder if needed,
// and brings its schema up to date. Every write runs in a BEGIN IMMEDIATE
// transaction, so concurrent writers queue on the busy timeout instead of
// failing on a lock upgrade.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: no database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	s := &Store{db: db, path: abs}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// dsn builds a go-sqlite3 URI for an absolute path: the path is escaped so
// that '?', '#' or '%' in a folder name cannot be read as URI syntax.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// write runs fn in one write transaction (BEGIN IMMEDIATE through the DSN)
// and commits it, or rolls everything back if fn or the commit fails.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// millis stores a time as Unix milliseconds; the zero time is stored as 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis reads a time stored by millis, in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
