package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

func TestTextGrouping(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, mixedFindings(), mixedSummary, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// The directory finding comes first, under no header; commit headers
	// follow in order of first appearance with 8-character ids.
	dir := strings.Index(out, `config\hooks & "alerts".json:7:14`)
	hdrA := strings.Index(out, "commit a1b2c3d4  Alice Example  2024-05-01 09:30  Add deploy config\n")
	hdrB := strings.Index(out, "commit 0f1e2d3c  Bob <Builder>  2024-05-03 17:05  CI: wire tokens\n")
	if dir < 0 || hdrA < 0 || hdrB < 0 || !(dir < hdrA && hdrA < hdrB) {
		t.Fatalf("bad grouping (dir %d, A %d, B %d):\n%s", dir, hdrA, hdrB, out)
	}
	// Both commit-A findings sit under A's header, before B's.
	key := strings.Index(out, "keys/id_rsa:0:0  private-key-file  [low]  id_rsa")
	if key < hdrA || key > hdrB {
		t.Errorf("commit A's second finding is not under its header:\n%s", out)
	}
	if strings.Contains(out, "Long body") {
		t.Error("header shows more than the message's first line")
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without Color")
	}
	if !strings.HasSuffix(out, "4 findings in 42 files across 2 commits; scanned 3.5 MB in 1.25s (2.8 MB/s); 1 binary file skipped, 2 other files skipped\n") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestTextColorAndControlCharacters(t *testing.T) {
	f := mixedFindings()[0]
	f.Message = "evil\x1b[2Jcommit"
	f.Path = "a\rb.env"
	var buf bytes.Buffer
	if err := WriteText(&buf, []scan.Finding{f}, Summary{}, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "\x1b[1m\x1b[31m[critical]\x1b[0m") {
		t.Errorf("severity not coloured:\n%q", out)
	}
	if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\r") {
		t.Errorf("control characters from the commit reached the terminal:\n%q", out)
	}
	if !strings.Contains(out, "evil?[2Jcommit") || !strings.Contains(out, "a?b.env:3:19") {
		t.Errorf("control characters not replaced:\n%q", out)
	}
}

func TestSummaryLine(t *testing.T) {
	for _, c := range []struct {
		n    int
		sum  Summary
		want string
	}{
		{0, Summary{}, "0 findings in 0 files; scanned 0.0 MB in 0.00s; 0 binary files skipped"},
		{1, Summary{Files: 1, Commits: 1, Bytes: 2_000_000, Binary: 1, Duration: time.Second},
			"1 finding in 1 file across 1 commit; scanned 2.0 MB in 1.00s (2.0 MB/s); 1 binary file skipped"},
		{2, Summary{Files: 3, Commits: 4, Bytes: 12_345, Binary: 2, Skipped: 1, Duration: 500 * time.Millisecond},
			"2 findings in 3 files across 4 commits; scanned 0.012 MB in 0.50s (0.025 MB/s); 2 binary files skipped, 1 other file skipped"},
	} {
		if got := summaryLine(c.n, c.sum); got != c.want {
			t.Errorf("summaryLine(%d, %+v)\n got %q\nwant %q", c.n, c.sum, got, c.want)
		}
	}
}

func TestTextSummaryFindingsOverride(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, nil, Summary{Findings: 7, Files: 2}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "7 findings in 2 files;") {
		t.Errorf("got %q", buf.String())
	}
}
