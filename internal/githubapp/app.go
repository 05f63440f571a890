package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// CheckName is the check run the app reports; branch protection requires it.
const CheckName = "secretgate"

// Record is what the app needs from the store.
type Record interface {
	Bypassed(ctx context.Context, repo string, fingerprints []string) (map[string]bool, error)
	RecordPush(ctx context.Context, p store.Push, findings []scan.Finding, alerts []store.Alert) (int64, error)
	Findings(ctx context.Context, pushID int64) ([]store.Finding, error)
}

// App handles queued deliveries as one GitHub App.
type App struct {
	AppID   int64
	Key     []byte // the app's private key, PEM
	APIURL  string // "" for github.com; GitHub Enterprise: https://HOST/api/v3
	Fetcher *Fetcher
	Scanner gitsrc.Scanner
	Record  Record
	Policy  *policy.Policy // who may bypass
	Log     *slog.Logger
	// CommitStatus also posts a "secretgate" commit status, for branch
	// protection set up before check runs existed.
	CommitStatus bool

	mu    sync.Mutex
	trans map[int64]*ghinstallation.Transport
	heads map[string]*sync.Mutex // one delivery at a time per repository and head
}

// headLock serialises work on one head commit: a push and the check suite
// GitHub requests for it arrive together and must share one check run.
func (a *App) headLock(repo, head string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.heads == nil {
		a.heads = map[string]*sync.Mutex{}
	}
	key := repo + "@" + head
	if a.heads[key] == nil {
		a.heads[key] = &sync.Mutex{}
	}
	return a.heads[key]
}

// installation returns a go-github client and the transport (for git
// tokens) of one installation, reusing tokens until they near expiry.
func (a *App) installation(id int64) (*github.Client, *ghinstallation.Transport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.trans == nil {
		a.trans = map[int64]*ghinstallation.Transport{}
	}
	itr, ok := a.trans[id]
	if !ok {
		var err error
		itr, err = ghinstallation.New(http.DefaultTransport, a.AppID, id, a.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("installation %d: %w", id, err)
		}
		if a.APIURL != "" {
			itr.BaseURL = strings.TrimSuffix(a.APIURL, "/")
		}
		a.trans[id] = itr
	}
	opts := []github.ClientOptionsFunc{github.WithHTTPClient(&http.Client{Transport: itr, Timeout: 30 * time.Second})}
	if a.APIURL != "" {
		root := strings.TrimSuffix(strings.TrimSuffix(a.APIURL, "/"), "/api/v3")
		opts = append(opts, github.WithEnterpriseURLs(root, root))
	}
	gh, err := github.NewClient(opts...)
	if err != nil {
		return nil, nil, err
	}
	return gh, itr, nil
}

// Handle processes one queued delivery. An error means "try again later";
// RetryAfter says how much later when GitHub said so.
func (a *App) Handle(ctx context.Context, event string, payload []byte) error {
	err := a.handle(ctx, event, payload)
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		switch ge.Response.StatusCode {
		case http.StatusUnauthorized: // a revoked token: fetch a new one next time
			var d delivery
			json.Unmarshal(payload, &d)
			a.forget(d.Installation.ID)
		case http.StatusNotFound, http.StatusGone: // repository renamed or deleted, app uninstalled
			return permanent(err)
		}
	}
	return err
}

// forget drops an installation's cached transport and token.
func (a *App) forget(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.trans, id)
}

func (a *App) handle(ctx context.Context, event string, payload []byte) error {
	switch event {
	case "installation", "installation_repositories":
		a.Log.Info("installation changed", "event", event)
		return nil
	case "check_run":
		var d delivery
		if err := json.Unmarshal(payload, &d); err != nil {
			return permanent(fmt.Errorf("check_run payload: %w", err))
		}
		if d.Action == "requested_action" {
			return a.bypass(ctx, payload)
		}
	}
	t, err := targetFor(event, payload)
	if err != nil {
		return permanent(err)
	}
	if t.Skip == "" && t.Installation == 0 {
		return permanent(errors.New("delivery names no installation"))
	}
	if t.Skip != "" {
		a.Log.Info("nothing to scan", "repo", t.FullName(), "why", t.Skip)
		return nil
	}
	return a.scan(ctx, t, senderOf(payload))
}

func senderOf(payload []byte) string {
	var d delivery
	json.Unmarshal(payload, &d)
	return d.Sender.Login
}

