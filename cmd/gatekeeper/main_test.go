package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Fake secrets, assembled at run time.
var (
	awsID   = "AKIA" + "QYLPMN5HZ3WBXK7T"
	ghToken = "ghp_" + "R8mQz2Lx7Vb4Nc9Kp1Ws6Ty3Hd5Fj0Ga8Uex"
	planted = []string{awsID, ghToken}
	testKey = strings.Repeat("ab", 32)
)

func TestMain(m *testing.M) {
	// The test binary doubles as gatekeeper for hooks that git runs and
	// for the delivery process the hook starts (go test itself always
	// passes -test. flags first).
	if os.Getenv("GATEKEEPER_TEST_MAIN") == "1" || len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
		main()
		return
	}
	os.Setenv("SECRETGATE_FINGERPRINT_KEY", testKey)
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

func gatekeeper(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	r := result{code, out.String(), errb.String()}
	for _, s := range planted {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("gatekeeper %v printed a planted secret", args)
		}
	}
	return r
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScanExitCodes(t *testing.T) {
	clean := writeFiles(t, map[string]string{"a.go": "package a\n", "README.md": "key AKIAIOSFODNN7EXAMPLE\n"})
	dirty := writeFiles(t, map[string]string{"a.go": "package a\n", "conf/deploy.ini": "x\naws_access_key_id = " + awsID + "\n"})
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		inStdout string
		inStderr string
	}{
		{"clean dir", []string{"scan", "--dir", clean}, "", 0, "0 findings", ""},
		{"dirty dir", []string{"scan", "--dir", dirty}, "", 1, "conf/deploy.ini:2:", ""},
		{"flags after path", []string{"scan", dirty, "--dir", "--format", "csv"}, "", 1, "aws-access-key-id,", ""},
		{"stdin", []string{"scan", "-"}, "token: " + ghToken + "\n", 1, "github", ""},
		{"stdin clean", []string{"scan", "-"}, "hello\n", 0, "0 findings", ""},
		{"bad format", []string{"scan", "--format", "xml", clean}, "", 2, "", `--format "xml"`},
		{"unknown flag", []string{"scan", "--nope"}, "", 2, "", "flag provided but not defined: -nope"},
		{"missing path", []string{"scan", "--dir", filepath.Join(clean, "nope")}, "", 2, "", "no such file"},
		{"range needs git", []string{"scan", "--range", "a..b", clean}, "", 2, "", "need a git repository"},
		{"bad config", []string{"scan", "--config", "../../rules/testdata/bad/regex.toml", clean}, "", 2, "", `regex.toml:12: rule "broken-regex": invalid regex`},
		{"unknown command", []string{"scna"}, "", 2, "", `unknown command "scna"`},
		{"rules validate bad", []string{"rules", "validate", "../../rules/testdata/bad/dup.toml"}, "", 2, "", `dup.toml:5: rule "a": duplicate id`},
		{"rules validate good", []string{"rules", "validate", "../../rules/testdata/gitleaks.toml"}, "", 0, "ok, 3 rules", ""},
		{"rules test", []string{"rules", "test"}, "", 0, "0 failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatekeeper(t, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.inStdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, r.stderr)
			}
		})
	}
}

func TestScanJSONFields(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deploy.ini": "aws_access_key_id = " + awsID + "\n"})
	r := gatekeeper(t, "", "scan", "--dir", "--format", "json", dir)
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	f := got[0]
	for k, want := range map[string]any{"rule_id": "aws-access-key-id", "file": "deploy.ini", "line": 1.0, "column": 21.0, "severity": "critical", "redacted": "AKIA********"} {
		if f[k] != want {
			t.Errorf("%s = %v, want %v", k, f[k], want)
		}
	}
	if fp, _ := f["fingerprint"].(string); len(fp) != 64 {
		t.Errorf("fingerprint %q is not a 64-hex HMAC", fp)
	}
}

