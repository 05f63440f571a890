package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/alert/snstest"
	"github.com/secretgate/secretgate/internal/hook"
	"github.com/secretgate/secretgate/internal/store"
)

// gitServer is a bare repository with the pre-receive hook installed, a
// policy that alerts to a local SNS endpoint, and a clone to push from.
type gitServer struct {
	t                   *testing.T
	bare, policy, clone string
	sns                 *snstest.Server
	env                 []string
}

func newGitServer(t *testing.T, objectFormat string) *gitServer {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	s := &gitServer{t: t, bare: filepath.Join(dir, "shop.git"), clone: filepath.Join(dir, "work"), sns: snstest.NewServer(t)}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s.env = append(os.Environ(),
		"GATEKEEPER_TEST_MAIN=1",
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION="+snstest.Region,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
	)
	s.git(dir, "init", "-q", "--bare", "--object-format="+objectFormat, s.bare)
	s.policy = filepath.Join(dir, "secretgate.toml")
	os.WriteFile(s.policy, []byte(fmt.Sprintf(`[alerts]
sns_topic = %q
sns_endpoint = %q

[budget]
timeout = "60s"
`, s.sns.Topic(), s.sns.URL)), 0o644)
	if _, err := hook.Install(hook.InstallOptions{Repo: s.bare, Binary: self, Policy: s.policy}); err != nil {
		t.Fatal(err)
	}
	s.git(dir, "clone", "-q", s.bare, s.clone)
	s.git(s.clone, "checkout", "-q", "-b", "main")
	// Before the folder goes: let the detached delivery process finish.
	t.Cleanup(s.waitDelivered)
	return s
}

// waitDelivered waits until no alert is pending and delivery has exited.
func (s *gitServer) waitDelivered() {
	waitDelivered(filepath.Join(filepath.Dir(s.policy), "secretgate.db"))
}

