package scan

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/rules"
)

func TestAnchorable(t *testing.T) {
	tests := []struct {
		re       string
		keywords []string
		want     bool
	}{
		{`\b(ghp_[A-Za-z0-9]{36})\b`, []string{"ghp_"}, true},
		{`(?i)(?:api[_.-]?key|apikey)\s*=\s*(\w+)`, []string{"apikey", "api_key", "api-key", "api.key"}, true},
		{`(?i)(?:api[_.-]?key|apikey)\s*=\s*(\w+)`, []string{"api_key"}, false}, // "apikey" is not covered
		{`(?i)(?:secret|token)\w*=(\w+)`, []string{"secret", "token"}, true},
		{`(?i)[\w.-]{0,40}?(?:secret)=(\w+)`, []string{"secret"}, false}, // may start before the keyword
		{`(?i)\bhttps?://[^:]+:([^@]+)@`, []string{"http://", "https://"}, true},
		{`(?i)\bhttps?://[^:]+:([^@]+)@`, []string{"http"}, true},
		{`x?secret=(\w+)`, []string{"secret"}, false},
		{`(?m)^password:\s*(\S+)`, []string{"password"}, true},
		{`.*secret=(\w+)`, []string{"secret"}, false},
		{`AKIA[A-Z2-7]{16}`, []string{"akia"}, true},
	}
	for _, tt := range tests {
		_, _, got := anchoredRegexes(regexp.MustCompile(tt.re), tt.keywords)
		if got != tt.want {
			t.Errorf("anchorable(%s, %v) = %v, want %v", tt.re, tt.keywords, got, tt.want)
		}
	}
}

// TestAnchoredSameFindings checks that anchoring changes nothing: every
// default rule's examples and negative examples, and texts built to probe
// word boundaries and line starts, give the same findings either way.
func TestAnchoredSameFindings(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	anchored, _ := New(cfg, Options{})
	plain, _ := New(cfg, Options{})
	n := 0
	for _, r := range plain.rules {
		if r.anchored() {
			n++
		}
		r.at0, r.at1 = nil, nil // prepared already: stays windowed
	}
	if n < len(plain.rules)/2 {
		t.Errorf("only %d of %d default rules are keyword-anchored", n, len(plain.rules))
	}
	t.Logf("%d of %d default rules are keyword-anchored", n, len(plain.rules))
	var texts []string
	for _, r := range cfg.Rules {
		for _, ex := range append(append([]string{}, r.Examples...), r.NegativeExamples...) {
			texts = append(texts, ex, "x"+ex, "_"+ex+"_", "line one\n"+ex+"\n"+ex, strings.ToUpper(ex))
		}
	}
	for _, text := range texts {
		a := anchored.Scan(Fragment{Text: []byte(text)}).Findings
		p := plain.Scan(Fragment{Text: []byte(text)}).Findings
		if fmt.Sprint(a) != fmt.Sprint(p) {
			t.Errorf("text %q:\nanchored %v\nwindowed %v", text, a, p)
		}
	}
}
