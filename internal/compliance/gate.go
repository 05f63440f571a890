package compliance

import (
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/internal/store"
)

// Gate is the gate's own evidence: the pushes it blocked or let through
// in the window. Its rows come from the gate's store (SQLite or
// PostgreSQL), not from CloudTrail, so it has no SQL here: see GateTable.
var Gate = &Report{
	Name:    "gate",
	Title:   "Secrets pushed to git",
	Meaning: "Pushes the gate blocked, and pushes let through with a bypass or unscanned (failed open), by repository and rule. The rule (not scanned) is a push the gate could not scan in time. Findings are counted, never shown: the store keeps only redacted previews and fingerprints.",
	Columns: []string{"repository", "rule", "blocked", "bypassed", "failed_open", "findings", "bypass_reasons"},
}

// GateTable makes the Gate table of the store's activity in w.
func GateTable(acts []store.Activity, w Window) *Table {
	t := &Table{Report: Gate, Window: w, Columns: Gate.Columns}
	for _, a := range acts {
		rule := a.Rule
		if rule == "" {
			rule = "(not scanned)"
		}
		t.Rows = append(t.Rows, []string{a.Repo, rule, strconv.Itoa(a.Blocked), strconv.Itoa(a.Bypassed),
			strconv.Itoa(a.FailedOpen), strconv.Itoa(a.Findings), strings.Join(a.BypassReason, "; ")})
	}
	return t
}
