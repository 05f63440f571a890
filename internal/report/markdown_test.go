package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
)

func TestMarkdownTable(t *testing.T) {
	f := scan.Finding{RuleID: "github-pat", Origin: scan.Origin{Commit: "0123456789abcdef", Path: "a|b`c\r\nd.env"}, Line: 3, Redacted: "ghp_****"}
	tests := []struct {
		name  string
		n     int
		limit int
		want  string
	}{
		{"fits", 1, 1000, "| commit | location | rule | preview |\n|---|---|---|---|\n" +
			"| 01234567 | `a\\|b'c  d.env:3` | github-pat | `ghp_****` |\n"},
		{"cut", 3, 180, "| commit | location | rule | preview |\n|---|---|---|---|\n" +
			"| 01234567 | `a\\|b'c  d.env:3` | github-pat | `ghp_****` |\n" +
			"\n… the table is cut short: 2 more.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			MarkdownTable(&b, slices.Repeat([]scan.Finding{f}, tt.n), tt.limit)
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
			if b.Len() > tt.limit {
				t.Errorf("%d characters, limit %d", b.Len(), tt.limit)
			}
		})
	}
}
