package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/secretgate/secretgate/internal/sqlite"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver (PostgreSQL)
	_ "github.com/mattn/go-sqlite3"    // the "sqlite3" driver (cgo)
)

// BusyTimeout is how long a connection waits for another writer (another
// hook process, another deliverer) before giving up with SQLITE_BUSY.
const BusyTimeout = 15 * time.Second

// Store is the gate's record, in one SQLite file or one PostgreSQL
// database. It is safe for concurrent use, and several processes (hook
// processes on one machine, server replicas on PostgreSQL) may open the
// same store at once.
type Store struct {
	db   *sql.DB
	d    *dialect
	path string     // SQLite: absolute path of the file
	name string     // for messages: the path, or the URL without its password
	wmu  sync.Mutex // SQLite: this process's writers, one at a time

	// beforeAlerts, when set (by tests), runs inside RecordPush's
	// transaction after the push and its findings are written and before
	// the alerts are: a failure here must leave nothing behind.
	beforeAlerts func(ctx context.Context) error
}

// Open opens the store named by dsn and brings its schema up to date.
//
// A postgres:// or postgresql:// URL opens that PostgreSQL database (pgx
// reads the rest of the URL: host, sslmode, search_path, …). Anything else
// is the path of a SQLite file, created with its folder if needed; every
// write there runs in a BEGIN IMMEDIATE transaction, so concurrent writers
// queue on the busy timeout instead of failing on a lock upgrade.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("store: no database path")
	}
	if isPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

// isPostgres reports whether dsn is a PostgreSQL URL.
func isPostgres(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return open(ctx, sqliteDialect, sqliteDSN(abs), abs, abs)
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// The error would quote the URL, password included.
		return nil, errors.New("store: PostgreSQL URL does not parse")
	}
	return open(ctx, postgresDialect, dsn, "", u.Redacted())
}

func open(ctx context.Context, d *dialect, dsn, path, name string) (*Store, error) {
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	if err := sqlite.Ping(ctx, db, BusyTimeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	s := &Store{db: db, d: d, path: path, name: name}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	return s, nil
}

// sqliteDSN builds a go-sqlite3 URI for an absolute path: the path is
// escaped so that '?', '#' or '%' in a folder name cannot be read as URI
// syntax.
func sqliteDSN(abs string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}

// Path is the absolute path of the SQLite file; it is empty on PostgreSQL.
func (s *Store) Path() string { return s.path }

// Backend names the engine: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// String names the store for messages: the file, or the PostgreSQL URL
// without its password.
func (s *Store) String() string { return s.name }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// conn is the database outside any transaction, in the store's dialect.
func (s *Store) conn() conn { return conn{s.db, s.d} }

// write runs fn in one write transaction (BEGIN IMMEDIATE on SQLite) and
// commits it, or rolls everything back if fn or the commit fails.
func (s *Store) write(ctx context.Context, fn func(tx conn) error) error {
	if s.d.name == "sqlite" {
		// SQLite takes one writer at a time. Writers of this process queue
		// here rather than in SQLite's busy handler, whose sleeps (up to
		// 100 ms each) were the tail of webhook acknowledgements; other
		// processes (hooks) still meet the busy timeout.
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{tx, s.d}); err != nil {
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

// text makes a string storable as text in either engine: PostgreSQL
// refuses invalid UTF-8 and NUL, which a path in git may hold. Both become
// U+FFFD, on SQLite too, so a record reads the same from either backend.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