func TestScanBaselineSuppresses(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deploy.ini": "aws_access_key_id = " + awsID + "\n"})
	report := filepath.Join(t.TempDir(), "baseline.json")
	if r := gatekeeper(t, "", "scan", "--dir", "--format", "json", "--report", report, dir); r.code != 1 {
		t.Fatalf("first scan: code %d", r.code)
	}
	// The secret moves to another file: the baseline still knows it.
	os.Rename(filepath.Join(dir, "deploy.ini"), filepath.Join(dir, "moved.ini"))
	r := gatekeeper(t, "", "scan", "--dir", "--baseline", report, dir)
	if r.code != 0 || !strings.Contains(r.stderr, "1 known findings suppressed") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}

func TestScanGitleaksConfigDiscovered(t *testing.T) {
	cfg, _ := os.ReadFile("../../rules/testdata/gitleaks.toml")
	dir := writeFiles(t, map[string]string{
		".gitleaks.toml": string(cfg),
		"svc.env":        "TOKEN=acme-prod-0123456789abcdef01234567\nAWS=" + awsID + "\n",
	})
	r := gatekeeper(t, "", "scan", "--dir", "--format", "csv", dir)
	// The repository's own config replaces the defaults, as in gitleaks.
	if r.code != 1 || !strings.Contains(r.stdout, "acme-internal-token") || strings.Contains(r.stdout, "aws-access-key-id") {
		t.Errorf("code %d\n%s", r.code, r.stdout)
	}
}

// gitIn returns a function that runs git in dir with a fixed identity.
func gitIn(t *testing.T, dir string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	return t.TempDir()
}

func TestScanGitHistory(t *testing.T) {
	dir := gitRepo(t)
	git := gitIn(t, dir)
	git("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644)
	git("add", ".")
	git("commit", "-qm", "first")
	os.WriteFile(filepath.Join(dir, "deploy.ini"), []byte("[x]\naws_access_key_id = "+awsID+"\n"), 0o644)
	git("add", ".")
	git("commit", "-qm", "add key")
	git("rm", "-q", "deploy.ini")
	git("commit", "-qm", "remove key")

	r := gatekeeper(t, "", "scan", "--progress", "--format", "json", dir)
	if r.code != 1 {
		t.Fatalf("code %d\n%s", r.code, r.stderr)
	}
	var got []struct {
		RuleID, File, Message string
		Line                  int
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].File != "deploy.ini" || got[0].Line != 2 || got[0].Message != "add key" {
		t.Errorf("got %+v", got)
	}
	if !strings.Contains(r.stderr, "scanning: 3 commits") {
		t.Errorf("no final progress line in stderr: %q", r.stderr)
	}
	// The working tree no longer has it; a range without that commit neither.
	if r := gatekeeper(t, "", "scan", "--dir", dir); r.code != 0 {
		t.Errorf("--dir: code %d", r.code)
	}
	if r := gatekeeper(t, "", "scan", "--range", "HEAD~1..HEAD", dir); r.code != 0 {
		t.Errorf("--range HEAD~1..HEAD: code %d\n%s", r.code, r.stdout)
	}
	if r := gatekeeper(t, "", "scan", "--range", "nope..HEAD", dir); r.code != 2 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("bad range: code %d, stderr %q", r.code, r.stderr)
	}

	// A bare clone is history too.
	bare := filepath.Join(t.TempDir(), "bare.git")
	git("clone", "-q", "--bare", dir, bare)
	if r := gatekeeper(t, "", "scan", "--format", "csv", bare); r.code != 1 || !strings.Contains(r.stdout, "deploy.ini,2,") {
		t.Errorf("bare: code %d\n%s", r.code, r.stdout)
	}

	// A folder inside the repository means the repository, as it does to git.
	os.MkdirAll(filepath.Join(dir, "pkg"), 0o755)
	if r := gatekeeper(t, "", "scan", "--format", "csv", filepath.Join(dir, "pkg")); r.code != 1 || !strings.Contains(r.stdout, "deploy.ini,2,") {
		t.Errorf("subfolder: code %d\n%s", r.code, r.stdout)
	}
	// --range is a revision range, never an option for git.
	victim := filepath.Join(t.TempDir(), "victim.txt")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	if r := gatekeeper(t, "", "scan", "--range", "--output="+victim, dir); r.code != 2 {
		t.Errorf("--range option: code %d", r.code)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("--range passed an option to git: victim now %q", b)
	}
	if r := gatekeeper(t, "", "scan", "--since", "garbage-date", dir); r.code != 2 || !strings.Contains(r.stderr, "no commit would be scanned") {
		t.Errorf("--since garbage: code %d, stderr %q", r.code, r.stderr)
	}
	if r := gatekeeper(t, "", "scan", "--since", "2001-01-01", dir); r.code != 1 {
		t.Errorf("--since 2001: code %d, stderr %q", r.code, r.stderr)
	}
}

