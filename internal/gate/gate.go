// Package gate decides about a push: it scans the commits the push adds,
// weighs the findings against earlier bypasses and the pusher's bypass
// request, records the decision with its alerts, and says what the pusher
// should see. Every front door (pre-receive hook, GitHub App, CodeCommit)
// reduces its input to a Push and calls Check.
package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
)

// BypassOption is the push option that asks for a bypass:
// git push -o secretgate.bypass=<reason>.
const BypassOption = "secretgate.bypass"

// hookCache bounds gitsrc's blob cache: a push is small next to a whole
// history, and a hook should stay light (a 1,000-commit push: 0.71 s and
// 83 MB peak with 16 MiB, against 0.71 s and 109 MB with the default 64).
const hookCache = 16 << 20

// Store is what the gate needs from its record.
type Store interface {
	Bypassed(ctx context.Context, repo string, fingerprints []string) (map[string]bool, error)
	RecordPush(ctx context.Context, p store.Push, findings []scan.Finding, alerts []store.Alert) (int64, error)
}

// Gate checks pushes under one policy.
type Gate struct {
	Policy  *policy.Policy
	Scanner *scan.Scanner
	Store   Store
}

// Push is one push as a front door saw it.
type Push struct {
	Repo    string // display name: owner/name where the host says so
	Pusher  string
	Source  string   // front door, e.g. "pre-receive"
	Dir     string   // the git directory to read objects from
	Env     []string // extra environment for git (the hook inherits its own)
	Updates []store.RefUpdate
	Options []string // push options, "key=value"
}

// Result is the gate's decision about a push.
type Result struct {
	Verdict  store.Verdict
	Findings []scan.Finding // what blocked the push, or what the bypass let in
	Known    int            // findings already accepted by an earlier bypass
	Commits  int
	Reason   string // the bypass reason, or why the gate refused a bypass
	Err      error  // why the push could not be scanned (fail open/closed)
	PushID   int64
	Alerts   int
}

// Accepted reports whether the push may go in.
func (r Result) Accepted() bool {
	switch r.Verdict {
	case store.VerdictAccepted, store.VerdictBypassed, store.VerdictFailedOpen:
		return true
	}
	return false
}

// Check scans what the push adds and decides. The context's deadline is
// the budget: past it, the policy's on_timeout applies.
func (g *Gate) Check(ctx context.Context, p Push) Result {
	start := time.Now()
	// The deadline holds even while one huge blob is being scanned: the
	// decision is made when it passes, and a front door that exits right
	// after (the hook does) takes the unfinished scan with it.
	done := make(chan Result, 1)
	go func() { done <- g.decide(ctx, p) }()
	var res Result
	select {
	case res = <-done:
	case <-ctx.Done():
		res = Result{Err: ctx.Err()}
	}
	if res.Err != nil {
		mode := g.Policy.OnError
		if errors.Is(res.Err, context.DeadlineExceeded) {
			mode = g.Policy.OnTimeout
		}
		res.Verdict = store.VerdictFailedClosed
		if mode == policy.FailOpen {
			res.Verdict = store.VerdictFailedOpen
		}
		res.Reason = res.Err.Error()
	}
	// Record even past the deadline: the decision must not be lost.
	rec := context.WithoutCancel(ctx)
	sp := store.Push{
		Repo: p.Repo, Pusher: p.Pusher, Source: p.Source, At: start.UTC(),
		Updates: p.Updates, Verdict: res.Verdict, Reason: res.Reason,
		Commits: res.Commits, Duration: time.Since(start),
	}
	if res.Verdict == store.VerdictFailedOpen || res.Verdict == store.VerdictFailedClosed {
		sp.Unscanned = p.Updates
	}
	alerts := alert.ForPush(sp, res.Findings)
	id, err := g.Store.RecordPush(rec, sp, res.Findings, alerts)
	if err != nil && res.Verdict != store.VerdictRejected {
		// An unrecorded bypass or pass would be a decision nobody can audit.
		res.Err = fmt.Errorf("recording the push: %w", err)
		res.Reason = res.Err.Error()
		res.Verdict = store.VerdictFailedClosed
		if g.Policy.OnError == policy.FailOpen {
			res.Verdict = store.VerdictFailedOpen
		}
		return res
	}
	res.PushID, res.Alerts = id, len(alerts)
	return res
}

