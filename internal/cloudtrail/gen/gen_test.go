package gen

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func digest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Days: 2, Events: 4000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}
	a, b := t.TempDir(), t.TempDir()
	sa, err := Write(a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Write(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sa != sb || sa.Records < 4000 || sa.Files == 0 {
		t.Fatalf("stats %+v and %+v", sa, sb)
	}
	da, db := digest(t, a), digest(t, b)
	if len(da) != sa.Files || len(da) != len(db) {
		t.Fatalf("%d and %d files, stats say %d", len(da), len(db), sa.Files)
	}
	for name, h := range da {
		if db[name] != h {
			t.Errorf("%s differs between runs", name)
		}
		parts := strings.Split(filepath.ToSlash(name), "/")
		// AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<16>.json.gz
		if len(parts) != 9 || parts[0] != "AWSLogs" || parts[1] != OrgID || parts[3] != "CloudTrail" ||
			!strings.HasPrefix(parts[8], parts[2]+"_CloudTrail_"+parts[4]+"_"+parts[5]+parts[6]+parts[7]+"T") ||
			!strings.HasSuffix(parts[8], ".json.gz") {
			t.Errorf("not in the S3 layout: %s", name)
		}
	}
	other := cfg
	other.Seed = 43
	c := t.TempDir()
	if _, err := Write(c, other); err != nil {
		t.Fatal(err)
	}
	same := 0
	for name, h := range digest(t, c) {
		if da[name] == h {
			same++
		}
	}
	if same > 0 {
		t.Errorf("another seed wrote %d identical files", same)
	}
}
