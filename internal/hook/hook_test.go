package hook

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/store"
)

var (
	zero40 = strings.Repeat("0", 40)
	a40    = strings.Repeat("a", 40)
	b64    = strings.Repeat("b", 64)
	zero64 = strings.Repeat("0", 64)
)

func TestReadUpdates(t *testing.T) {
	tests := []struct {
		name, in string
		want     []store.RefUpdate
		err      string
	}{
		{"empty push", "", nil, ""},
		{"two refs, CRLF", zero40 + " " + a40 + " refs/heads/new\r\n" + a40 + " " + zero40 + " refs/heads/gone\n",
			[]store.RefUpdate{{Old: zero40, New: a40, Ref: "refs/heads/new"}, {Old: a40, New: zero40, Ref: "refs/heads/gone"}}, ""},
		{"sha256", zero64 + " " + b64 + " refs/tags/v1\n", []store.RefUpdate{{Old: zero64, New: b64, Ref: "refs/tags/v1"}}, ""},
		{"mixed lengths", zero40 + " " + b64 + " refs/heads/x\n", nil, "line 1"},
		{"not hex", "zz" + a40[2:] + " " + a40 + " refs/heads/x\n", nil, "line 1"},
		{"too few fields", "\n" + a40 + " " + a40 + "\n", nil, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadUpdates(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name         string
		vars         map[string]string
		pusher, repo string
		gitlab       bool
		opts         []string
	}{
		{"GitHub Enterprise", map[string]string{"GITHUB_USER_LOGIN": "octocat", "GITHUB_REPO_NAME": "octo-org/app", "GIT_PUSH_OPTION_COUNT": "1", "GIT_PUSH_OPTION_0": "secretgate.bypass=used_in_tests"},
			"octocat", "octo-org/app", false, []string{"secretgate.bypass=used_in_tests"}},
		{"GitLab", map[string]string{"GL_USERNAME": "dana", "GL_ID": "user-7", "GL_PROJECT_PATH": "group/api", "GIT_PUSH_OPTION_COUNT": "0"},
			"dana", "group/api", true, []string{}},
		{"GitLab deploy key", map[string]string{"GL_ID": "key-4", "GL_PROJECT_PATH": "group/api"}, "key-4", "group/api", true, nil},
		{"Gitea", map[string]string{"GITEA_PUSHER_NAME": "lee", "GITEA_REPO_USER_NAME": "ops", "GITEA_REPO_NAME": "infra"}, "lee", "ops/infra", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Env(func(k string) string { return tt.vars[k] })
			if got := e.Pusher(); got != tt.pusher {
				t.Errorf("Pusher = %q, want %q", got, tt.pusher)
			}
			if got := e.Repo("/srv/git/x.git"); got != tt.repo {
				t.Errorf("Repo = %q, want %q", got, tt.repo)
			}
			if e.GitLab() != tt.gitlab {
				t.Errorf("GitLab = %v", e.GitLab())
			}
			if got := e.PushOptions(); !slices.Equal(got, tt.opts) {
				t.Errorf("PushOptions = %q, want %q", got, tt.opts)
			}
		})
	}
	plain := Env(func(string) string { return "" })
	if plain.Pusher() == "" {
		t.Error("plain git: no pusher from the system user")
	}
	if got := plain.Repo("/srv/git/shop.git"); got != "/srv/git/shop.git" {
		t.Errorf("plain Repo = %q", got)
	}
	if got := plain.Repo("/home/d/shop/.git"); got != "/home/d/shop" {
		t.Errorf("non-bare Repo = %q", got)
	}
}

func TestForPusherGitLabPrefix(t *testing.T) {
	var b bytes.Buffer
	w := Env(func(k string) string { return map[string]string{"GL_ID": "user-1"}[k] }).ForPusher(&b)
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n\nthree\n"))
	want := "GL-HOOK-ERR: one\nGL-HOOK-ERR: two\nGL-HOOK-ERR: \nGL-HOOK-ERR: three\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestInstall(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := filepath.Join(t.TempDir(), "shop.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", repo).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// An existing hook stays and runs first.
	prev := filepath.Join(repo, "hooks", "pre-receive")
	os.WriteFile(prev, []byte("#!/bin/sh\necho previous\n"), 0o755)
	pol := filepath.Join(repo, "secretgate.toml") // the default for a bare repository
	o := InstallOptions{Repo: repo, Binary: "/opt/secret gate/gatekeeper"}
	if _, err := Install(o); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(o); err != nil { // again: idempotent
		t.Fatal(err)
	}
	got, _ := os.ReadFile(prev)
	for _, want := range []string{marker, `if [ -x "$0.secretgate-previous" ]`, `exec '/opt/secret gate/gatekeeper' hook pre-receive --config '` + pol + `'`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("hook lacks %q:\n%s", want, got)
		}
	}
	if b, _ := os.ReadFile(prev + previousSuffix); string(b) != "#!/bin/sh\necho previous\n" {
		t.Errorf("previous hook not kept: %q", b)
	}
	out, _ := exec.Command("git", "-C", repo, "config", "receive.advertisePushOptions").Output()
	if strings.TrimSpace(string(out)) != "true" {
		t.Errorf("push options not enabled: %q", out)
	}
	// The written default policy is valid and says the defaults.
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	if p.Timeout != policy.DefaultTimeout || p.OnTimeout != policy.DefaultOnTimeout || p.OnError != policy.DefaultOnError || p.StorePath != filepath.Join(repo, "secretgate.db") {
		t.Errorf("default policy reads as %+v", p)
	}
	if _, err := Install(InstallOptions{Repo: repo, DotD: "/x", Binary: "g", Policy: pol}); err == nil {
		t.Error("two targets accepted")
	}
}

func TestInstallNonBare(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	work := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", work).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := Install(InstallOptions{Repo: work, Binary: "/usr/bin/gatekeeper"}); err != nil {
		t.Fatal(err)
	}
	// The policy, and later the store and the key, stay out of the work tree.
	if _, err := os.Stat(filepath.Join(work, ".git", "secretgate.toml")); err != nil {
		t.Errorf("policy not in .git: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "secretgate.toml")); err == nil {
		t.Error("policy written into the work tree")
	}
}

// A hook that was there but not executable (git skipped it) must not start
// failing every push once chained.
func TestInstalledScriptSkipsDisabledHook(t *testing.T) {
	dir := t.TempDir()
	hook := filepath.Join(dir, "pre-receive")
	os.WriteFile(hook, []byte("#!/bin/sh\nexit 1\n"), 0o644) // not executable
	if _, err := Install(InstallOptions{HooksDir: dir, Binary: "/bin/cat", Policy: filepath.Join(dir, "p.toml")}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hook)
	cmd.Stdin = strings.NewReader("x\n")
	out, err := cmd.CombinedOutput()
	// /bin/cat stands in for gatekeeper: it fails on the unknown arguments, which is
	// fine; what matters is that the disabled hook's "exit 1" did not run first.
	if strings.Contains(string(out), "Permission denied") {
		t.Errorf("disabled hook was run: %v\n%s", err, out)
	}
}
