package export

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/secretgate/secretgate/internal/compliance"
)

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	tab := &compliance.Table{Report: compliance.Denied, Columns: compliance.Denied.Columns, Rows: [][]string{
		{"2026-11-25T09:04:00Z", "arn:aws:iam::1:role/x", "secretsmanager:GetSecretValue", "=HYPERLINK(\"http://evil\")", "AccessDenied"},
		{"2026-11-25T09:05:00Z", "@me", "kms:Decrypt", "line\nbreak, \"quoted\"", "AccessDenied"},
	}}
	paths, err := CSV(dir, "2026-W48", []*compliance.Table{tab})
	if err != nil {
		t.Fatal(err)
	}
	if paths[0] != filepath.Join(dir, "2026-W48-denied.csv") {
		t.Errorf("path %s", paths[0])
	}
	raw, _ := os.ReadFile(paths[0])
	if want := "time,principal,action,target,error\r\n"; string(raw[:len(want)]) != want {
		t.Errorf("header line %q", raw[:40])
	}
	f, _ := os.Open(paths[0])
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[1][3] != `'=HYPERLINK("http://evil")` || rows[2][1] != "'@me" || rows[2][3] != "line\nbreak, \"quoted\"" {
		t.Errorf("rows %q", rows)
	}
}
