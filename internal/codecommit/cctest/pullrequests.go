package cctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ScannerRule is the approval rule every pull request starts with, as if
// created from an approval rule template associated with the repository:
// one approval from the scanner's role.
const (
	ScannerRuleName = "secretgate-scan"
	ScannerRule     = `{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,` +
		`"ApprovalPoolMembers":["arn:aws:sts::` + Account + `:assumed-role/secretgate-scanner/*"]}]}`
)

// Location is where a comment is attached.
type Location struct {
	FilePath            string `json:"filePath"`
	FilePosition        int64  `json:"filePosition"`
	RelativeFileVersion string `json:"relativeFileVersion"` // BEFORE or AFTER
}

// Comment is a comment posted on a pull request.
type Comment struct {
	CommentID          string
	PullRequestID      string
	RepositoryName     string
	BeforeCommitID     string
	AfterCommitID      string
	Location           *Location
	Content            string
	Author             string // ARN of the caller
	ClientRequestToken string
	Created            time.Time
}

// Approval is one UpdatePullRequestApprovalState call that was accepted.
type Approval struct {
	RevisionID string
	User       string // ARN of the caller
	State      string // APPROVE or REVOKE
}

// PullRequest is the state of a pull request on the server.
type PullRequest struct {
	ID                string
	Repository        string
	SourceBranch      string
	DestinationBranch string
	SourceCommit      string
	DestinationCommit string
	MergeBase         string
	RevisionID        string // the current revision
	Status            string // OPEN or CLOSED
	Author            string
}

type pullRequest struct {
	PullRequest
	title     string
	revisions []string
	created   time.Time
	activity  time.Time
	overrider string
	comments  []Comment
	approvals []Approval
}

// OpenPullRequest opens a pull request from source into dest of repo,
// authored by Author, with the ScannerRule approval rule, and returns its
// id ("1", "2", … across the server).
func (s *Server) OpenPullRequest(repo, source, dest string) (prID string) {
	s.t.Helper()
	rp := s.repo(repo)
	if rp == nil {
		s.t.Fatalf("cctest: OpenPullRequest: no repository %s", repo)
	}
	if source == dest {
		s.t.Fatalf("cctest: OpenPullRequest: source and destination are both %s", source)
	}
	src, dst, base, err := s.prCommits(rp, source, dest)
	if err != nil {
		s.t.Fatalf("cctest: OpenPullRequest: %v", err)
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	prID = strconv.Itoa(s.nextPR)
	s.nextPR++
	pr := &pullRequest{
		PullRequest: PullRequest{
			ID: prID, Repository: repo, SourceBranch: source, DestinationBranch: dest,
			SourceCommit: src, DestinationCommit: dst, MergeBase: base,
			Status: "OPEN", Author: Author,
		},
		title:   "Merge " + source + " into " + dest,
		created: now,
	}
	pr.newRevision(now)
	s.prs[prID] = pr
	return prID
}

// prCommits reads the tips of source and dest and their merge base.
func (s *Server) prCommits(rp *repo, source, dest string) (src, dst, base string, err error) {
	if src, err = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "refs/heads/"+source+"^{commit}"); err != nil {
		return "", "", "", err
	}
	if dst, err = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "refs/heads/"+dest+"^{commit}"); err != nil {
		return "", "", "", err
	}
	base, _ = s.git(rp.dir, nil, nil, "merge-base", src, dst)
	return src, dst, base, nil
}

func (pr *pullRequest) newRevision(now time.Time) {
	var b [32]byte
	rand.Read(b[:])
	pr.RevisionID = hex.EncodeToString(b[:])
	pr.revisions = append(pr.revisions, pr.RevisionID)
	pr.activity = now
}

// branchMoved brings open pull requests from or to branch up to date: a new
// source commit makes a new revision.
func (s *Server) branchMoved(repo, branch string) {
	rp := s.repo(repo)
	s.mu.Lock()
	var prs []*pullRequest
	for _, pr := range s.prs {
		if pr.Repository == repo && pr.Status == "OPEN" && (pr.SourceBranch == branch || pr.DestinationBranch == branch) {
			prs = append(prs, pr)
		}
	}
	s.mu.Unlock()
	for _, pr := range prs {
		src, dst, base, err := s.prCommits(rp, pr.SourceBranch, pr.DestinationBranch)
		if err != nil {
			s.t.Fatalf("cctest: updating pull request %s: %v", pr.ID, err)
		}
		now := time.Now()
		s.mu.Lock()
		if src != pr.SourceCommit {
			pr.SourceCommit = src
			pr.newRevision(now)
		}
		pr.DestinationCommit, pr.MergeBase, pr.activity = dst, base, now
		s.mu.Unlock()
	}
}

