package alert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func push(v store.Verdict, reason string) store.Push {
	return store.Push{
		ID:      7,
		Repo:    "acme/api",
		Pusher:  "dana",
		Source:  "pre-receive",
		At:      t0,
		Updates: []store.RefUpdate{{Old: strings.Repeat("1", 40), New: strings.Repeat("2", 40), Ref: "refs/heads/main"}},
		Verdict: v,
		Reason:  reason,
		Commits: 3,
	}
}

func finding(rule string, sev rules.Severity, line int) scan.Finding {
	return scan.Finding{
		RuleID:      rule,
		Severity:    sev,
		Origin:      scan.Origin{Commit: strings.Repeat("2", 40), Path: "deploy/prod.env", Author: "Dana", Message: "add config"},
		Line:        line,
		Column:      5,
		Redacted:    "AKIA…MPLE",
		Fingerprint: fmt.Sprintf("fp-%s-%d", rule, line),
		Entropy:     3.5,
	}
}

func TestForPush(t *testing.T) {
	three := []scan.Finding{finding("generic-api-key", rules.Medium, 1), finding("aws-access-key", rules.High, 2), finding("slack-token", rules.Low, 3)}
	tests := []struct {
		name     string
		push     store.Push
		findings []scan.Finding
		kind     string // "" for no alert
		subject  string
		severity string
	}{
		{"rejected", push(store.VerdictRejected, ""), three, "secret_pushed",
			"secretgate: 3 secrets blocked in acme/api (push by dana)", "high"},
		{"rejected, one", push(store.VerdictRejected, ""), three[:1], "secret_pushed",
			"secretgate: 1 secret blocked in acme/api (push by dana)", "medium"},
		{"bypassed", push(store.VerdictBypassed, "false_positive"), three[2:], "bypass",
			"secretgate: 1 secret bypassed in acme/api by dana (false_positive)", "low"},
		{"failed open", push(store.VerdictFailedOpen, "scan budget exceeded"), nil, "fail_open",
			"secretgate: push to acme/api let through unscanned (push by dana)", "high"},
		{"accepted", push(store.VerdictAccepted, ""), nil, "", "", ""},
		{"failed closed", push(store.VerdictFailedClosed, "timeout"), nil, "fail_closed",
			"secretgate: push to acme/api refused, the gate could not scan it (push by dana)", "high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForPush(tt.push, tt.findings)
			if tt.kind == "" {
				if len(got) != 0 {
					t.Fatalf("ForPush = %+v, want no alert", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("ForPush gave %d alerts, want 1", len(got))
			}
			a := got[0]
			if a.Kind != tt.kind || a.Subject != tt.subject || a.PushID != 7 || !a.CreatedAt.Equal(t0) {
				t.Errorf("alert = %q %q push %d at %v", a.Kind, a.Subject, a.PushID, a.CreatedAt)
			}
			wantAttrs := map[string]string{"severity": tt.severity, "repository": "acme/api", "kind": tt.kind}
			if fmt.Sprint(a.Attributes) != fmt.Sprint(wantAttrs) {
				t.Errorf("attributes = %v, want %v", a.Attributes, wantAttrs)
			}
			var m Message
			if err := json.Unmarshal([]byte(a.Message), &m); err != nil {
				t.Fatalf("message is not JSON: %v\n%s", err, a.Message)
			}
			if m.Kind != tt.kind || m.Repository != "acme/api" || m.Pusher != "dana" || m.Verdict != string(tt.push.Verdict) ||
				m.Reason != tt.push.Reason || !m.Time.Equal(t0) || m.Commits != 3 || m.Severity != tt.severity ||
				m.FindingsTotal != len(tt.findings) || len(m.Findings) != len(tt.findings) ||
				m.RefsTotal != 1 || len(m.Refs) != 1 || m.Refs[0] != tt.push.Updates[0] {
				t.Errorf("message = %s", a.Message)
			}
		})
	}
}

// TestMessageFields checks the JSON field names a subscriber reads, and
// that nothing of a finding beyond them (author, commit message, entropy)
// leaves the gate.
func TestMessageFields(t *testing.T) {
	a := ForPush(push(store.VerdictRejected, ""), []scan.Finding{finding("aws-access-key", rules.Critical, 12)})[0]
	var m map[string]any
	if err := json.Unmarshal([]byte(a.Message), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kind", "repository", "pusher", "refs", "verdict", "time", "findings", "severity", "findings_total"} {
		if _, ok := m[k]; !ok {
			t.Errorf("message has no %q: %s", k, a.Message)
		}
	}
	f := m["findings"].([]any)[0].(map[string]any)
	want := `map[commit:2222222222222222222222222222222222222222 fingerprint:fp-aws-access-key-12 line:12 path:deploy/prod.env redacted:AKIA…MPLE rule_id:aws-access-key severity:critical]`
	if fmt.Sprint(f) != want {
		t.Errorf("finding = %v\nwant      %s", f, want)
	}
	ref := m["refs"].([]any)[0].(map[string]any)
	if ref["ref"] != "refs/heads/main" || ref["old"] != strings.Repeat("1", 40) || ref["new"] != strings.Repeat("2", 40) {
		t.Errorf("ref = %v", ref)
	}
	if m["time"] != "2026-03-02T09:30:00Z" {
		t.Errorf("time = %v", m["time"])
	}
}

func TestForPushListsAtMost20MostSevereFirst(t *testing.T) {
	var fs []scan.Finding
	for i := range 30 {
		fs = append(fs, finding("low-rule", rules.Low, i+1))
	}
	fs = append(fs, finding("critical-rule", rules.Critical, 99))
	p := push(store.VerdictRejected, "")
	for range 250 {
		p.Updates = append(p.Updates, p.Updates[0])
	}
	a := ForPush(p, fs)[0]
	var m Message
	if err := json.Unmarshal([]byte(a.Message), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) != MaxListed || m.FindingsTotal != 31 {
		t.Fatalf("listed %d of %d findings", len(m.Findings), m.FindingsTotal)
	}
	if m.Findings[0].RuleID != "critical-rule" || m.Findings[1].Line != 1 || m.Findings[19].Line != 19 {
		t.Errorf("findings not most severe first, then in order: %+v", m.Findings)
	}
	if len(m.Refs) != 100 || m.RefsTotal != 251 {
		t.Errorf("listed %d of %d refs", len(m.Refs), m.RefsTotal)
	}
	if a.Subject != "secretgate: 31 secrets blocked in acme/api (push by dana)" || a.Attributes["severity"] != "critical" {
		t.Errorf("subject %q severity %q", a.Subject, a.Attributes["severity"])
	}
}

func TestSubject(t *testing.T) {
	long := strings.Repeat("ü", 150)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "secretgate: 1 secret blocked", "secretgate: 1 secret blocked"},
		{"line breaks and controls", "a\r\nb\tc\x00d\u2028e\x7f", "a  b c d e "},
		{"invalid UTF-8", "a\xffb", "a b"},
		{"99 characters kept", strings.Repeat("x", 99), strings.Repeat("x", 99)},
		{"100 characters cut", strings.Repeat("x", 100), strings.Repeat("x", 98) + "…"},
		{"multibyte cut on a character", long, strings.Repeat("ü", 98) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Subject(tt.in)
			if got != tt.want {
				t.Errorf("Subject(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) >= 100 {
				t.Errorf("Subject(%q) = %q: not a valid SNS subject", tt.in, got)
			}
		})
	}
}

func TestForPushLongNamesKeepSubjectValid(t *testing.T) {
	p := push(store.VerdictBypassed, "will_fix_later")
	p.Repo = "org/" + strings.Repeat("very-long-repository-name-", 5)
	p.Pusher = "someone\nwith a newline"
	a := ForPush(p, []scan.Finding{finding("r", rules.High, 1)})[0]
	if n := utf8.RuneCountInString(a.Subject); n >= 100 || strings.ContainsAny(a.Subject, "\r\n") {
		t.Errorf("subject %q (%d characters)", a.Subject, n)
	}
	if !strings.HasPrefix(a.Subject, "secretgate: 1 secret bypassed in org/very-long") || !strings.HasSuffix(a.Subject, "…") {
		t.Errorf("subject %q", a.Subject)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{-1, 30 * time.Second}, {0, 30 * time.Second}, {1, time.Minute}, {2, 2 * time.Minute},
		{6, 32 * time.Minute}, {7, time.Hour}, {40, time.Hour}, {1000, time.Hour},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempts); got != tt.want {
			t.Errorf("Backoff(%d) = %s, want %s", tt.attempts, got, tt.want)
		}
	}
}
