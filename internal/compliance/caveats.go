package compliance

import (
	"context"
	"strings"
)

// Caveats is what a week's evidence lacks, first in every format of it, so
// that a reader of the PDF or the CSV files tells "not evaluated" from
// "nothing found" and sees a comparison with an incomplete week for what
// it is.
var Caveats = &Report{
	Name:    "caveats",
	Title:   "What this evidence lacks",
	Meaning: "Tables left out for want of their source, and days without log files or without read events, this week and the week before, which the headline figures are compared with. A figure over such days undercounts.",
	Columns: []string{"caveat"},
}

// CaveatsTable makes the Caveats table of w's evidence: missing says what
// was left out (as Local and the caller say it); coverage is w's Coverage
// table when the evidence has one. The week before's coverage is run on
// src. It returns nil when there is nothing to say.
func CaveatsTable(ctx context.Context, src Source, w Window, coverage *Table, missing []string) (*Table, error) {
	t := &Table{Report: Caveats, Window: w, Columns: Caveats.Columns}
	for _, m := range missing {
		t.Rows = append(t.Rows, []string{m})
	}
	prev, err := Run(ctx, src, Coverage, w.Previous())
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		which string
		t     *Table
	}{{"this week", coverage}, {"the week before", prev}} {
		if c.t == nil {
			continue
		}
		var gaps []string
		for _, r := range c.t.Rows {
			if status := r[len(r)-1]; status != "ok" {
				gaps = append(gaps, r[0]+" "+strings.ToLower(status))
			}
		}
		if len(gaps) > 0 {
			t.Rows = append(t.Rows, []string{c.which + ": " + strings.Join(gaps, "; ")})
		}
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	return t, nil
}

// WithCaveats puts the Caveats table of w's evidence, when there is
// something to say, before its tables.
func WithCaveats(ctx context.Context, src Source, w Window, tables []*Table, missing []string) ([]*Table, error) {
	var coverage *Table
	for _, t := range tables {
		if t.Report == Coverage {
			coverage = t
		}
	}
	c, err := CaveatsTable(ctx, src, w, coverage, missing)
	if err != nil || c == nil {
		return tables, err
	}
	return append([]*Table{c}, tables...), nil
}
