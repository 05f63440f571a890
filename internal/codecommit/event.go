// Package codecommit is the AWS CodeCommit front door: a Lambda handler that
// takes repository triggers and EventBridge events, scans the new commits
// through the CodeCommit API, records and alerts, and blocks pull requests
// through an approval rule only the scanner can satisfy.
package codecommit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kinds of change.
const (
	KindPush        = "push"
	KindPullRequest = "pull_request"
	KindOverride    = "approval_override" // someone overrode the approval rules
)

// Change is one thing an event asks the handler to do.
type Change struct {
	EventID string // idempotency key: a retried event has the same one
	Kind    string
	Repo    string
	Region  string
	Ref     string
	Head    string // the commit to scan up to
	Old     string // where the ref was; "" when the event does not say (triggers)
	Actor   string // who did it (an ARN)

	// Pull requests.
	PullRequestID, RevisionID, Destination string
}

// ErrIgnored is returned for events the handler does not act on.
var ErrIgnored = errors.New("event not handled")

// ParseEvent reads a Lambda event: a CodeCommit repository trigger
// ({"Records": […]}) or an EventBridge event. It may return changes and an
// error together: the event's good parts, and what was wrong with the rest.
func ParseEvent(raw []byte) ([]Change, error) {
	var probe struct {
		Records    json.RawMessage `json:"Records"`
		DetailType string          `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("event is not JSON: %w", err)
	}
	switch {
	case len(probe.Records) > 0:
		return parseTrigger(raw)
	case probe.DetailType != "":
		return parseEventBridge(raw)
	}
	return nil, fmt.Errorf("%w: neither a CodeCommit trigger nor an EventBridge event", ErrIgnored)
}

func parseTrigger(raw []byte) ([]Change, error) {
	var ev struct {
		Records []struct {
			EventID         string `json:"eventId"`
			EventSource     string `json:"eventSource"`
			EventSourceARN  string `json:"eventSourceARN"`
			AWSRegion       string `json:"awsRegion"`
			UserIdentityARN string `json:"userIdentityARN"`
			CodeCommit      struct {
				References []struct {
					Commit  string `json:"commit"`
					Ref     string `json:"ref"`
					Created bool   `json:"created"`
					Deleted bool   `json:"deleted"`
				} `json:"references"`
			} `json:"codecommit"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("trigger event: %w", err)
	}
	var out []Change
	var bad []error
	for _, r := range ev.Records {
		if r.EventSource != "aws:codecommit" {
			continue
		}
		repo := r.EventSourceARN[strings.LastIndex(r.EventSourceARN, ":")+1:]
		for i, ref := range r.CodeCommit.References {
			if ref.Deleted {
				continue
			}
			if err := checkCommitID(ref.Commit); err != nil {
				// One bad reference must not drop the others of the event.
				bad = append(bad, fmt.Errorf("trigger event %s, %s: %w", r.EventID, ref.Ref, err))
				continue
			}
			out = append(out, Change{
				EventID: fmt.Sprintf("%s/%d", r.EventID, i), Kind: KindPush,
				Repo: repo, Region: r.AWSRegion, Ref: ref.Ref, Head: ref.Commit, Actor: r.UserIdentityARN,
			})
		}
	}
	return out, errors.Join(bad...)
}

func parseEventBridge(raw []byte) ([]Change, error) {
	var ev struct {
		ID         string `json:"id"`
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
		Region     string `json:"region"`
		Detail     struct {
			Event             string   `json:"event"`
			RepositoryName    string   `json:"repositoryName"`
			RepositoryNames   []string `json:"repositoryNames"`
			ReferenceType     string   `json:"referenceType"`
			ReferenceFullName string   `json:"referenceFullName"`
			CommitID          string   `json:"commitId"`
			OldCommitID       string   `json:"oldCommitId"`
			CallerUserArn     string   `json:"callerUserArn"`
			PullRequestID     string   `json:"pullRequestId"`
			RevisionID        string   `json:"revisionId"`
			SourceCommit      string   `json:"sourceCommit"`
			SourceReference   string   `json:"sourceReference"`
			DestinationCommit string   `json:"destinationCommit"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("EventBridge event: %w", err)
	}
	if ev.Source != "aws.codecommit" {
		return nil, fmt.Errorf("%w: source %q", ErrIgnored, ev.Source)
	}
	d := ev.Detail
	c := Change{EventID: ev.ID, Region: ev.Region, Actor: d.CallerUserArn, Repo: d.RepositoryName}
	if c.Repo == "" && len(d.RepositoryNames) > 0 {
		c.Repo = d.RepositoryNames[0]
	}
	check := func(ids ...string) error {
		for _, id := range ids {
			if err := checkCommitID(id); err != nil {
				return fmt.Errorf("%s event %s: %w", d.Event, ev.ID, err)
			}
		}
		return nil
	}
	switch {
	case ev.DetailType == "CodeCommit Repository State Change" && (d.Event == "referenceCreated" || d.Event == "referenceUpdated"):
		c.Kind, c.Ref, c.Head = KindPush, d.ReferenceFullName, d.CommitID
		if d.Event == "referenceUpdated" {
			c.Old = d.OldCommitID
			if err := check(c.Old); err != nil {
				return nil, err
			}
		}
		if err := check(c.Head); err != nil {
			return nil, err
		}
	case ev.DetailType == "CodeCommit Pull Request State Change" && (d.Event == "pullRequestCreated" || d.Event == "pullRequestSourceBranchUpdated"):
		c.Kind, c.Ref, c.Head = KindPullRequest, d.SourceReference, d.SourceCommit
		c.PullRequestID, c.RevisionID, c.Destination = d.PullRequestID, d.RevisionID, d.DestinationCommit
		if err := check(c.Head, c.Destination); err != nil {
			return nil, err
		}
	case ev.DetailType == "CodeCommit Pull Request State Change" && d.Event == "pullRequestApprovalRuleOverridden":
		c.Kind, c.PullRequestID, c.RevisionID, c.Head = KindOverride, d.PullRequestID, d.RevisionID, d.SourceCommit
	default:
		return nil, fmt.Errorf("%w: %s %s", ErrIgnored, ev.DetailType, d.Event)
	}
	return []Change{c}, nil
}

// checkCommitID accepts a full SHA-1 commit id, as CodeCommit uses.
// AWS's own documentation example carries a 39-character one.
func checkCommitID(id string) error {
	if len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("commit id %q is not 40 hexadecimal digits", id)
	}
	return nil
}