// ClosePullRequest closes a pull request.
func (s *Server) ClosePullRequest(prID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustPR(prID).Status = "CLOSED"
}

// Override sets aside the approval rules of a pull request, as
// OverridePullRequestApprovalRules by overrider would.
func (s *Server) Override(prID, overrider string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustPR(prID).overrider = overrider
}

// PullRequest returns the state of a pull request.
func (s *Server) PullRequest(prID string) PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustPR(prID).PullRequest
}

// Comments returns the comments posted on a pull request, in order.
func (s *Server) Comments(prID string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustPR(prID).comments)
}

// Approvals returns the accepted approval state changes of a pull request,
// in order, over all its revisions.
func (s *Server) Approvals(prID string) []Approval {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mustPR(prID).approvals)
}

func (s *Server) mustPR(prID string) *pullRequest {
	pr := s.prs[prID]
	if pr == nil {
		s.t.Fatalf("cctest: no pull request %s", prID)
	}
	return pr
}

var prIDRE = regexp.MustCompile(`^[0-9]+$`)

// pullRequestFor checks a request's pullRequestId (and revisionId when
// revision is not nil) as CodeCommit does. It returns with s.mu held when
// the error is nil.
func (s *Server) pullRequestFor(prID string, revision *string) (*pullRequest, *apiError) {
	switch {
	case prID == "":
		return nil, errorf("PullRequestIdRequiredException", "A pull request ID is required.")
	case !prIDRE.MatchString(prID):
		return nil, errorf("InvalidPullRequestIdException", "The pull request ID "+prID+" is not valid.")
	}
	s.mu.Lock()
	pr := s.prs[prID]
	if pr == nil {
		s.mu.Unlock()
		return nil, errorf("PullRequestDoesNotExistException", "Pull request "+prID+" does not exist.")
	}
	if revision != nil {
		switch {
		case *revision == "":
			s.mu.Unlock()
			return nil, errorf("RevisionIdRequiredException", "A revision ID is required.")
		case !slices.Contains(pr.revisions, *revision):
			s.mu.Unlock()
			return nil, errorf("InvalidRevisionIdException", "The revision ID "+*revision+" is not valid for pull request "+prID+".")
		}
	}
	return pr, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) getPullRequest(_ string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, nil)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	sum := sha256.Sum256([]byte(ScannerRule))
	rule := map[string]any{
		"approvalRuleId":      "cctest-rule-" + pr.ID,
		"approvalRuleName":    ScannerRuleName,
		"approvalRuleContent": ScannerRule,
		"ruleContentSha256":   hex.EncodeToString(sum[:]),
		"creationDate":        epoch(pr.created),
		"lastModifiedDate":    epoch(pr.created),
		"lastModifiedUser":    pr.Author,
		"originApprovalRuleTemplate": map[string]string{
			"approvalRuleTemplateId":   "cctest-template-1",
			"approvalRuleTemplateName": ScannerRuleName,
		},
	}
	target := map[string]any{
		"repositoryName":       pr.Repository,
		"sourceReference":      "refs/heads/" + pr.SourceBranch,
		"destinationReference": "refs/heads/" + pr.DestinationBranch,
		"sourceCommit":         pr.SourceCommit,
		"destinationCommit":    pr.DestinationCommit,
		"mergeMetadata":        map[string]any{"isMerged": false},
	}
	if pr.MergeBase != "" {
		target["mergeBase"] = pr.MergeBase
	}
	return map[string]any{"pullRequest": map[string]any{
		"pullRequestId":      pr.ID,
		"title":              pr.title,
		"description":        "",
		"lastActivityDate":   epoch(pr.activity),
		"creationDate":       epoch(pr.created),
		"pullRequestStatus":  pr.Status,
		"authorArn":          pr.Author,
		"pullRequestTargets": []any{target},
		"revisionId":         pr.RevisionID,
		"approvalRules":      []any{rule},
	}}, nil
}

