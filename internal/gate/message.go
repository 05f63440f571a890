package gate

import (
	"fmt"
	"io"
	"strings"

	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/store"
)

// MaxShown is how many findings the pusher sees; the rest are counted.
const MaxShown = 10

// Advice is what Explain tells a refused pusher beyond the findings.
type Advice struct {
	Refused string   // the headline: "push rejected"
	Where   string   // where the secrets are: "in the commits you pushed"
	Timeout string   // the budget, as the policy says it
	Bypass  string   // how to go ahead anyway, with a reason
	Fix     []string // how to take the secret out; nil: rewrite the pushed commits
}

var fixPushed = []string{
	"To fix it, take the secret out of every commit that adds it:",
	"  the last commit:   edit the file, then git commit --amend",
	"  an older commit:   git rebase -i <commit>~1, mark it 'edit', fix, git rebase --continue",
}

// ServerAdvice is for the pre-receive gate.
func ServerAdvice(p *policy.Policy) Advice {
	return Advice{
		Refused: "push rejected",
		Where:   "in the commits you pushed",
		Timeout: p.Timeout.String(),
		Bypass:  "Or push with a reason; it is recorded and the security team is told:\n  git push -o " + BypassOption + "=" + strings.Join(policy.Reasons, "|"),
	}
}

// Explain writes what the pusher should see about a decision: nothing for
// a clean push; for a refused one, each finding and what to do about it.
// Findings appear only as redacted previews.
func Explain(w io.Writer, r Result, a Advice) {
	pw := lineWriter{w}
	switch r.Verdict {
	case store.VerdictAccepted:
		if r.Known > 0 {
			pw.printf("secretgate: %d %s already accepted by an earlier bypass; push accepted.", r.Known, plural(r.Known, "secret", "secrets"))
		}
	case store.VerdictRejected:
		pw.printf("")
		pw.printf("secretgate: %s: %d %s found %s.", a.Refused, len(r.Findings), plural(len(r.Findings), "secret", "secrets"), a.Where)
		pw.printf("")
		for i, f := range r.Findings {
			if i == MaxShown {
				pw.printf("  … and %d more", len(r.Findings)-MaxShown)
				break
			}
			pw.printf("  %s  %s:%d  %s", short(f.Commit), f.Path, f.Line, f.Description)
			pw.printf("           %s", f.Redacted)
		}
		pw.printf("")
		fix := a.Fix
		if fix == nil {
			fix = fixPushed
		}
		for _, l := range fix {
			pw.printf("%s", l)
		}
		pw.printf("Then ROTATE the secret: it may already be exposed, and it stays valid until revoked.")
		pw.printf("")
		pw.printf("Not a secret? Put secretgate:allow in a comment on that line, amend and push again.")
		if a.Bypass != "" {
			pw.printf("%s", a.Bypass)
		}
		if r.Reason != "" {
			pw.printf("")
			pw.printf("Bypass refused: %s.", r.Reason)
		}
		pw.printf("")
	case store.VerdictBypassed:
		pw.printf("secretgate: %d %s accepted by bypass (%s). This is recorded and the security team is alerted.", len(r.Findings), plural(len(r.Findings), "secret", "secrets"), r.Reason)
		pw.printf("Rotate the secret unless it is not one: it is now in the repository's history.")
	case store.VerdictFailedOpen:
		pw.printf("secretgate: could not scan this push (%s); accepted by policy. It is recorded for a later scan.", failure(r, a.Timeout))
	case store.VerdictFailedClosed:
		pw.printf("secretgate: push rejected: it could not be scanned (%s), and this server refuses pushes it cannot scan.", failure(r, a.Timeout))
		pw.printf("Try pushing fewer commits, or smaller files, at a time; if it persists, ask the server's administrators.")
	}
}

func failure(r Result, timeout string) string {
	if r.Err != nil && strings.Contains(r.Err.Error(), "deadline exceeded") {
		return "not finished within " + timeout
	}
	return "internal error"
}

func short(commit string) string {
	if len(commit) > 8 {
		return commit[:8]
	}
	if commit == "" {
		return "(index) "
	}
	return commit
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type lineWriter struct{ w io.Writer }

func (l lineWriter) printf(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}
