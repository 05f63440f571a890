package gitsrc

import (
	"context"
	"os"
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
)

// nopScanner scans nothing, so the benchmark measures reading history.
type nopScanner struct{}

func (nopScanner) Scan(f scan.Fragment) scan.Result { return scan.Result{Bytes: len(f.Text)} }

// BenchmarkHistory scans the whole history of the repository named by
// SECRETGATE_BENCH_REPO. Compare with `git log -p --all >/dev/null` there.
func BenchmarkHistory(b *testing.B) {
	dir := os.Getenv("SECRETGATE_BENCH_REPO")
	if dir == "" {
		b.Skip("SECRETGATE_BENCH_REPO is not set")
	}
	var st Stats
	for b.Loop() {
		var err error
		st, err = Scan(context.Background(), Options{Dir: dir}, nopScanner{}, func(scan.Finding) {})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(st.Bytes)
	b.ReportMetric(float64(st.Commits), "commits")
	b.ReportMetric(float64(st.Blobs), "blobs")
}
