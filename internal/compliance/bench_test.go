package compliance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

// BenchmarkWeeklyReport is every table of a week's evidence over a
// generated organisation's events (1M over 14 days by default;
// SECRETGATE_BENCH_EVENTS changes it). Generation and ingest are untimed.
func BenchmarkWeeklyReport(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SECRETGATE_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	if _, err := gen.Write(filepath.Join(dir, "trail"), gen.Config{Seed: 1, Days: 14, Events: n, Start: start}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := cloudtrail.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(ctx, []string{filepath.Join(dir, "trail")}, cloudtrail.Options{}); err != nil {
		b.Fatal(err)
	}
	w, _ := Week("2026-W48")
	b.ResetTimer()
	for b.Loop() {
		if _, err := RunAll(ctx, SQLite{db.SQL()}, All, w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "events")
}
