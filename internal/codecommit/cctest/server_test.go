package cctest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"github.com/aws/smithy-go"
)

var ctx = context.Background()

// noBackoff keeps the standard retryer but retries at once.
func noBackoff(o *codecommit.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func noRetry(o *codecommit.Options) { o.RetryMaxAttempts = 1 }

// twoCommits makes repo "app" with a root commit and a second commit that
// modifies, deletes and adds files.
func twoCommits(t *testing.T, s *Server) (first, second string) {
	s.AddRepo("app")
	first = s.Commit("app", "main", "first", map[string]string{
		"a.txt": "a1\n", "b.txt": "b1\n", "dir/c.txt": "c1\n",
	})
	second = s.Commit("app", "main", "second", map[string]string{
		"a.txt": "a2\n", "b.txt": Delete, "d.bin": "\x00\xff\xfe binary \x01", "dir/e.txt": "e\n",
	})
	return first, second
}

func TestGetCommitAndBranch(t *testing.T) {
	s := NewServer(t)
	first, second := twoCommits(t, s)
	c := s.Client()

	br, err := c.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(br.Branch.CommitId) != second || aws.ToString(br.Branch.BranchName) != "main" {
		t.Errorf("GetBranch = %+v, want main at %s", br.Branch, second)
	}

	out, err := c.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(second)})
	if err != nil {
		t.Fatal(err)
	}
	cm := out.Commit
	tree, _ := s.git(s.repo("app").dir, nil, nil, "rev-parse", second+"^{tree}")
	if aws.ToString(cm.CommitId) != second || aws.ToString(cm.TreeId) != tree || !slices.Equal(cm.Parents, []string{first}) ||
		aws.ToString(cm.Message) != "second" {
		t.Errorf("GetCommit = id %s tree %s parents %v message %q", aws.ToString(cm.CommitId), aws.ToString(cm.TreeId), cm.Parents, aws.ToString(cm.Message))
	}
	date := regexp.MustCompile(`^[0-9]+ -0800$`)
	if aws.ToString(cm.Author.Name) != CommitterName || aws.ToString(cm.Author.Email) != CommitterEmail ||
		!date.MatchString(aws.ToString(cm.Author.Date)) || !date.MatchString(aws.ToString(cm.Committer.Date)) {
		t.Errorf("author %+v committer %+v", *cm.Author, *cm.Committer)
	}

	root, err := c.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(first)})
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Commit.Parents) != 0 {
		t.Errorf("root commit has parents %v", root.Commit.Parents)
	}

	// The request went out as AWS JSON 1.1 with the documented members.
	calls := s.CallsTo("GetCommit")
	var req map[string]string
	if err := json.Unmarshal(calls[0].Request, &req); err != nil || req["repositoryName"] != "app" || req["commitId"] != second {
		t.Errorf("GetCommit request = %s", calls[0].Request)
	}
	if calls[0].Caller != Scanner {
		t.Errorf("caller = %q, want %q", calls[0].Caller, Scanner)
	}
}

func TestMergeCommitHasTwoParents(t *testing.T) {
	s := NewServer(t)
	twoCommits(t, s)
	feature := s.Commit("app", "feature", "feature work", map[string]string{"f.txt": "f\n"})
	main := s.Commit("app", "main", "main work", map[string]string{"m.txt": "m\n"})
	merge := s.Merge("app", "main", "feature", "merge feature")
	out, err := s.Client().GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(merge)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Commit.Parents, []string{main, feature}) {
		t.Errorf("parents = %v, want [%s %s]", out.Commit.Parents, main, feature)
	}
	// Against its first parent, the merge brings in the feature's file.
	diffs := allDifferences(t, s.Client(), main, merge)
	if len(diffs) != 1 || aws.ToString(diffs[0].AfterBlob.Path) != "f.txt" {
		t.Errorf("merge vs first parent: %v", paths(diffs))
	}
}

func allDifferences(t *testing.T, c *codecommit.Client, before, after string) []types.Difference {
	t.Helper()
	in := &codecommit.GetDifferencesInput{RepositoryName: aws.String("app"), AfterCommitSpecifier: aws.String(after)}
	if before != "" {
		in.BeforeCommitSpecifier = aws.String(before)
	}
	var all []types.Difference
	p := codecommit.NewGetDifferencesPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Differences...)
	}
	return all
}

