package gate

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var awsID = "AKIA" + "QYLPMN5HZ3WBXK7T"

func finding(commit, path string, line int) scan.Finding {
	return scan.Finding{RuleID: "aws-access-key-id", Description: "AWS access key ID", Origin: scan.Origin{Commit: commit, Path: path}, Line: line, Redacted: "AKIA********"}
}

func TestExplainGolden(t *testing.T) {
	pol, _ := policy.Default(t.TempDir())
	many := make([]scan.Finding, 12)
	for i := range many {
		many[i] = finding(fmt.Sprintf("%02dc0ffee%032d", i+1, 0), fmt.Sprintf("conf/%02d.ini", i), i+1)
	}
	tests := []struct {
		name string
		r    Result
	}{
		{"accepted", Result{Verdict: store.VerdictAccepted}},
		{"accepted-known", Result{Verdict: store.VerdictAccepted, Known: 2}},
		{"rejected", Result{Verdict: store.VerdictRejected, Findings: []scan.Finding{finding("0853ed9e1234567890abcdef1234567890abcdef", "deploy.ini", 2)}}},
		{"rejected-many", Result{Verdict: store.VerdictRejected, Findings: many}},
		{"rejected-bad-bypass", Result{Verdict: store.VerdictRejected, Findings: many[:1], Reason: "the bypass reason must be one of false_positive, used_in_tests, will_fix_later"}},
		{"bypassed", Result{Verdict: store.VerdictBypassed, Findings: many[:2], Reason: "used_in_tests"}},
		{"failed-open", Result{Verdict: store.VerdictFailedOpen, Err: context.DeadlineExceeded}},
		{"failed-closed", Result{Verdict: store.VerdictFailedClosed, Err: errors.New("disk full")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			Explain(&b, tt.r, ServerAdvice(pol))
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				os.WriteFile(golden, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}

// fakeStore records in memory and can be told to fail.
type fakeStore struct {
	bypassed  map[string]bool
	recorded  []store.Push
	alerts    int
	recordErr error
}

func (f *fakeStore) Bypassed(_ context.Context, _ string, fps []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, fp := range fps {
		if f.bypassed[fp] {
			out[fp] = true
		}
	}
	return out, nil
}

func (f *fakeStore) RecordPush(_ context.Context, p store.Push, fs []scan.Finding, as []store.Alert) (int64, error) {
	if f.recordErr != nil {
		return 0, f.recordErr
	}
	f.recorded = append(f.recorded, p)
	f.alerts += len(as)
	return int64(len(f.recorded)), nil
}

// repoWithPush makes a repository whose main is at a clean commit, and a
// new commit (on no ref, as in a pre-receive quarantine) adding a secret.
func repoWithPush(t *testing.T) (dir string, u store.RefUpdate) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir = t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	git("add", ".")
	git("commit", "-qm", "initial")
	base := git("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, "deploy.ini"), []byte("key = "+awsID+"\n"), 0o644)
	git("add", ".")
	tip := git("commit-tree", git("write-tree"), "-p", base, "-m", "key")
	return dir, store.RefUpdate{Old: base, New: tip, Ref: "refs/heads/main"}
}

func newGate(t *testing.T, st Store) *Gate {
	t.Helper()
	pol, _ := policy.Default(t.TempDir())
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := scan.New(cfg, scan.Options{FingerprintKey: []byte("k")})
	return &Gate{Policy: pol, Scanner: s, Store: st}
}

func TestCheck(t *testing.T) {
	dir, u := repoWithPush(t)
	zero := strings.Repeat("0", 40)
	fp := scan.Fingerprint([]byte("k"), "aws-access-key-id", awsID)
	tests := []struct {
		name     string
		updates  []store.RefUpdate
		options  []string
		pusher   string
		bypassed map[string]bool
		users    []string
		verdict  store.Verdict
		findings int
		reason   string
	}{
		{"secret", []store.RefUpdate{u}, nil, "dana", nil, nil, store.VerdictRejected, 1, ""},
		{"deletion only", []store.RefUpdate{{Old: u.Old, New: zero, Ref: "refs/heads/x"}}, nil, "dana", nil, nil, store.VerdictAccepted, 0, ""},
		{"empty push", nil, nil, "dana", nil, nil, store.VerdictAccepted, 0, ""},
		{"known secret", []store.RefUpdate{u}, nil, "dana", map[string]bool{fp: true}, nil, store.VerdictAccepted, 0, ""},
		{"bypass", []store.RefUpdate{u}, []string{"ci.skip", "secretgate.bypass=false_positive"}, "dana", nil, nil, store.VerdictBypassed, 1, "false_positive"},
		{"bypass not allowed", []store.RefUpdate{u}, []string{"secretgate.bypass=false_positive"}, "mallory", nil, []string{"dana"}, store.VerdictRejected, 1, "mallory may not bypass secretgate on this server"},
		{"bypass bad reason", []store.RefUpdate{u}, []string{"secretgate.bypass=yolo"}, "dana", nil, nil, store.VerdictRejected, 1, "the bypass reason must be one of false_positive, used_in_tests, will_fix_later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{bypassed: tt.bypassed}
			g := newGate(t, st)
			if tt.users != nil {
				g.Policy.BypassUsers = tt.users
			}
			r := g.Check(context.Background(), Push{Repo: "shop", Pusher: tt.pusher, Dir: dir, Updates: tt.updates, Options: tt.options})
			if r.Verdict != tt.verdict || len(r.Findings) != tt.findings || r.Reason != tt.reason {
				t.Errorf("got %s, %d findings, reason %q; want %s, %d, %q", r.Verdict, len(r.Findings), r.Reason, tt.verdict, tt.findings, tt.reason)
			}
			if len(st.recorded) != 1 || st.recorded[0].Verdict != tt.verdict {
				t.Errorf("recorded %+v", st.recorded)
			}
		})
	}
}

func TestCheckFailures(t *testing.T) {
	dir, u := repoWithPush(t)
	for _, tt := range []struct {
		name    string
		mode    policy.FailMode
		verdict store.Verdict
	}{{"open", policy.FailOpen, store.VerdictFailedOpen}, {"closed", policy.FailClosed, store.VerdictFailedClosed}} {
		t.Run("unrecordable clean push fails "+tt.name, func(t *testing.T) {
			st := &fakeStore{recordErr: errors.New("disk I/O error")}
			g := newGate(t, st)
			g.Policy.OnError = tt.mode
			clean := store.RefUpdate{Old: strings.Repeat("0", 40), New: u.Old, Ref: "refs/heads/copy"}
			r := g.Check(context.Background(), Push{Dir: dir, Updates: []store.RefUpdate{clean}})
			if r.Verdict != tt.verdict || !strings.Contains(r.Reason, "recording the push: disk I/O error") {
				t.Errorf("got %s %q", r.Verdict, r.Reason)
			}
		})
		t.Run("timeout fails "+tt.name, func(t *testing.T) {
			st := &fakeStore{}
			g := newGate(t, st)
			g.Policy.OnTimeout = tt.mode
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			r := g.Check(ctx, Push{Dir: dir, Updates: []store.RefUpdate{u}})
			if r.Verdict != tt.verdict || len(st.recorded) != 1 || len(st.recorded[0].Unscanned) != 1 {
				t.Errorf("got %s, recorded %+v", r.Verdict, st.recorded)
			}
		})
	}
	// A rejection stands even when it cannot be recorded.
	g := newGate(t, &fakeStore{recordErr: errors.New("disk I/O error")})
	if r := g.Check(context.Background(), Push{Dir: dir, Updates: []store.RefUpdate{u}}); r.Verdict != store.VerdictRejected {
		t.Errorf("got %s", r.Verdict)
	}
}