func (s *Server) postCommentForPullRequest(caller string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID      string    `json:"pullRequestId"`
		RepositoryName     string    `json:"repositoryName"`
		BeforeCommitID     string    `json:"beforeCommitId"`
		AfterCommitID      string    `json:"afterCommitId"`
		Location           *Location `json:"location"`
		Content            string    `json:"content"`
		ClientRequestToken string    `json:"clientRequestToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rp, aerr := s.repoFor(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	var before, after string // blob ids at the location
	for _, id := range []string{in.BeforeCommitID, in.AfterCommitID} {
		switch {
		case id == "":
			return nil, errorf("CommitIdRequiredException", "A commit ID is required.")
		case !fullID.MatchString(id):
			return nil, errorf("InvalidCommitIdException", "The commit ID "+id+" is not valid: commit IDs are the full 40-character SHA")
		case s.objectType(rp, id) != "commit":
			return nil, errorf("CommitDoesNotExistException", "Could not find commit "+id+" in repository "+rp.name)
		}
	}
	if in.BeforeCommitID == in.AfterCommitID {
		return nil, errorf("BeforeCommitIdAndAfterCommitIdAreSameException", "The before commit ID and the after commit ID are the same.")
	}
	switch n := utf8.RuneCountInString(in.Content); {
	case n == 0:
		return nil, errorf("CommentContentRequiredException", "The comment is empty.")
	case n > 10240:
		return nil, errorf("CommentContentSizeLimitExceededException", "The comment is "+strconv.Itoa(n)+" characters, more than 10,240.")
	}
	if in.ClientRequestToken == "" {
		return nil, errorf("ClientRequestTokenRequiredException", "A client request token is required.")
	}
	if l := in.Location; l != nil {
		switch {
		case l.FilePath == "":
			return nil, errorf("PathRequiredException", "A file path is required.")
		case l.RelativeFileVersion != "BEFORE" && l.RelativeFileVersion != "AFTER":
			return nil, errorf("InvalidRelativeFileVersionEnumException", "relativeFileVersion must be BEFORE or AFTER.")
		case l.FilePosition < 0:
			return nil, errorf("InvalidFilePositionException", "The file position is not valid.")
		}
		before, _ = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", in.BeforeCommitID+":"+l.FilePath)
		after, _ = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", in.AfterCommitID+":"+l.FilePath)
		if (l.RelativeFileVersion == "BEFORE" && before == "") || (l.RelativeFileVersion == "AFTER" && after == "") {
			return nil, errorf("PathDoesNotExistException", "The path "+l.FilePath+" does not exist in the "+
				strings.ToLower(l.RelativeFileVersion)+" commit.")
		}
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, nil)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if pr.Repository != in.RepositoryName {
		return nil, errorf("RepositoryNotAssociatedWithPullRequestException", "Repository "+in.RepositoryName+" is not part of pull request "+pr.ID+".")
	}
	c := Comment{
		CommentID:          newID(),
		PullRequestID:      pr.ID,
		RepositoryName:     in.RepositoryName,
		BeforeCommitID:     in.BeforeCommitID,
		AfterCommitID:      in.AfterCommitID,
		Location:           in.Location,
		Content:            in.Content,
		Author:             caller,
		ClientRequestToken: in.ClientRequestToken,
		Created:            time.Now(),
	}
	found := false
	for _, old := range pr.comments {
		if old.ClientRequestToken != c.ClientRequestToken {
			continue
		}
		if old.Content != c.Content || old.BeforeCommitID != c.BeforeCommitID || old.AfterCommitID != c.AfterCommitID ||
			old.Author != c.Author || !reflect.DeepEqual(old.Location, c.Location) {
			return nil, errorf("IdempotencyParameterMismatchException", "The client request token was used with other parameters.")
		}
		c, found = old, true // a repeated request answers with the first
		break
	}
	if !found {
		pr.comments = append(pr.comments, c)
		pr.activity = c.Created
	}
	out := map[string]any{
		"repositoryName": c.RepositoryName,
		"pullRequestId":  c.PullRequestID,
		"beforeCommitId": c.BeforeCommitID,
		"afterCommitId":  c.AfterCommitID,
		"comment": map[string]any{
			"commentId":          c.CommentID,
			"content":            c.Content,
			"creationDate":       epoch(c.Created),
			"lastModifiedDate":   epoch(c.Created),
			"authorArn":          c.Author,
			"deleted":            false,
			"clientRequestToken": c.ClientRequestToken,
			"callerReactions":    []string{},
			"reactionCounts":     map[string]int{},
		},
	}
	if c.Location != nil {
		out["location"] = c.Location
		if before != "" {
			out["beforeBlobId"] = before
		}
		if after != "" {
			out["afterBlobId"] = after
		}
	}
	return out, nil
}

func (s *Server) updatePullRequestApprovalState(caller string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		RevisionID    string `json:"revisionId"`
		ApprovalState string `json:"approvalState"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, &in.RevisionID)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	switch {
	case in.ApprovalState == "":
		return nil, errorf("ApprovalStateRequiredException", "An approval state is required.")
	case in.ApprovalState != "APPROVE" && in.ApprovalState != "REVOKE":
		return nil, errorf("InvalidApprovalStateException", "The approval state "+in.ApprovalState+" is not valid.")
	case pr.Status != "OPEN":
		return nil, errorf("PullRequestAlreadyClosedException", "Pull request "+pr.ID+" is already closed.")
	case in.RevisionID != pr.RevisionID:
		return nil, errorf("RevisionNotCurrentException", "The revision "+in.RevisionID+" is not the current revision of pull request "+pr.ID+".")
	case caller == pr.Author:
		return nil, errorf("PullRequestCannotBeApprovedByAuthorException", "The author of a pull request cannot approve it.")
	}
	pr.approvals = append(pr.approvals, Approval{RevisionID: in.RevisionID, User: caller, State: in.ApprovalState})
	pr.activity = time.Now()
	return struct{}{}, nil
}