func (a *App) scan(ctx context.Context, t Target, sender string) error {
	gh, itr, err := a.installation(t.Installation)
	if err != nil {
		return permanent(err)
	}
	lock := a.headLock(t.FullName(), t.Head)
	lock.Lock()
	defer lock.Unlock()
	start := time.Now()
	runID, annotated, err := a.checkRun(ctx, gh, t, start)
	if err != nil {
		return err
	}
	token, err := itr.Token(ctx)
	if err != nil {
		return fmt.Errorf("installation token: %w", err)
	}
	fetched, err := a.Fetcher.Fetch(ctx, t, token)
	if err != nil {
		return err
	}
	var found []scan.Finding
	st, err := gitsrc.Scan(ctx, gitsrc.Options{Dir: fetched.GitDir, Revs: fetched.Revs}, a.Scanner, func(f scan.Finding) { found = append(found, f) })
	if err != nil {
		return err
	}
	if st.Skipped > 0 { // never a silent pass over what could not be read
		return fmt.Errorf("%d changed files could not be read", st.Skipped)
	}
	findings, known, err := a.unknown(ctx, t.FullName(), found)
	if err != nil {
		return err
	}
	slices.SortStableFunc(findings, func(x, y scan.Finding) int {
		if c := x.Date.Compare(y.Date); c != 0 {
			return c
		}
		return strings.Compare(x.Path+fmt.Sprint(x.Line), y.Path+fmt.Sprint(y.Line))
	})

	verdict := store.VerdictAccepted
	if len(findings) > 0 {
		verdict = store.VerdictRejected
	}
	push := store.Push{
		Repo: t.FullName(), Pusher: sender, Source: "github", At: start.UTC(),
		Updates:  []store.RefUpdate{{Old: strings.Join(t.Exclude, ","), New: t.Head, Ref: t.Event}},
		Verdict:  verdict,
		Commits:  st.Commits,
		Duration: time.Since(start),
	}
	id, err := a.Record.RecordPush(ctx, push, findings, alert.ForPush(push, findings))
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	// GitHub appends annotations on every update: a run that has them for
	// this head already gets none again.
	return a.conclude(ctx, gh, t, runID, id, findings, known, st.Commits, !annotated)
}

// checkRun returns the head's secretgate check run, marked in progress:
// the one already there (a push and its check suite, a redelivery, a
// re-run), or a new one.
func (a *App) checkRun(ctx context.Context, gh *github.Client, t Target, start time.Time) (id int64, annotated bool, err error) {
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, t.Owner, t.Repo, t.Head, &github.ListCheckRunsOptions{CheckName: github.Ptr(CheckName), AppID: github.Ptr(a.AppID)})
	if err != nil {
		return 0, false, fmt.Errorf("looking up the check run: %w", err)
	}
	if runs := list.CheckRuns; len(runs) > 0 {
		id := runs[0].GetID()
		_, _, err := gh.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, id, github.UpdateCheckRunOptions{Name: CheckName, Status: github.Ptr("in_progress")})
		if err != nil {
			return 0, false, fmt.Errorf("restarting the check run: %w", err)
		}
		return id, runs[0].GetOutput().GetAnnotationsCount() > 0, nil
	}
	run, _, err := gh.Checks.CreateCheckRun(ctx, t.Owner, t.Repo, github.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: t.Head, Status: github.Ptr("in_progress"),
		StartedAt: &github.Timestamp{Time: start},
	})
	if err != nil {
		return 0, false, fmt.Errorf("creating the check run: %w", err)
	}
	return run.GetID(), false, nil
}

// unknown drops findings whose secret was accepted by an earlier bypass.
func (a *App) unknown(ctx context.Context, repo string, found []scan.Finding) ([]scan.Finding, int, error) {
	if len(found) == 0 {
		return nil, 0, nil
	}
	fps := make([]string, len(found))
	for i, f := range found {
		fps[i] = f.Fingerprint
	}
	known, err := a.Record.Bypassed(ctx, repo, fps)
	if err != nil {
		return nil, 0, err
	}
	var out []scan.Finding
	for _, f := range found {
		if !known[f.Fingerprint] {
			out = append(out, f)
		}
	}
	return out, len(found) - len(out), nil
}

