package corpus

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/files"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

// checker compares findings with a manifest: every plant must be found by its
// rule at its path and line, and nothing may be found off the plants.
type checker struct {
	m      *Manifest
	found  map[*Plant]bool
	extra  []string // findings of other rules on plant lines (not failures)
	decoys []string // findings off every plant (failures)
}

func newChecker(m *Manifest) *checker { return &checker{m: m, found: map[*Plant]bool{}} }

func (c *checker) add(f scan.Finding) {
	if p := c.m.Find(f.RuleID, f.Path, f.Line, f.Commit); p != nil {
		c.found[p] = true
		return
	}
	where := fmt.Sprintf("%s:%d", f.Path, f.Line)
	if f.Commit != "" {
		where = short(f.Commit) + " " + where
	}
	if p := c.m.Covering(f.Path, f.Line, f.Commit); p != nil {
		c.extra = append(c.extra, fmt.Sprintf("rule %q also fires on the plant of %q at %s", f.RuleID, p.RuleID, where))
		return
	}
	c.decoys = append(c.decoys, fmt.Sprintf("decoy finding: rule %q at %s (%s)", f.RuleID, where, f.Redacted))
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// report fails t for every missed plant and every decoy finding.
func (c *checker) report(t *testing.T) {
	t.Helper()
	var missed []string
	for i := range c.m.Plants {
		p := &c.m.Plants[i]
		if !c.found[p] {
			where := fmt.Sprintf("%s:%d", p.Path, p.Line)
			if p.Commit != "" {
				where = fmt.Sprintf("%s %s", short(p.Commit), where)
			}
			if p.Note != "" {
				where += " (" + p.Note + ")"
			}
			missed = append(missed, fmt.Sprintf("missed plant: rule %q at %s", p.RuleID, where))
		}
	}
	sort.Strings(missed)
	sort.Strings(c.decoys)
	sort.Strings(c.extra)
	for _, s := range c.extra {
		t.Log(s)
	}
	for _, s := range missed {
		t.Error(s)
	}
	for _, s := range c.decoys {
		t.Error(s)
	}
	t.Logf("recall %d/%d plants; %d decoy findings; %d other-rule findings on plants",
		len(c.m.Plants)-len(missed), len(c.m.Plants), len(c.decoys), len(c.extra))
}

func defaultScanner(t testing.TB) (*rules.Config, *scan.Scanner) {
	t.Helper()
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := scan.New(cfg, scan.Options{FingerprintKey: []byte("corpus")})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, s
}

// scanDir scans dir as `gatekeeper scan --dir` does.
// workers 0 means one per CPU.
func scanDir(t testing.TB, s *scan.Scanner, dir string, emit func(scan.Finding), workers int) files.Stats {
	t.Helper()
	st, err := files.Scan(context.Background(), files.Options{Root: dir, Workers: workers}, s, emit)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDirRecallAndPrecision(t *testing.T) {
	_, s := defaultScanner(t)
	dir := t.TempDir()
	m, err := Generate(dir, Options{Seed: 42, Bytes: 6 << 20})
	if err != nil {
		t.Error(err) // a rule that cannot be planted; the rest are still checked
	}
	if m == nil {
		t.FailNow()
	}
	c := newChecker(m)
	scanDir(t, s, dir, c.add, 0)
	c.report(t)
}

// TestExamplesPlanted checks that every default rule is in the manifest, so
// a rule cannot drop out of the benchmark silently.
func TestExamplesPlanted(t *testing.T) {
	cfg, _ := defaultScanner(t)
	m, err := Generate(t.TempDir(), Options{Seed: 3, Bytes: 1 << 20})
	if err != nil {
		t.Error(err)
	}
	planted := map[string]bool{}
	for _, p := range m.Plants {
		planted[p.RuleID] = true
	}
	var missing []string
	for _, r := range cfg.Rules {
		if !planted[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("rules not planted: %s", strings.Join(missing, ", "))
	}
}

func TestHistoryRecallAndPrecision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	_, s := defaultScanner(t)
	repo := t.TempDir()
	m, err := GenerateHistory(repo, Options{Seed: 42, Bytes: 6 << 20, Commits: 60})
	if err != nil {
		t.Error(err)
	}
	if m == nil {
		t.FailNow()
	}
	c := newChecker(m)
	if _, err := gitsrc.Scan(context.Background(), gitsrc.Options{Dir: repo}, s, c.add); err != nil {
		t.Fatal(err)
	}
	c.report(t)
}
