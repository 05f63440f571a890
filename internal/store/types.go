package store

import "time"

// Verdict is what the gate decided about a push.
type Verdict string

const (
	VerdictAccepted     Verdict = "accepted"      // nothing found (or only known secrets)
	VerdictRejected     Verdict = "rejected"      // secrets found, push refused
	VerdictBypassed     Verdict = "bypassed"      // secrets found, pusher bypassed with a reason
	VerdictFailedOpen   Verdict = "failed_open"   // could not scan in time or at all; let through by policy
	VerdictFailedClosed Verdict = "failed_closed" // could not scan in time or at all; refused by policy
)

// RefUpdate is one line of a push: the ref moved from Old to New.
type RefUpdate struct {
	Old string `json:"old"`
	New string `json:"new"`
	Ref string `json:"ref"`
}

// Push is one push as the gate saw it.
type Push struct {
	ID        int64
	Repo      string
	Pusher    string
	Source    string // front door: "pre-receive", "github", "codecommit", …
	At        time.Time
	Updates   []RefUpdate
	Verdict   Verdict
	Reason    string // bypass reason, or why the scan failed
	Commits   int
	Duration  time.Duration
	Unscanned []RefUpdate // updates not scanned (fail-open), kept for a later scan

	// EventID makes recording idempotent: a second push with the same id
	// writes nothing and RecordPush returns ErrDuplicateEvent.
	EventID string
	// ScannedCommits are remembered per repository (see Scanned).
	ScannedCommits []string
}

// Finding is a stored finding: what scan.Finding says, minus nothing
// secret (scan.Finding holds no secret to begin with).
type Finding struct {
	PushID      int64
	RuleID      string
	Severity    string
	Commit      string
	Path        string
	Line        int
	Column      int
	Redacted    string
	Fingerprint string
}

// Alert is one message in the outbox.
type Alert struct {
	ID         int64
	PushID     int64
	Kind       string            // "secret_pushed", "bypass", "fail_open", …
	Subject    string            // under 100 characters (SNS email subject limit)
	Message    string            // JSON document
	Attributes map[string]string // SNS message attributes: severity, repository
	Attempts   int               // failed sends so far
	LastError  string            // why the last send failed
	CreatedAt  time.Time
}

// Job states.
const (
	JobStateQueued  = "queued"  // waiting until RunAfter
	JobStateRunning = "running" // leased to a worker until LeasedUntil
	JobStateDone    = "done"
	JobStateFailed  = "failed" // for good: no more attempts
)

// Job is one webhook delivery in the durable queue.
type Job struct {
	ID          int64
	Kind        string // the event: "push", "pull_request", "check_suite", …
	DeliveryID  string // X-GitHub-Delivery: one job per delivery, however often it is redelivered
	Payload     []byte
	State       string
	Attempts    int // times a worker took the job, the current one included
	RunAfter    time.Time
	LeasedUntil time.Time
	LastError   string // why the last attempt failed
	CreatedAt   time.Time
	DoneAt      time.Time // when it was done or failed for good
}
