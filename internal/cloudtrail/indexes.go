package cloudtrail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// uniqueIndex is the events index on (event_time, event_id): an event has
// one time wherever it is logged.
const uniqueIndex = "events_time_id"

// deferIndexes drops the events table's indexes if the table is empty, and
// says whether it was, recording their SQL in deferred_indexes in the same transaction:
// a first ingest then builds each index once, from sorted rows, instead of
// updating it at every insert. That includes uniqueIndex, the unique
// index INSERT OR IGNORE relies on: until it is built, an event met twice
// in the ingest (an organisation trail beside an account's own, a file
// named twice) is written twice, and buildDeferredIndexes removes the
// second.
func deferIndexes(ctx context.Context, tx *sql.Tx) (bool, error) {
	var empty bool
	if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM events)`).Scan(&empty); err != nil || !empty {
		return false, err
	}
	names, texts, err := indexSQL(ctx, tx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL`)
	if err != nil {
		return false, err
	}
	for i, name := range names {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deferred_indexes (name, sql) VALUES (?, ?)`, name, texts[i]); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return false, err
		}
	}
	return true, nil
}

// buildDeferredIndexes creates the indexes deferIndexes dropped, in one
// transaction with the removal of their rows from deferred_indexes. If
// uniqueIndex finds an event twice, the later rows of it are deleted
// first.
func buildDeferredIndexes(ctx context.Context, db *sql.DB) error {
	var some bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deferred_indexes)`).Scan(&some); err != nil || !some {
		return err // most opens: nothing to do, and no write lock taken
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	names, texts, err := indexSQL(ctx, tx, `SELECT name, sql FROM deferred_indexes ORDER BY name`)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	for i, name := range names {
		_, err := tx.ExecContext(ctx, texts[i])
		var se sqlite3.Error
		if name == uniqueIndex && errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
			// the rare ingest that met an event twice: the cost of
			// finding them falls on it alone
			_, derr := tx.ExecContext(ctx, `DELETE FROM events WHERE rowid NOT IN (SELECT min(rowid) FROM events GROUP BY event_time, event_id)`)
			if derr != nil {
				return fmt.Errorf("removing events met twice: %w", derr)
			}
			_, err = tx.ExecContext(ctx, texts[i])
		}
		if err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_indexes`); err != nil {
		return err
	}
	return tx.Commit()
}

// indexSQL reads the (name, sql) pairs a query returns.
func indexSQL(ctx context.Context, tx *sql.Tx, query string) (names, texts []string, err error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			return nil, nil, err
		}
		names, texts = append(names, name), append(texts, text)
	}
	return names, texts, rows.Err()
}
