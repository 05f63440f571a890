package scan

import (
	"time"

	"github.com/secretgate/secretgate/rules"
)

// Origin says where a fragment came from. The scanner only reads Path and
// Commit (for path rules and allowlists); the rest is carried to findings.
type Origin struct {
	Commit  string
	Author  string
	Email   string
	Date    time.Time
	Message string
	Path    string
}

// Fragment is text to scan with its origin. Line numbers in findings are
// StartLine-based, or taken from Lines when the text is a selection of
// lines from a larger file (Lines[i] is the file line of the text's line i).
type Fragment struct {
	Origin
	Text      []byte
	StartLine int // line number of Text's first line; 0 means 1
	Lines     []int
}

// Finding is one secret found. It never holds the secret itself: only a
// redacted preview and a keyed fingerprint.
type Finding struct {
	RuleID      string
	Description string
	Severity    rules.Severity
	Tags        []string
	Origin
	Line      int // 1-based
	Column    int // 1-based, in characters (code points)
	EndLine   int
	EndColumn int

	Redacted    string  // a preview that cannot be used as the secret
	Fingerprint string  // hex HMAC-SHA256 of rule id and secret under the installation key
	Entropy     float64 // Shannon entropy of the secret, bits per byte
}
