package githubapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// Fake secrets, assembled at run time.
var (
	awsKey = "AKIA" + "QYLPMN5HZ3WBXK7T"
	ghTok  = "ghp_" + "R8mQz2Lx7Vb4Nc9Kp1Ws6Ty3Hd5Fj0Ga8Uex"
)

func newApp(t testing.TB, gh *ghtest.Server) (*App, *store.Store) {
	t.Helper()
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := scan.New(cfg, scan.Options{FingerprintKey: []byte("test")})
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pol, _ := policy.Default(t.TempDir())
	return &App{
		AppID: gh.AppID, Key: gh.AppKey(), APIURL: gh.APIURL(),
		Fetcher: &Fetcher{Dir: t.TempDir()}, Scanner: s, Record: st, Policy: pol,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, st
}

func pushPayload(gh *ghtest.Server, owner, repo, before, after string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": before, "after": after,
		"repository": map[string]any{"name": repo, "owner": map[string]any{"login": owner},
			"clone_url": gh.URL + "/" + owner + "/" + repo + ".git", "default_branch": "main"},
		"installation": map[string]any{"id": gh.Installation(owner)},
		"sender":       map[string]any{"login": "dana"},
	})
	return b
}

func TestAppPush(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"app.py": "print('shop')\n"})
	// 60 distinct keys: more annotations than one request may carry.
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var keys strings.Builder
	for i := range 60 {
		fmt.Fprintf(&keys, "key_%02d = AKIA%s%c%c\n", i, "QYLPMN5HZ3WBXK", b32[i/32], b32[i%32])
	}
	head := gh.Commit("acme", "shop", "main", "keys", map[string]string{"deploy.ini": "aws_access_key_id = " + awsKey + "\n", "more.ini": keys.String()})
	clean := gh.Commit("acme", "shop", "main", "docs", map[string]string{"README.md": "# shop\n"})

	app, st := newApp(t, gh)
	app.CommitStatus = true
	ctx := context.Background()
	if err := app.Handle(ctx, "push", pushPayload(gh, "acme", "shop", base, head)); err != nil {
		t.Fatal(err)
	}
	if sts := gh.Statuses("acme", "shop"); len(sts) != 1 || sts[0].State != "failure" || sts[0].Context != "secretgate" || sts[0].SHA != head {
		t.Errorf("commit status: %+v", sts)
	}
	runs := gh.CheckRuns("acme", "shop")
	if len(runs) != 1 {
		t.Fatalf("%d check runs", len(runs))
	}
	r := runs[0]
	if r.Name != "secretgate" || r.HeadSHA != head || r.Status != "completed" || r.Conclusion != "failure" || r.Title != "61 secrets found" {
		t.Errorf("check run: %s %s %s %s %q", r.Name, r.HeadSHA, r.Status, r.Conclusion, r.Title)
	}
	if len(r.Annotations) != 61 || len(r.History) != 3 { // create, conclude with 50, then 11 more
		t.Errorf("%d annotations over %d requests", len(r.Annotations), len(r.History))
	}
	if a := r.Annotations[0]; a.Path != "deploy.ini" || a.StartLine != 1 || a.Level != "failure" || !strings.Contains(a.Message, "AKIA********") {
		t.Errorf("first annotation: %+v", a)
	}
	if len(r.Actions) != 2 || r.Actions[0].Identifier != "false_positive" {
		t.Errorf("actions: %+v", r.Actions)
	}

	// A clean push passes.
	if err := app.Handle(ctx, "push", pushPayload(gh, "acme", "shop", head, clean)); err != nil {
		t.Fatal(err)
	}
	if r := gh.CheckRuns("acme", "shop")[1]; r.Conclusion != "success" || r.Title != "No secrets found" {
		t.Errorf("clean: %s %q", r.Conclusion, r.Title)
	}

	// "Used in tests" from the check run: recorded, alerted, passed.
	action, _ := json.Marshal(map[string]any{
		"action":           "requested_action",
		"requested_action": map[string]any{"identifier": "used_in_tests"},
		"check_run":        map[string]any{"id": r.ID, "head_sha": head, "external_id": r.ExternalID},
		"repository":       map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}},
		"installation":     map[string]any{"id": gh.Installation("acme")},
		"sender":           map[string]any{"login": "lee"},
	})
	if err := app.Handle(ctx, "check_run", action); err != nil {
		t.Fatal(err)
	}
	if r := gh.CheckRuns("acme", "shop")[0]; r.Conclusion != "success" || !strings.Contains(r.Title, "61 secrets accepted by lee (used_in_tests)") {
		t.Errorf("after the action: %s %q", r.Conclusion, r.Title)
	}
	pushes, _ := st.Pushes(ctx, 1)
	if len(pushes) != 1 || pushes[0].Verdict != store.VerdictBypassed || pushes[0].Pusher != "lee" {
		t.Errorf("bypass record: %+v", pushes)
	}
	// The same secrets no longer block, here pushed again on a branch.
	again := gh.Commit("acme", "shop", "copy", "copy", map[string]string{"tests/fixture.ini": "aws_access_key_id = " + awsKey + "\n"})
	if err := app.Handle(ctx, "push", pushPayload(gh, "acme", "shop", clean, again)); err != nil {
		t.Fatal(err)
	}
	if r := gh.CheckRuns("acme", "shop")[2]; r.Conclusion != "success" || !strings.Contains(r.Summary, "accepted by an earlier bypass") {
		t.Errorf("known secret: %s %q", r.Conclusion, r.Summary)
	}

	// Nothing the app sent to GitHub holds a planted secret.
	for _, req := range gh.Requests() {
		if strings.Contains(string(req.Body), awsKey) || strings.Contains(string(req.Body), "QYLPMN5HZ3WBXK") {
			t.Fatalf("%s %s sent a secret", req.Method, req.Path)
		}
	}
}