func (g *Gate) decide(ctx context.Context, p Push) Result {
	// Branches hold commits (git refuses anything else there); any other
	// ref may name a tag, a tree or a blob, whose own text is scanned here
	// and whose commits join the history scan.
	var revs []string
	var findings []scan.Finding
	for _, u := range p.Updates {
		if isZero(u.New) || slices.Contains(revs, u.New) {
			continue
		}
		if strings.HasPrefix(u.Ref, "refs/heads/") {
			revs = append(revs, u.New)
			continue
		}
		commit, fs, err := g.object(ctx, p, u)
		if err != nil {
			return Result{Err: err}
		}
		findings = append(findings, fs...)
		if commit != "" && !slices.Contains(revs, commit) {
			revs = append(revs, commit)
		}
	}
	var st gitsrc.Stats
	if len(revs) > 0 {
		var err error
		st, err = gitsrc.Scan(ctx, gitsrc.Options{
			Dir:        p.Dir,
			Env:        p.Env,
			Revs:       append(revs, "--not", "--all"),
			CacheBytes: hookCache,
		}, g.Scanner, func(f scan.Finding) { findings = append(findings, f) })
		if err != nil {
			return Result{Err: err, Commits: st.Commits}
		}
	} else if len(findings) == 0 { // deletions only, or an empty push
		return Result{Verdict: store.VerdictAccepted}
	}
	if st.Skipped > 0 {
		return Result{Err: fmt.Errorf("%d changed files could not be read", st.Skipped), Commits: st.Commits}
	}
	res := Result{Commits: st.Commits}
	if len(findings) == 0 {
		res.Verdict = store.VerdictAccepted
		return res
	}

	fps := make([]string, 0, len(findings))
	for _, f := range findings {
		fps = append(fps, f.Fingerprint)
	}
	known, err := g.Store.Bypassed(ctx, p.Repo, fps)
	if err != nil {
		// Secrets were found; that they were accepted before cannot be
		// shown, so they block (a slow store must not open the gate).
		known = nil
	}
	for _, f := range findings {
		if known[f.Fingerprint] {
			res.Known++
			continue
		}
		res.Findings = append(res.Findings, f)
	}
	sortFindings(res.Findings)
	if len(res.Findings) == 0 {
		res.Verdict = store.VerdictAccepted
		return res
	}

	res.Verdict = store.VerdictRejected
	reason, asked := pushOption(p.Options, BypassOption)
	switch {
	case !asked:
	case !slices.Contains(policy.Reasons, reason):
		// The text given is not repeated: people paste the wrong things.
		res.Reason = "the bypass reason must be one of " + strings.Join(policy.Reasons, ", ")
	case !g.Policy.MayBypass(p.Pusher):
		res.Reason = fmt.Sprintf("%s may not bypass secretgate on this server", orSomeone(p.Pusher))
	default:
		res.Verdict, res.Reason = store.VerdictBypassed, reason
	}
	return res
}

// object resolves what a non-branch ref points to: the text of annotated
// tags and of a blob, and every blob of a tree, are scanned; the commit a
// tag leads to (if any) is returned for the history scan.
func (g *Gate) object(ctx context.Context, p Push, u store.RefUpdate) (commit string, findings []scan.Finding, err error) {
	git := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = p.Dir
		cmd.Env = append(os.Environ(), p.Env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
	scanText := func(path string, text []byte) {
		findings = append(findings, g.Scanner.Scan(scan.Fragment{Origin: scan.Origin{Path: path}, Text: text}).Findings...)
	}
	id := u.New
	for depth := 0; depth < 10; depth++ { // tags of tags, bounded
		typ, err := git("cat-file", "-t", id)
		if err != nil {
			return "", nil, err
		}
		switch strings.TrimSpace(string(typ)) {
		case "commit":
			return id, findings, nil
		case "tag":
			body, err := git("cat-file", "tag", id)
			if err != nil {
				return "", nil, err
			}
			header, message, _ := bytes.Cut(body, []byte("\n\n"))
			scanText("(tag message of "+u.Ref+")", message)
			obj, _, _ := bytes.Cut(bytes.TrimPrefix(header, []byte("object ")), []byte("\n"))
			id = string(obj)
		case "blob":
			body, err := git("cat-file", "blob", id)
			if err != nil {
				return "", nil, err
			}
			scanText("(blob at "+u.Ref+")", body)
			return "", findings, nil
		case "tree":
			list, err := git("ls-tree", "-r", "-z", id)
			if err != nil {
				return "", nil, err
			}
			for _, entry := range bytes.Split(list, []byte{0}) {
				meta, path, ok := bytes.Cut(entry, []byte("\t"))
				f := strings.Fields(string(meta))
				if !ok || len(f) != 3 || f[1] != "blob" {
					continue
				}
				body, err := git("cat-file", "blob", f[2])
				if err != nil {
					return "", nil, err
				}
				scanText(string(path), body)
			}
			return "", findings, nil
		default:
			return "", nil, fmt.Errorf("%s points to %s of unknown type", u.Ref, short(id))
		}
	}
	return "", nil, fmt.Errorf("%s: tags nested too deep", u.Ref)
}

func isZero(id string) bool { return strings.Trim(id, "0") == "" }

// pushOption returns the value of the last "key=value" push option for key.
func pushOption(opts []string, key string) (string, bool) {
	val, found := "", false
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		if strings.TrimSpace(k) == key {
			val, found = strings.TrimSpace(v), true
		}
	}
	return val, found
}

func orSomeone(name string) string {
	if name == "" {
		return "an unnamed pusher"
	}
	return name
}

// sortFindings puts findings in push order: by commit date, then place.
func sortFindings(fs []scan.Finding) {
	slices.SortStableFunc(fs, func(a, b scan.Finding) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		if a.Commit != b.Commit {
			return strings.Compare(a.Commit, b.Commit)
		}
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		return a.Line - b.Line
	})
}
