package codecommit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cc "github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
)

// API is the part of the CodeCommit client the handler uses.
type API interface {
	GetCommit(context.Context, *cc.GetCommitInput, ...func(*cc.Options)) (*cc.GetCommitOutput, error)
	GetDifferences(context.Context, *cc.GetDifferencesInput, ...func(*cc.Options)) (*cc.GetDifferencesOutput, error)
	GetBlob(context.Context, *cc.GetBlobInput, ...func(*cc.Options)) (*cc.GetBlobOutput, error)
	PostCommentForPullRequest(context.Context, *cc.PostCommentForPullRequestInput, ...func(*cc.Options)) (*cc.PostCommentForPullRequestOutput, error)
	UpdatePullRequestApprovalState(context.Context, *cc.UpdatePullRequestApprovalStateInput, ...func(*cc.Options)) (*cc.UpdatePullRequestApprovalStateOutput, error)
	GetPullRequest(context.Context, *cc.GetPullRequestInput, ...func(*cc.Options)) (*cc.GetPullRequestOutput, error)
}

// Record is the part of the store the handler uses.
type Record interface {
	Scanned(ctx context.Context, repo string, commits []string) (map[string]bool, error)
	Bypassed(ctx context.Context, repo string, fingerprints []string) (map[string]bool, error)
	RecordPush(ctx context.Context, p store.Push, findings []scan.Finding, alerts []store.Alert) (int64, error)
}

// DefaultMaxCommits bounds the walk back from a pushed commit when the
// event does not say where the ref was (repository triggers) and nothing
// older was scanned yet: a first push of a long history scans its newest
// commits, and says so in the record.
const DefaultMaxCommits = 500

// Handler scans what CodeCommit events add.
type Handler struct {
	API          API
	Scanner      gitsrc.Scanner
	Record       Record
	Deliver      func(context.Context) error // sends the outbox; nil: later
	Log          *slog.Logger
	MaxCommits   int   // default DefaultMaxCommits
	MaxBlobBytes int64 // larger blobs are not read (default 6 MiB, GetBlob's own limit)
}

