package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const (
	commitA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	commitB = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
	fpAWS   = "3f7a9c2e4b1d8f6a0c5e7b9d2f4a6c8e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a"
	fpGH    = "b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2"
	fpSlack = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
)

var (
	dateA = time.Date(2024, 5, 1, 9, 30, 0, 0, time.FixedZone("", 2*3600))
	dateB = time.Date(2024, 5, 3, 17, 5, 12, 0, time.UTC)
)

// mixedFindings: two findings in one commit, one in another, and one from
// a directory scan (no commit), in the order a scan might produce them.
func mixedFindings() []scan.Finding {
	originA := scan.Origin{Commit: commitA, Author: "Alice Example", Email: "alice@example.com",
		Date: dateA, Message: "Add deploy config\n\nLong body.", Path: "deploy/prod.env"}
	originB := scan.Origin{Commit: commitB, Author: "Bob <Builder>", Email: "bob@example.com",
		Date: dateB, Message: "CI: wire tokens", Path: "ci/settings.yml"}
	return []scan.Finding{
		{RuleID: "aws-access-key", Description: "AWS access key ID", Severity: rules.Critical,
			Tags: []string{"aws", "key"}, Origin: originA, Line: 3, Column: 19, EndLine: 3, EndColumn: 38,
			Redacted: "AKIA************MPLE", Fingerprint: fpAWS, Entropy: 3.684183},
		{RuleID: "github-pat", Description: "GitHub personal access token", Severity: rules.High,
			Origin: originB, Line: 12, Column: 9, EndLine: 12, EndColumn: 48,
			Redacted: "ghp_****************************wxyz", Fingerprint: fpGH, Entropy: 4.995},
		{RuleID: "slack-webhook", Description: "Slack webhook URL", Severity: rules.Medium,
			Tags: []string{"slack"}, Origin: scan.Origin{Path: `config\hooks & "alerts".json`},
			Line: 7, Column: 14, EndLine: 7, EndColumn: 90,
			Redacted: "https://hooks.slack.com/services/T000/B000/****", Fingerprint: fpSlack, Entropy: 4.2},
		{RuleID: "private-key-file", Description: "Private key file", Severity: rules.Low,
			Origin:   func() scan.Origin { o := originA; o.Path = "keys/id_rsa"; return o }(),
			Redacted: "id_rsa", Fingerprint: fpAWS[:60] + "0000"},
	}
}

var mixedSummary = Summary{Files: 42, Commits: 2, Bytes: 3_500_000, Binary: 1, Skipped: 2, Duration: 1250 * time.Millisecond}

var cases = []struct {
	name     string
	findings []scan.Finding
	sum      Summary
}{
	{"empty", nil, Summary{Files: 1, Bytes: 512, Duration: 10 * time.Millisecond}},
	{"mixed", mixedFindings(), mixedSummary},
}

func TestGolden(t *testing.T) {
	Version = "1.2.3-test"
	for _, c := range cases {
		for _, format := range Formats {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, format, c.findings, c.sum); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", c.name+"."+format+".golden")
				if *update {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s differs from %s:\n%s", format, golden, buf.String())
				}
			})
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "xml", nil, Summary{})
	if err == nil {
		t.Fatal("no error for unknown format")
	}
	for _, f := range Formats {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list %q", err, f)
		}
	}
}
