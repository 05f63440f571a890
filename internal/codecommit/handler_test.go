package codecommit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/codecommit/cctest"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// Fake secrets, assembled at run time.
var (
	awsKey = "AKIA" + "QYLPMN5HZ3WBXK7T"
	ghTok  = "ghp_" + "R8mQz2Lx7Vb4Nc9Kp1Ws6Ty3Hd5Fj0Ga8Uex"
)

type fixture struct {
	cc     *cctest.Server
	h      *Handler
	st     *store.Store
	alerts *bytes.Buffer
	dir    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := scan.New(cfg, scan.Options{FingerprintKey: []byte("test")})
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := cctest.NewServer(t)
	f := &fixture{cc: srv, st: st, alerts: &bytes.Buffer{}, dir: dir}
	sender := alert.NewLog(f.alerts)
	f.h = &Handler{API: srv.Client(), Scanner: s, Record: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Deliver: func(ctx context.Context) error {
			_, err := alert.Deliver(ctx, st, sender, alert.DeliverOptions{})
			return err
		}}
	return f
}

func trigger(eventID, repo, ref, commit string) []byte {
	return []byte(fmt.Sprintf(`{"Records":[{"eventId":%q,"eventSource":"aws:codecommit","awsRegion":"us-east-1",
		"eventSourceARN":"arn:aws:codecommit:us-east-1:123456789012:%s","userIdentityARN":"arn:aws:iam::123456789012:user/dana",
		"codecommit":{"references":[{"commit":%q,"ref":%q}]}}]}`, eventID, repo, commit, ref))
}

func prEvent(id, event string, pr cctest.PullRequest) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "detail-type": "CodeCommit Pull Request State Change", "source": "aws.codecommit", "region": "us-east-1",
		"detail": map[string]any{
			"event": event, "repositoryNames": []string{pr.Repository}, "pullRequestId": pr.ID, "revisionId": pr.RevisionID,
			"sourceCommit": pr.SourceCommit, "destinationCommit": pr.DestinationCommit,
			"sourceReference": "refs/heads/" + pr.SourceBranch, "callerUserArn": "arn:aws:iam::123456789012:user/dana",
		},
	})
	return b
}