func paths(diffs []types.Difference) []string {
	var out []string
	for _, d := range diffs {
		path := ""
		if d.AfterBlob != nil {
			path = aws.ToString(d.AfterBlob.Path)
		} else if d.BeforeBlob != nil {
			path = aws.ToString(d.BeforeBlob.Path)
		}
		out = append(out, string(d.ChangeType)+" "+path)
	}
	return out
}

func TestGetDifferencesPaginates(t *testing.T) {
	s := NewServer(t)
	first, second := twoCommits(t, s)
	c := s.Client()

	diffs := allDifferences(t, c, first, second)
	want := []string{"M a.txt", "D b.txt", "A d.bin", "A dir/e.txt"}
	if got := paths(diffs); !slices.Equal(got, want) {
		t.Errorf("differences = %v, want %v", got, want)
	}
	calls := s.CallsTo("GetDifferences")
	if len(calls) != 2 {
		t.Fatalf("%d GetDifferences calls, want 2 pages of 2", len(calls))
	}
	if !strings.Contains(string(calls[1].Request), `"NextToken":`) {
		t.Errorf("second page request %s has no NextToken", calls[1].Request)
	}
	for _, d := range diffs {
		switch d.ChangeType {
		case types.ChangeTypeEnumAdded:
			if d.BeforeBlob != nil || d.AfterBlob == nil {
				t.Errorf("added %v has blobs %v / %v", paths([]types.Difference{d}), d.BeforeBlob, d.AfterBlob)
			}
		case types.ChangeTypeEnumDeleted:
			if d.BeforeBlob == nil || d.AfterBlob != nil {
				t.Errorf("deleted entry has blobs %v / %v", d.BeforeBlob, d.AfterBlob)
			}
		case types.ChangeTypeEnumModified:
			if aws.ToString(d.BeforeBlob.BlobId) == aws.ToString(d.AfterBlob.BlobId) || aws.ToString(d.AfterBlob.Mode) != "100644" {
				t.Errorf("modified entry %+v / %+v", *d.BeforeBlob, *d.AfterBlob)
			}
		}
	}

	// MaxResults below the page size is honoured; without a before commit
	// everything up to the after commit is added; branch names resolve.
	out, err := c.GetDifferences(ctx, &codecommit.GetDifferencesInput{
		RepositoryName: aws.String("app"), AfterCommitSpecifier: aws.String("main"), BeforeCommitSpecifier: aws.String(first), MaxResults: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Differences) != 1 || out.NextToken == nil {
		t.Errorf("MaxResults 1: %d differences, NextToken %v", len(out.Differences), out.NextToken)
	}
	if got := paths(allDifferences(t, c, "", first)); !slices.Equal(got, []string{"A a.txt", "A b.txt", "A dir/c.txt"}) {
		t.Errorf("without before: %v", got)
	}

	// A path limits the differences.
	out, err = c.GetDifferences(ctx, &codecommit.GetDifferencesInput{
		RepositoryName: aws.String("app"), BeforeCommitSpecifier: aws.String(first), AfterCommitSpecifier: aws.String(second), AfterPath: aws.String("dir"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(out.Differences); !slices.Equal(got, []string{"A dir/e.txt"}) {
		t.Errorf("afterPath dir: %v", got)
	}
}

func TestGetBlobRoundTrips(t *testing.T) {
	s := NewServer(t)
	first, second := twoCommits(t, s)
	c := s.Client()
	contents := map[string]string{"a.txt": "a2\n", "d.bin": "\x00\xff\xfe binary \x01", "dir/e.txt": "e\n"}
	for _, d := range allDifferences(t, c, first, second) {
		if d.AfterBlob == nil {
			continue
		}
		out, err := c.GetBlob(ctx, &codecommit.GetBlobInput{RepositoryName: aws.String("app"), BlobId: d.AfterBlob.BlobId})
		if err != nil {
			t.Fatal(err)
		}
		if want := contents[aws.ToString(d.AfterBlob.Path)]; string(out.Content) != want {
			t.Errorf("%s: content %q, want %q", aws.ToString(d.AfterBlob.Path), out.Content, want)
		}
	}
}

func TestErrors(t *testing.T) {
	s := NewServer(t)
	first, second := twoCommits(t, s)
	s.BlobLimit = 4
	big, _ := s.git(s.repo("app").dir, nil, nil, "rev-parse", second+":d.bin")
	c := s.Client(noRetry)
	missing := strings.Repeat("0", 40)
	is := func(target any) func(error) bool { return func(err error) bool { return errors.As(err, target) } }
	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
		code  string
	}{
		{"GetCommit unknown id", func() error {
			_, err := c.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(missing)})
			return err
		}, is(new(*types.CommitIdDoesNotExistException)), "CommitIdDoesNotExistException"},
		{"GetCommit 39 characters", func() error {
			_, err := c.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(second[:39])})
			return err
		}, is(new(*types.InvalidCommitIdException)), "InvalidCommitIdException"},
		{"GetDifferences unknown commit", func() error {
			_, err := c.GetDifferences(ctx, &codecommit.GetDifferencesInput{RepositoryName: aws.String("app"),
				BeforeCommitSpecifier: aws.String(missing), AfterCommitSpecifier: aws.String(second)})
			return err
		}, is(new(*types.CommitDoesNotExistException)), "CommitDoesNotExistException"},
		{"GetDifferences unknown branch", func() error {
			_, err := c.GetDifferences(ctx, &codecommit.GetDifferencesInput{RepositoryName: aws.String("app"), AfterCommitSpecifier: aws.String("nope")})
			return err
		}, is(new(*types.CommitDoesNotExistException)), "CommitDoesNotExistException"},
		{"GetDifferences 39 characters", func() error {
			_, err := c.GetDifferences(ctx, &codecommit.GetDifferencesInput{RepositoryName: aws.String("app"), AfterCommitSpecifier: aws.String(first[:39])})
			return err
		}, is(new(*types.InvalidCommitIdException)), "InvalidCommitIdException"},
		{"GetDifferences bad token", func() error {
			_, err := c.GetDifferences(ctx, &codecommit.GetDifferencesInput{RepositoryName: aws.String("app"),
				AfterCommitSpecifier: aws.String(second), NextToken: aws.String("bogus")})
			return err
		}, is(new(*types.InvalidContinuationTokenException)), "InvalidContinuationTokenException"},
		{"unknown repository", func() error {
			_, err := c.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("other"), CommitId: aws.String(second)})
			return err
		}, is(new(*types.RepositoryDoesNotExistException)), "RepositoryDoesNotExistException"},
		{"GetBlob over the limit", func() error {
			_, err := c.GetBlob(ctx, &codecommit.GetBlobInput{RepositoryName: aws.String("app"), BlobId: aws.String(big)})
			return err
		}, is(new(*types.FileTooLargeException)), "FileTooLargeException"},
		{"GetBlob unknown", func() error {
			_, err := c.GetBlob(ctx, &codecommit.GetBlobInput{RepositoryName: aws.String("app"), BlobId: aws.String(missing)})
			return err
		}, is(new(*types.BlobIdDoesNotExistException)), "BlobIdDoesNotExistException"},
		{"GetBranch unknown", func() error {
			_, err := c.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("nope")})
			return err
		}, is(new(*types.BranchDoesNotExistException)), "BranchDoesNotExistException"},
		{"GetPullRequest unknown", func() error {
			_, err := c.GetPullRequest(ctx, &codecommit.GetPullRequestInput{PullRequestId: aws.String("42")})
			return err
		}, is(new(*types.PullRequestDoesNotExistException)), "PullRequestDoesNotExistException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae smithy.APIError
			if err == nil || !tt.check(err) || !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
				t.Errorf("err = %v, want HTTP 400", err)
			}
		})
	}
}

