package corpus

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/rules"
)

func testRules(t *testing.T) *rules.Config {
	t.Helper()
	cfg, err := rules.Load("testdata/rules.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// treeSum hashes every file's path and bytes under dir.
func treeSum(t *testing.T, dir string) ([32]byte, int64) {
	t.Helper()
	h := sha256.New()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00"))
		h.Write(b)
		n += int64(len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s, n
}

func TestGenerateDeterministicAndPlanted(t *testing.T) {
	cfg := testRules(t)
	opts := Options{Seed: 7, Bytes: 2 << 20, Rules: cfg}
	a, b := t.TempDir(), t.TempDir()
	ma, err := Generate(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := Generate(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	sa, na := treeSum(t, a)
	sb, _ := treeSum(t, b)
	if sa != sb {
		t.Error("same seed and options gave different trees")
	}
	if na != ma.Bytes || ma.Bytes < opts.Bytes || ma.Bytes > opts.Bytes+2<<20 {
		t.Errorf("wrote %d bytes (manifest %d), asked for %d", na, ma.Bytes, opts.Bytes)
	}
	if len(ma.Plants) != len(cfg.Rules) || len(mb.Plants) != len(ma.Plants) {
		t.Fatalf("planted %d, want %d", len(ma.Plants), len(cfg.Rules))
	}
	for k, n := range ma.Kinds {
		t.Logf("%-14s %d files", k, n)
	}
	for _, p := range ma.Plants {
		data, err := os.ReadFile(filepath.Join(a, filepath.FromSlash(p.Path)))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		got := strings.Join(lines[p.Line-1:p.EndLine], "\n")
		want := strings.TrimSuffix(cfg.Rule(p.RuleID).Examples[0], "\n")
		if got != want {
			t.Errorf("%s at %s:%d-%d: the file does not hold the example there", p.RuleID, p.Path, p.Line, p.EndLine)
		}
		if p.RuleID == "pgpass" && !strings.HasSuffix(p.Path, "/.pgpass") {
			t.Errorf("pgpass planted at %s", p.Path)
		}
	}
	if _, err := Generate(t.TempDir(), Options{Seed: 8, Bytes: 1 << 20, Rules: cfg}); err != nil {
		t.Fatal(err)
	}
}

func TestDecoysPresent(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir, Options{Seed: 1, Bytes: 4 << 20, Rules: testRules(t)}); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return err
	})
	for _, s := range []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "${DB_PASSWORD}", "<your-api-key>", "\"integrity\": \"sha512-", "integrity sha512-", " h1:", "-----BEGIN CERTIFICATE-----", "data:image/png;base64,"} {
		if !bytes.Contains(all.Bytes(), []byte(s)) {
			t.Errorf("corpus has no %q", s)
		}
	}
}
