package gitsrc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

// fakeScanner finds every line containing "SECRET", so the tests do not
// depend on the rule packs. Like the real engine it calls text with a NUL in
// its first 8000 bytes binary unless it starts with a UTF-16 byte order
// mark, which it decodes (naively: it drops the NULs).
type fakeScanner struct {
	mu    sync.Mutex
	calls map[string]int // by path
}

func (s *fakeScanner) Scan(f scan.Fragment) scan.Result {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = make(map[string]int)
	}
	s.calls[f.Path]++
	s.mu.Unlock()
	text := f.Text
	if bytes.IndexByte(text[:min(len(text), 8000)], 0) >= 0 {
		if !bytes.HasPrefix(text, []byte{0xff, 0xfe}) {
			return scan.Result{Binary: true}
		}
		text = bytes.ReplaceAll(text[2:], []byte{0}, nil)
	}
	var res scan.Result
	for i, line := range strings.Split(string(text), "\n") {
		if strings.Contains(line, "SECRET") {
			n := f.StartLine + i
			if f.Lines != nil {
				n = f.Lines[i]
			} else if f.StartLine == 0 {
				n++
			}
			res.Findings = append(res.Findings, scan.Finding{RuleID: "fake", Origin: f.Origin, Line: n})
		}
	}
	res.Bytes = len(f.Text)
	return res
}

// repo is a git repository in a temporary directory.
type repo struct {
	t    *testing.T
	dir  string
	tick int
}

