package compliance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
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
	// Missing, when set, makes the first column a day (YYYY-MM-DD): every
	// day of the window without a row gets one, with these values for the
	// other columns. Queries group by day; the calendar is added here, so
	// that neither dialect needs a table of days.
	Missing []string

	// SQLite runs over the dashboard's events table (and the secrets and
	// keys tables of the inventory) with the named parameters :from, :to
	// and :prev_from, Unix milliseconds.
	SQLite string
	// Athena is the same report in Athena's SQL (Trino) over the
	// secretgate_events view that athena.ViewDDL defines on the trail's
	// table. It takes the parameters of SQLite plus :from_date, :to_date
	// and :prev_from_date, partition dates (yyyy/MM/dd) a day wider than
	// the window, since a log file's folder is its delivery day. Empty for
	// reports that need the inventory, which lives only in SQLite.
	Athena string
}

// Table is a report's result.
type Table struct {
	Report  *Report
	Window  Window
	Columns []string
	Rows    [][]string
}

// Source runs a report's query for a window: the embedded SQLite
// database, or Athena.
type Source interface {
	Rows(ctx context.Context, r *Report, w Window) ([][]string, error)
}

// SQLite runs reports on the dashboard's database.
type SQLite struct{ DB *sql.DB }

// Rows runs r.SQLite.
func (s SQLite) Rows(ctx context.Context, r *Report, w Window) ([][]string, error) {
	if r.SQLite == "" {
		return nil, fmt.Errorf("no SQLite text")
	}
	prev := w.Previous()
	rows, err := s.DB.QueryContext(ctx, r.SQLite,
		sql.Named("from", w.From.UnixMilli()), sql.Named("to", w.To.UnixMilli()), sql.Named("prev_from", prev.From.UnixMilli()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(r.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// Run runs one report.
func Run(ctx context.Context, src Source, r *Report, w Window) (*Table, error) {
	rows, err := src.Rows(ctx, r, w)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", r.Name, err)
	}
	for i, row := range rows {
		if len(row) != len(r.Columns) {
			return nil, fmt.Errorf("report %s: row %d has %d columns, want %d", r.Name, i+1, len(row), len(r.Columns))
		}
	}
	if r.Missing != nil {
		rows = FillDays(rows, w, r.Missing, now())
	}
	return &Table{Report: r, Window: w, Columns: r.Columns, Rows: rows}, nil
}

// now is the clock Run gives FillDays.
var now = time.Now

// FillDays adds a row for each day of w that has none: the day, then
// missing. The first column of rows is a day (YYYY-MM-DD); the result is
// in day order.
// Days that have not begun by now are not missing anything: a report of
// the week under way ends with today (or its last row).
func FillDays(rows [][]string, w Window, missing []string, now time.Time) [][]string {
	have := make(map[string][]string, len(rows))
	for _, row := range rows {
		have[row[0]] = row
	}
	var out [][]string
	for d := w.From; d.Before(w.To); d = d.Add(24 * time.Hour) {
		day := d.Format("2006-01-02")
		if row, ok := have[day]; ok {
			out = append(out, row)
			continue
		}
		if !d.After(now) {
			out = append(out, append([]string{day}, missing...))
		}
	}
	return out
}

// RunAll runs reports side by side (SQLite in WAL mode reads in parallel;
// Athena runs queries concurrently) and returns their tables in the order
// given.
func RunAll(ctx context.Context, src Source, reports []*Report, w Window) ([]*Table, error) {
	tables := make([]*Table, len(reports))
	errs := make([]error, len(reports))
	var wg sync.WaitGroup
	for i, r := range reports {
		wg.Go(func() { tables[i], errs[i] = Run(ctx, src, r, w) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tables, nil
}
