package corpus

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/rules"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

func TestGenerateHistoryLayout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	def, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*rules.Config{"test": testRules(t), "default": def} {
		t.Run(name, func(t *testing.T) { testHistoryLayout(t, cfg) })
	}
}

func testHistoryLayout(t *testing.T, cfg *rules.Config) {
	dir := t.TempDir()
	m, err := GenerateHistory(dir, Options{Seed: 5, Bytes: 2 << 20, Commits: 20, Rules: cfg})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	if got := strings.Count(gitOut(t, dir, "rev-list", "--all"), "\n"); got != len(m.Commits) {
		t.Errorf("repository has %d commits, manifest %d", got, len(m.Commits))
	}
	notes := map[string]int{}
	for _, p := range m.Plants {
		notes[p.Note]++
		if p.Commit == "" {
			t.Errorf("%s: no commit", p.RuleID)
			continue
		}
		text := gitOut(t, dir, "show", p.Commit+":"+p.Path)
		lines := strings.Split(text, "\n")
		if got, want := strings.Join(lines[p.Line-1:p.EndLine], "\n"), strings.TrimSuffix(cfg.Rule(p.RuleID).Examples[0], "\n"); got != want {
			t.Errorf("%s at %s %s:%d: the file does not hold the example there", p.RuleID, p.Commit[:8], p.Path, p.Line)
		}
		// The parent must not have it: the plant is added by this commit.
		parents := strings.Fields(gitOut(t, dir, "rev-list", "--parents", "-n1", p.Commit))[1:]
		for _, par := range parents {
			out, _ := exec.Command("git", "-C", dir, "show", par+":"+p.Path).Output()
			if strings.Contains(string(out), cfg.Rule(p.RuleID).Examples[0]) {
				t.Errorf("%s: parent %s already has the plant", p.RuleID, par[:8])
			}
		}
		switch p.Note {
		case "merge":
			if len(parents) != 2 {
				t.Errorf("merge plant %s in a commit with %d parents", p.RuleID, len(parents))
			}
		case "unmerged":
			if strings.Contains(gitOut(t, dir, "rev-list", "main"), p.Commit) {
				t.Errorf("unmerged plant %s is on main", p.RuleID)
			}
		}
		if p.RemovedIn != "" {
			removed++
			out, _ := exec.Command("git", "-C", dir, "show", p.RemovedIn+":"+p.Path).Output()
			if strings.Contains(string(out), cfg.Rule(p.RuleID).Examples[0]) {
				t.Errorf("%s: still there in %s", p.RuleID, p.RemovedIn[:8])
			}
		}
	}
	if notes["merge"] != 1 || notes["unmerged"] != 1 {
		t.Errorf("plants by note: %v", notes)
	}
	if len(m.Plants) >= 8 && removed == 0 {
		t.Error("no plant is removed again")
	}
	t.Logf("%d plants, %d removed later; %d commits, %d files at head, %d bytes added", len(m.Plants), removed, len(m.Commits), m.Files, m.Bytes)
}
