package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/internal/scan"
)

// csvHeader names the CSV columns; they are the JSON report's field names.
var csvHeader = []string{
	"rule_id", "description", "severity", "file", "line", "column",
	"end_line", "end_column", "commit", "author", "email", "date",
	"message", "redacted", "fingerprint", "entropy", "tags",
}

// WriteCSV writes a header row and one row per finding, with the JSON
// report's columns. Tags are joined by ";".
func WriteCSV(w io.Writer, findings []scan.Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, f := range findings {
		r := toRecord(f)
		row := []string{
			r.RuleID, CSVCell(r.Description), r.Severity, CSVCell(r.File),
			strconv.Itoa(r.Line), strconv.Itoa(r.Column),
			strconv.Itoa(r.EndLine), strconv.Itoa(r.EndColumn),
			r.Commit, CSVCell(r.Author), CSVCell(r.Email), r.Date, CSVCell(r.Message),
			CSVCell(r.Redacted), r.Fingerprint,
			strconv.FormatFloat(r.Entropy, 'f', -1, 64),
			strings.Join(r.Tags, ";"),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVCell defuses text that a spreadsheet would run as a formula. File
// names, authors, messages and role names come from whoever made them, so a
// report opened in a spreadsheet must not execute them: such a cell gets a
// leading apostrophe, the usual guard.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
