package rules_test

import (
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

// TestDefaultPackExamples runs every default rule's examples through the
// real engine: each example must be found, each negative example must not.
func TestDefaultPackExamples(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Rules); n < 100 {
		t.Errorf("default packs have %d rules, want at least 100", n)
	}
	fails, err := scan.CheckExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fails {
		t.Error(f)
	}
}

func TestDefaultPackRulesComplete(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Rules {
		if r.Description == "" {
			t.Errorf("%s:%d: rule %q has no description", r.File, r.Line, r.ID)
		}
		if len(r.Keywords) == 0 && r.Path == nil {
			t.Errorf("%s:%d: rule %q has neither keywords nor a path: it would run on every byte", r.File, r.Line, r.ID)
		}
		if r.Path != nil && len(r.Examples) > 0 && r.ExamplePath == "" {
			t.Errorf("%s:%d: rule %q has a path but no examplePath", r.File, r.Line, r.ID)
		}
	}
}