func (f *fixture) pushes(t *testing.T) []store.Push {
	t.Helper()
	p, err := f.st.Pushes(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushTrigger(t *testing.T) {
	f := newFixture(t)
	f.cc.PageSize = 2 // so GetDifferences must paginate
	f.cc.AddRepo("shop")
	f.cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
	withKey := f.cc.Commit("shop", "main", "deploy", map[string]string{"deploy.ini": "aws_access_key_id = " + awsKey + "\n", "d.txt": "d\n", "e.txt": "e\n"})
	removed := f.cc.Commit("shop", "main", "remove it", map[string]string{"deploy.ini": cctest.Delete})
	ctx := context.Background()

	if err := f.h.Handle(ctx, trigger("evt-1", "shop", "refs/heads/main", removed)); err != nil {
		t.Fatal(err)
	}
	p := f.pushes(t)
	if len(p) != 1 || p[0].Verdict != store.VerdictRejected || p[0].Commits != 3 || p[0].Source != "codecommit" {
		t.Fatalf("record: %+v", p)
	}
	fs, _ := f.st.Findings(ctx, p[0].ID)
	if len(fs) != 1 || fs[0].Commit != withKey || fs[0].Path != "deploy.ini" || fs[0].Line != 1 {
		t.Errorf("findings: %+v", fs)
	}
	if !strings.Contains(f.alerts.String(), `secretgate: 1 secret found in shop`) {
		t.Errorf("alert:\n%s", f.alerts.String())
	}
	// Lambda retries the event: nothing is recorded or alerted twice.
	if err := f.h.Handle(ctx, trigger("evt-1", "shop", "refs/heads/main", removed)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.pushes(t)); n != 1 || strings.Count(f.alerts.String(), "\n") != 1 {
		t.Errorf("retry: %d records, alerts:\n%s", n, f.alerts.String())
	}
	// The next push scans only what is new.
	next := f.cc.Commit("shop", "main", "more", map[string]string{"f.txt": "f\n"})
	if err := f.h.Handle(ctx, trigger("evt-2", "shop", "refs/heads/main", next)); err != nil {
		t.Fatal(err)
	}
	if p := f.pushes(t); p[0].Commits != 1 || p[0].Verdict != store.VerdictAccepted {
		t.Errorf("second push: %+v", p[0])
	}
	f.noLeaks(t)
}

// A merge commit is walked through both parents and scanned against both.
func TestMergeCommit(t *testing.T) {
	f := newFixture(t)
	f.cc.AddRepo("shop")
	f.cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n"})
	f.cc.Commit("shop", "feature", "feature", map[string]string{"feature.txt": "x\n"})
	f.cc.Commit("shop", "main", "main work", map[string]string{"b.txt": "b\n"})
	merge := f.cc.Merge("shop", "main", "feature", "merge")
	if err := f.h.Handle(context.Background(), trigger("m-1", "shop", "refs/heads/main", merge)); err != nil {
		t.Fatal(err)
	}
	if p := f.pushes(t); p[0].Verdict != store.VerdictAccepted || p[0].Commits != 4 {
		t.Errorf("clean merge: %+v", p[0])
	}
}

func TestPullRequest(t *testing.T) {
	f := newFixture(t)
	f.cc.AddRepo("shop")
	f.cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n"})
	f.cc.Commit("shop", "feature", "token", map[string]string{"ci.env": "GITHUB_TOKEN=" + ghTok + "\n"})
	prID := f.cc.OpenPullRequest("shop", "feature", "main")
	ctx := context.Background()
	if err := f.h.Handle(ctx, prEvent("pr-1", "pullRequestCreated", f.cc.PullRequest(prID))); err != nil {
		t.Fatal(err)
	}
	ap := f.cc.Approvals(prID)
	if len(ap) != 1 || ap[0].State != "REVOKE" {
		t.Errorf("approvals: %+v", ap)
	}
	cm := f.cc.Comments(prID)
	if len(cm) != 1 || !strings.Contains(cm[0].Content, "ci.env:1") || !strings.Contains(cm[0].Content, "ghp_********") {
		t.Errorf("comments: %+v", cm)
	}
	// The secret is removed on the branch: the new revision is approved.
	f.cc.Commit("shop", "feature", "remove", map[string]string{"ci.env": "GITHUB_TOKEN=${GITHUB_TOKEN}\n"})
	if err := f.h.Handle(ctx, prEvent("pr-2", "pullRequestSourceBranchUpdated", f.cc.PullRequest(prID))); err != nil {
		t.Fatal(err)
	}
	// Still refused: the secret is in the branch's history, which a merge brings in.
	if ap := f.cc.Approvals(prID); ap[len(ap)-1].State != "REVOKE" {
		t.Errorf("after the removal commit (history still has it): %+v", ap)
	}
	// An override of the approval rule is itself alerted.
	override := prEvent("pr-3", "pullRequestApprovalRuleOverridden", f.cc.PullRequest(prID))
	if err := f.h.Handle(ctx, override); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.alerts.String(), "approval rules overridden") && !strings.Contains(f.alerts.String(), `"kind":"bypass"`) {
		t.Errorf("override not alerted:\n%s", f.alerts.String())
	}
	f.noLeaks(t)
}

func TestCleanPullRequestApproved(t *testing.T) {
	f := newFixture(t)
	f.cc.AddRepo("shop")
	f.cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n"})
	f.cc.Commit("shop", "feature", "docs", map[string]string{"README.md": "# shop\n"})
	prID := f.cc.OpenPullRequest("shop", "feature", "main")
	if err := f.h.Handle(context.Background(), prEvent("pr-9", "pullRequestCreated", f.cc.PullRequest(prID))); err != nil {
		t.Fatal(err)
	}
	if ap := f.cc.Approvals(prID); len(ap) != 1 || ap[0].State != "APPROVE" || len(f.cc.Comments(prID)) != 0 {
		t.Errorf("approvals %+v, %d comments", ap, len(f.cc.Comments(prID)))
	}
}

func TestBadEventIsNotRetried(t *testing.T) {
	f := newFixture(t)
	raw, _ := os.ReadFile(filepath.Join("testdata", "codecommit-trigger-lambda-event.aws-docs.json"))
	if err := f.h.Handle(context.Background(), raw); err != nil {
		t.Errorf("a 39-character commit id: %v (a retry cannot fix it)", err)
	}
}

// noLeaks searches what was sent to CodeCommit, the alerts and the
// database for the planted secrets.
func (f *fixture) noLeaks(t *testing.T) {
	t.Helper()
	var sent bytes.Buffer
	for _, c := range f.cc.Calls() {
		sent.Write(c.Request)
	}
	for _, where := range []struct {
		name string
		text string
	}{{"requests", sent.String()}, {"alerts", f.alerts.String()}} {
		for _, s := range []string{awsKey, ghTok} {
			if strings.Contains(where.text, s) {
				t.Errorf("%s hold a planted secret", where.name)
			}
		}
	}
	for _, name := range []string{"gate.db", "gate.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(f.dir, name))
		if bytes.Contains(b, []byte(awsKey)) || bytes.Contains(b, []byte(ghTok)) {
			t.Errorf("%s holds a planted secret", name)
		}
	}
}

func TestUnscannedIsNeverApproved(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{"walk cut at the bound", func(f *fixture) {
			f.h.MaxCommits = 3
			for i := range 5 {
				f.cc.Commit("shop", "feature", fmt.Sprint(i), map[string]string{fmt.Sprintf("f%d.txt", i): "x\n"})
			}
		}, "commits older than the newest 3"},
		{"file over the size limit", func(f *fixture) {
			f.cc.BlobLimit = 1 << 10
			f.cc.Commit("shop", "feature", "dump", map[string]string{"dump.sql": strings.Repeat("-- filler line\n", 200)})
		}, "1 files too large to read (dump.sql)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.cc.AddRepo("shop")
			f.cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n"})
			tt.setup(f)
			prID := f.cc.OpenPullRequest("shop", "feature", "main")
			if err := f.h.Handle(context.Background(), prEvent("u-1", "pullRequestCreated", f.cc.PullRequest(prID))); err != nil {
				t.Fatal(err)
			}
			if ap := f.cc.Approvals(prID); len(ap) != 1 || ap[0].State != "REVOKE" {
				t.Errorf("approvals: %+v", ap)
			}
			if cm := f.cc.Comments(prID); len(cm) != 1 || !strings.Contains(cm[0].Content, tt.want) {
				t.Errorf("comments: %+v", cm)
			}
			if p := f.pushes(t); p[0].Verdict != store.VerdictFailedClosed || !strings.Contains(p[0].Reason, tt.want) {
				t.Errorf("record: %+v", p[0])
			}
		})
	}
}