func TestAppRateLimited(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a": "a\n"})
	head := gh.Commit("acme", "shop", "main", "second", map[string]string{"b": "b\n"})
	app, _ := newApp(t, gh)
	gh.SetSecondaryRateLimit(403, 45_000_000_000, 1) // 45 s
	err := app.Handle(context.Background(), "push", pushPayload(gh, "acme", "shop", base, head))
	if d, ok := RetryAfter(err); err == nil || !ok || d.Seconds() < 40 || Permanent(err) {
		t.Errorf("err %v, retry after %v %v", err, d, ok)
	}
}

func TestAppOneCheckRunPerHead(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a": "a\n"})
	head := gh.Commit("acme", "shop", "main", "token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	app, _ := newApp(t, gh)
	suite, _ := json.Marshal(map[string]any{
		"action":       "requested",
		"check_suite":  map[string]any{"head_sha": head, "before": base},
		"repository":   map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}, "clone_url": gh.URL + "/acme/shop.git", "default_branch": "main"},
		"installation": map[string]any{"id": gh.Installation("acme")},
	})
	ctx := context.Background()
	// GitHub sends both for one push; a re-run sends the suite again.
	for _, d := range []struct {
		event string
		body  []byte
	}{{"push", pushPayload(gh, "acme", "shop", base, head)}, {"check_suite", suite}, {"check_suite", suite}} {
		if err := app.Handle(ctx, d.event, d.body); err != nil {
			t.Fatal(err)
		}
	}
	runs := gh.CheckRuns("acme", "shop")
	if len(runs) != 1 || runs[0].Conclusion != "failure" || len(runs[0].Annotations) != 1 {
		t.Errorf("%d check runs (want 1); annotations %d", len(runs), len(runs[0].Annotations))
	}
}

func TestAppPullRequest(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	// main already holds an old secret; the pull request adds a new one.
	base := gh.Commit("acme", "shop", "main", "old", map[string]string{"old.env": "AWS=" + awsKey + "\n"})
	gh.Commit("acme", "shop", "feature", "one", map[string]string{"a.txt": "a\n"})
	head := gh.Commit("acme", "shop", "feature", "two", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	app, _ := newApp(t, gh)
	body, _ := json.Marshal(map[string]any{
		"action":       "opened",
		"pull_request": map[string]any{"head": map[string]any{"sha": head}, "base": map[string]any{"sha": base}},
		"repository":   map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}, "clone_url": gh.URL + "/acme/shop.git", "default_branch": "main"},
		"installation": map[string]any{"id": gh.Installation("acme")},
		"sender":       map[string]any{"login": "dana"},
	})
	if err := app.Handle(context.Background(), "pull_request", body); err != nil {
		t.Fatal(err)
	}
	runs := gh.CheckRuns("acme", "shop")
	if len(runs) != 1 || runs[0].HeadSHA != head || runs[0].Title != "1 secret found" || runs[0].Annotations[0].Path != "ci.env" {
		t.Errorf("check runs: %d; %q", len(runs), runs[0].Title)
	}
	if !strings.Contains(runs[0].Summary, "scanned 2 commits") {
		t.Errorf("summary: %q", runs[0].Summary)
	}
}

