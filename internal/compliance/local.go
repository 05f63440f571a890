package compliance

import (
	"context"
	"database/sql"
)

// Local is the weekly evidence on the embedded database: every report,
// plus the inventory's controls when an inventory was imported. Missing
// says, in words for a person, what is left out and why.
func Local(ctx context.Context, db *sql.DB) (reports []*Report, missing []string) {
	reports = append(reports, All...)
	if hasTable(ctx, db, "secrets") {
		reports = append(reports, Controls, OutsideReaders)
	} else {
		missing = append(missing, "no secret inventory: the SecretsManager.1-4 rows need `dashboard inventory import`")
	}
	if hasTable(ctx, db, "keys") {
		reports = append(reports, KeyControls)
	} else {
		missing = append(missing, "no key inventory: the KMS.3 and KMS.4 rows need `dashboard inventory import-keys`")
	}
	return reports, missing
}

// hasTable says whether the database has the named table (the inventory's
// are made on import).
func hasTable(ctx context.Context, db *sql.DB, table string) bool {
	var n int
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
	return n > 0
}
