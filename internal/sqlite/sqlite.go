// Package sqlite holds what the project's SQLite databases (the gate's
// store, the CloudTrail events) need alike from the go-sqlite3 driver.
package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// Ping makes db's first connection. The first connections to a new SQLite
// file race to turn on WAL, and SQLite answers a loser "database is
// locked" at once, without its busy handler (waiting there could
// deadlock): Ping tries again until timeout has passed. The message is
// matched because the driver's error type exists only in cgo builds.
func Ping(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "database is locked") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}