func TestAnnotationsSkipCommitMessages(t *testing.T) {
	fs := []scan.Finding{
		{RuleID: "github-pat", Origin: scan.Origin{Path: "(commit message)", Commit: "c1"}, Line: 1, Redacted: "ghp_********"},
		{RuleID: "github-pat", Origin: scan.Origin{Path: "ci.env", Commit: "c1"}, Line: 3, Redacted: "ghp_********"},
	}
	anns := annotations(fs)
	if len(anns) != 1 || anns[0].GetPath() != "ci.env" {
		t.Errorf("annotations: %v", anns)
	}
	if s := summaryOf(fs, 0, 1); !strings.Contains(s, "(commit message):1") {
		t.Errorf("summary lacks the message finding:\n%s", s)
	}
}

// Pushing a branch back to a head whose check failed must not turn that
// check green (it is judged against the default branch, not the push range).
func TestAppRewindKeepsFailure(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a": "a\n"})
	s := gh.Commit("acme", "shop", "feat", "key", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	tip := gh.Commit("acme", "shop", "feat", "more", map[string]string{"b": "b\n"})
	app, _ := newApp(t, gh)
	push := func(before, after string) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{
			"ref": "refs/heads/feat2", "before": before, "after": after,
			"repository":   map[string]any{"name": "shop", "owner": map[string]any{"login": "acme"}, "clone_url": gh.URL + "/acme/shop.git", "default_branch": "main"},
			"installation": map[string]any{"id": gh.Installation("acme")},
		})
		if err := app.Handle(context.Background(), "push", b); err != nil {
			t.Fatal(err)
		}
	}
	push(base, s) // the secret: failure on s
	push(s, tip)  // a later commit on top
	push(tip, s)  // force-pushed back to s: nothing new in the push range
	for _, r := range gh.CheckRuns("acme", "shop") {
		if r.HeadSHA == s && r.Conclusion != "failure" {
			t.Errorf("check on the head with the secret is %s (%q)", r.Conclusion, r.Title)
		}
	}
}

func TestBypassChecks(t *testing.T) {
	gh := ghtest.NewServer(t)
	gh.AddRepo("acme", "shop")
	gh.AddRepo("acme", "bank")
	base := gh.Commit("acme", "shop", "main", "first", map[string]string{"a": "a\n"})
	head := gh.Commit("acme", "shop", "main", "key", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	app, st := newApp(t, gh)
	ctx := context.Background()
	if err := app.Handle(ctx, "push", pushPayload(gh, "acme", "shop", base, head)); err != nil {
		t.Fatal(err)
	}
	run := gh.CheckRuns("acme", "shop")[0]
	action := func(repo, who, ext string) []byte {
		b, _ := json.Marshal(map[string]any{
			"action": "requested_action", "requested_action": map[string]any{"identifier": "false_positive"},
			"check_run":    map[string]any{"id": run.ID, "head_sha": head, "external_id": ext},
			"repository":   map[string]any{"name": repo, "owner": map[string]any{"login": "acme"}},
			"installation": map[string]any{"id": gh.Installation("acme")}, "sender": map[string]any{"login": who},
		})
		return b
	}
	// Another repository's check run id is not a way in.
	if err := app.Handle(ctx, "check_run", action("bank", "lee", run.ExternalID)); err == nil || !Permanent(err) {
		t.Errorf("cross-repository action: %v", err)
	}
	// A retried click records one bypass.
	for range 2 {
		if err := app.Handle(ctx, "check_run", action("shop", "lee", run.ExternalID)); err != nil {
			t.Fatal(err)
		}
	}
	pushes, _ := st.Pushes(ctx, 0)
	n := 0
	for _, p := range pushes {
		if p.Verdict == store.VerdictBypassed {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d bypass records for one click", n)
	}
}

func TestSummaryCapped(t *testing.T) {
	var fs []scan.Finding
	for i := range 110 {
		fs = append(fs, scan.Finding{RuleID: "github-pat", Origin: scan.Origin{Path: strings.Repeat("d/", 500) + fmt.Sprint(i), Commit: "c"}, Line: 1, Redacted: "ghp_********"})
	}
	if s := summaryOf(fs, 0, 1); len(s) > 65535 || !strings.Contains(s, "cut short") {
		t.Errorf("summary of %d characters", len(s))
	}
}
