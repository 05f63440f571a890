package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file of a dialect:
// migrations/sqlite/0001_init.sql is version 1 on SQLite. Every dialect
// has the same numbered files, each bringing its schema to the same place.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads a dialect's migrations (migrations/<dialect>/*.sql)
// in version order. Versions start at 1 and have no gaps or duplicates.
func loadMigrations(fsys fs.FS, dialect string) ([]migration, error) {
	names, err := fs.Glob(fsys, path.Join("migrations", dialect, "*.sql"))
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(text)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this build knows (the same
// on every backend).
func SchemaVersion() int {
	ms, err := loadMigrations(migrationFiles, sqliteDialect.name)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies the dialect's migrations the database has not seen, in
// order, in one transaction, recording each in schema_migrations. A
// database whose schema is newer than this build knows is refused rather
// than written to. Concurrent openers migrate one at a time: SQLite's
// BEGIN IMMEDIATE, PostgreSQL's advisory lock.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	ms, err := loadMigrations(migrationFiles, d.name)
	if err != nil {
		return err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	sqlTx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE on SQLite
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer sqlTx.Rollback()
	tx := conn{sqlTx, d}
	if d.lockMigrations != "" {
		if _, err := tx.exec(ctx, d.lockMigrations); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > known {
		return fmt.Errorf("database schema is version %d, newer than version %d that this build of secretgate knows: use a newer secretgate", current, known)
	}
	for _, m := range ms[current:] {
		// A migration is sent as written, not rebound: its text is the dialect's own.
		if _, err := sqlTx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