func TestUTF16Appended(t *testing.T) {
	f := newFixture(t)
	f.cc.AddRepo("shop")
	utf16le := func(s string) string {
		b := []byte{0xFF, 0xFE}
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return string(b)
	}
	first := f.cc.Commit("shop", "main", "settings", map[string]string{"win.ini": utf16le("[x]\r\nname=shop\r\n")})
	_ = first
	head := f.cc.Commit("shop", "main", "key", map[string]string{"win.ini": utf16le("[x]\r\nname=shop\r\nkey=" + awsKey + "\r\n")})
	if err := f.h.Handle(context.Background(), trigger("u16", "shop", "refs/heads/main", head)); err != nil {
		t.Fatal(err)
	}
	if p := f.pushes(t); p[0].Verdict != store.VerdictRejected {
		t.Errorf("UTF-16 secret missed: %+v", p[0])
	}
}

func TestCommentCappedAndEscaped(t *testing.T) {
	var fs []scan.Finding
	for i := range 200 {
		fs = append(fs, scan.Finding{RuleID: "github-pat", Origin: scan.Origin{Commit: "c0ffee00", Path: fmt.Sprintf("src/main/java/com/acme/%03d/Conf`ig|x\n**bold**.java", i)}, Line: 1, Redacted: "ghp_********"})
	}
	c := comment(fs, nil)
	if len(c) > 10240 || !strings.Contains(c, "more.") {
		t.Errorf("comment of %d characters", len(c))
	}
	if strings.Contains(c, "\n**bold**") || strings.Contains(c, "Conf`ig") {
		t.Errorf("path not escaped:\n%s", c[:400])
	}
}
