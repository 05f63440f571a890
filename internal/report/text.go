package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

// TextOptions adjust the text report.
type TextOptions struct {
	// Color adds ANSI colours. The caller decides (a terminal, no NO_COLOR).
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// WriteText writes findings for people: grouped by commit (findings with
// no commit — working tree, stdin — first, under no header), then a
// summary of the scan. Groups appear in the order of their first finding.
func WriteText(w io.Writer, findings []scan.Finding, sum Summary, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !opts.Color || s == "" {
			return s
		}
		return code + s + ansiReset
	}

	var order []string
	groups := map[string][]scan.Finding{}
	for _, f := range findings {
		if _, ok := groups[f.Commit]; !ok {
			order = append(order, f.Commit)
		}
		groups[f.Commit] = append(groups[f.Commit], f)
	}
	// Findings outside any commit come first.
	for i, c := range order {
		if c == "" {
			copy(order[1:i+1], order[:i])
			order[0] = ""
			break
		}
	}

	for _, c := range order {
		group := groups[c]
		if c != "" {
			fmt.Fprintln(bw, paint(ansiYellow, commitHeader(group[0])))
		}
		for _, f := range group {
			fmt.Fprintf(bw, "  %s  %s  %s  %s\n",
				paint(ansiBold, location(f)),
				clean(f.RuleID),
				paint(severityColor(f.Severity), "["+f.Severity.String()+"]"),
				clean(f.Redacted))
			if f.Description != "" {
				fmt.Fprintf(bw, "      %s\n", paint(ansiDim, clean(f.Description)))
			}
		}
		fmt.Fprintln(bw)
	}

	n := sum.Findings
	if n == 0 {
		n = len(findings)
	}
	fmt.Fprintln(bw, summaryLine(n, sum))
	return bw.Flush()
}

func commitHeader(f scan.Finding) string {
	parts := []string{"commit " + clean(shortCommit(f.Commit))}
	author := f.Author
	if author == "" {
		author = f.Email
	}
	if author != "" {
		parts = append(parts, clean(author))
	}
	if !f.Date.IsZero() {
		parts = append(parts, f.Date.Format("2006-01-02 15:04"))
	}
	if msg, _, _ := strings.Cut(f.Message, "\n"); strings.TrimSpace(msg) != "" {
		parts = append(parts, clean(strings.TrimSpace(msg)))
	}
	return strings.Join(parts, "  ")
}

func location(f scan.Finding) string {
	p := f.Path
	if p == "" {
		p = "(stdin)"
	}
	return fmt.Sprintf("%s:%d:%d", clean(p), f.Line, f.Column)
}

func severityColor(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return ansiBold + ansiRed
	case s == rules.Medium:
		return ansiYellow
	default:
		return ansiCyan
	}
}

// clean replaces control characters, so that a path or commit message
// cannot move the cursor or recolour the terminal.
func clean(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// summaryLine reads like "3 findings in 12 files across 2 commits;
// scanned 1.2 MB in 0.50s (2.4 MB/s); 1 binary file skipped".
func summaryLine(findings int, sum Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s", plural(findings, "finding"), plural(sum.Files, "file"))
	if sum.Commits > 0 {
		fmt.Fprintf(&b, " across %s", plural(sum.Commits, "commit"))
	}
	fmt.Fprintf(&b, "; scanned %s in %.2fs", megabytes(float64(sum.Bytes)), sum.Duration.Seconds())
	if secs := sum.Duration.Seconds(); secs > 0 {
		fmt.Fprintf(&b, " (%s/s)", megabytes(float64(sum.Bytes)/secs))
	}
	fmt.Fprintf(&b, "; %s skipped", plural(sum.Binary, "binary file"))
	if sum.Skipped > 0 {
		fmt.Fprintf(&b, ", %s skipped", plural(sum.Skipped, "other file"))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// megabytes formats a byte count in decimal megabytes (10^6 bytes).
func megabytes(b float64) string {
	mb := b / 1e6
	if mb > 0 && mb < 0.1 {
		return fmt.Sprintf("%.3f MB", mb)
	}
	return fmt.Sprintf("%.1f MB", mb)
}