// states is each user's last approval state on a revision, users in the
// order they first acted.
func (pr *pullRequest) states(revision string) (users []string, state map[string]string) {
	state = map[string]string{}
	for _, a := range pr.approvals {
		if a.RevisionID != revision {
			continue
		}
		if _, ok := state[a.User]; !ok {
			users = append(users, a.User)
		}
		state[a.User] = a.State
	}
	return users, state
}

func (s *Server) getPullRequestApprovalStates(_ string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		RevisionID    string `json:"revisionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, &in.RevisionID)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	users, state := pr.states(in.RevisionID)
	approvals := []map[string]string{}
	for _, u := range users {
		approvals = append(approvals, map[string]string{"userArn": u, "approvalState": state[u]})
	}
	return map[string]any{"approvals": approvals}, nil
}

func (s *Server) evaluatePullRequestApprovalRules(_ string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		RevisionID    string `json:"revisionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, &in.RevisionID)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	if in.RevisionID != pr.RevisionID {
		return nil, errorf("RevisionNotCurrentException", "The revision "+in.RevisionID+" is not the current revision of pull request "+pr.ID+".")
	}
	users, state := pr.states(in.RevisionID)
	var approvers []string
	for _, u := range users {
		if state[u] == "APPROVE" {
			approvers = append(approvers, u)
		}
	}
	satisfied, notSatisfied := []string{}, []string{}
	if ruleSatisfied(ScannerRule, approvers) {
		satisfied = append(satisfied, ScannerRuleName)
	} else {
		notSatisfied = append(notSatisfied, ScannerRuleName)
	}
	overridden := pr.overrider != ""
	return map[string]any{"evaluation": map[string]any{
		"approved":                  overridden || len(notSatisfied) == 0,
		"overridden":                overridden,
		"approvalRulesSatisfied":    satisfied,
		"approvalRulesNotSatisfied": notSatisfied,
	}}, nil
}

// ruleSatisfied evaluates approval rule content: every Approvers statement
// needs its number of approvers from its pool (anyone, without a pool).
func ruleSatisfied(content string, approvers []string) bool {
	var rc struct {
		Statements []struct {
			Type                    string
			NumberOfApprovalsNeeded int
			ApprovalPoolMembers     []string
		}
	}
	if json.Unmarshal([]byte(content), &rc) != nil {
		return false
	}
	for _, st := range rc.Statements {
		n := 0
		for _, a := range approvers {
			if len(st.ApprovalPoolMembers) == 0 || slices.ContainsFunc(st.ApprovalPoolMembers, func(p string) bool { return glob(p, a) }) {
				n++
			}
		}
		if n < st.NumberOfApprovalsNeeded {
			return false
		}
	}
	return true
}

// glob matches s against pattern, where * matches any run of characters.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func (s *Server) getPullRequestOverrideState(_ string, body []byte) (any, *apiError) {
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		RevisionID    string `json:"revisionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	pr, aerr := s.pullRequestFor(in.PullRequestID, &in.RevisionID)
	if aerr != nil {
		return nil, aerr
	}
	defer s.mu.Unlock()
	out := map[string]any{"overridden": pr.overrider != ""}
	if pr.overrider != "" {
		out["overrider"] = pr.overrider
	}
	return out, nil
}
