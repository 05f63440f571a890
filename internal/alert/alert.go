// Package alert turns the gate's decisions into alerts and delivers them
// from the store's outbox to SNS, or to a log when no topic is configured.
//
// An alert never carries a secret: it names the rule, the place, a redacted
// preview and the fingerprint, as the store does. SNS e-mail is not a
// secure channel.
package alert

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// Alert kinds.
const (
	KindSecretPushed = "secret_pushed" // a push was refused for its secrets
	KindBypass       = "bypass"        // secrets let through by the pusher, with a reason
	KindFailOpen     = "fail_open"     // a push let through unscanned by policy
	KindFailClosed   = "fail_closed"   // a push refused because the gate could not scan it
)

const (
	// MaxSubject is the longest subject in characters: SNS wants fewer than 100.
	MaxSubject = 99
	// MaxListed is how many findings one alert lists; it counts them all.
	MaxListed = 20
	// maxRefs is how many ref updates one alert lists (a push may carry
	// thousands; an SNS message holds at most 256 KB).
	maxRefs = 100
	// maxField caps any one string in the message, in characters.
	maxField = 1024
)

// Message is the JSON document an alert carries.
type Message struct {
	Kind          string            `json:"kind"`
	Repository    string            `json:"repository"`
	Pusher        string            `json:"pusher"`
	Source        string            `json:"source,omitempty"`
	Refs          []store.RefUpdate `json:"refs"`
	RefsTotal     int               `json:"refs_total"`
	Verdict       string            `json:"verdict"`
	Reason        string            `json:"reason,omitempty"`
	Time          time.Time         `json:"time"`
	Commits       int               `json:"commits"`
	Severity      string            `json:"severity"`
	FindingsTotal int               `json:"findings_total"`
	Findings      []Finding         `json:"findings"`
}

// Finding is one finding as an alert lists it.
type Finding struct {
	RuleID      string `json:"rule_id"`
	Severity    string `json:"severity"`
	Commit      string `json:"commit"`
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Redacted    string `json:"redacted"`
	Fingerprint string `json:"fingerprint"`
}

// ForPush returns the alerts a push calls for: one "secret_pushed" alert
// when it was rejected, one "bypass" alert when secrets were let through
// with a reason, one "fail_open" alert when it was let through unscanned,
// and none otherwise. Each has a subject for e-mail, a JSON Message and the
// attributes "severity" (the highest in the push), "repository" and "kind"
// for SNS subscription filter policies.
func ForPush(p store.Push, findings []scan.Finding) []store.Alert {
	var subject string
	n := len(findings)
	pusher := cmp.Or(p.Pusher, "unknown")
	switch p.Verdict {
	case store.VerdictRejected:
		verb := "blocked"
		if p.Source == "codecommit" || p.Source == "rescan" { // already in the repository
			verb = "found"
		}
		subject = fmt.Sprintf("secretgate: %d %s %s in %s (push by %s)", n, plural(n, "secret"), verb, p.Repo, pusher)
	case store.VerdictBypassed:
		subject = fmt.Sprintf("secretgate: %d %s bypassed in %s by %s (%s)", n, plural(n, "secret"), p.Repo, pusher, p.Reason)
	case store.VerdictFailedOpen:
		subject = fmt.Sprintf("secretgate: push to %s let through unscanned (push by %s)", p.Repo, pusher)
	case store.VerdictFailedClosed: // the gate is failing: someone must look
		subject = fmt.Sprintf("secretgate: push to %s refused, the gate could not scan it (push by %s)", p.Repo, pusher)
	default:
		return nil
	}
	kind := map[store.Verdict]string{
		store.VerdictRejected:     KindSecretPushed,
		store.VerdictBypassed:     KindBypass,
		store.VerdictFailedOpen:   KindFailOpen,
		store.VerdictFailedClosed: KindFailClosed,
	}[p.Verdict]
	severity := highest(findings)
	if kind == KindFailOpen || kind == KindFailClosed {
		// Unscanned content went in, or the gate is failing: not "info".
		severity = rules.High.String()
	}
	msg := Message{
		Kind:          kind,
		Repository:    p.Repo,
		Pusher:        p.Pusher,
		Source:        p.Source,
		Refs:          refs(p.Updates),
		RefsTotal:     len(p.Updates),
		Verdict:       string(p.Verdict),
		Reason:        clip(p.Reason, maxField),
		Time:          p.At.UTC(),
		Commits:       p.Commits,
		Severity:      severity,
		FindingsTotal: n,
		Findings:      listed(findings),
	}
	body, err := json.Marshal(msg)
	if err != nil { // only strings, numbers and a time: cannot happen
		panic(fmt.Sprintf("alert: %v", err))
	}
	return []store.Alert{{
		PushID:  p.ID,
		Kind:    kind,
		Subject: Subject(subject),
		Message: string(body),
		Attributes: map[string]string{
			"severity":   severity,
			"repository": p.Repo,
			"kind":       kind,
		},
		CreatedAt: p.At,
	}}
}

// Subject makes s a valid SNS subject: control characters and line breaks
// become spaces, and a subject of MaxSubject characters or more is cut at
// a character boundary and ends in "…".
func Subject(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return clip(s, MaxSubject)
}

// clip cuts s to at most n characters, the last being "…" when cut.
func clip(s string, n int) string {
	if len(s) <= n { // fewer bytes than n: fewer characters too
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// highest is the highest severity among the findings; "info" for none.
func highest(findings []scan.Finding) string {
	top := rules.Info
	for _, f := range findings {
		top = max(top, f.Severity)
	}
	return top.String()
}

// listed returns up to MaxListed findings, the most severe first, in the
// order found among equals.
func listed(findings []scan.Finding) []Finding {
	sorted := slices.Clone(findings)
	slices.SortStableFunc(sorted, func(a, b scan.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	out := make([]Finding, 0, min(len(sorted), MaxListed))
	for _, f := range sorted[:min(len(sorted), MaxListed)] {
		out = append(out, Finding{
			RuleID:      clip(f.RuleID, maxField),
			Severity:    f.Severity.String(),
			Commit:      f.Commit,
			Path:        clip(f.Path, maxField),
			Line:        f.Line,
			Redacted:    clip(f.Redacted, maxField),
			Fingerprint: f.Fingerprint,
		})
	}
	return out
}

func refs(updates []store.RefUpdate) []store.RefUpdate {
	out := make([]store.RefUpdate, 0, min(len(updates), maxRefs))
	for _, u := range updates[:min(len(updates), maxRefs)] {
		u.Ref = clip(u.Ref, maxField)
		out = append(out, u)
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