// Handle processes one Lambda event. A returned error makes Lambda retry
// the event; a retry never records or alerts twice.
func (h *Handler) Handle(ctx context.Context, raw []byte) error {
	changes, err := ParseEvent(raw)
	if errors.Is(err, ErrIgnored) {
		h.Log.Info("event ignored", "why", err.Error())
		return nil
	}
	if err != nil {
		// A malformed event (or part of one) will not get better by
		// retrying it: say so, and handle what is good in it.
		h.Log.Error("bad event", "err", err)
	}
	var errs []error
	for _, c := range changes {
		err := h.change(ctx, c)
		var missing *types.CommitIdDoesNotExistException
		if errors.As(err, &missing) {
			h.Log.Error("the event names a commit CodeCommit does not have", "repo", c.Repo, "ref", c.Ref, "err", err)
			continue // a retry cannot make it exist
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", c.Repo, c.Ref, err))
		}
	}
	if h.Deliver != nil {
		if err := h.Deliver(ctx); err != nil {
			h.Log.Warn("alerts left in the outbox", "err", err)
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) change(ctx context.Context, c Change) error {
	start := time.Now()
	p := store.Push{Repo: c.Repo, Pusher: c.Actor, Source: "codecommit", At: start.UTC(), EventID: c.EventID,
		Updates: []store.RefUpdate{{Old: c.Old, New: c.Head, Ref: c.Ref}}}
	if c.Kind == KindOverride {
		// Someone merged past the scanner's approval rule: that is a bypass.
		p.Verdict, p.Reason = store.VerdictBypassed, "approval rules overridden on pull request "+c.PullRequestID
		return h.record(ctx, p, nil)
	}
	// A push is new commits: walk back to where the ref was, or to what
	// was scanned before. A pull request is judged by all it would bring
	// into its destination, back to the merge base, scanned before or not:
	// otherwise a commit removing a secret would approve a branch whose
	// history still holds it.
	stops, skipScanned := []string{c.Old}, true
	if c.Kind == KindPullRequest {
		base, err := h.mergeBase(ctx, c)
		if err != nil {
			return err
		}
		stops, skipScanned = []string{base, c.Destination}, false
	}
	commits, truncated, err := h.newCommits(ctx, c.Repo, c.Head, stops, skipScanned)
	if err != nil {
		return err
	}
	var found []scan.Finding
	var skipped []string
	for _, cm := range commits {
		fs, sk, err := h.scanCommit(ctx, c.Repo, cm)
		if err != nil {
			return err
		}
		found = append(found, fs...)
		skipped = append(skipped, sk...)
	}
	findings, err := h.unknown(ctx, c.Repo, found)
	if err != nil {
		return err
	}
	p.Commits, p.Duration = len(commits), time.Since(start)
	for _, cm := range commits {
		p.ScannedCommits = append(p.ScannedCommits, aws.ToString(cm.CommitId))
	}
	p.Verdict = store.VerdictAccepted
	var unscanned []string
	if truncated {
		unscanned = append(unscanned, fmt.Sprintf("commits older than the newest %d", len(commits)))
	}
	if len(skipped) > 0 {
		unscanned = append(unscanned, fmt.Sprintf("%d files too large to read (%s)", len(skipped), strings.Join(skipped[:min(len(skipped), 3)], ", ")))
	}
	switch {
	case len(findings) > 0:
		p.Verdict = store.VerdictRejected
		p.Reason = "secrets in the repository: remove them from history and rotate them"
	case len(unscanned) > 0:
		// Content went unscanned: never a silent pass. A pull request is
		// refused (failed closed); a push, which is already in, is alerted.
		p.Verdict, p.Unscanned = store.VerdictFailedOpen, p.Updates
		if c.Kind == KindPullRequest {
			p.Verdict = store.VerdictFailedClosed
		}
	}
	if len(unscanned) > 0 {
		p.Reason = strings.TrimPrefix(p.Reason+"; ", "; ") + "not scanned: " + strings.Join(unscanned, "; ")
	}
	if err := h.record(ctx, p, findings); err != nil {
		return err
	}
	if c.Kind == KindPullRequest {
		return h.answerPullRequest(ctx, c, findings, unscanned)
	}
	return nil
}

func (h *Handler) record(ctx context.Context, p store.Push, findings []scan.Finding) error {
	_, err := h.Record.RecordPush(ctx, p, findings, alert.ForPush(p, findings))
	if errors.Is(err, store.ErrDuplicateEvent) {
		h.Log.Info("event already handled", "event", p.EventID)
		return nil
	}
	return err
}

// mergeBase asks CodeCommit where the pull request's source left its
// destination.
func (h *Handler) mergeBase(ctx context.Context, c Change) (string, error) {
	out, err := h.API.GetPullRequest(ctx, &cc.GetPullRequestInput{PullRequestId: &c.PullRequestID})
	if err != nil {
		return "", fmt.Errorf("GetPullRequest %s: %w", c.PullRequestID, err)
	}
	for _, t := range out.PullRequest.PullRequestTargets {
		if aws.ToString(t.RepositoryName) == c.Repo {
			return aws.ToString(t.MergeBase), nil
		}
	}
	return c.Destination, nil
}

// newCommits walks back from head through GetCommit until one of stops,
// commits scanned before (if skipScanned), or the bound; newest first.
func (h *Handler) newCommits(ctx context.Context, repo, head string, stops []string, skipScanned bool) ([]*types.Commit, bool, error) {
	limit := h.MaxCommits
	if limit <= 0 {
		limit = DefaultMaxCommits
	}
	var out []*types.Commit
	seen := map[string]bool{}
	for _, s := range stops {
		if s != "" {
			seen[s] = true
		}
	}
	queue := []string{head}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		if skipScanned {
			known, err := h.Record.Scanned(ctx, repo, []string{id})
			if err != nil {
				return nil, false, err
			}
			if known[id] {
				continue
			}
		}
		if len(out) == limit {
			return out, true, nil
		}
		got, err := h.API.GetCommit(ctx, &cc.GetCommitInput{RepositoryName: &repo, CommitId: aws.String(id)})
		if err != nil {
			return nil, false, fmt.Errorf("GetCommit %s: %w", short(id), err)
		}
		got.Commit.CommitId = aws.String(id)
		out = append(out, got.Commit)
		queue = append(queue, got.Commit.Parents...)
	}
	return out, false, nil
}

// scanCommit scans the lines a commit adds against every parent (the same
// rule as history scans: a merge adds what no parent has), and its message.
func (h *Handler) scanCommit(ctx context.Context, repo string, cm *types.Commit) (findings []scan.Finding, skipped []string, err error) {
	id := aws.ToString(cm.CommitId)
	origin := scan.Origin{Commit: id, Message: firstLine(aws.ToString(cm.Message))}
	if a := cm.Author; a != nil {
		origin.Author, origin.Email = aws.ToString(a.Name), aws.ToString(a.Email)
		origin.Date = parseDate(aws.ToString(a.Date))
	}
	msg := origin
	msg.Path = gitsrc.MessagePath
	findings = append(findings, h.Scanner.Scan(scan.Fragment{Origin: msg, Text: []byte(aws.ToString(cm.Message))}).Findings...)

	parents := cm.Parents
	if len(parents) == 0 {
		parents = []string{""} // a root commit: everything is added
	}
	// path -> the new blob and each parent's blob
	type change struct {
		after   string
		befores []string
		inAll   int
	}
	changes := map[string]*change{}
	var order []string
	for _, parent := range parents {
		diffs, err := h.differences(ctx, repo, parent, id)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range diffs {
			if d.ChangeType == types.ChangeTypeEnumDeleted || d.AfterBlob == nil || aws.ToString(d.AfterBlob.Mode) == "160000" {
				continue
			}
			path := aws.ToString(d.AfterBlob.Path)
			ch := changes[path]
			if ch == nil {
				ch = &change{after: aws.ToString(d.AfterBlob.BlobId)}
				changes[path] = ch
				order = append(order, path)
			}
			ch.inAll++
			if d.BeforeBlob != nil {
				ch.befores = append(ch.befores, aws.ToString(d.BeforeBlob.BlobId))
			}
		}
	}
	for _, path := range order {
		ch := changes[path]
		if ch.inAll < len(parents) {
			continue // some parent already has this file as it is
		}
		after, err := h.blob(ctx, repo, ch.after)
		if errors.Is(err, errTooLarge) {
			skipped = append(skipped, path)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if after == nil {
			continue // binary
		}
		var befores [][]byte
		for _, b := range ch.befores {
			before, err := h.blob(ctx, repo, b)
			if errors.Is(err, errTooLarge) {
				before, err = nil, nil // compare with nothing: every line counts as added
			}
			if err != nil {
				return nil, nil, err
			}
			befores = append(befores, before)
		}
		text, lines := gitsrc.AddedLines(after, befores...)
		if len(lines) == 0 {
			continue
		}
		o := origin
		o.Path = path
		findings = append(findings, h.Scanner.Scan(scan.Fragment{Origin: o, Text: text, Lines: lines}).Findings...)
	}
	return findings, skipped, nil
}

// differences lists a commit's changes against one parent ("" for none),
// every page.
func (h *Handler) differences(ctx context.Context, repo, parent, commit string) ([]types.Difference, error) {
	in := &cc.GetDifferencesInput{RepositoryName: &repo, AfterCommitSpecifier: aws.String(commit)}
	if parent != "" {
		in.BeforeCommitSpecifier = aws.String(parent)
	}
	var all []types.Difference
	p := cc.NewGetDifferencesPaginator(h.API, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("GetDifferences %s..%s: %w", short(parent), short(commit), err)
		}
		all = append(all, page.Differences...)
	}
	return all, nil
}

// errTooLarge marks a blob the handler could not read: its content was not
// scanned, which the record and the answer must say.
var errTooLarge = errors.New("too large to read")

// blob reads a blob as the text the engine scans (UTF-16 decoded, so that a
// cut into added lines keeps its meaning); nil for binary content.
func (h *Handler) blob(ctx context.Context, repo, id string) ([]byte, error) {
	out, err := h.API.GetBlob(ctx, &cc.GetBlobInput{RepositoryName: &repo, BlobId: aws.String(id)})
	var tooLarge *types.FileTooLargeException
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("GetBlob %s: %w", short(id), err)
	}
	max := h.MaxBlobBytes
	if max <= 0 {
		max = 6 << 20
	}
	if int64(len(out.Content)) > max {
		return nil, errTooLarge
	}
	text, ok := scan.Text(out.Content)
	if !ok {
		return nil, nil
	}
	return text, nil
}