func TestWireErrorShape(t *testing.T) {
	s := NewServer(t)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CodeCommit_20150413.GetCommit")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e map[string]string
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(body, &e) != nil ||
		e["__type"] != "MissingAuthenticationTokenException" || e["message"] == "" {
		t.Errorf("unsigned request: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestPullRequestFlow(t *testing.T) {
	s := NewServer(t)
	_, base := twoCommits(t, s)
	src := s.Commit("app", "feature", "add config", map[string]string{"config.env": "TOKEN=x\n"})
	prID := s.OpenPullRequest("app", "feature", "main")
	c := s.Client()

	out, err := c.GetPullRequest(ctx, &codecommit.GetPullRequestInput{PullRequestId: aws.String(prID)})
	if err != nil {
		t.Fatal(err)
	}
	pr := out.PullRequest
	if len(pr.PullRequestTargets) != 1 {
		t.Fatalf("%d targets", len(pr.PullRequestTargets))
	}
	tg := pr.PullRequestTargets[0]
	rev := aws.ToString(pr.RevisionId)
	if aws.ToString(pr.PullRequestId) != prID || pr.PullRequestStatus != types.PullRequestStatusEnumOpen ||
		aws.ToString(tg.SourceCommit) != src || aws.ToString(tg.DestinationCommit) != base || aws.ToString(tg.MergeBase) != base ||
		aws.ToString(tg.SourceReference) != "refs/heads/feature" || aws.ToString(tg.DestinationReference) != "refs/heads/main" ||
		aws.ToString(tg.RepositoryName) != "app" || rev == "" || aws.ToString(pr.AuthorArn) != Author {
		t.Errorf("GetPullRequest = %+v target %+v", pr, tg)
	}
	if pr.CreationDate == nil || time.Since(*pr.CreationDate) > time.Minute {
		t.Errorf("creationDate = %v", pr.CreationDate)
	}
	if len(pr.ApprovalRules) != 1 || aws.ToString(pr.ApprovalRules[0].ApprovalRuleName) != ScannerRuleName ||
		aws.ToString(pr.ApprovalRules[0].ApprovalRuleContent) != ScannerRule {
		t.Errorf("approval rules = %+v", pr.ApprovalRules)
	}

	// A comment at a line of the new file, posted twice with one token.
	in := &codecommit.PostCommentForPullRequestInput{
		PullRequestId: aws.String(prID), RepositoryName: aws.String("app"),
		BeforeCommitId: aws.String(base), AfterCommitId: aws.String(src),
		Content:            aws.String("secretgate: a secret on line 1"),
		Location:           &types.Location{FilePath: aws.String("config.env"), FilePosition: aws.Int64(1), RelativeFileVersion: types.RelativeFileVersionEnumAfter},
		ClientRequestToken: aws.String("token-1"),
	}
	posted, err := c.PostCommentForPullRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.PostCommentForPullRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(posted.Comment.CommentId) == "" || aws.ToString(again.Comment.CommentId) != aws.ToString(posted.Comment.CommentId) ||
		posted.AfterBlobId == nil || posted.BeforeBlobId != nil || aws.ToString(posted.Comment.AuthorArn) != Scanner {
		t.Errorf("posted %+v, again %+v", posted, again)
	}
	comments := s.Comments(prID)
	if len(comments) != 1 || comments[0].Content != "secretgate: a secret on line 1" || comments[0].Location.FilePath != "config.env" ||
		comments[0].Author != Scanner {
		t.Errorf("Comments = %+v", comments)
	}
	// Without a token the SDK makes one up.
	in.ClientRequestToken, in.Location = nil, nil
	if _, err := c.PostCommentForPullRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := s.Comments(prID); len(got) != 2 || got[1].ClientRequestToken == "" {
		t.Errorf("Comments = %+v", got)
	}

	// The scanner approves; the author may not.
	if _, err := c.UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{
		PullRequestId: aws.String(prID), RevisionId: aws.String(rev), ApprovalState: types.ApprovalStateApprove,
	}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ClientAs(AuthorKey, noRetry).UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{
		PullRequestId: aws.String(prID), RevisionId: aws.String(rev), ApprovalState: types.ApprovalStateApprove,
	})
	if e := new(types.PullRequestCannotBeApprovedByAuthorException); !errors.As(err, &e) {
		t.Errorf("author approving: %v", err)
	}
	states, err := c.GetPullRequestApprovalStates(ctx, &codecommit.GetPullRequestApprovalStatesInput{PullRequestId: aws.String(prID), RevisionId: aws.String(rev)})
	if err != nil {
		t.Fatal(err)
	}
	if len(states.Approvals) != 1 || aws.ToString(states.Approvals[0].UserArn) != Scanner || states.Approvals[0].ApprovalState != types.ApprovalStateApprove {
		t.Errorf("approval states = %+v", states.Approvals)
	}
	ev, err := c.EvaluatePullRequestApprovalRules(ctx, &codecommit.EvaluatePullRequestApprovalRulesInput{PullRequestId: aws.String(prID), RevisionId: aws.String(rev)})
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Evaluation.Approved || !slices.Equal(ev.Evaluation.ApprovalRulesSatisfied, []string{ScannerRuleName}) {
		t.Errorf("evaluation = %+v", ev.Evaluation)
	}

	// A push to the source branch makes a new revision; the old one is not
	// current any more and carries no approval for the new one.
	s.Commit("app", "feature", "more", map[string]string{"more.txt": "x\n"})
	rev2 := s.PullRequest(prID).RevisionID
	if rev2 == rev {
		t.Fatal("revision did not change on a push to the source branch")
	}
	_, err = c.UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{
		PullRequestId: aws.String(prID), RevisionId: aws.String(rev), ApprovalState: types.ApprovalStateRevoke,
	})
	if e := new(types.RevisionNotCurrentException); !errors.As(err, &e) {
		t.Errorf("old revision: %v", err)
	}
	ev, err = c.EvaluatePullRequestApprovalRules(ctx, &codecommit.EvaluatePullRequestApprovalRulesInput{PullRequestId: aws.String(prID), RevisionId: aws.String(rev2)})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Evaluation.Approved {
		t.Errorf("new revision approved: %+v", ev.Evaluation)
	}
	if _, err := c.UpdatePullRequestApprovalState(ctx, &codecommit.UpdatePullRequestApprovalStateInput{
		PullRequestId: aws.String(prID), RevisionId: aws.String(rev2), ApprovalState: types.ApprovalStateRevoke,
	}); err != nil {
		t.Fatal(err)
	}
	want := []Approval{{rev, Scanner, "APPROVE"}, {rev2, Scanner, "REVOKE"}}
	if got := s.Approvals(prID); !slices.Equal(got, want) {
		t.Errorf("Approvals = %+v, want %+v", got, want)
	}

	// Override state.
	ov, err := c.GetPullRequestOverrideState(ctx, &codecommit.GetPullRequestOverrideStateInput{PullRequestId: aws.String(prID), RevisionId: aws.String(rev2)})
	if err != nil || ov.Overridden {
		t.Errorf("override state = %+v, %v", ov, err)
	}
	s.Override(prID, Author)
	ov, err = c.GetPullRequestOverrideState(ctx, &codecommit.GetPullRequestOverrideStateInput{PullRequestId: aws.String(prID), RevisionId: aws.String(rev2)})
	if err != nil || !ov.Overridden || aws.ToString(ov.Overrider) != Author {
		t.Errorf("override state = %+v, %v", ov, err)
	}
}

