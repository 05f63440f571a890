// Package rules holds secretgate's rule model, the loader for rule files
// (a superset of gitleaks' TOML format) and the default rule packs, embedded.
package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// Severity orders findings for people and policies.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name; the empty string means Medium,
// the level gitleaks users implicitly get today.
func ParseSeverity(name string) (Severity, error) {
	if name == "" {
		return Medium, nil
	}
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// Rule is one detector. Regex may be nil for a path-only rule (a file whose
// name alone is the finding, as in gitleaks).
type Rule struct {
	ID          string
	Description string
	Severity    Severity
	Regex       *regexp.Regexp
	SecretGroup int      // capture group holding the secret; 0 = first non-empty group, else whole match
	Entropy     float64  // minimum Shannon entropy (bits per byte) of the secret; 0 = no check
	Keywords    []string // lower-cased; the rule only runs where one occurs
	Path        *regexp.Regexp
	Tags        []string
	Allowlists  []*Allowlist

	// Window is how many bytes around a keyword hit the regex sees. 0 means
	// the whole fragment, as in gitleaks, so rules written for gitleaks
	// behave the same; the default packs set PackWindow.
	Window int

	// Examples must each produce at least one finding of this rule;
	// NegativeExamples must produce none. ExamplePath is the file path the
	// examples are scanned under (for rules limited by Path).
	Examples         []string
	NegativeExamples []string
	ExamplePath      string

	// Where the rule was defined, for error messages.
	File string
	Line int
}

// PackWindow is the window of default-pack rules that do not set one: their
// matches sit on the keyword's line, and a small window keeps them fast.
const PackWindow = 256

// Condition joins the checks of an allowlist.
type Condition int

const (
	Or Condition = iota
	And
)

// Allowlist suppresses findings. With Or (the default) any one matching
// check suppresses; with And every check that is set must match.
type Allowlist struct {
	Description string
	Condition   Condition
	Commits     []string
	Paths       []*regexp.Regexp
	Regexes     []*regexp.Regexp
	RegexTarget string   // "secret" (default), "match" or "line"
	StopWords   []string // lower-cased; a secret containing one is allowed
	TargetRules []string // global allowlists only: limit to these rule ids
}

// Config is a loaded rule set.
type Config struct {
	Title      string
	Rules      []*Rule
	Allowlists []*Allowlist // global
}

// Rule returns the rule with the given id, or nil.
func (c *Config) Rule(id string) *Rule {
	if i := c.index(id); i >= 0 {
		return c.Rules[i]
	}
	return nil
}

func (c *Config) index(id string) int {
	for i, r := range c.Rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}