// conclude completes the check run: the findings as annotations, 50 per
// request as GitHub allows, and the bypass actions when it fails.
func (a *App) conclude(ctx context.Context, gh *github.Client, t Target, runID, pushID int64, findings []scan.Finding, known, commits int, annotate bool) error {
	title := "No secrets found"
	conclusion := "success"
	if len(findings) > 0 {
		title = fmt.Sprintf("%d %s found", len(findings), plural(len(findings), "secret", "secrets"))
		conclusion = "failure"
	}
	summary := summaryOf(findings, known, commits)
	var anns []*github.CheckRunAnnotation
	if annotate {
		anns = annotations(findings)
	}
	first := anns[:min(len(anns), 50)]
	opts := github.UpdateCheckRunOptions{
		Name:        CheckName,
		ExternalID:  github.Ptr(externalID(pushID, t.FullName())),
		Status:      github.Ptr("completed"),
		Conclusion:  github.Ptr(conclusion),
		CompletedAt: &github.Timestamp{Time: time.Now()},
		Output:      &github.CheckRunOutput{Title: &title, Summary: &summary, Annotations: first},
	}
	if len(findings) > 0 {
		opts.Actions = []*github.CheckRunAction{
			{Label: "False positive", Description: "Not a secret: accept and record", Identifier: "false_positive"},
			{Label: "Used in tests", Description: "A test value: accept and record", Identifier: "used_in_tests"},
		}
	}
	if _, _, err := gh.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, runID, opts); err != nil {
		return fmt.Errorf("concluding the check run: %w", err)
	}
	for rest := anns[len(first):]; len(rest) > 0; {
		n := min(len(rest), 50)
		_, _, err := gh.Checks.UpdateCheckRun(ctx, t.Owner, t.Repo, runID, github.UpdateCheckRunOptions{
			Name:   CheckName,
			Output: &github.CheckRunOutput{Title: &title, Summary: &summary, Annotations: rest[:n]},
		})
		if err != nil {
			return fmt.Errorf("adding annotations: %w", err)
		}
		rest = rest[n:]
	}
	a.Log.Info("check run concluded", "repo", t.FullName(), "head", t.Head, "conclusion", conclusion, "findings", len(findings), "commits", commits)
	return a.status(ctx, gh, t.Owner, t.Repo, t.Head, conclusion, title)
}

// status posts the optional commit status mirroring the check run.
func (a *App) status(ctx context.Context, gh *github.Client, owner, repo, sha, conclusion, title string) error {
	if !a.CommitStatus {
		return nil
	}
	if len(title) > 140 { // GitHub's limit on a status description
		title = title[:139] + "…"
	}
	_, _, err := gh.Repositories.CreateStatus(ctx, owner, repo, sha, github.RepoStatus{
		State: github.Ptr(conclusion), Context: github.Ptr(CheckName), Description: github.Ptr(title),
	})
	if err != nil {
		return fmt.Errorf("posting the commit status: %w", err)
	}
	return nil
}

// annotations marks each finding in its file. Findings outside any file
// (a commit message) have no place to mark; the summary lists them, and an
// annotation on a path that is not in the commit could fail the request
// that concludes the run.
// externalID ties a check run to its record: "push:ID:OWNER/REPO".
func externalID(pushID int64, repo string) string {
	return "push:" + strconv.FormatInt(pushID, 10) + ":" + repo
}

func annotations(findings []scan.Finding) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, 0, len(findings))
	for _, f := range findings {
		if f.Path == gitsrc.MessagePath || f.Path == "" {
			continue
		}
		end := max(f.EndLine, f.Line)
		out = append(out, &github.CheckRunAnnotation{
			Path:            github.Ptr(f.Path),
			StartLine:       github.Ptr(f.Line),
			EndLine:         github.Ptr(end),
			AnnotationLevel: github.Ptr("failure"),
			Title:           github.Ptr(f.Description),
			Message:         github.Ptr(fmt.Sprintf("%s in commit %s: %s. Remove it from history and rotate it.", f.RuleID, short(f.Commit), f.Redacted)),
		})
	}
	return out
}

