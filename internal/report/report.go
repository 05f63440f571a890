// Package report writes findings for people (text) and for tools (JSON,
// SARIF, CSV). Each format lives in its own file; Write picks one by name.
//
// Writers keep the order of the findings they are given: callers that want
// a particular order (by commit, by path) sort before writing.
package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

// Version is the secretgate version written into reports that name the
// tool (SARIF). The main package sets it at start-up.
var Version = "dev"

// InformationURI is where the tool's documentation lives (SARIF).
const InformationURI = "https://github.com/secretgate/secretgate"

// Formats are the format names Write accepts.
var Formats = []string{"text", "json", "sarif", "csv"}

// Summary describes a whole scan, for the text report's closing lines.
type Summary struct {
	Findings int   // findings reported; 0 means len(findings)
	Files    int   // files scanned
	Commits  int   // commits scanned
	Bytes    int64 // bytes scanned
	Binary   int   // binary files skipped
	Skipped  int   // files skipped for other reasons (too large, unreadable)

	Duration time.Duration
}

// Write writes findings to w in the named format.
func Write(w io.Writer, format string, findings []scan.Finding, sum Summary) error {
	switch format {
	case "text":
		return WriteText(w, findings, sum, TextOptions{})
	case "json":
		return WriteJSON(w, findings)
	case "sarif":
		return WriteSARIF(w, findings)
	case "csv":
		return WriteCSV(w, findings)
	}
	return fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// record is the flat form of a finding shared by the JSON and CSV reports.
// Its JSON names are the CSV header.
type record struct {
	RuleID      string   `json:"rule_id"`
	Description string   `json:"description"`
	Severity    string   `json:"severity"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Column      int      `json:"column"`
	EndLine     int      `json:"end_line"`
	EndColumn   int      `json:"end_column"`
	Commit      string   `json:"commit"`
	Author      string   `json:"author"`
	Email       string   `json:"email"`
	Date        string   `json:"date"` // RFC 3339; empty when unknown
	Message     string   `json:"message"`
	Redacted    string   `json:"redacted"`
	Fingerprint string   `json:"fingerprint"`
	Entropy     float64  `json:"entropy"` // rounded to 2 decimals
	Tags        []string `json:"tags"`    // never null
}

func toRecord(f scan.Finding) record {
	r := record{
		RuleID:      f.RuleID,
		Description: f.Description,
		Severity:    f.Severity.String(),
		File:        f.Path,
		Line:        f.Line,
		Column:      f.Column,
		EndLine:     f.EndLine,
		EndColumn:   f.EndColumn,
		Commit:      f.Commit,
		Author:      f.Author,
		Email:       f.Email,
		Date:        formatDate(f.Date),
		Message:     f.Message,
		Redacted:    f.Redacted,
		Fingerprint: f.Fingerprint,
		Entropy:     math.Round(f.Entropy*100) / 100,
		Tags:        append([]string{}, f.Tags...),
	}
	return r
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
