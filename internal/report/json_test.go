package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

func TestJSONEmptyIsArray(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "[]\n" {
		t.Errorf("empty report = %q, want %q", got, "[]\n")
	}
}

func TestJSONFields(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, mixedFindings()); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d objects, want 4", len(got))
	}
	for i, obj := range got {
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := slices.Clone(csvHeader)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("object %d keys = %v, want %v", i, keys, want)
		}
	}

	first := got[0]
	for k, want := range map[string]any{
		"rule_id":     "aws-access-key",
		"severity":    "critical",
		"file":        "deploy/prod.env",
		"line":        3.0,
		"column":      19.0,
		"end_line":    3.0,
		"end_column":  38.0,
		"commit":      commitA,
		"email":       "alice@example.com",
		"date":        "2024-05-01T09:30:00+02:00",
		"message":     "Add deploy config\n\nLong body.",
		"redacted":    "AKIA************MPLE",
		"fingerprint": fpAWS,
		"entropy":     3.68,
	} {
		if first[k] != want {
			t.Errorf("%s = %#v, want %#v", k, first[k], want)
		}
	}
	if tags, _ := first["tags"].([]any); len(tags) != 2 || tags[0] != "aws" {
		t.Errorf("tags = %#v", first["tags"])
	}
	// No tags is [], not null; no date is "".
	if tags, ok := got[1]["tags"].([]any); !ok || len(tags) != 0 {
		t.Errorf("untagged finding: tags = %#v, want []", got[1]["tags"])
	}
	if got[1]["entropy"] != 5.0 {
		t.Errorf("entropy 4.995 rounded = %v, want 5", got[1]["entropy"])
	}
	if got[2]["date"] != "" || got[2]["commit"] != "" {
		t.Errorf("directory finding: date %q commit %q, want empty", got[2]["date"], got[2]["commit"])
	}
}

func TestJSONKeepsOrder(t *testing.T) {
	fs := mixedFindings()
	rev := slices.Clone(fs)
	slices.Reverse(rev)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rev); err != nil {
		t.Fatal(err)
	}
	var got []record
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if want := fs[len(fs)-1-i].RuleID; r.RuleID != want {
			t.Errorf("position %d: %s, want %s", i, r.RuleID, want)
		}
	}
}