func TestFailNext(t *testing.T) {
	s := NewServer(t)
	first, second := twoCommits(t, s)
	blob, _ := s.git(s.repo("app").dir, nil, nil, "rev-parse", second+":a.txt")
	get := func(c *codecommit.Client) error {
		_, err := c.GetBlob(ctx, &codecommit.GetBlobInput{RepositoryName: aws.String("app"), BlobId: aws.String(blob)})
		return err
	}

	// The standard retryer gets through two throttles.
	s.FailNext("GetBlob", 2, Throttling)
	if err := get(s.Client(noBackoff)); err != nil {
		t.Fatalf("after two throttles: %v", err)
	}
	calls := s.CallsTo("GetBlob")
	if len(calls) != 3 || calls[0].Error != "ThrottlingException" || calls[0].Status != 400 || calls[2].Error != "" {
		t.Errorf("GetBlob calls = %+v", calls)
	}

	// Without retries the error surfaces with its code and status.
	s.FailNext("GetBlob", 1, Throttling)
	err := get(s.Client(noRetry))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("throttled: %v", err)
	}
	if retry.DefaultThrottles[0].IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not take %v for a throttle", err)
	}
	s.FailNext("", 1, Unavailable)
	err = get(s.Client(noRetry))
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable" || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Errorf("unavailable: %v", err)
	}

	// Other operations are not affected by a failure aimed at GetBlob, and
	// an outage of every operation is retried too.
	s.FailNext("GetBlob", 1, Throttling)
	if _, err := s.Client(noRetry).GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String("app"), CommitId: aws.String(first)}); err != nil {
		t.Errorf("GetCommit failed for a GetBlob failure: %v", err)
	}
	s.FailNext("", 1, Unavailable)
	if err := get(s.Client(noBackoff)); err != nil {
		t.Errorf("after an outage and a throttle: %v", err)
	}
}
