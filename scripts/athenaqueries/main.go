// Command athenaqueries writes the Athena texts infra/ deploys as named
// queries: the secretgate_events view and every weekly report with
// Athena's positional parameters, named in order. infra is its own
// module and does not import the root's internal packages, so it embeds
// this generated file instead (make infra-athena; infra's tests fail when
// it is stale).
//
//	go run ./scripts/athenaqueries > infra/stack/queries.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/secretgate/secretgate/internal/athena"
	"github.com/secretgate/secretgate/internal/compliance"
)

type report struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Meaning string   `json:"meaning"`
	SQL     string   `json:"sql"`
	Params  []string `json:"params"`
}

func main() {
	out := struct {
		Generated string   `json:"generated"`
		View      string   `json:"view"`
		Reports   []report `json:"reports"`
	}{Generated: "by go run ./scripts/athenaqueries; do not edit", View: athena.ViewDDL()}

	// A window whose parameter values all differ, so each bound value
	// names its parameter.
	w := compliance.Window{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	_, all, err := athena.Bind(paramProbe, w)
	if err != nil {
		fail(err)
	}
	names := map[string]string{}
	for i, v := range all {
		names[v] = probeNames[i]
	}
	for _, r := range compliance.All {
		if r.Athena == "" {
			continue // needs the inventory, which only SQLite has
		}
		sql, values, err := athena.Bind(r.Athena, w)
		if err != nil {
			fail(fmt.Errorf("report %s: %w", r.Name, err))
		}
		var params []string
		for _, v := range values {
			params = append(params, names[v])
		}
		out.Reports = append(out.Reports, report{Name: r.Name, Title: r.Title, Meaning: r.Meaning, SQL: sql, Params: params})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

var probeNames = []string{"from", "to", "prev_from", "from_date", "to_date", "prev_from_date", "recovery_from_date"}

const paramProbe = ":from :to :prev_from :from_date :to_date :prev_from_date :recovery_from_date"

func fail(err error) {
	fmt.Fprintln(os.Stderr, "athenaqueries:", err)
	os.Exit(1)
}