func TestScanStaged(t *testing.T) {
	dir := gitRepo(t)
	git := gitIn(t, dir)
	git("init", "-q")
	os.WriteFile(filepath.Join(dir, "ci.env"), []byte("GITHUB_TOKEN="+ghToken+"\n"), 0o644)
	if r := gatekeeper(t, "", "scan", "--staged", dir); r.code != 0 {
		t.Errorf("nothing staged: code %d\n%s", r.code, r.stdout)
	}
	git("add", "ci.env")
	r := gatekeeper(t, "", "scan", "--staged", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "ci.env:1:14  github-pat") {
		t.Errorf("staged token: code %d\n%s", r.code, r.stdout)
	}
	if r := gatekeeper(t, "", "scan", "--staged", "--dir", dir); r.code != 2 {
		t.Errorf("--staged --dir: code %d", r.code)
	}
}

func TestScanSkippedIsNeverSilent(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads everything: use the size limit to force a skip instead.
		dir := writeFiles(t, map[string]string{"big.txt": strings.Repeat("x", 2<<20), "a.txt": "ok\n"})
		r := gatekeeper(t, "", "scan", "--dir", "--format", "json", "--max-target-megabytes", "1", dir)
		if r.code != 0 || !strings.Contains(r.stderr, "not scanned: "+filepath.Join(dir, "big.txt")) || !strings.Contains(r.stderr, "1 file was not scanned") {
			t.Errorf("code %d, stderr %q", r.code, r.stderr)
		}
		return
	}
	dir := writeFiles(t, map[string]string{"locked.txt": "x", "a.txt": "ok\n"})
	os.Chmod(filepath.Join(dir, "locked.txt"), 0)
	r := gatekeeper(t, "", "scan", "--dir", dir)
	if !strings.Contains(r.stderr, "locked.txt: permission denied") || !strings.Contains(r.stderr, "1 file was not scanned") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestScanBaselineFromAnotherKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deploy.ini": "aws_access_key_id = " + awsID + "\n"})
	report := filepath.Join(t.TempDir(), "baseline.json")
	gatekeeper(t, "", "scan", "--dir", "--format", "json", "--report", report, dir)
	t.Setenv("SECRETGATE_FINGERPRINT_KEY", strings.Repeat("cd", 32))
	r := gatekeeper(t, "", "scan", "--dir", "--baseline", report, dir)
	if r.code != 1 || !strings.Contains(r.stderr, "made with another SECRETGATE_FINGERPRINT_KEY") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "secretgate.toml")
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	t.Setenv("SECRETGATE_WEBHOOK_SECRET", "")
	for _, tt := range []struct{ body, want string }{
		{"", "[github] app_id is not set"},
		{"[github]\napp_id = 1\n", "no webhook secret"},
		{"[github]\napp_id = 1\nwebhook_secret_file = \"s\"\n", "webhook_secret_file: open"},
	} {
		r := gatekeeper(t, "", "serve", "--config", write(tt.body))
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: code %d, stderr %q", tt.body, r.code, r.stderr)
		}
	}
}
