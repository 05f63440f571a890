package githubapp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// upstream makes a repository with main (two commits) and a feature branch
// (one more), standing in for GitHub.
func upstream(t *testing.T) (dir string, main1, main2, feature string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir = t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(name, body string) string {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
		git("add", ".")
		git("commit", "-qm", name)
		return git("rev-parse", "HEAD")
	}
	git("init", "-q", "-b", "main")
	main1 = commit("a.txt", "a\n")
	main2 = commit("b.txt", "b\n")
	git("checkout", "-q", "-b", "feature")
	feature = commit("c.txt", "c\n")
	git("checkout", "-q", "main")
	return dir, main1, main2, feature
}

func revList(t *testing.T, f Fetched) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", f.GitDir, "rev-list"}, f.Revs...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestFetch(t *testing.T) {
	up, main1, main2, feature := upstream(t)
	f := &Fetcher{Dir: t.TempDir()}
	ctx := context.Background()
	base := Target{Owner: "o", Repo: "r", CloneURL: up, DefaultBranch: "main"}

	push := base
	push.Head, push.Exclude = main2, []string{main1}
	got, err := f.Fetch(ctx, push, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if rl := revList(t, got); rl != main2 {
		t.Errorf("push main1..main2: rev-list %q, want %s", rl, main2)
	}

	branch := base
	branch.Head, branch.ExcludeDefault = feature, true
	if got, err = f.Fetch(ctx, branch, ""); err != nil || revList(t, got) != feature {
		t.Errorf("new branch from main: %v %q", err, revList(t, got))
	}

	gone := base // the old tip of a force push no longer exists
	gone.Head, gone.Exclude = feature, []string{strings.Repeat("1", 40)}
	if got, err = f.Fetch(ctx, gone, ""); err != nil || revList(t, got) != feature {
		t.Errorf("missing old tip: %v %q", err, revList(t, got))
	}

	missing := base
	missing.Head = strings.Repeat("2", 40)
	if _, err := f.Fetch(ctx, missing, ""); err == nil || !strings.Contains(err.Error(), "fetching 22222222 of o/r") {
		t.Errorf("missing head: %v", err)
	}
	if got.GitDir != filepath.Join(f.Dir, "o", "r.git") {
		t.Errorf("mirror at %s", got.GitDir)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"acme": "acme", "../x": ".._x", "..": "_..", "": "_"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
