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

// The migration that makes events_secret_time holds OnSecret's terms after
// the first word for word, for the same reason.
func TestSecretIndexText(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "cloudtrail", "migrations", "0005_fewer_indexes.sql"))
	if err != nil {
		t.Fatal(err)
	}
	_, terms, _ := strings.Cut(OnSecret("", "x"), " AND ")
	if !strings.Contains(string(b), "WHERE "+terms+";") {
		t.Errorf("migration 0005 does not end the index with WHERE %s", terms)
	}
}

// The reports of rare events read them through events_notable, not the
// window's every row.
func TestNotableReportsUseTheIndex(t *testing.T) {
	db := planDB(t)
	for _, r := range []*Report{Headline, Rotations, Denied, BreakGlass, UnsafeChanges, Deletions, DeletedReads, RotationStatus, KeyControls, Controls} {
		if plan := queryPlan(t, db, r); !strings.Contains(plan, "events_notable") {
			t.Errorf("%s does not use events_notable:\n%s", r.Name, plan)
		}
	}
}

// The reports that look up one secret's reads do it through the partial
// (secret, time) index, whose terms they repeat (OnSecret):
// without it, a weekly report over 1M events took three times as long.
func TestSecretLookupsUseTheIndex(t *testing.T) {
	db := planDB(t)
	for _, r := range []*Report{Access, DeletedReads, Controls} {
		if plan := queryPlan(t, db, r); !strings.Contains(plan, "events_secret_time") {
			t.Errorf("%s does not use events_secret_time:\n%s", r.Name, plan)
		}
	}
}

func planDB(t *testing.T) *sql.DB {
	t.Helper()
	db := seed(t)
	seedInventory(t, db)
	if _, err := db.SQL().Exec(inventory.KeySchema); err != nil {
		t.Fatal(err)
	}
	return db.SQL()
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of r, one step a line.
func queryPlan(t *testing.T, db *sql.DB, r *Report) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+r.SQLite,
		sql.Named("from", 0), sql.Named("to", 1), sql.Named("prev_from", 0))
	if err != nil {
		t.Fatal(r.Name, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(r.Name, err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(r.Name, err)
	}
	return strings.Join(plan, "\n")
}
