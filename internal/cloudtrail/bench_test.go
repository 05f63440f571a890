package cloudtrail

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

// benchTrail generates 200,000 records in the S3 layout.
func benchTrail(b *testing.B) string {
	dir := b.TempDir()
	_, err := gen.Write(dir, gen.Config{Seed: 7, Days: 7, Events: 200000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkIngest ingests a generated week (200,000 records, gzipped, in
// the S3 layout) into a new database per iteration and reports records/s,
// with the collector set as dashboard ingest sets it (GOGC 400).
func BenchmarkIngest(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	dir := benchTrail(b)
	ctx := context.Background()
	var records int64
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		st, err := db.Ingest(ctx, []string{dir}, Options{})
		elapsed += time.Since(start)
		if err != nil || len(st.Failed) > 0 {
			b.Fatal(err, st.Failed)
		}
		records += st.Records
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(records)/elapsed.Seconds(), "events/s")
}