func newRepo(t *testing.T, initArgs ...string) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git(append([]string{"init", "-q", "-b", "main"}, initArgs...)...)
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	r.tick++
	date := fmt.Sprintf("%d +0200", 1700000000+r.tick*60)
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com", "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(path, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything in the work tree and returns the commit id.
func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// merge merges branch into the current branch with a merge commit.
func (r *repo) merge(branch string) string {
	r.t.Helper()
	r.git("merge", "-q", "--no-ff", "--no-edit", branch)
	return r.git("rev-parse", "HEAD")
}

// hit is a finding reduced to what the tests compare.
type hit struct {
	commit string
	loc    string // path:line
}

func scanRepo(t *testing.T, r *repo, opts Options) ([]hit, Stats, *fakeScanner) {
	t.Helper()
	opts.Dir = r.dir
	fs := &fakeScanner{}
	var hits []hit
	st, err := Scan(context.Background(), opts, fs, func(f scan.Finding) {
		hits = append(hits, hit{f.Commit, fmt.Sprintf("%s:%d", f.Path, f.Line)})
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	slices.SortFunc(hits, func(a, b hit) int { return strings.Compare(a.commit+a.loc, b.commit+b.loc) })
	return hits, st, fs
}

func TestScan(t *testing.T) {
	tests := []struct {
		name string
		init []string
		// build makes the history and returns the options to scan it
		// with and the expected findings.
		build func(r *repo) (Options, []hit)
		check func(t *testing.T, st Stats, fs *fakeScanner)
	}{{
		name: "added then removed is found once, where it was added",
		build: func(r *repo) (Options, []hit) {
			r.write("app/config.txt", "a\nb\n")
			r.commit("one")
			r.write("app/config.txt", "a\nkey = SECRET\nb\n")
			c2 := r.commit("two")
			r.write("app/config.txt", "a\nb\n")
			r.commit("three")
			return Options{}, []hit{{c2, "app/config.txt:2"}}
		},
	}, {
		name: "sha256 repository",
		init: []string{"--object-format=sha256"},
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "x\n")
			r.commit("one")
			r.write("a.txt", "x\ny\nSECRET\n")
			c2 := r.commit("two")
			if len(c2) != 64 {
				r.t.Fatalf("commit id %q is not SHA-256", c2)
			}
			r.write("a.txt", "x\n")
			r.commit("three")
			return Options{}, []hit{{c2, "a.txt:3"}}
		},
	}, {
		name: "secret only in a merge resolution is found in the merge",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "base\n")
			r.commit("base")
			r.git("checkout", "-q", "-b", "topic")
			r.write("b.txt", "topic\n")
			r.commit("topic")
			r.git("checkout", "-q", "main")
			r.write("a.txt", "base\nmain\n")
			r.commit("main")
			r.git("merge", "-q", "--no-ff", "--no-commit", "topic")
			r.write("a.txt", "base\nmain\nSECRET sneaked into the merge\n")
			m := r.commit("merge")
			return Options{}, []hit{{m, "a.txt:3"}}
		},
	}, {
		name: "file merged from a branch is reported for the branch commit only",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "base\n")
			r.commit("base")
			r.git("checkout", "-q", "-b", "topic")
			r.write("s.txt", "x\nSECRET\n")
			c := r.commit("topic")
			r.write("a.txt", "base\ntopic\n")
			r.commit("topic 2")
			r.git("checkout", "-q", "main")
			r.write("a.txt", "main\nbase\n")
			r.commit("main")
			r.merge("topic") // a.txt merges cleanly from both sides
			return Options{}, []hit{{c, "s.txt:2"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if fs.calls["a.txt"] != 3 { // base, topic 2, main; the clean merge adds nothing
				t.Errorf("a.txt scanned %d times, want 3", fs.calls["a.txt"])
			}
		},
	}, {
		name: "identical change on two branches is reported for both, scanned once",
		build: func(r *repo) (Options, []hit) {
			r.write("f.txt", "one\n")
			r.commit("base")
			r.git("checkout", "-q", "-b", "topic")
			r.write("f.txt", "one\nSECRET\n")
			c1 := r.commit("add")
			r.git("checkout", "-q", "main")
			r.git("cherry-pick", "topic")
			c2 := r.git("rev-parse", "HEAD")
			return Options{}, []hit{{c1, "f.txt:2"}, {c2, "f.txt:2"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if fs.calls["f.txt"] != 2 { // base, then the change once
				t.Errorf("f.txt scanned %d times, want 2", fs.calls["f.txt"])
			}
		},
	}, {
		name: "renamed file is not reported again",
		build: func(r *repo) (Options, []hit) {
			r.write("old/name.txt", "line 1\nline 2\nSECRET\nline 4\nline 5\nline 6\n")
			c := r.commit("add")
			r.git("mv", "old", "new")
			r.commit("rename")
			r.write("new/name.txt", "line 1\nline 2\nSECRET\nline 4\nline 5\nline 6\nline 7\n")
			r.commit("edit")
			return Options{}, []hit{{c, "old/name.txt:3"}}
		},
	}, {
		name: "rename on a merged branch",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "1\n2\n3\n4\nSECRET\n")
			c := r.commit("base")
			r.git("checkout", "-q", "-b", "topic")
			r.git("mv", "a.txt", "b.txt")
			r.commit("rename")
			r.git("checkout", "-q", "main")
			r.write("c.txt", "c\n")
			r.commit("main")
			r.merge("topic")
			return Options{}, []hit{{c, "a.txt:5"}}
		},
	}, {
		name: "range",
		build: func(r *repo) (Options, []hit) {
			var cs []string
			for i := range 4 {
				r.write(fmt.Sprintf("f%d.txt", i), "SECRET\n")
				cs = append(cs, r.commit(fmt.Sprint(i)))
			}
			return Options{Revs: []string{cs[1] + ".." + cs[3]}},
				[]hit{{cs[2], "f2.txt:1"}, {cs[3], "f3.txt:1"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if st.Commits != 2 {
				t.Errorf("Commits = %d, want 2", st.Commits)
			}
		},
	}, {
		name: "new commits only, as in a pre-receive hook",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "SECRET old\n")
			r.commit("old")
			r.git("checkout", "-q", "-b", "pushed")
			r.write("a.txt", "SECRET old\nSECRET new\n")
			c := r.commit("new")
			r.git("checkout", "-q", "main")
			r.git("update-ref", "-d", "refs/heads/pushed")
			return Options{Revs: []string{c, "--not", "--all"}}, []hit{{c, "a.txt:2"}}
		},
	}, {
		name: "deleted file, submodule, empty commit",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "SECRET\n")
			c := r.commit("add")
			r.git("rm", "-q", "a.txt")
			r.commit("delete")
			r.commit("empty")
			r.git("update-index", "--add", "--cacheinfo", "160000,"+c+",sub")
			r.git("commit", "-q", "-m", "submodule")
			return Options{}, []hit{{c, "a.txt:1"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if st.Commits != 4 || st.Blobs != 1 {
				t.Errorf("stats = %+v, want 4 commits, 1 blob", st)
			}
		},
	}, {
		name: "binary counted, UTF-16 scanned whole",
		build: func(r *repo) (Options, []hit) {
			r.write("img.bin", "\x89PNG\x00\x00SECRET\n")
			r.write("utf16.txt", "\xff\xfea\x00\n\x00S\x00E\x00C\x00R\x00E\x00T\x00\n\x00")
			c := r.commit("add")
			return Options{}, []hit{{c, "utf16.txt:2"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if st.Binary != 1 || st.Blobs != 2 {
				t.Errorf("stats = %+v, want 2 blobs, 1 binary", st)
			}
		},
	}, {
		name: "missing blob is skipped and counted",
		build: func(r *repo) (Options, []hit) {
			r.write("gone.txt", "SECRET\n")
			r.write("kept.txt", "SECRET\n\n")
			c := r.commit("add")
			id := r.git("rev-parse", "HEAD:gone.txt")
			if err := os.Remove(filepath.Join(r.dir, ".git", "objects", id[:2], id[2:])); err != nil {
				r.t.Fatal(err)
			}
			return Options{}, []hit{{c, "kept.txt:1"}}
		},
		check: func(t *testing.T, st Stats, fs *fakeScanner) {
			if st.Skipped != 1 || st.Blobs != 1 {
				t.Errorf("stats = %+v, want 1 blob, 1 skipped", st)
			}
		},
	}, {
		name: "since",
		build: func(r *repo) (Options, []hit) {
			r.write("a.txt", "SECRET 1\n")
			r.commit("old")
			r.tick += 24 * 60 // a day later
			r.write("a.txt", "SECRET 1\nSECRET 2\n")
			c := r.commit("new")
			return Options{Since: "@1700043000"}, []hit{{c, "a.txt:2"}}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t, tt.init...)
			opts, want := tt.build(r)
			slices.SortFunc(want, func(a, b hit) int { return strings.Compare(a.commit+a.loc, b.commit+b.loc) })
			got, st, fs := scanRepo(t, r, opts)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got %v\nwant %v", got, want)
			}
			if tt.check != nil {
				tt.check(t, st, fs)
			}
		})
	}
}

