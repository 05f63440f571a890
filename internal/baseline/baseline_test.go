package baseline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/internal/scan"
)

const (
	commitA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	commitB = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
	commitC = "ffffeeeeddddccccbbbbaaaa9999888877776666"
	fpAWS   = "3f7a9c2e4b1d8f6a0c5e7b9d2f4a6c8e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a"
	fpGH    = "b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2"
	fpSlack = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	fpOther = "0000000000000000000000000000000000000000000000000000000000000001"
)

func finding(commit, path, rule string, line int, fp string) scan.Finding {
	return scan.Finding{RuleID: rule, Origin: scan.Origin{Commit: commit, Path: path}, Line: line, Fingerprint: fp}
}

func mustLoad(t *testing.T, load func(string) (*Baseline, error), name string) *Baseline {
	t.Helper()
	b, err := load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadReport(t *testing.T) {
	b := mustLoad(t, Load, "report.json")
	if b.Len() != 2 {
		t.Errorf("Len = %d, want 2", b.Len())
	}
	for _, c := range []struct {
		name string
		f    scan.Finding
		want bool
	}{
		{"same secret, same place", finding(commitA, "deploy/prod.env", "aws-access-key", 3, fpAWS), true},
		{"same secret, moved and recommitted", finding(commitC, "other/file.env", "aws-access-key", 99, fpAWS), true},
		{"upper-case fingerprint in report", finding("", "config/hooks.json", "slack-webhook", 7, fpSlack), true},
		{"new secret at a known place", finding(commitA, "deploy/prod.env", "aws-access-key", 3, fpOther), false},
		{"no fingerprint", finding(commitA, "deploy/prod.env", "aws-access-key", 3, ""), false},
	} {
		if got := b.Contains(c.f); got != c.want {
			t.Errorf("%s: Contains = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLoadGitleaksReport(t *testing.T) {
	b := mustLoad(t, Load, "gitleaks-report.json")
	if !b.Contains(finding(commitB, "ci/settings.yml", "github-pat", 12, fpOther)) {
		t.Error("gitleaks report entry does not suppress its finding")
	}
	if b.Contains(finding(commitA, "ci/settings.yml", "github-pat", 12, fpOther)) {
		t.Error("gitleaks report entry suppresses another commit")
	}
}

func TestLoadEmptyReport(t *testing.T) {
	b := mustLoad(t, Load, "empty.json")
	if b.Len() != 0 || b.Contains(finding(commitA, "a", "r", 1, fpAWS)) {
		t.Error("empty report is not an empty baseline")
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "bad-report.json"))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "bad-report.json: finding 1") {
		t.Errorf("bad report: err = %v", err)
	}
	_, err = Load(filepath.Join("testdata", "gitleaksignore"))
	if err == nil || !strings.Contains(err.Error(), "gitleaksignore: not a secretgate JSON report") {
		t.Errorf("non-JSON: err = %v", err)
	}
	if _, err := Load(filepath.Join("testdata", "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestReportRoundTrip feeds a report written by internal/report back in:
// every finding in it is then suppressed.
func TestReportRoundTrip(t *testing.T) {
	fs := []scan.Finding{
		finding(commitA, "a.env", "aws-access-key", 1, fpAWS),
		finding("", "b.env", "github-pat", 2, fpGH),
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, fs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "baseline.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	kept, suppressed := b.Filter(append(fs, finding(commitC, "c.env", "aws-access-key", 3, fpOther)))
	if suppressed != 2 || len(kept) != 1 || kept[0].Path != "c.env" {
		t.Errorf("Filter: kept %v, suppressed %d", kept, suppressed)
	}
}

func TestLoadGitleaksIgnore(t *testing.T) {
	b := mustLoad(t, LoadGitleaksIgnore, "gitleaksignore")
	if b.Len() != 5 {
		t.Errorf("Len = %d, want 5", b.Len())
	}
	for _, c := range []struct {
		name string
		f    scan.Finding
		want bool
	}{
		{"full commit id", finding(commitA, "deploy/prod.env", "aws-access-key", 3, fpOther), true},
		{"full commit id, other commit", finding(commitC, "deploy/prod.env", "aws-access-key", 3, fpOther), false},
		{"full commit id, working tree", finding("", "deploy/prod.env", "aws-access-key", 3, fpOther), false},
		{"other line", finding(commitA, "deploy/prod.env", "aws-access-key", 4, fpOther), false},
		{"other rule", finding(commitA, "deploy/prod.env", "generic-api-key", 3, fpOther), false},
		{"short commit id, backslash path", finding(commitB, "ci/settings.yml", "github-pat", 12, fpOther), true},
		{"no commit: any commit", finding(commitC, "docs/example.md", "generic-api-key", 20, fpOther), true},
		{"no commit: working tree", finding("", "docs/example.md", "generic-api-key", 20, fpOther), true},
		{"path with colons", finding(commitC, "fixtures/a:b:c.txt", "generic-api-key", 5, fpOther), true},
		{"secretgate fingerprint", finding(commitC, "x/y", "github-pat", 1, fpGH), true},
		{"unknown", finding(commitC, "x/y", "github-pat", 1, fpOther), false},
	} {
		if got := b.Contains(c.f); got != c.want {
			t.Errorf("%s: Contains = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLoadGitleaksIgnoreMalformed(t *testing.T) {
	_, err := LoadGitleaksIgnore(filepath.Join("testdata", "bad-gitleaksignore"))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	want := filepath.Join("testdata", "bad-gitleaksignore") + ": line 4: "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "not a line number") {
		t.Errorf("err = %q, want it to start %q and say what is wrong", err, want)
	}
	// A mistaken entry may be a pasted secret: it is never echoed.
	if strings.Contains(err.Error(), "twenty") || strings.Contains(err.Error(), "docs/example.md") {
		t.Errorf("err = %q echoes the entry", err)
	}
}

func TestParseGitleaks(t *testing.T) {
	for _, c := range []struct {
		in                 string
		commit, file, rule string
		line               int
		bad                bool
	}{
		{in: "abc1234:a/b.go:rule:1", commit: "abc1234", file: "a/b.go", rule: "rule", line: 1},
		{in: "ABC1234:a/b.go:rule:1", commit: "abc1234", file: "a/b.go", rule: "rule", line: 1},
		{in: "a/b.go:rule:1", file: "a/b.go", rule: "rule", line: 1},
		{in: `.\a\b.go:rule:0`, file: "a/b.go", rule: "rule", line: 0},
		{in: "abc:d.go:rule:1", file: "abc:d.go", rule: "rule", line: 1}, // too short for a commit
		{in: "no-colons", bad: true},
		{in: "a.go:rule:x", bad: true},
		{in: "a.go:rule:-1", bad: true},
		{in: "a.go::1", bad: true},
		{in: "rule:1", bad: true},
		{in: "abc1234::rule:1", bad: true},
	} {
		commit, file, rule, line, err := parseGitleaks(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseGitleaks(%q): no error", c.in)
			}
			continue
		}
		if err != nil || commit != c.commit || file != c.file || rule != c.rule || line != c.line {
			t.Errorf("parseGitleaks(%q) = %q %q %q %d %v", c.in, commit, file, rule, line, err)
		}
	}
}

func TestNilBaseline(t *testing.T) {
	var b *Baseline
	fs := []scan.Finding{finding(commitA, "a", "r", 1, fpAWS)}
	kept, n := b.Filter(fs)
	if n != 0 || len(kept) != 1 || b.Contains(fs[0]) || b.Len() != 0 {
		t.Error("nil baseline suppressed something")
	}
}

func TestMerge(t *testing.T) {
	m := Merge(mustLoad(t, Load, "report.json"), nil, mustLoad(t, LoadGitleaksIgnore, "gitleaksignore"))
	if m.Len() != 7 {
		t.Errorf("Len = %d, want 7", m.Len())
	}
	if !m.Contains(finding(commitC, "x", "aws-access-key", 1, fpAWS)) ||
		!m.Contains(finding(commitC, "docs/example.md", "generic-api-key", 20, "")) {
		t.Error("merged baseline lost entries")
	}
}