func waitDelivered(db string) {
	if _, err := os.Stat(db); err != nil {
		return
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		return
	}
	defer st.Close()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n, err := st.PendingAlerts(context.Background()); err == nil && n == 0 {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // the process closes its store and exits
}

func (s *gitServer) run(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=Dana Dev", "-c", "user.email=dana@example.com"}, args...)...)
	cmd.Dir = dir
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *gitServer) git(dir string, args ...string) string {
	s.t.Helper()
	out, err := s.run(dir, args...)
	if err != nil {
		s.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// gitStdin runs git with input and returns its output.
func (s *gitServer) gitStdin(dir, input string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files in the clone and commits them.
func (s *gitServer) commit(msg string, files map[string]string) string {
	s.t.Helper()
	for name, body := range files {
		p := filepath.Join(s.clone, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if body == "" {
			os.Remove(p)
			continue
		}
		os.WriteFile(p, []byte(body), 0o644)
	}
	s.git(s.clone, "add", "-A")
	s.git(s.clone, "commit", "-q", "--allow-empty", "-m", msg)
	return s.git(s.clone, "rev-parse", "HEAD")
}

// push returns the pusher's output and whether the server accepted.
func (s *gitServer) push(args ...string) (string, bool) {
	s.t.Helper()
	out, err := s.run(s.clone, append([]string{"push"}, args...)...)
	s.checkNoSecret("push output", out)
	return out, err == nil
}

func (s *gitServer) checkNoSecret(where, text string) {
	s.t.Helper()
	for _, secret := range planted {
		if strings.Contains(text, secret) {
			s.t.Fatalf("%s holds a planted secret:\n%s", where, text)
		}
	}
}

func (s *gitServer) store() *store.Store {
	st, err := store.Open(context.Background(), filepath.Join(filepath.Dir(s.policy), "secretgate.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { st.Close() })
	return st
}

// waitAlerts waits for the detached delivery process to publish n alerts.
func (s *gitServer) waitAlerts(n int) []snstest.Publish {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.sns.Published()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				s.t.Fatalf("%d alerts published, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPreReceive(t *testing.T) {
	s := newGitServer(t, "sha1")
	awsFile := "[default]\naws_access_key_id = " + awsID + "\n"

	// 1. A clean push goes in.
	s.commit("initial", map[string]string{"app.py": "print('shop')\n"})
	if out, ok := s.push("-q", "origin", "main"); !ok || strings.Contains(out, "secretgate") {
		t.Fatalf("clean push refused:\n%s", out)
	}

	// 2. A secret is refused, with what to do about it.
	c := s.commit("deploy settings", map[string]string{"deploy.ini": awsFile})
	out, ok := s.push("origin", "main")
	if ok {
		t.Fatalf("secret accepted:\n%s", out)
	}
	for _, want := range []string{
		"secretgate: push rejected: 1 secret found in the commits you pushed.",
		c[:8] + "  deploy.ini:2  AWS long-term access key ID",
		"           AKIA********",
		"git commit --amend", "ROTATE the secret", "secretgate:allow",
		"git push -o secretgate.bypass=false_positive|used_in_tests|will_fix_later",
		"pre-receive hook declined",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rejection lacks %q:\n%s", want, out)
		}
	}

	// 3. Added and removed within the push: still refused.
	s.commit("oops, remove it", map[string]string{"deploy.ini": ""})
	if out, ok := s.push("origin", "main"); ok || !strings.Contains(out, c[:8]+"  deploy.ini:2") {
		t.Errorf("add-then-remove accepted or not named:\n%s", out)
	}

	// 4. A bad reason is no bypass.
	if out, ok := s.push("-o", "secretgate.bypass=because", "origin", "main"); ok || !strings.Contains(out, "Bypass refused: the bypass reason must be one of") {
		t.Errorf("bad bypass reason:\n%s", out)
	}

	// 5. A bypass with a reason goes in, is recorded and alerted.
	out, ok = s.push("-o", "secretgate.bypass=used_in_tests", "origin", "main")
	if !ok || !strings.Contains(out, "1 secret accepted by bypass (used_in_tests)") {
		t.Fatalf("bypass refused:\n%s", out)
	}
	// Each refusal alerted the security team too; the bypass is the fourth.
	alerts := s.waitAlerts(4)
	if a := alertWith(alerts, `"verdict":"bypassed"`); a.TopicArn != s.sns.Topic() || !strings.Contains(a.Subject, "shop.git") ||
		a.Attributes["severity"].StringValue != "critical" || a.Attributes["repository"].StringValue != s.bare ||
		!strings.Contains(a.Message, `"verdict":"bypassed"`) || !strings.Contains(a.Message, "AKIA********") {
		t.Errorf("bypass alert: %+v", a)
	}

	// 6. The same secret, bypassed once, does not block again: here on a new
	// branch that copies it to another file.
	s.git(s.clone, "checkout", "-q", "-b", "copy")
	s.commit("copy the test key", map[string]string{"tests/fixture.ini": awsFile})
	if out, ok := s.push("origin", "copy"); !ok || !strings.Contains(out, "already accepted by an earlier bypass") {
		t.Errorf("known secret refused:\n%s", out)
	}

	// 7. A branch made of history already in the repository scans nothing.
	s.git(s.clone, "branch", "-f", "old", c)
	if out, ok := s.push("origin", "old"); !ok || strings.Contains(out, "rejected") {
		t.Errorf("branch from history refused:\n%s", out)
	}

	// 8. Deleting a branch is fine.
	if out, ok := s.push("origin", ":old"); !ok {
		t.Errorf("delete refused:\n%s", out)
	}

	// 9. A secret only in a merge commit's resolution is refused.
	s.git(s.clone, "checkout", "-q", "main")
	s.git(s.clone, "checkout", "-q", "-b", "feature")
	s.commit("feature", map[string]string{"feature.py": "x = 1\n"})
	s.git(s.clone, "checkout", "-q", "main")
	s.commit("main work", map[string]string{"app.py": "print('shop v2')\n"})
	s.run(s.clone, "merge", "-q", "--no-commit", "feature")
	os.WriteFile(filepath.Join(s.clone, "ci.env"), []byte("GITHUB_TOKEN="+ghToken+"\n"), 0o644)
	s.git(s.clone, "add", "ci.env")
	s.git(s.clone, "commit", "-q", "-m", "Merge feature")
	merge := s.git(s.clone, "rev-parse", "HEAD")
	if out, ok := s.push("origin", "main"); ok || !strings.Contains(out, merge[:8]+"  ci.env:1") {
		t.Errorf("merge-only secret:\n%s", out)
	}
	s.git(s.clone, "reset", "-q", "--hard", "HEAD~1")

	// 10. A tag is scanned: an annotated tag on a commit no branch has.
	s.git(s.clone, "checkout", "-q", "--detach")
	tagged := s.commit("release notes", map[string]string{"release.env": "GITHUB_TOKEN=" + ghToken + "\n"})
	s.git(s.clone, "tag", "-a", "-m", "v1", "v1.0.0", tagged)
	if out, ok := s.push("origin", "v1.0.0"); ok || !strings.Contains(out, tagged[:8]+"  release.env:1") {
		t.Errorf("tag with a secret:\n%s", out)
	}
	s.git(s.clone, "checkout", "-q", "main")

	// 11. A force push that rewrites main with a secret is refused; one
	// that rewrites it clean goes in.
	s.git(s.clone, "reset", "-q", "--hard", "HEAD~1")
	forced := s.commit("rewrite", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghToken + "\n"})
	if out, ok := s.push("-f", "origin", "main"); ok || !strings.Contains(out, forced[:8]+"  ci.env:1") {
		t.Errorf("force push with a secret:\n%s", out)
	}
	s.git(s.clone, "reset", "-q", "--hard", "HEAD~1")
	s.commit("rewrite, clean", map[string]string{"notes.txt": "n\n"})
	if out, ok := s.push("-f", "origin", "main"); !ok {
		t.Errorf("clean force push refused:\n%s", out)
	}

	// 12. A tag of a tree adds no commit: nothing to scan, nothing refused.
	s.git(s.clone, "tag", "tree-tag", "HEAD^{tree}")
	if out, ok := s.push("origin", "tree-tag"); !ok {
		t.Errorf("tag of a tree refused:\n%s", out)
	}

	// 13. Secrets in what other refs point to: a blob, a tree, a tag message.
	// (The AWS key was bypassed in step 5; the token was not.)
	blob := s.gitStdin(s.clone, "GITHUB_TOKEN="+ghToken+"\n", "hash-object", "-w", "--stdin")
	tree := s.gitStdin(s.clone, "100644 blob "+blob+"\tcreds.ini\n", "mktree")
	s.git(s.clone, "tag", "-a", "-m", "deploy token "+ghToken, "msg-tag", "HEAD")
	for _, c := range []struct{ spec, where string }{
		{blob + ":refs/tags/blob-tag", "(blob at refs/tags/blob-tag):1"},
		{tree + ":refs/tags/tree-secret", "creds.ini:1"},
		{"msg-tag", "(tag message of refs/tags/msg-tag):1"},
	} {
		if out, ok := s.push("origin", c.spec); ok || !strings.Contains(out, c.where) {
			t.Errorf("push %s:\n%s", c.spec, out)
		}
	}

	// The record: every decision, no secret anywhere.
	st := s.store()
	pushes, err := st.Pushes(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for i := len(pushes) - 1; i >= 0; i-- {
		verdicts = append(verdicts, string(pushes[i].Verdict))
	}
	want := "accepted rejected rejected rejected bypassed accepted accepted accepted rejected rejected rejected accepted accepted rejected rejected rejected"
	if got := strings.Join(verdicts, " "); got != want {
		t.Errorf("recorded verdicts:\n got %s\nwant %s", got, want)
	}
	if p := pushes[len(pushes)-5]; p.Pusher == "" || p.Reason != "used_in_tests" || p.Repo != s.bare {
		t.Errorf("bypass record: %+v", p)
	}
	s.waitAlerts(10) // the bypass, and one for each of the nine refusals
	for _, name := range []string{"secretgate.db", "secretgate.db-wal", "alerts.log"} {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.policy), name))
		s.checkNoSecret(name, string(b))
	}
	for _, a := range s.sns.Published() {
		s.checkNoSecret("alert", a.Subject+a.Message)
	}
}

func alertWith(alerts []snstest.Publish, text string) snstest.Publish {
	for _, a := range alerts {
		if strings.Contains(a.Message, text) {
			return a
		}
	}
	return snstest.Publish{}
}

func TestPreReceiveConcurrentPushes(t *testing.T) {
	s := newGitServer(t, "sha1")
	s.commit("initial", map[string]string{"a.txt": "a\n"})
	if out, ok := s.push("-q", "origin", "main"); !ok {
		t.Fatal(out)
	}
	// Two clones push at the same moment: one clean, one with a secret.
	clones := []string{filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")}
	for i, c := range clones {
		s.git(filepath.Dir(c), "clone", "-q", s.bare, c)
		body := "clean\n"
		if i == 1 {
			body = "aws_access_key_id = " + awsID + "\n"
		}
		os.WriteFile(filepath.Join(c, "f.txt"), []byte(body), 0o644)
		s.git(c, "add", ".")
		s.git(c, "commit", "-qm", "change")
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range clones {
		wg.Go(func() { _, errs[i] = s.run(c, "push", "-q", "origin", fmt.Sprintf("HEAD:refs/heads/b%d", i)) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] == nil {
		t.Errorf("clean push: %v; push with a secret: %v (want accepted, rejected)", errs[0], errs[1])
	}
	pushes, err := s.store().Pushes(context.Background(), 0)
	if err != nil || len(pushes) != 3 {
		t.Fatalf("%d pushes recorded (%v), want 3", len(pushes), err)
	}
}

// git 2.39 cannot push between SHA-256 repositories, so this drives the
// hook as git would: GIT_DIR set, the new commit in the object store but on
// no ref, and the update on stdin.
func TestPreReceiveSHA256(t *testing.T) {
	repo := gitRepo(t)
	git := gitIn(t, repo)
	git("init", "-q", "--object-format=sha256", "-b", "main")
	os.WriteFile(filepath.Join(repo, "a.txt"), []byte("a\n"), 0o644)
	git("add", ".")
	git("commit", "-qm", "initial")
	os.WriteFile(filepath.Join(repo, "ci.env"), []byte("GITHUB_TOKEN="+ghToken+"\n"), 0o644)
	git("add", ".")
	out := func(args ...string) string {
		b, err := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	old := out("rev-parse", "HEAD")
	c := out("commit-tree", out("write-tree"), "-p", old, "-m", "token")
	if len(c) != 64 {
		t.Fatalf("commit id %q: not a SHA-256 repository", c)
	}
	pol := filepath.Join(t.TempDir(), "secretgate.toml")
	os.WriteFile(pol, []byte("[budget]\ntimeout = \"60s\"\n"), 0o644)
	t.Cleanup(func() { waitDelivered(filepath.Join(filepath.Dir(pol), "secretgate.db")) })
	t.Setenv("GIT_DIR", filepath.Join(repo, ".git"))
	r := gatekeeper(t, old+" "+c+" refs/heads/main\n", "hook", "pre-receive", "--config", pol)
	if r.code != 1 || !strings.Contains(r.stderr, c[:8]+"  ci.env:1") {
		t.Errorf("code %d:\n%s", r.code, r.stderr)
	}
}

func TestPreReceiveBudget(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		ok      bool
		verdict store.Verdict
		says    string
	}{
		{"open", true, store.VerdictFailedOpen, "accepted by policy. It is recorded for a later scan"},
		{"closed", false, store.VerdictFailedClosed, "this server refuses pushes it cannot scan"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			s := newGitServer(t, "sha1")
			// A budget no scan can meet.
			pol, _ := os.ReadFile(s.policy)
			pol = []byte(strings.Replace(string(pol), `timeout = "60s"`, `timeout = "1ns"`+"\non_timeout = \""+tt.mode+"\"", 1))
			os.WriteFile(s.policy, pol, 0o644)
			s.commit("token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghToken + "\n"})
			out, ok := s.push("origin", "main")
			if ok != tt.ok || !strings.Contains(out, "not finished within 1ns") || !strings.Contains(out, tt.says) {
				t.Errorf("accepted=%v:\n%s", ok, out)
			}
			p, _ := s.store().Pushes(context.Background(), 1)
			if len(p) != 1 || p[0].Verdict != tt.verdict || len(p[0].Unscanned) != 1 {
				t.Errorf("recorded %+v", p)
			}
			if tt.ok { // let through unscanned: the security team hears of it
				if a := s.waitAlerts(1); !strings.Contains(a[0].Message, `"verdict":"failed_open"`) {
					t.Errorf("alert: %+v", a[0])
				}
				// The later scan finds what went in, once. (Run in this
				// process, whose delivery child needs the SNS settings too.)
				t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
				t.Setenv("AWS_REGION", snstest.Region)
				r := gatekeeper(t, "", "hook", "rescan", "--git-dir", s.bare, "--config", s.policy)
				if r.code != 1 || !strings.Contains(r.stdout, "1 commits scanned, 1 secrets") {
					t.Errorf("rescan: code %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				if r := gatekeeper(t, "", "hook", "rescan", "--git-dir", s.bare, "--config", s.policy); r.code != 0 || r.stdout != "" {
					t.Errorf("second rescan: code %d\n%s", r.code, r.stdout)
				}
				if p, _ := s.store().Pushes(context.Background(), 0); p[0].Source != "rescan" || p[0].Verdict != store.VerdictRejected {
					t.Errorf("rescan record: %+v", p[0])
				}
				s.waitAlerts(2)
			}
		})
	}
}

func TestPreReceiveGitLab(t *testing.T) {
	s := newGitServer(t, "sha1")
	s.env = append(s.env, "GL_ID=user-7", "GL_USERNAME=dana", "GL_PROJECT_PATH=shop/api")
	s.commit("token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghToken + "\n"})
	out, ok := s.push("origin", "main")
	if ok || !strings.Contains(out, "remote: GL-HOOK-ERR: secretgate: push rejected") {
		t.Errorf("GitLab message:\n%s", out)
	}
	p, _ := s.store().Pushes(context.Background(), 1)
	if len(p) != 1 || p[0].Pusher != "dana" || p[0].Repo != "shop/api" {
		t.Errorf("recorded %+v", p)
	}
}

func TestClientHooks(t *testing.T) {
	s := newGitServer(t, "sha1")
	s.commit("initial", map[string]string{"a.txt": "a\n"})
	s.push("-q", "origin", "main")
	self, _ := os.Executable()
	for _, h := range []string{"pre-commit", "pre-push"} {
		os.WriteFile(filepath.Join(s.clone, ".git", "hooks", h), []byte("#!/bin/sh\nexec '"+self+"' hook "+h+"\n"), 0o755)
	}
	os.WriteFile(filepath.Join(s.clone, "ci.env"), []byte("GITHUB_TOKEN="+ghToken+"\n"), 0o644)
	s.git(s.clone, "add", "ci.env")
	out, err := s.run(s.clone, "commit", "-m", "token")
	s.checkNoSecret("pre-commit output", out)
	if err == nil || !strings.Contains(out, "secretgate: commit refused: 1 secret found in the staged changes.") || !strings.Contains(out, "git commit --no-verify") {
		t.Errorf("pre-commit:\n%s", out)
	}
	// Committed past the pre-commit hook, the pre-push hook still stops it.
	s.git(s.clone, "commit", "-q", "--no-verify", "-m", "token")
	out, err = s.run(s.clone, "push", "origin", "main")
	s.checkNoSecret("pre-push output", out)
	if err == nil || !strings.Contains(out, "secretgate: push stopped: 1 secret found in the commits you are pushing.") {
		t.Errorf("pre-push:\n%s", out)
	}
}

func TestPreReceiveInlineAllow(t *testing.T) {
	for _, tt := range []struct {
		setting string
		ok      bool
	}{{"", true}, {"[bypass]\ninline_allow = false\n", false}} {
		s := newGitServer(t, "sha1")
		pol, _ := os.ReadFile(s.policy)
		os.WriteFile(s.policy, append(pol, tt.setting...), 0o644)
		s.commit("allowed", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghToken + " # secretgate:allow\n"})
		if out, ok := s.push("origin", "main"); ok != tt.ok {
			t.Errorf("%q: accepted=%v, want %v\n%s", tt.setting, ok, tt.ok, out)
		}
	}
}
