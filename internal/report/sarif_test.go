package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

func writeSARIF(t *testing.T, fs []scan.Finding) sarifLog {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, fs); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&log); err != nil {
		t.Fatal(err)
	}
	return log
}

func TestSARIFEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, nil); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	run := raw["runs"].([]any)[0].(map[string]any)
	if res, ok := run["results"].([]any); !ok || len(res) != 0 {
		t.Errorf("results = %#v, want []", run["results"])
	}
	if rs, ok := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any); !ok || len(rs) != 0 {
		t.Errorf("rules = %#v, want []", rs)
	}
}

func TestSARIF(t *testing.T) {
	Version = "9.9.9"
	fs := mixedFindings()
	// A second finding of the first rule: one rule entry, two results.
	extra := fs[0]
	extra.Line, extra.EndLine = 4, 4
	fs = append(fs, extra)

	log := writeSARIF(t, fs)
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" {
		t.Errorf("version %q schema %q", log.Version, log.Schema)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs", len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "secretgate" || d.Version != "9.9.9" || d.InformationURI == "" {
		t.Errorf("driver = %+v", d)
	}
	var ids []string
	for _, r := range d.Rules {
		ids = append(ids, r.ID)
	}
	if want := []string{"aws-access-key", "github-pat", "slack-webhook", "private-key-file"}; !slices.Equal(ids, want) {
		t.Errorf("rules = %v, want %v", ids, want)
	}
	wantRule := map[string][2]string{ // level, security-severity
		"aws-access-key":   {"error", "9.5"},
		"github-pat":       {"error", "8.0"},
		"slack-webhook":    {"warning", "5.5"},
		"private-key-file": {"note", "3.0"},
	}
	for _, r := range d.Rules {
		w := wantRule[r.ID]
		if r.DefaultConfiguration.Level != w[0] || r.Properties.SecuritySeverity != w[1] {
			t.Errorf("rule %s: level %q severity %q, want %v", r.ID, r.DefaultConfiguration.Level, r.Properties.SecuritySeverity, w)
		}
		if !slices.Contains(r.Properties.Tags, "security") {
			t.Errorf("rule %s: tags %v lack \"security\"", r.ID, r.Properties.Tags)
		}
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Name == "" {
			t.Errorf("rule %s: empty name or description", r.ID)
		}
	}
	if got := d.Rules[0].Properties.Tags; !slices.Equal(got, []string{"security", "secret", "aws", "key"}) {
		t.Errorf("aws tags = %v", got)
	}

	if len(run.Results) != len(fs) {
		t.Fatalf("%d results, want %d", len(run.Results), len(fs))
	}
	for i, r := range run.Results {
		f := fs[i]
		if r.RuleID != f.RuleID || d.Rules[r.RuleIndex].ID != f.RuleID {
			t.Errorf("result %d: ruleId %s index %d, want %s", i, r.RuleID, r.RuleIndex, f.RuleID)
		}
		if r.Level != wantRule[f.RuleID][0] {
			t.Errorf("result %d: level %s", i, r.Level)
		}
		if !strings.Contains(r.Message.Text, f.Description) || !strings.Contains(r.Message.Text, f.Redacted) {
			t.Errorf("result %d: message %q lacks description or preview", i, r.Message.Text)
		}
		if r.PartialFingerprints["secretgate/v1"] != f.Fingerprint {
			t.Errorf("result %d: partialFingerprints %v", i, r.PartialFingerprints)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %d: %d locations", i, len(r.Locations))
		}
		loc := r.Locations[0].PhysicalLocation
		uri := loc.ArtifactLocation.URI
		if uri == "" || strings.Contains(uri, `\`) || strings.HasPrefix(uri, "/") || strings.Contains(uri, "://") {
			t.Errorf("result %d: uri %q is not a relative forward-slash path", i, uri)
		}
		if loc.Region.StartLine < 1 {
			t.Errorf("result %d: startLine %d < 1", i, loc.Region.StartLine)
		}
	}

	first := run.Results[0]
	if reg := first.Locations[0].PhysicalLocation.Region; reg != (sarifRegion{StartLine: 3, StartColumn: 19, EndLine: 3, EndColumn: 38}) {
		t.Errorf("region = %+v", reg)
	}
	if p := first.Properties; p == nil || p.Commit != commitA || p.Author != "Alice Example" || p.Date != "2024-05-01T09:30:00+02:00" {
		t.Errorf("properties = %+v", p)
	}
	dir := run.Results[2]
	if dir.Properties != nil {
		t.Errorf("directory finding has properties %+v", dir.Properties)
	}
	if got := dir.Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "config/hooks%20&%20%22alerts%22.json" {
		t.Errorf("uri = %q", got)
	}
	// A path-only finding has no line: the region still starts at line 1.
	if reg := run.Results[3].Locations[0].PhysicalLocation.Region; reg != (sarifRegion{StartLine: 1}) {
		t.Errorf("path finding region = %+v", reg)
	}
}

func TestRegion(t *testing.T) {
	for _, c := range []struct {
		name                   string
		line, col, eLine, eCol int
		want                   sarifRegion
	}{
		{"one line", 5, 3, 5, 10, sarifRegion{StartLine: 5, StartColumn: 3, EndLine: 5, EndColumn: 10}},
		{"two lines", 5, 30, 6, 4, sarifRegion{StartLine: 5, StartColumn: 30, EndLine: 6, EndColumn: 4}},
		{"path-only finding", 1, 1, 1, 1, sarifRegion{StartLine: 1, StartColumn: 1}},
		{"no position", 0, 0, 0, 0, sarifRegion{StartLine: 1}},
	} {
		f := scan.Finding{Line: c.line, Column: c.col, EndLine: c.eLine, EndColumn: c.eCol}
		if got := regionOf(f); got != c.want {
			t.Errorf("%s: region %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestArtifactURI(t *testing.T) {
	for in, want := range map[string]string{
		"a/b.txt":      "a/b.txt",
		"./a/b.txt":    "a/b.txt",
		`a\b\c.env`:    "a/b/c.env",
		"dir/a b.txt":  "dir/a%20b.txt",
		"c:d/e":        "./c:d/e",
		"":             "stdin",
		"/abs/pa th.x": "file:///abs/pa%20th.x",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeverityMappings(t *testing.T) {
	for _, c := range []struct {
		s            rules.Severity
		level, score string
	}{
		{rules.Critical, "error", "9.5"},
		{rules.High, "error", "8.0"},
		{rules.Medium, "warning", "5.5"},
		{rules.Low, "note", "3.0"},
		{rules.Info, "note", "1.0"},
	} {
		if got := sarifLevel(c.s); got != c.level {
			t.Errorf("sarifLevel(%v) = %s, want %s", c.s, got, c.level)
		}
		if got := securitySeverity(c.s); got != c.score {
			t.Errorf("securitySeverity(%v) = %s, want %s", c.s, got, c.score)
		}
	}
}
