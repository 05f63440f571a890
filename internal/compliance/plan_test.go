package compliance

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/inventory"
)

// The migration that makes events_notable holds notableSQL word for word:
// otherwise SQLite would not match the reports' term to the index.
func TestNotableIndexText(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "cloudtrail", "migrations", "0004_lean_events.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), strings.Join(strings.Fields(notableSQL), " ")) {
		t.Errorf("migration 0004 does not hold notableSQL:\n%s", notableSQL)
	}
}

// The reports of rare events read them through events_notable, not the
// window's every row.
func TestNotableReportsUseTheIndex(t *testing.T) {
	db := seed(t)
	seedInventory(t, db)
	if _, err := db.SQL().Exec(inventory.KeySchema); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Report{Headline, Rotations, Denied, BreakGlass, UnsafeChanges, Deletions, DeletedReads, RotationStatus, KeyControls, Controls} {
		rows, err := db.SQL().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+r.SQLite,
			sql.Named("from", 0), sql.Named("to", 1), sql.Named("prev_from", 0))
		if err != nil {
			t.Fatal(r.Name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			rows.Scan(&id, &parent, &notUsed, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "\n"), "events_notable") {
			t.Errorf("%s does not use events_notable:\n%s", r.Name, strings.Join(plan, "\n"))
		}
	}
}
