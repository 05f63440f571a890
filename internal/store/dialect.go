package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// dialect is everything the store's SQL does differently on SQLite and on
// PostgreSQL. The methods write their SQL once, with '?' placeholders and
// the syntax both engines accept (RETURNING, ON CONFLICT … DO NOTHING,
// COALESCE); what remains different lives here, and the schema lives in
// one numbered file set per dialect (migrations/<name>/).
//
//	                       SQLite                      PostgreSQL
//	placeholders           ?                           $1, $2, … (rebind)
//	write transactions     BEGIN IMMEDIATE (DSN)       BEGIN (read committed)
//	claiming rows          the write lock serialises   FOR UPDATE SKIP LOCKED
//	migrations             BEGIN IMMEDIATE             pg_advisory_xact_lock
//	identity columns       INTEGER PRIMARY KEY         BIGINT GENERATED ALWAYS AS IDENTITY
//	JSON columns           CHECK (json_valid(x))       CHECK (x::json IS NOT NULL)
//	bytes                  BLOB                        BYTEA
type dialect struct {
	name   string // "sqlite" or "postgres": also the folder of its migrations
	driver string // database/sql driver name

	// numbered reports whether placeholders are $1, $2, … instead of ?.
	numbered bool

	// skipLocked ends a SELECT that picks rows to lease: rows another
	// transaction is leasing right now are passed over, not waited for.
	// SQLite needs none: its one writer at a time already serialises claims.
	skipLocked string

	// lockMigrations runs first in the migration transaction so that
	// processes opening a new database at once migrate one at a time.
	// SQLite needs none: the transaction is BEGIN IMMEDIATE.
	lockMigrations string
}

var (
	sqliteDialect = &dialect{
		name:   "sqlite",
		driver: "sqlite3",
	}
	postgresDialect = &dialect{
		name:       "postgres",
		driver:     "pgx",
		numbered:   true,
		skipLocked: " FOR UPDATE SKIP LOCKED",
		// One key for every secretgate database on the server: migrations
		// are rare and short, so sharing it costs nothing.
		lockMigrations: `SELECT pg_advisory_xact_lock(hashtext('secretgate.migrate'))`,
	}
)

// rebind rewrites the '?' placeholders of query for the dialect. A '?'
// inside a quoted string or identifier is left alone.
func (d *dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sqlConn is what *sql.DB and *sql.Tx have in common.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// conn runs the store's '?' SQL on a database or a transaction in the
// dialect's syntax: every statement the store sends goes through here.
type conn struct {
	c sqlConn
	d *dialect
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.c.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.c.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.c.QueryRowContext(ctx, c.d.rebind(query), args...)
}

func (c conn) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.c.PrepareContext(ctx, c.d.rebind(query))
}
