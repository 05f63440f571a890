package scan

import (
	"fmt"

	"github.com/secretgate/secretgate/rules"
)

// ExampleFailure is a rule example that did not behave as its rule says.
type ExampleFailure struct {
	Rule     *rules.Rule
	Example  int  // index in Examples or NegativeExamples
	Negative bool // a negative example that was found
	Found    []string
}

func (e ExampleFailure) Error() string {
	if e.Example < 0 {
		kind := "examples"
		if e.Negative {
			kind = "negativeExamples"
		}
		return fmt.Sprintf("%s:%d: rule %q: has no %s", e.Rule.File, e.Rule.Line, e.Rule.ID, kind)
	}
	kind, verb := "example", "not found"
	if e.Negative {
		kind, verb = "negative example", fmt.Sprintf("found (%d finding(s))", len(e.Found))
	}
	return fmt.Sprintf("%s:%d: rule %q: %s %d %s", e.Rule.File, e.Rule.Line, e.Rule.ID, kind, e.Example+1, verb)
}

// CheckExamples scans every rule's examples with a scanner built from the
// whole configuration, so allowlists and competing rules take part as they do
// in a real scan. A rule without examples or negative examples fails too:
// every rule carries its own proof.
func CheckExamples(cfg *rules.Config) ([]ExampleFailure, error) {
	s, err := New(cfg, Options{FingerprintKey: []byte("examples")})
	if err != nil {
		return nil, err
	}
	var fails []ExampleFailure
	for _, r := range cfg.Rules {
		path := r.ExamplePath
		if path == "" {
			path = "example.txt"
		}
		if len(r.Examples) == 0 {
			fails = append(fails, ExampleFailure{Rule: r, Example: -1})
		}
		if len(r.NegativeExamples) == 0 {
			fails = append(fails, ExampleFailure{Rule: r, Example: -1, Negative: true})
		}
		for i, ex := range r.Examples {
			if len(ruleFindings(s, r.ID, path, ex)) == 0 {
				fails = append(fails, ExampleFailure{Rule: r, Example: i})
			}
		}
		for i, ex := range r.NegativeExamples {
			if found := ruleFindings(s, r.ID, path, ex); len(found) > 0 {
				fails = append(fails, ExampleFailure{Rule: r, Example: i, Negative: true, Found: found})
			}
		}
	}
	return fails, nil
}

func ruleFindings(s *Scanner, id, path, text string) []string {
	var out []string
	for _, f := range s.Scan(Fragment{Origin: Origin{Path: path}, Text: []byte(text)}).Findings {
		if f.RuleID == id {
			out = append(out, f.Redacted)
		}
	}
	return out
}
