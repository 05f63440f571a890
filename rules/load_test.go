package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLoadGitleaksConfig(t *testing.T) {
	cfg, err := Load("testdata/gitleaks.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Rules); got != 3 {
		t.Fatalf("got %d rules, want 3 (useDefault=false)", got)
	}
	tok := cfg.Rule("acme-internal-token")
	if tok == nil || tok.Severity != Medium || !slices.Equal(tok.Keywords, []string{"acme-prod", "acme-stage"}) {
		t.Fatalf("acme-internal-token = %+v", tok)
	}
	if len(tok.Allowlists) != 1 || len(tok.Allowlists[0].Paths) != 1 || tok.Line != 7 {
		t.Errorf("old-style [rules.allowlist] not read or line wrong: %+v", tok)
	}
	db := cfg.Rule("legacy-db-password")
	if db.SecretGroup != 1 || db.Entropy != 2.5 || db.Allowlists[0].Condition != And || db.Allowlists[0].RegexTarget != "line" {
		t.Errorf("legacy-db-password = %+v / %+v", db, db.Allowlists[0])
	}
	if pem := cfg.Rule("pem-file"); pem.Regex != nil || pem.Path == nil {
		t.Errorf("path-only rule = %+v", pem)
	}
	if len(cfg.Allowlists) != 1 || !slices.Equal(cfg.Allowlists[0].StopWords, []string{"dummy"}) {
		t.Errorf("global allowlist = %+v", cfg.Allowlists)
	}
}

func TestLoadExtend(t *testing.T) {
	cfg, err := Load("testdata/extend.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rule("pem-file") != nil {
		t.Error("disabled rule still present")
	}
	tok := cfg.Rule("acme-internal-token")
	if tok.Severity != Critical || !slices.Contains(tok.Keywords, "acme-dev") || !slices.Contains(tok.Keywords, "acme-prod") || tok.Regex == nil {
		t.Errorf("merged rule = %+v", tok)
	}
	base, _ := Load("testdata/gitleaks.toml")
	if base.Rule("acme-internal-token").Severity != Medium {
		t.Error("extending modified the base config")
	}
}

func TestLoadUseDefault(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("inline.toml", []byte("[extend]\nuseDefault = true\n\n[[rules]]\nid = \"mine\"\nregex = \"mine_[0-9]{8}\"\nkeywords = [\"mine_\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != len(def.Rules)+1 || cfg.Rule("mine") == nil {
		t.Errorf("got %d rules, want defaults (%d) + 1", len(cfg.Rules), len(def.Rules))
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"regex.toml", `testdata/bad/regex.toml:12: rule "broken-regex": invalid regex: missing closing )`},
		{"allowlist.toml", `testdata/bad/allowlist.toml:4: rule "a": allowlist regexes[1]: missing closing )`},
		{"emptymatch.toml", `testdata/bad/emptymatch.toml:3: rule "a": regex matches the empty string: every position would be a finding`},
		{"tomlsecret.toml", `testdata/bad/tomlsecret.toml:3: expected a top-level item to end with a newline, comment, or EOF, but got 'A' instead`},
		{"dup.toml", `testdata/bad/dup.toml:5: rule "a": duplicate id (first defined on line 1)`},
		{"unknown.toml", `testdata/bad/unknown.toml:7: unknown key "rules.regx"`},
		{"severity.toml", `testdata/bad/severity.toml:4: rule "a": unknown severity "urgent" (want one of info, low, medium, high, critical)`},
		{"syntax.toml", `testdata/bad/syntax.toml:4: strings cannot contain newlines`},
		{"group.toml", `testdata/bad/group.toml:4: rule "a": secretGroup 3 but the regex has 1 groups`},
		{"empty.toml", `testdata/bad/empty.toml:1: rule "a": rule needs a regex, a path, or both`},
		{"missing.toml", `reading rules: open testdata/bad/missing.toml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load("testdata/bad/" + tt.file)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "QYLPM") {
				t.Errorf("error echoes the planted secret: %s", err)
			}
			if tt.file != "missing.toml" && !errors.Is(err, ErrInvalid) {
				t.Error("error does not wrap ErrInvalid")
			}
		})
	}
}
