package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

func TestActivity(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		ctx := context.Background()
		s, err := Open(ctx, b.dsn(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		jwt := testFinding("fp3")
		jwt.RuleID = "jwt"
		pushes := []struct {
			repo     string
			at       time.Duration
			verdict  Verdict
			reason   string
			findings []scan.Finding
		}{
			{"acme/api", -time.Hour, VerdictRejected, "", []scan.Finding{testFinding("fp0")}}, // the week before
			{"acme/api", time.Hour, VerdictRejected, "", []scan.Finding{testFinding("fp1"), testFinding("fp2"), jwt}},
			{"acme/api", 2 * time.Hour, VerdictBypassed, "test fixture, not a real key", []scan.Finding{testFinding("fp1")}},
			{"acme/api", 3 * time.Hour, VerdictBypassed, "revoked already", []scan.Finding{testFinding("fp2")}},
			{"acme/api", 4 * time.Hour, VerdictAccepted, "", nil},
			{"acme/web", 5 * time.Hour, VerdictFailedOpen, "scan budget of 4s exceeded", nil},
			{"acme/web", 6 * time.Hour, VerdictFailedClosed, "scan budget of 4s exceeded", nil},
			{"acme/web", 8 * 24 * time.Hour, VerdictRejected, "", []scan.Finding{jwt}}, // the week after
		}
		for i, p := range pushes {
			if _, err := s.RecordPush(ctx, Push{Repo: p.repo, Pusher: "dana", Source: "pre-receive", At: monday.Add(p.at),
				Verdict: p.verdict, Reason: p.reason, EventID: fmt.Sprint("e", i)}, p.findings, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Activity(ctx, monday, monday.AddDate(0, 0, 7))
		if err != nil {
			t.Fatal(err)
		}
		want := []Activity{
			{Repo: "acme/api", Rule: "aws-access-key", Blocked: 1, Bypassed: 2, Findings: 4, BypassReason: []string{"test fixture, not a real key", "revoked already"}},
			{Repo: "acme/api", Rule: "jwt", Blocked: 1, Findings: 1},
			{Repo: "acme/web", Rule: "", Blocked: 1, FailedOpen: 1},
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("Activity\n got %+v\nwant %+v", got, want)
		}
	})
}