// summaryOf is the check run's summary: a table of redacted findings.
func summaryOf(findings []scan.Finding, known, commits int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "secretgate scanned %d %s.", commits, plural(commits, "commit", "commits"))
	if known > 0 {
		fmt.Fprintf(&b, " %d %s accepted by an earlier bypass.", known, plural(known, "secret was", "secrets were"))
	}
	if len(findings) == 0 {
		return b.String()
	}
	const advice = "\nTake each secret out of every commit that adds it and rotate it: it may already be exposed. " +
		"Not a secret? Add `secretgate:allow` in a comment on the line, or use the buttons above (recorded and alerted)."
	// GitHub refuses a summary over 65,535 characters, and with it the
	// conclusion; the annotations list every finding.
	b.WriteString("\n\n")
	report.MarkdownTable(&b, findings, 65535-len(advice))
	return b.String() + advice
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// bypass handles a click on one of the check run's actions: the clicking
// user accepts the run's findings with a reason. It is recorded as a
// bypass (so the same secrets do not block again), alerted, and the check
// run is concluded as passed.
func (a *App) bypass(ctx context.Context, payload []byte) error {
	var d delivery
	if err := json.Unmarshal(payload, &d); err != nil {
		return permanent(err)
	}
	var ext struct {
		CheckRun struct {
			ExternalID string `json:"external_id"`
		} `json:"check_run"`
	}
	json.Unmarshal(payload, &ext)
	reason := d.RequestedAction.Identifier
	if !slices.Contains(policy.Reasons, reason) {
		return permanent(fmt.Errorf("unknown action %q", reason))
	}
	repo := d.Repository.Owner.Login + "/" + d.Repository.Name
	idText, runRepo, _ := strings.Cut(strings.TrimPrefix(ext.CheckRun.ExternalID, "push:"), ":")
	pushID, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || runRepo != repo {
		return permanent(fmt.Errorf("check run %d is not one of ours in %s (external id %q)", d.CheckRun.ID, repo, ext.CheckRun.ExternalID))
	}
	gh, _, err := a.installation(d.Installation.ID)
	if err != nil {
		return permanent(err)
	}
	// One record per click, however often the delivery is retried.
	eventID := fmt.Sprintf("github-action:%d:%s:%s", d.CheckRun.ID, reason, d.Sender.Login)
	if a.Policy != nil && !a.Policy.MayBypass(d.Sender.Login) {
		refused := store.Push{Repo: repo, Pusher: d.Sender.Login, Source: "github", At: time.Now().UTC(), EventID: eventID,
			Updates: []store.RefUpdate{{New: d.CheckRun.HeadSHA, Ref: "check_run.requested_action"}},
			Verdict: store.VerdictRejected, Reason: "bypass refused: " + d.Sender.Login + " may not bypass"}
		if _, err := a.Record.RecordPush(ctx, refused, nil, alert.ForPush(refused, nil)); err != nil && !errors.Is(err, store.ErrDuplicateEvent) {
			return err
		}
		msg := fmt.Sprintf("%s may not bypass secretgate here; the findings stand (see the annotations).", d.Sender.Login)
		_, _, err := gh.Checks.UpdateCheckRun(ctx, d.Repository.Owner.Login, d.Repository.Name, d.CheckRun.ID, github.UpdateCheckRunOptions{
			Name:   CheckName,
			Output: &github.CheckRunOutput{Title: github.Ptr("Bypass refused"), Summary: &msg},
		})
		return err
	}
	stored, err := a.Record.Findings(ctx, pushID)
	if err != nil {
		return err
	}
	findings := make([]scan.Finding, len(stored))
	for i, f := range stored {
		sev, _ := rules.ParseSeverity(f.Severity)
		findings[i] = scan.Finding{RuleID: f.RuleID, Severity: sev, Origin: scan.Origin{Commit: f.Commit, Path: f.Path},
			Line: f.Line, Column: f.Column, Redacted: f.Redacted, Fingerprint: f.Fingerprint}
	}
	push := store.Push{Repo: repo, Pusher: d.Sender.Login, Source: "github", At: time.Now().UTC(), EventID: eventID,
		Updates: []store.RefUpdate{{New: d.CheckRun.HeadSHA, Ref: "check_run.requested_action"}},
		Verdict: store.VerdictBypassed, Reason: reason}
	if _, err := a.Record.RecordPush(ctx, push, findings, alert.ForPush(push, findings)); err != nil && !errors.Is(err, store.ErrDuplicateEvent) {
		return fmt.Errorf("recording the bypass: %w", err)
	}
	title := fmt.Sprintf("%d %s accepted by %s (%s)", len(findings), plural(len(findings), "secret", "secrets"), d.Sender.Login, reason)
	summary := "Accepted with a reason; recorded, and the security team is alerted. The same secrets will not block again in this repository."
	_, _, err = gh.Checks.UpdateCheckRun(ctx, d.Repository.Owner.Login, d.Repository.Name, d.CheckRun.ID, github.UpdateCheckRunOptions{
		Name:        CheckName,
		Status:      github.Ptr("completed"),
		Conclusion:  github.Ptr("success"),
		CompletedAt: &github.Timestamp{Time: time.Now()},
		Output:      &github.CheckRunOutput{Title: &title, Summary: &summary},
	})
	if err != nil {
		return err
	}
	return a.status(ctx, gh, d.Repository.Owner.Login, d.Repository.Name, d.CheckRun.HeadSHA, "success", title)
}

// permanentError marks a delivery that no retry can fix.
type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

func permanent(err error) error { return permanentError{err} }

// Permanent reports whether retrying the delivery is pointless.
func Permanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// RetryAfter is when GitHub asked to be called again, if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return time.Until(rl.Rate.Reset.Time), true
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) && abuse.RetryAfter != nil {
		return *abuse.RetryAfter, true
	}
	return 0, false
}
