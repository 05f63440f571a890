package athena_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/athena"
	"github.com/secretgate/secretgate/internal/athena/athenatest"
	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
	"github.com/secretgate/secretgate/internal/compliance"
)

func TestBind(t *testing.T) {
	w, _ := compliance.Week("2026-W48") // 2026-11-23 to 2026-11-30
	tests := []struct {
		in, out string
		params  []string
	}{
		{"SELECT 1 WHERE t >= :from AND t < :to", "SELECT 1 WHERE t >= ? AND t < ?", []string{"1795392000000", "1795996800000"}},
		{"log_date BETWEEN :from_date AND :to_date", "log_date BETWEEN ? AND ?", []string{"'2026/11/22'", "'2026/12/01'"}},
		{"d >= :prev_from_date AND t >= :prev_from", "d >= ? AND t >= ?", []string{"'2026/11/15'", "1794787200000"}},
		{"d >= :recovery_from_date", "d >= ?", []string{"'2026/10/23'"}},
		// Colons in literals, quoted names and comments are not parameters.
		{"SELECT 'HH:mm:ss', \"a:b\" -- at :from\n, :to", "SELECT 'HH:mm:ss', \"a:b\" -- at :from\n, ?", []string{"1795996800000"}},
		{"SELECT 'it''s :from'", "SELECT 'it''s :from'", nil},
	}
	for _, tt := range tests {
		out, params, err := athena.Bind(tt.in, w)
		if err != nil || out != tt.out || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("Bind(%q) = %q, %q, %v; want %q, %q", tt.in, out, params, err, tt.out, tt.params)
		}
	}
	if _, _, err := athena.Bind("WHERE t > :since", w); err == nil || !strings.Contains(err.Error(), ":since") {
		t.Errorf("unknown parameter: %v", err)
	}
}

// TestReportsAgreeAcrossDialects runs every report twice over the same
// generated organisation: its SQLite text on the dashboard's database,
// and its Athena text through the SDK and the local Athena, whose table
// holds the same events. The tables must be equal, row for row.
func TestReportsAgreeAcrossDialects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	// Seed 4's week has rows in every report.
	if _, err := gen.Write(filepath.Join(dir, "trail"), gen.Config{Seed: 4, Days: 14, Events: 30000, Start: start}); err != nil {
		t.Fatal(err)
	}
	db, err := cloudtrail.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(ctx, []string{filepath.Join(dir, "trail")}, cloudtrail.Options{}); err != nil {
		t.Fatal(err)
	}

	srv := athenatest.NewServer(t)
	srv.PageSize = 500
	srv.LoadEvents(db.SQL())
	client := athena.New(srv.Client(), athena.Options{WorkGroup: "secretgate", PollMin: time.Millisecond, PollMax: 2 * time.Millisecond})
	ath := &athena.Reports{Client: client}
	local := compliance.SQLite{DB: db.SQL()}

	w, _ := compliance.Week("2026-W48")
	for _, r := range compliance.All {
		t.Run(r.Name, func(t *testing.T) {
			want, err := compliance.Run(ctx, local, r, w)
			if err != nil {
				t.Fatal(err)
			}
			got, err := compliance.Run(ctx, ath, r, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Rows) == 0 {
				t.Fatalf("no rows on SQLite: the comparison would prove nothing")
			}
			if !reflect.DeepEqual(got.Rows, want.Rows) {
				t.Errorf("Athena and SQLite differ:\nathena %q\nsqlite %q", got.Rows[:min(3, len(got.Rows))], want.Rows[:min(3, len(want.Rows))])
			}
		})
	}
	queries, _ := ath.Scanned()
	if queries != int64(len(compliance.All)) {
		t.Errorf("%d queries counted, want %d", queries, len(compliance.All))
	}
	// Every query was told which partitions to read.
	for _, e := range srv.Executions() {
		if !strings.Contains(e.Query, "log_date BETWEEN ?") || e.WorkGroup != "secretgate" {
			t.Errorf("query without partition bounds or workgroup: %.200s", e.Query)
		}
	}
}
