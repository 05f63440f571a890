package githubapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Target is what one delivery asks the app to scan: the commits reachable
// from Head that none of Exclude reach, in one repository of one
// installation. ExcludeDefault adds the default branch to Exclude (a new
// branch is scanned from where it left the default branch, not from the
// start of history).
type Target struct {
	Installation   int64
	Owner, Repo    string
	CloneURL       string
	DefaultBranch  string
	Head           string
	Exclude        []string
	ExcludeDefault bool
	Event          string // what asked for it, for logs and the check run
	Skip           string // why there is nothing to scan, when there is not
}

// FullName is owner/repo.
func (t Target) FullName() string { return t.Owner + "/" + t.Repo }

func isZeroSHA(s string) bool { return strings.Trim(s, "0") == "" }

// delivery is the part of a webhook payload the app reads. Only these
// fields are decoded: a payload whose other fields do not parse (real ones
// carry timestamps in more than one format) must not fail a scan.
type delivery struct {
	Action     string `json:"action"`
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Created    bool   `json:"created"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		Name          string `json:"name"`
		CloneURL      string `json:"clone_url"`
		DefaultBranch string `json:"default_branch"`
		Owner         struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repository"`
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	PullRequest struct {
		Head struct {
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
	} `json:"pull_request"`
	CheckSuite suite `json:"check_suite"`
	CheckRun   struct {
		ID         int64  `json:"id"`
		HeadSHA    string `json:"head_sha"`
		CheckSuite suite  `json:"check_suite"`
	} `json:"check_run"`
	RequestedAction struct {
		Identifier string `json:"identifier"`
	} `json:"requested_action"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

type suite struct {
	HeadSHA    string `json:"head_sha"`
	HeadBranch string `json:"head_branch"`
	Before     string `json:"before"`
}

// targetFor reads a delivery of a handled event.
func targetFor(event string, payload []byte) (Target, error) {
	var d delivery
	if err := json.Unmarshal(payload, &d); err != nil {
		return Target{}, fmt.Errorf("%s payload: %w", event, err)
	}
	t := Target{
		Event:         event,
		Installation:  d.Installation.ID,
		Owner:         d.Repository.Owner.Login,
		Repo:          d.Repository.Name,
		CloneURL:      d.Repository.CloneURL,
		DefaultBranch: d.Repository.DefaultBranch,
	}
	if d.Action != "" {
		t.Event += "." + d.Action
	}
	// A suite on a branch is judged like a push to it: against the default
	// branch; on the default branch (or unknown), against its before.
	fromSuite := func(head string, s suite) {
		t.Head = head
		if s.HeadBranch != t.DefaultBranch && s.HeadBranch != "" || s.Before == "" || isZeroSHA(s.Before) {
			t.ExcludeDefault = true
		} else {
			t.Exclude = []string{s.Before}
		}
	}
	switch event {
	case "push":
		onDefault := d.Ref == "refs/heads/"+t.DefaultBranch
		switch {
		case d.Deleted || isZeroSHA(d.After):
			t.Skip = "the ref was deleted"
		case !strings.HasPrefix(d.Ref, "refs/heads/"):
			// Check runs belong to commits that branches bring in; a tag
			// names a tag object, on which GitHub takes no check run.
			t.Skip = "not a branch"
		case !onDefault:
			// A branch is judged by everything it would bring into the
			// default branch, not by the last push's range: pushing it
			// back to an older head must not turn that head's check green.
			t.Head, t.ExcludeDefault = d.After, true
		case d.Created || isZeroSHA(d.Before):
			t.Head = d.After // the repository's first push: all of it
		default: // the default branch: what after adds to before, commit by commit
			t.Head, t.Exclude = d.After, []string{d.Before}
		}
	case "pull_request":
		t.Head, t.Exclude = d.PullRequest.Head.SHA, []string{d.PullRequest.Base.SHA}
	case "check_suite":
		fromSuite(d.CheckSuite.HeadSHA, d.CheckSuite)
	case "check_run":
		fromSuite(d.CheckRun.HeadSHA, d.CheckRun.CheckSuite)
	default:
		return Target{}, fmt.Errorf("event %s carries nothing to scan", event)
	}
	if t.Owner == "" || t.Repo == "" {
		return Target{}, errors.New("delivery names no repository")
	}
	if t.Skip == "" && t.Head == "" {
		return Target{}, errors.New("delivery names no head commit")
	}
	return t, nil
}
