package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/web"
)

// pageRows is how many rows a table shows at once.
const pageRows = 50

// view is one request's choices: the window and filters every page
// shares, and the inventory for the filters and the secrets' tags.
type view struct {
	path    string
	values  url.Values
	week    string
	window  compliance.Window
	env     string
	service string
	weeks   []string
	inv     map[string]Secret
}

// httpError is an error with the status a page answers it with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *server) newView(ctx context.Context, r *http.Request) (*view, error) {
	q := r.URL.Query()
	v := &view{path: r.URL.Path, values: q, env: q.Get("env"), service: q.Get("service")}
	var err error
	if v.weeks, err = s.Data.Weeks(ctx); err != nil {
		return nil, err
	}
	v.week = q.Get("week")
	if v.week == "" {
		v.week = defaultWeek(v.weeks, s.Now())
	}
	if v.window, err = compliance.Week(v.week); err != nil {
		return nil, badRequest("%v", err)
	}
	// The week's own name and nothing more: it shows in titles, links,
	// the PDF and download names.
	if name := weekName(v.window.From); name != v.week || len(name) != len("2026-W48") {
		return nil, badRequest("week %q: want YYYY-Www, such as %s", v.week, name)
	}
	if !slices.Contains(v.weeks, v.week) {
		v.weeks = append([]string{v.week}, v.weeks...)
	}
	if v.inv, err = s.Data.Inventory(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// defaultWeek is the week a page shows unless asked: the last complete
// week when it has events (a week still running compares a few days with
// a whole one), else the newest week with events, else last week.
func defaultWeek(weeks []string, now time.Time) string {
	last := weekName(compliance.LastWeek(now).From)
	if len(weeks) == 0 || slices.Contains(weeks, last) {
		return last
	}
	return weeks[0]
}

// link is path with the view's week and filters, and kv set on top
// (an empty value drops the key).
func (v *view) link(path string, kv ...string) string {
	q := url.Values{}
	q.Set("week", v.week)
	if v.env != "" {
		q.Set("env", v.env)
	}
	if v.service != "" {
		q.Set("service", v.service)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + q.Encode()
}

// here is the current page's link with kv changed, other values kept.
func (v *view) here(kv ...string) string {
	q := url.Values{}
	for k, vs := range v.values {
		q[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return v.path + "?" + q.Encode()
}

func (v *view) secretLink(id string) string { return v.link("/secret", "id", id) }

func (v *view) eventsLink(kv ...string) string { return v.link("/events", kv...) }

// filtered says whether an environment or service filter is on.
func (v *view) filtered() bool { return v.env != "" || v.service != "" }

// keep says whether a secret passes the filters: it must be in the
// inventory with the environment and service asked for.
func (v *view) keep(secret string) bool {
	if !v.filtered() {
		return true
	}
	s, ok := v.inv[secret]
	if !ok {
		return false
	}
	return (v.env == "" || s.Environment == v.env) && (v.service == "" || s.Service == v.service || s.Team == v.service)
}

// filterRows keeps the rows whose secret (the column named secret, or
// target) passes the filters; tables without one are kept whole.
func (v *view) filterRows(cols []string, rows [][]string) [][]string {
	i := slices.Index(cols, "secret")
	if i < 0 {
		i = slices.Index(cols, "target")
	}
	if i < 0 || !v.filtered() {
		return rows
	}
	var out [][]string
	for _, r := range rows {
		if v.keep(r[i]) {
			out = append(out, r)
		}
	}
	return out
}

func (v *view) filter(s *server) *web.Filter {
	f := &web.Filter{Action: v.path, Week: v.week, Weeks: v.weeks, Env: v.env, Service: v.service,
		PDF: v.link("/export/evidence.pdf"), CSV: v.link("/export/evidence.zip")}
	envs, services := map[string]bool{}, map[string]bool{}
	for _, s := range v.inv {
		if s.Environment != "" {
			envs[s.Environment] = true
		}
		if s.Service != "" {
			services[s.Service] = true
		}
		if s.Team != "" {
			services[s.Team] = true
		}
	}
	f.Envs, f.Services = sortedKeys(envs), sortedKeys(services)
	for _, k := range []string{"id", "secret", "principal", "session", "kind"} {
		if val := v.values.Get(k); val != "" {
			f.Hidden = append(f.Hidden, [2]string{k, val})
		}
	}
	return f
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tableSpec says how one report shows: which cells link where, which
// rows stand out.
type tableSpec struct {
	id    string
	t     *compliance.Table
	rows  [][]string // the table's rows, filtered; nil means t.Rows
	empty string
	cell  func(col string, row []string, c *web.Cell)
	flag  func(row []string) string
	csv   bool // offer the filtered table as CSV
}

// table sorts, pages and dresses a report's rows for the page, from the
// request's <id>.sort, <id>.dir and <id>.page values.
func (v *view) table(spec tableSpec) web.Table {
	t := spec.t
	rows := spec.rows
	if rows == nil {
		rows = v.filterRows(t.Columns, t.Rows)
	}
	numeric := numericColumns(t.Columns, rows)
	sortCol := slices.Index(t.Columns, v.values.Get(spec.id+".sort"))
	desc := v.values.Get(spec.id+".dir") == "desc"
	if sortCol >= 0 {
		rows = slices.Clone(rows)
		slices.SortStableFunc(rows, func(a, b []string) int {
			var c int
			if numeric[sortCol] {
				x, _ := strconv.ParseFloat(a[sortCol], 64)
				y, _ := strconv.ParseFloat(b[sortCol], 64)
				c = cmp.Compare(x, y)
			} else {
				c = strings.Compare(a[sortCol], b[sortCol])
			}
			if desc {
				c = -c
			}
			return c
		})
	}
	out := web.Table{ID: spec.id, Title: t.Report.Title, Meaning: t.Report.Meaning, Total: len(rows), Empty: spec.empty}
	if out.Empty == "" {
		out.Empty = "Nothing in this window."
		if v.filtered() {
			out.Empty = "Nothing in this window for the chosen environment and service."
		}
	}
	for i, c := range t.Columns {
		col := web.Column{Label: strings.ReplaceAll(c, "_", " "), Number: numeric[i]}
		dir := "asc"
		if numeric[i] {
			dir = "desc" // biggest first is what one wants of a count
		}
		if i == sortCol {
			col.Sorted = "asc"
			if desc {
				col.Sorted = "desc"
			}
			dir = map[string]string{"asc": "desc", "desc": "asc"}[col.Sorted]
		}
		col.Sort = v.here(spec.id+".sort", c, spec.id+".dir", dir, spec.id+".page", "") + "#" + spec.id
		out.Columns = append(out.Columns, col)
	}
	out.Pages = max(1, (len(rows)+pageRows-1)/pageRows)
	out.Page, _ = strconv.Atoi(v.values.Get(spec.id + ".page"))
	out.Page = min(max(out.Page, 1), out.Pages)
	if out.Page > 1 {
		out.Prev = v.here(spec.id+".page", strconv.Itoa(out.Page-1)) + "#" + spec.id
	}
	if out.Page < out.Pages {
		out.Next = v.here(spec.id+".page", strconv.Itoa(out.Page+1)) + "#" + spec.id
	}
	if spec.csv {
		out.CSV = v.link("/export/" + t.Report.Name + ".csv")
	}
	lo, hi := (out.Page-1)*pageRows, min(out.Page*pageRows, len(rows))
	for _, r := range rows[lo:hi] {
		row := web.Row{}
		if spec.flag != nil {
			row.Flag = spec.flag(r)
		}
		for i, c := range r {
			cell := web.Cell{Text: c, Number: numeric[i]}
			if spec.cell != nil {
				spec.cell(t.Columns[i], r, &cell)
			}
			row.Cells = append(row.Cells, cell)
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// numericColumns marks the columns whose every non-empty cell is a number.
func numericColumns(cols []string, rows [][]string) []bool {
	out := make([]bool, len(cols))
	for i := range cols {
		seen := false
		out[i] = true
		for _, r := range rows {
			if r[i] == "" {
				continue
			}
			seen = true
			if _, err := strconv.ParseFloat(r[i], 64); err != nil {
				out[i] = false
				break
			}
		}
		out[i] = out[i] && seen
	}
	return out
}

// render writes a templ component, whole or not at all: a failure
// halfway is a 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.Log.Error("render", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
