package compliance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Report is one table of the weekly evidence.
type Report struct {
	Name    string // file and URL name
	Title   string
	Meaning string // what a reader should take from it
	Columns []string
	// Chart, when set, asks for the table drawn as bars: the first column
	// labels a bar, every other column is a count and its own series.
	Chart string
	// SQLite runs over the dashboard's events table with the named
	// parameters :from, :to, :prev_from (Unix milliseconds).
	SQLite string
}

// Table is a report's result.
type Table struct {
	Report  *Report
	Window  Window
	Columns []string
	Rows    [][]string
}

// Run runs a report on the embedded SQLite database.
func Run(ctx context.Context, db *sql.DB, r *Report, w Window) (*Table, error) {
	prev := w.Previous()
	rows, err := db.QueryContext(ctx, r.SQLite,
		sql.Named("from", w.From.UnixMilli()), sql.Named("to", w.To.UnixMilli()), sql.Named("prev_from", prev.From.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", r.Name, err)
	}
	defer rows.Close()
	t := &Table{Report: r, Window: w, Columns: r.Columns}
	for rows.Next() {
		vals := make([]sql.NullString, len(r.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("report %s: %w", r.Name, err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = v.String
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report %s: %w", r.Name, err)
	}
	return t, nil
}

// RunAll runs reports side by side (SQLite in WAL mode reads in parallel)
// and returns their tables in the order given.
func RunAll(ctx context.Context, db *sql.DB, reports []*Report, w Window) ([]*Table, error) {
	tables := make([]*Table, len(reports))
	errs := make([]error, len(reports))
	var wg sync.WaitGroup
	for i, r := range reports {
		wg.Go(func() { tables[i], errs[i] = Run(ctx, db, r, w) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tables, nil
}