func (h *Handler) unknown(ctx context.Context, repo string, found []scan.Finding) ([]scan.Finding, error) {
	if len(found) == 0 {
		return nil, nil
	}
	fps := make([]string, len(found))
	for i, f := range found {
		fps[i] = f.Fingerprint
	}
	known, err := h.Record.Bypassed(ctx, repo, fps)
	if err != nil {
		return found, nil // cannot show they were accepted: they count
	}
	var out []scan.Finding
	for _, f := range found {
		if !known[f.Fingerprint] {
			out = append(out, f)
		}
	}
	return out, nil
}

// answerPullRequest approves the revision through the scanner's approval
// rule when it is clean and fully scanned; otherwise it revokes the
// approval first (that is what blocks the merge) and then comments why.
func (h *Handler) answerPullRequest(ctx context.Context, c Change, findings []scan.Finding, unscanned []string) error {
	state := types.ApprovalStateApprove
	if len(findings) > 0 || len(unscanned) > 0 {
		state = types.ApprovalStateRevoke
	}
	if _, err := h.API.UpdatePullRequestApprovalState(ctx, &cc.UpdatePullRequestApprovalStateInput{
		PullRequestId: &c.PullRequestID, RevisionId: &c.RevisionID, ApprovalState: state,
	}); err != nil {
		return fmt.Errorf("setting the approval of pull request %s: %w", c.PullRequestID, err)
	}
	if state == types.ApprovalStateApprove {
		return nil
	}
	body := comment(findings, unscanned)
	sum := sha256.Sum256([]byte(body))
	if _, err := h.API.PostCommentForPullRequest(ctx, &cc.PostCommentForPullRequestInput{
		RepositoryName: &c.Repo, PullRequestId: &c.PullRequestID,
		BeforeCommitId: &c.Destination, AfterCommitId: &c.Head,
		Content: aws.String(body),
		// A retry of the same answer posts no second comment; a different
		// answer (the branch moved) is a different request.
		ClientRequestToken: aws.String("secretgate-" + hex.EncodeToString(sum[:8]) + "-" + c.EventID),
	}); err != nil {
		return fmt.Errorf("commenting on pull request %s: %w", c.PullRequestID, err)
	}
	return nil
}

// maxComment stays under CodeCommit's 10,240-character comment limit.
const maxComment = 9500

func comment(findings []scan.Finding, unscanned []string) string {
	var b strings.Builder
	if len(findings) > 0 {
		fmt.Fprintf(&b, "**secretgate: %d secret(s) found in this pull request.** The scanner's approval is revoked until they are gone.\n\n", len(findings))
	}
	if len(unscanned) > 0 {
		fmt.Fprintf(&b, "**secretgate could not scan all of this pull request** (%s), so it cannot approve it.\n\n", report.MarkdownEscape(strings.Join(unscanned, "; ")))
	}
	const tail = "\nRemove each secret from every commit that adds it (amend or rebase, then force-push the branch) and rotate it: it may already be exposed."
	if len(findings) > 0 {
		report.MarkdownTable(&b, findings, maxComment-len(tail))
		b.WriteString(tail)
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// parseDate reads CodeCommit's "1484167798 -0800" author dates.
func parseDate(s string) time.Time {
	var secs int64
	if _, err := fmt.Sscan(s, &secs); err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
