package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
)

// TestCSVRoundTrip reads the CSV back and checks every cell against the
// JSON report of the same findings: same columns, same values.
func TestCSVRoundTrip(t *testing.T) {
	fs := mixedFindings()
	var csvBuf, jsonBuf bytes.Buffer
	if err := WriteCSV(&csvBuf, fs); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jsonBuf, fs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvBuf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(jsonBuf.Bytes(), &objs); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(fs)+1 {
		t.Fatalf("%d rows, want header + %d", len(rows), len(fs))
	}
	if !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("header = %v", rows[0])
	}
	for i, row := range rows[1:] {
		for j, col := range rows[0] {
			var want string
			switch v := objs[i][col].(type) {
			case string:
				want = v
			case float64:
				want = strconv.FormatFloat(v, 'f', -1, 64)
			case []any:
				var tags []string
				for _, t := range v {
					tags = append(tags, t.(string))
				}
				want = strings.Join(tags, ";")
			default:
				t.Fatalf("row %d %s: unexpected JSON value %#v", i, col, v)
			}
			if row[j] != want {
				t.Errorf("row %d %s = %q, want %q", i, col, row[j], want)
			}
		}
	}
	// The multi-line commit message and the quoted path survive.
	if rows[1][12] != "Add deploy config\n\nLong body." {
		t.Errorf("message = %q", rows[1][12])
	}
	if rows[3][3] != `config\hooks & "alerts".json` {
		t.Errorf("file = %q", rows[3][3])
	}
	if rows[1][16] != "aws;key" {
		t.Errorf("tags = %q", rows[1][16])
	}
}

func TestCSVEmptyHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), strings.Join(csvHeader, ",")+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCSVFormulaCells(t *testing.T) {
	f := scan.Finding{RuleID: "x", Origin: scan.Origin{Path: "=HYPERLINK(\"http://evil\")", Author: "@me", Message: "+1 ok"}, Redacted: "-----BEGIN********", Line: 1}
	var b strings.Builder
	if err := WriteCSV(&b, []scan.Finding{f}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := rows[1]
	for col, want := range map[int]string{3: `'=HYPERLINK("http://evil")`, 9: "'@me", 12: "'+1 ok", 13: "'-----BEGIN********"} {
		if got[col] != want {
			t.Errorf("column %s = %q, want %q", csvHeader[col], got[col], want)
		}
	}
}
