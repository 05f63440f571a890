package report

import (
	"fmt"
	"strings"

	"github.com/secretgate/secretgate/internal/scan"
)

// MarkdownTable appends findings to b as a Markdown table (commit, location,
// rule, redacted preview) for a check run summary or a pull request
// comment. Both have a size limit, so rows stop before b would pass limit
// characters and a last line says how many were left out.
func MarkdownTable(b *strings.Builder, findings []scan.Finding, limit int) {
	b.WriteString("| commit | location | rule | preview |\n|---|---|---|---|\n")
	const reserve = 64 // room for the closing line
	for i, f := range findings {
		row := fmt.Sprintf("| %s | `%s:%d` | %s | `%s` |\n", shortCommit(f.Commit), MarkdownEscape(f.Path), f.Line, f.RuleID, MarkdownEscape(f.Redacted))
		if b.Len()+len(row)+reserve > limit {
			fmt.Fprintf(b, "\n… the table is cut short: %d more.\n", len(findings)-i)
			return
		}
		b.WriteString(row)
	}
}

// MarkdownEscape keeps text inside one table cell and code span: a pipe
// would end the cell, a backtick the span, a line break the row.
func MarkdownEscape(s string) string { return mdEscaper.Replace(s) }

var mdEscaper = strings.NewReplacer("|", `\|`, "`", "'", "\n", " ", "\r", " ")

func shortCommit(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
