package cctest

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

type userInfo struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

type commitJSON struct {
	CommitID       string   `json:"commitId"`
	TreeID         string   `json:"treeId"`
	Parents        []string `json:"parents"`
	Message        string   `json:"message"`
	Author         userInfo `json:"author"`
	Committer      userInfo `json:"committer"`
	AdditionalData string   `json:"additionalData"`
}

// repoFor checks a request's repositoryName as CodeCommit does.
func (s *Server) repoFor(name string) (*repo, *apiError) {
	switch {
	case name == "":
		return nil, errorf("RepositoryNameRequiredException", "A repository name is required.")
	case !repoNameRE.MatchString(name) || strings.HasSuffix(name, ".git"):
		return nil, errorf("InvalidRepositoryNameException", "The repository name "+name+" is not valid.")
	}
	rp := s.repo(name)
	if rp == nil {
		return nil, errorf("RepositoryDoesNotExistException", name+" does not exist")
	}
	return rp, nil
}

func (s *Server) getCommit(_ string, body []byte) (any, *apiError) {
	var in struct {
		RepositoryName string `json:"repositoryName"`
		CommitID       string `json:"commitId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rp, aerr := s.repoFor(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case in.CommitID == "":
		return nil, errorf("CommitIdRequiredException", "A commit ID is required.")
	case !fullID.MatchString(in.CommitID):
		return nil, errorf("InvalidCommitIdException", "The commit ID "+in.CommitID+" is not valid: commit IDs are the full 40-character SHA")
	case s.objectType(rp, in.CommitID) != "commit":
		return nil, errorf("CommitIdDoesNotExistException", "Could not find commit "+in.CommitID+" in repository "+rp.name)
	}
	c, err := s.readCommit(rp, in.CommitID)
	if err != nil {
		return nil, &apiError{500, "InternalFailure", err.Error()}
	}
	parents := c.parents
	if parents == nil {
		parents = []string{}
	}
	return map[string]any{"commit": commitJSON{
		CommitID:  in.CommitID,
		TreeID:    c.tree,
		Parents:   parents,
		Message:   strings.TrimSuffix(c.message, "\n"),
		Author:    c.author,
		Committer: c.committer,
	}}, nil
}

type blobMetadata struct {
	BlobID string `json:"blobId"`
	Path   string `json:"path"`
	Mode   string `json:"mode"`
}

type difference struct {
	BeforeBlob *blobMetadata `json:"beforeBlob,omitempty"`
	AfterBlob  *blobMetadata `json:"afterBlob,omitempty"`
	ChangeType string        `json:"changeType"`
}

// pageToken is what a GetDifferences NextToken stands for.
type pageToken struct {
	Before string `json:"b"`
	After  string `json:"a"`
	Offset int    `json:"o"`
}

func (s *Server) getDifferences(_ string, body []byte) (any, *apiError) {
	var in struct {
		RepositoryName        string `json:"repositoryName"`
		BeforeCommitSpecifier string `json:"beforeCommitSpecifier"`
		AfterCommitSpecifier  string `json:"afterCommitSpecifier"`
		BeforePath            string `json:"beforePath"`
		AfterPath             string `json:"afterPath"`
		MaxResults            *int   `json:"MaxResults"`
		NextToken             string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rp, aerr := s.repoFor(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	if in.AfterCommitSpecifier == "" {
		return nil, errorf("CommitRequiredException", "A commit specifier is required.")
	}
	if in.MaxResults != nil && *in.MaxResults < 1 {
		return nil, errorf("InvalidMaxResultsException", "The specified number of maximum results is not valid.")
	}
	after, aerr := s.resolve(rp, in.AfterCommitSpecifier)
	if aerr != nil {
		return nil, aerr
	}
	var before string
	if in.BeforeCommitSpecifier != "" {
		if before, aerr = s.resolve(rp, in.BeforeCommitSpecifier); aerr != nil {
			return nil, aerr
		}
	}
	offset := 0
	if in.NextToken != "" {
		var tok pageToken
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Before != before || tok.After != after || tok.Offset < 0 {
			return nil, errorf("InvalidContinuationTokenException", "The specified continuation token is not valid.")
		}
		offset = tok.Offset
	}
	changes, err := s.diff(rp, before, after)
	if err != nil {
		return nil, &apiError{500, "InternalFailure", err.Error()}
	}
	var diffs []difference
	for _, c := range changes {
		if !underPath(c.path, in.BeforePath, in.AfterPath) {
			continue
		}
		d := difference{ChangeType: "M"}
		if c.status != "A" {
			d.BeforeBlob = &blobMetadata{BlobID: c.oldID, Path: c.path, Mode: c.oldMode}
		}
		if c.status != "D" {
			d.AfterBlob = &blobMetadata{BlobID: c.newID, Path: c.path, Mode: c.newMode}
		}
		switch c.status {
		case "A", "D":
			d.ChangeType = c.status
		}
		diffs = append(diffs, d)
	}
	if (in.BeforePath != "" || in.AfterPath != "") && len(diffs) == 0 {
		return nil, errorf("PathDoesNotExistException", "The specified path does not exist.")
	}
	if offset > len(diffs) {
		return nil, errorf("InvalidContinuationTokenException", "The specified continuation token is not valid.")
	}
	size := s.PageSize
	if in.MaxResults != nil && *in.MaxResults < size {
		size = *in.MaxResults
	}
	end := min(offset+size, len(diffs))
	out := struct {
		Differences []difference `json:"differences"`
		NextToken   string       `json:"NextToken,omitempty"`
	}{Differences: diffs[offset:end]}
	if out.Differences == nil {
		out.Differences = []difference{}
	}
	if end < len(diffs) {
		raw, _ := json.Marshal(pageToken{Before: before, After: after, Offset: end})
		out.NextToken = base64.RawURLEncoding.EncodeToString(raw)
	}
	return out, nil
}

// underPath reports whether path is within the beforePath or afterPath of
// a GetDifferences request (both empty: every path is).
func underPath(path string, limits ...string) bool {
	limited := false
	for _, l := range limits {
		if l == "" {
			continue
		}
		limited = true
		l = strings.TrimSuffix(l, "/")
		if path == l || strings.HasPrefix(path, l+"/") {
			return true
		}
	}
	return !limited
}

func (s *Server) getBlob(_ string, body []byte) (any, *apiError) {
	var in struct {
		RepositoryName string `json:"repositoryName"`
		BlobID         string `json:"blobId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rp, aerr := s.repoFor(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case in.BlobID == "":
		return nil, errorf("BlobIdRequiredException", "A blob ID is required.")
	case !fullID.MatchString(in.BlobID):
		return nil, errorf("InvalidBlobIdException", "The blob ID "+in.BlobID+" is not valid.")
	case s.objectType(rp, in.BlobID) != "blob":
		return nil, errorf("BlobIdDoesNotExistException", "Could not find blob "+in.BlobID+" in repository "+rp.name)
	}
	size, err := s.git(rp.dir, nil, nil, "cat-file", "-s", in.BlobID)
	if err != nil {
		return nil, &apiError{500, "InternalFailure", err.Error()}
	}
	if n, _ := strconv.ParseInt(size, 10, 64); n > s.BlobLimit {
		return nil, errorf("FileTooLargeException", "The blob "+in.BlobID+" is "+size+" bytes, more than the "+
			strconv.FormatInt(s.BlobLimit, 10)+"-byte limit for CodeCommit APIs.")
	}
	content, err := s.gitRaw(rp.dir, nil, nil, "cat-file", "blob", in.BlobID)
	if err != nil {
		return nil, &apiError{500, "InternalFailure", err.Error()}
	}
	return map[string]string{"content": base64.StdEncoding.EncodeToString(content)}, nil
}

func (s *Server) getBranch(_ string, body []byte) (any, *apiError) {
	var in struct {
		RepositoryName string `json:"repositoryName"`
		BranchName     string `json:"branchName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rp, aerr := s.repoFor(in.RepositoryName)
	if aerr != nil {
		return nil, aerr
	}
	if in.BranchName == "" {
		return nil, errorf("BranchNameRequiredException", "A branch name is required.")
	}
	if _, err := s.git(rp.dir, nil, nil, "check-ref-format", "--branch", in.BranchName); err != nil {
		return nil, errorf("InvalidBranchNameException", "The branch name "+in.BranchName+" is not valid.")
	}
	id, err := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+in.BranchName+"^{commit}")
	if err != nil || id == "" {
		return nil, errorf("BranchDoesNotExistException", "Could not find branch "+in.BranchName+" in repository "+rp.name)
	}
	return map[string]any{"branch": map[string]string{"branchName": in.BranchName, "commitId": id}}, nil
}
