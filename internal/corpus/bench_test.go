package corpus

import (
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
)

// BenchmarkDirScan scans a generated 64 MiB directory corpus as
// `gatekeeper scan --dir` does (files read from the page cache, one worker
// per CPU, and one worker), reporting MB/s.
func BenchmarkDirScan(b *testing.B) {
	_, s := defaultScanner(b)
	dir := b.TempDir()
	m, err := Generate(dir, Options{Seed: 1, Bytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		workers int
	}{{"workers=cpu", 0}, {"workers=1", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(m.Bytes)
			var found int
			for b.Loop() {
				found = 0
				scanDir(b, s, dir, func(scan.Finding) { found++ }, bc.workers)
			}
			if found < len(m.Plants) {
				b.Errorf("%d findings for %d plants", found, len(m.Plants))
			}
		})
	}
}