func TestScanOrigin(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "SECRET\n")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "Add a\n\nbody")
	var got []scan.Finding
	var progress []Stats
	opts := Options{Dir: r.dir, Progress: func(st Stats) { progress = append(progress, st) }}
	st, err := Scan(context.Background(), opts, &fakeScanner{}, func(f scan.Finding) { got = append(got, f) })
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != st {
		t.Errorf("progress %v does not end with the final stats %v", progress, st)
	}
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	o := got[0].Origin
	want := scan.Origin{Commit: r.git("rev-parse", "HEAD"), Author: "Ada", Email: "ada@example.com", Message: "Add a", Path: "a.txt"}
	date := o.Date
	o.Date = time.Time{}
	if o != want {
		t.Errorf("origin = %+v, want %+v", o, want)
	}
	if _, off := date.Zone(); fmt.Sprint(date.Unix()) != r.git("log", "-1", "--format=%at") || off != 2*3600 {
		t.Errorf("date = %v", date)
	}
}

func TestScanEnv(t *testing.T) {
	// The hook points git at the repository (and its quarantine) through
	// the environment only.
	r := newRepo(t)
	r.write("a.txt", "SECRET\n")
	c := r.commit("one")
	var got []string
	_, err := Scan(context.Background(), Options{Dir: t.TempDir(), Env: []string{"GIT_DIR=" + filepath.Join(r.dir, ".git")}},
		&fakeScanner{}, func(f scan.Finding) { got = append(got, f.Commit) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{c}) {
		t.Errorf("got %v, want [%s]", got, c)
	}
}

func TestScanErrors(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "x\n")
	r.commit("one")
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"bad revision", Options{Dir: r.dir, Revs: []string{"no-such-branch"}},
			[]string{"gitsrc: git log no-such-branch: ", "no-such-branch"}},
		{"not a repository", Options{Dir: t.TempDir(), Env: []string{"GIT_CEILING_DIRECTORIES=/"}},
			[]string{"gitsrc: git log --all: ", "not a git repository"}},
		{"no directory", Options{Dir: filepath.Join(t.TempDir(), "missing")},
			[]string{"gitsrc: git log --all: ", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(context.Background(), tt.opts, &fakeScanner{}, func(scan.Finding) {})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestScanCancel(t *testing.T) {
	r := newRepo(t)
	for i := range 20 {
		r.write("a.txt", strings.Repeat(fmt.Sprintf("line %d\n", i), i+1))
		r.commit(fmt.Sprint(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Scan(ctx, Options{Dir: r.dir}, &fakeScanner{}, func(scan.Finding) {})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// commitAllowScanner finds what fakeScanner finds, except in one allowlisted
// commit, and says its results depend on the commit.
type commitAllowScanner struct {
	fakeScanner
	allowed string
}

func (s *commitAllowScanner) CommitSensitive() bool { return true }

func (s *commitAllowScanner) Scan(f scan.Fragment) scan.Result {
	if f.Commit == s.allowed {
		return scan.Result{Bytes: len(f.Text)}
	}
	return s.fakeScanner.Scan(f)
}

func TestScanCommitSensitive(t *testing.T) {
	r := newRepo(t)
	r.write("f.txt", "one\n")
	r.commit("base")
	r.git("checkout", "-q", "-b", "topic")
	r.write("f.txt", "one\nSECRET\n")
	allowed := r.commit("add")
	r.git("checkout", "-q", "main")
	r.git("cherry-pick", "topic")
	picked := r.git("rev-parse", "HEAD")
	var got []string
	s := &commitAllowScanner{allowed: allowed}
	if _, err := Scan(context.Background(), Options{Dir: r.dir, Workers: 1}, s, func(f scan.Finding) {
		got = append(got, f.Commit)
	}); err != nil {
		t.Fatal(err)
	}
	// The allowlisted commit's clean result must not be reused for the pick.
	if !slices.Equal(got, []string{picked}) {
		t.Errorf("findings in %v, want only the cherry-pick %s", got, picked)
	}
}

func TestScanStaged(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "one\nSECRET old\n")
	r.commit("base")
	r.write("a.txt", "one\nSECRET old\ntwo\nSECRET new\n")
	r.write("b.txt", "SECRET in a new file\n")
	r.write("unstaged.txt", "SECRET not added\n")
	r.git("add", "a.txt", "b.txt")
	hits, _, _ := scanRepo(t, r, Options{Staged: true})
	want := []hit{{"", "a.txt:4"}, {"", "b.txt:1"}}
	if !slices.Equal(hits, want) {
		t.Errorf("got %v, want %v", hits, want)
	}

	// Before the first commit everything staged is new.
	r2 := newRepo(t)
	r2.write("c.txt", "x\nSECRET\n")
	r2.git("add", "c.txt")
	if hits, _, _ := scanRepo(t, r2, Options{Staged: true}); !slices.Equal(hits, []hit{{"", "c.txt:2"}}) {
		t.Errorf("empty repo: got %v", hits)
	}
}

func TestScanCommitMessage(t *testing.T) {
	r := newRepo(t)
	r.write("a.txt", "SECRET in a file\n")
	c := r.commit("rotate: old key was SECRET\n\nbody line")
	r.write("b.txt", "clean\n")
	r.commit("ordinary subject\n\nbut the body has SECRET too")
	var got []string
	_, err := Scan(context.Background(), Options{Dir: r.dir, Workers: 1}, &fakeScanner{}, func(f scan.Finding) {
		got = append(got, fmt.Sprintf("%s|%s:%d|%s", f.Commit[:7], f.Path, f.Line, f.Message))
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	short := c[:7]
	want := []string{
		short + "|" + MessagePath + ":1|" + withheld,
		short + "|a.txt:1|" + withheld, // the subject is never shown: it holds the secret
	}
	// The second commit's body finding.
	if len(got) != 3 || got[0] == "" {
		t.Fatalf("got %v", got)
	}
	var mine []string
	for _, g := range got {
		if strings.HasPrefix(g, short) {
			mine = append(mine, g)
		} else if !strings.Contains(g, MessagePath+":3|"+withheld) {
			t.Errorf("body finding: %s", g)
		}
	}
	if !slices.Equal(mine, want) {
		t.Errorf("got %v, want %v", mine, want)
	}
}
