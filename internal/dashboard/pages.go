package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/web"
)

// page is what a page handler decides: its title and body.
type page struct {
	title   string
	nav     string // the nav entry it belongs to
	notice  string
	content web.Content
}

type pageFunc func(ctx context.Context, v *view) (*page, error)

var navEntries = []struct{ label, path string }{
	{"Overview", "/"}, {"Access", "/access"}, {"Rotation", "/rotation"}, {"Violations", "/violations"}, {"Gate", "/gate"},
}

// page turns a page function into a handler: the view from the request,
// the shell around the body, errors as their status.
func (s *server) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v, err := s.newView(ctx, r)
		var p *page
		if err == nil {
			p, err = fn(ctx, v)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !s.Data.HasEvents(ctx) { // said first, the page's own notice after
			p.notice = strings.TrimSpace("No CloudTrail events in the database yet: load a trail with `dashboard ingest PATH`. " + p.notice)
		}
		if s.Data.Refreshing() {
			p.notice = strings.TrimSpace("New events or an inventory arrived: these figures are from before them, and new ones are being computed; reload in a few seconds. " + p.notice)
		}
		shell := web.Shell{Title: p.title, User: userOf(ctx), SignOut: s.Passwords != nil, Filter: v.filter(s), Notice: p.notice}
		for _, n := range navEntries {
			shell.Nav = append(shell.Nav, web.NavLink{Label: n.label, Href: v.link(n.path), Current: n.path == p.nav})
		}
		s.render(w, r, http.StatusOK, web.Page(shell, p.content))
	}
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.status)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the browser went away
	}
	// The reason goes to the log; the page says only that it failed.
	s.Log.Error("page", "path", r.URL.Path, "err", err)
	http.Error(w, "Internal Server Error: the dashboard's log says what failed", http.StatusInternalServerError)
}

// headlineLinks say where each headline figure's card leads, and whether
// a rise is bad news.
var headlineLinks = map[string]struct {
	path  string
	worse bool
}{
	"secret reads":         {"/access", false},
	"secrets read":         {"/access", false},
	"readers":              {"/access", false},
	"denied attempts":      {"/violations#denied", true},
	"break-glass sessions": {"/violations#break-glass", true},
	"rotation failures":    {"/rotation", true},
}

func (s *server) overview(ctx context.Context, v *view) (*page, error) {
	tabs, err := s.Data.Tables(ctx, v.window, compliance.Headline, compliance.Daily, compliance.Coverage)
	if err != nil {
		return nil, err
	}
	head, daily, coverage := tabs[0], tabs[1], tabs[2]
	p := &page{title: "Overview, " + v.week + " (" + v.window.String() + ")", nav: "/"}
	for _, r := range head.Rows {
		hl := headlineLinks[r[0]]
		path, frag, _ := strings.Cut(hl.path, "#")
		link := v.link(path)
		if frag != "" {
			link += "#" + frag
		}
		change, up := change(r[1], r[2])
		p.content.Cards = append(p.content.Cards, web.Card{Label: r[0], Value: r[1], Previous: r[2], Change: change,
			Worse: hl.worse && up, Link: link})
	}
	dayLink := func(kind string) func(string) string {
		return func(day string) string { return v.eventsLink("kind", kind, "day", day) }
	}
	p.content.Charts = []web.Chart{
		dayChart("Secret reads per day", "reads", "s0", daily, 1, dayLink("read")),
		dayChart("Denied attempts per day", "denied", "s1", daily, 2, dayLink("denied")),
	}
	ctrl, err := s.controlsSummary(ctx, v)
	if err != nil {
		return nil, err
	}
	if ctrl != nil {
		p.content.Tables = append(p.content.Tables, *ctrl)
	}
	var gaps []string
	for _, r := range coverage.Rows {
		if r[4] != "ok" {
			gaps = append(gaps, r[0]+" "+r[4])
		}
	}
	if len(gaps) > 0 {
		p.notice = "Evidence incomplete: " + strings.Join(gaps, "; ") + "."
	} else if v.filtered() {
		p.notice = "Headline figures and charts cover every secret; the tables follow the environment and service chosen."
	}
	p.content.Tables = append(p.content.Tables, v.table(tableSpec{id: "coverage", t: coverage,
		cell: func(col string, row []string, c *web.Cell) {
			if col == "status" {
				c.Status = map[bool]string{true: "pass", false: "fail"}[c.Text == "ok"]
			}
		}}))
	return p, nil
}

// change is the week-on-week change of a figure, and whether it rose.
func change(cur, prev string) (string, bool) {
	c, err1 := strconv.ParseFloat(cur, 64)
	p, err2 := strconv.ParseFloat(prev, 64)
	switch {
	case err1 != nil || err2 != nil || c == p:
		return "", false
	case p == 0:
		return "new", true
	}
	pct := (c - p) / p * 100
	digits := 0
	if math.Abs(pct) < 10 {
		digits = 1 // "−0.1%", not "−0%"
	}
	if pct > 0 {
		return "+" + strconv.FormatFloat(pct, 'f', digits, 64) + "%", true
	}
	return "−" + strconv.FormatFloat(-pct, 'f', digits, 64) + "%", false
}

// controlsSummary counts passes and failures of each Security Hub
// control; nil without an inventory.
func (s *server) controlsSummary(ctx context.Context, v *view) (*web.Table, error) {
	reports, _ := compliance.Local(ctx, s.Data.db)
	var rows [][]string
	index := map[string]int{}
	for _, r := range reports {
		if r != compliance.Controls && r != compliance.KeyControls {
			continue
		}
		t, err := s.Data.Table(ctx, r, v.window)
		if err != nil {
			return nil, err
		}
		for _, row := range v.filterRows(t.Columns, t.Rows) {
			i, ok := index[row[0]]
			if !ok {
				i = len(rows)
				index[row[0]] = i
				rows = append(rows, []string{row[0], "0", "0"})
			}
			col := 1
			if row[2] != "PASS" {
				col = 2
			}
			n, _ := strconv.Atoi(rows[i][col])
			rows[i][col] = strconv.Itoa(n + 1)
		}
	}
	if len(index) == 0 {
		return nil, nil
	}
	t := &compliance.Table{Report: &compliance.Report{Name: "controls-summary", Title: "Security Hub controls",
		Meaning: "Passed and failed checks per control, as of the window's end. Each control leads to the rows behind it."},
		Window: v.window, Columns: []string{"control", "passed", "failed"}, Rows: rows}
	tv := v.table(tableSpec{id: "controls", t: t, cell: func(col string, row []string, c *web.Cell) {
		switch {
		case col == "control" && strings.HasPrefix(c.Text, "KMS"):
			c.Link = v.link("/violations") + "#key-controls"
		case col == "control":
			c.Link = v.link("/rotation") + "#controls"
		case col == "failed" && c.Text != "0":
			c.Status = "fail"
		}
	}})
	return &tv, nil
}

func (s *server) access(ctx context.Context, v *view) (*page, error) {
	t, err := s.Data.Table(ctx, compliance.Access, v.window)
	if err != nil {
		return nil, err
	}
	p := &page{title: "Access, " + v.week, nav: "/access"}
	outside := map[[2]string]string{}
	var outsideTable *compliance.Table
	if s.Data.HasInventory(ctx) {
		if outsideTable, err = s.Data.Table(ctx, compliance.OutsideReaders, v.window); err != nil {
			return nil, err
		}
		for _, r := range outsideTable.Rows {
			outside[[2]string{r[0], r[1]}] = r[5] + " (" + r[3] + ", " + r[4] + ")"
		}
	}
	flag := func(r []string) string { return unexpected(r, outside) }
	rows := v.filterRows(t.Columns, t.Rows)
	// By secret: the readers of each, summed from the table by principal.
	type sum struct{ readers, reads, fresh, humans, flagged int }
	sums := map[string]*sum{}
	var order []string
	for _, r := range rows {
		s := sums[r[0]]
		if s == nil {
			s = &sum{}
			sums[r[0]] = s
			order = append(order, r[0])
		}
		n, _ := strconv.Atoi(r[2])
		s.readers++
		s.reads += n
		if r[5] == "yes" {
			s.fresh++
		}
		if r[6] == "yes" {
			s.humans++
		}
		if flag(r) != "" {
			s.flagged++
		}
	}
	bySecret := &compliance.Table{Report: &compliance.Report{Name: "access-by-secret", Title: "Secret reads by secret",
		Meaning: "Each secret read in the window: how many principals read it and how often, how many of them are new this week or people, and how many stand out."},
		Window: v.window, Columns: []string{"secret", "readers", "reads", "new_readers", "human_readers", "unexpected_readers"}}
	for _, id := range order {
		s := sums[id]
		bySecret.Rows = append(bySecret.Rows, []string{id, strconv.Itoa(s.readers), strconv.Itoa(s.reads),
			strconv.Itoa(s.fresh), strconv.Itoa(s.humans), strconv.Itoa(s.flagged)})
	}
	p.content.Tables = []web.Table{
		v.table(tableSpec{id: "by-secret", t: bySecret, rows: bySecret.Rows,
			cell: func(col string, row []string, c *web.Cell) {
				switch col {
				case "secret":
					c.Link = v.secretLink(c.Text)
				case "reads":
					c.Link = v.eventsLink("secret", row[0], "kind", "read")
				}
			},
			flag: func(row []string) string {
				if row[5] != "0" {
					return "has unexpected readers"
				}
				return ""
			}}),
		v.table(tableSpec{id: "access", t: t, rows: rows, csv: true,
			cell: func(col string, row []string, c *web.Cell) {
				switch col {
				case "secret":
					c.Link = v.secretLink(c.Text)
				case "principal":
					c.Link = v.eventsLink("principal", c.Text, "kind", "read")
				case "reads":
					c.Link = v.eventsLink("secret", row[0], "principal", row[1], "kind", "read")
				case "new_reader", "human":
					if c.Text == "yes" {
						c.Status = "warn"
					}
				}
			},
			flag: flag}),
	}
	if outsideTable != nil {
		p.content.Tables = append(p.content.Tables, v.table(tableSpec{id: "outside", t: outsideTable, csv: true,
			empty: "No role read a secret of another service or environment this week.",
			cell: func(col string, row []string, c *web.Cell) {
				switch col {
				case "secret":
					c.Link = v.secretLink(c.Text)
				case "reads":
					c.Link = v.eventsLink("secret", row[0], "principal", row[1], "kind", "read")
				}
			}}))
	}
	return p, nil
}

// unexpected says why an access row (secret, principal, reads, first,
// last, new_reader, human) stands out: a reader new this week, a person
// rather than a workload, or a role outside the secret's service or
// environment (compliance.OutsideReaders, given as outside).
func unexpected(r []string, outside map[[2]string]string) string {
	var why []string
	if r[5] == "yes" {
		why = append(why, "new reader this week")
	}
	if r[6] == "yes" {
		why = append(why, "read by a person")
	}
	if o := outside[[2]string{r[0], r[1]}]; o != "" {
		why = append(why, "role outside the secret's "+o)
	}
	return strings.Join(why, "; ")
}

var rotationBadges = map[string]string{"ok": "pass", "failing": "fail", "overdue": "warn", "disabled": "warn",
	"PASS": "pass", "FAIL": "fail"}

func (s *server) rotation(ctx context.Context, v *view) (*page, error) {
	p := &page{title: "Rotation, " + v.week, nav: "/rotation"}
	secretCell := func(col string, row []string, c *web.Cell) {
		switch col {
		case "secret":
			c.Link = v.secretLink(c.Text)
		case "status":
			c.Status = rotationBadges[c.Text]
		case "failed":
			if c.Text != "0" {
				c.Link = v.eventsLink("secret", row[0], "kind", "rotation")
			}
		}
	}
	if s.Data.HasInventory(ctx) {
		tabs, err := s.Data.Tables(ctx, v.window, compliance.RotationStatus, compliance.Controls)
		if err != nil {
			return nil, err
		}
		p.content.Tables = append(p.content.Tables,
			v.table(tableSpec{id: "status", t: tabs[0], cell: secretCell, csv: true, flag: func(r []string) string {
				if r[1] == "failing" || r[1] == "overdue" {
					return r[1]
				}
				return ""
			}}),
			v.table(tableSpec{id: "controls", t: tabs[1], cell: secretCell, csv: true}))
	} else {
		p.notice = "No secret inventory: the status of every secret, rotating or not, needs `dashboard inventory import`. Below, the rotations CloudTrail saw."
	}
	t, err := s.Data.Table(ctx, compliance.Rotations, v.window)
	if err != nil {
		return nil, err
	}
	p.content.Tables = append(p.content.Tables, v.table(tableSpec{id: "runs", t: t, cell: secretCell, csv: true,
		flag: func(r []string) string {
			if r[2] != "0" {
				return "failed this week"
			}
			return ""
		}}))
	return p, nil
}

func (s *server) violations(ctx context.Context, v *view) (*page, error) {
	reports := []*compliance.Report{compliance.BreakGlass, compliance.Denied, compliance.UnsafeChanges, compliance.Deletions, compliance.DeletedReads}
	local, _ := compliance.Local(ctx, s.Data.db)
	hasKeys := false
	for _, r := range local {
		if r == compliance.KeyControls {
			reports, hasKeys = append(reports, r), true
		}
	}
	tabs, err := s.Data.Tables(ctx, v.window, reports...)
	if err != nil {
		return nil, err
	}
	p := &page{title: "Violations, " + v.week, nav: "/violations"}
	p.content.Timeline = timeline(v, tabs[0])
	cell := func(col string, row []string, c *web.Cell) {
		switch {
		case col == "secret" || (col == "target" && strings.Contains(c.Text, ":secretsmanager:")):
			c.Link = v.secretLink(c.Text)
		case col == "principal" || col == "role":
			c.Link = v.eventsLink("principal", c.Text)
		case col == "session":
			c.Link = v.eventsLink("principal", row[0], "session", c.Text)
		case col == "mfa" && c.Text != "yes":
			c.Status = "fail"
		case col == "status":
			c.Status = rotationBadges[c.Text]
		}
	}
	ids := []string{"break-glass", "denied", "unsafe-changes", "deletions", "deleted-reads", "key-controls"}
	for i, t := range tabs {
		spec := tableSpec{id: ids[i], t: t, cell: cell, csv: true}
		if i == 5 && hasKeys {
			spec.flag = func(r []string) string {
				if r[2] != "PASS" {
					return r[3]
				}
				return ""
			}
		}
		p.content.Tables = append(p.content.Tables, v.table(spec))
	}
	if !hasKeys {
		p.notice = "No key inventory: keys scheduled for deletion or without rotation need `dashboard inventory import-keys`."
	}
	return p, nil
}

func (s *server) gate(ctx context.Context, v *view) (*page, error) {
	p := &page{title: "Gate, " + v.week, nav: "/gate"}
	t, err := s.Data.Gate(ctx, v.window)
	if err != nil {
		return nil, err
	}
	if t == nil {
		p.notice = "No gate store: start the dashboard with --store (the gatekeeper's database) to see the pushes it blocked."
		return p, nil
	}
	p.content.Tables = []web.Table{v.table(tableSpec{id: "gate", t: t, csv: true,
		empty: "The gate blocked and let through nothing unusual this week.",
		flag: func(r []string) string {
			if r[3] != "0" || r[4] != "0" {
				return "pushed through the gate"
			}
			return ""
		}})}
	return p, nil
}

func (s *server) secret(ctx context.Context, v *view) (*page, error) {
	id := v.values.Get("id")
	if id == "" || len(id) > maxSecretID {
		return nil, badRequest("which secret? give ?id=ARN (at most %d characters)", maxSecretID)
	}
	p := &page{title: "Secret " + id, nav: ""}
	if sec, ok := v.inv[id]; ok {
		p.title = "Secret " + sec.Name
		p.content.Facts = secretFacts(sec)
	} else {
		p.notice = "Not in the inventory: what CloudTrail says of it follows."
	}
	reports := []*compliance.Report{compliance.Access, compliance.Rotations, compliance.Denied, compliance.DeletedReads}
	if s.Data.HasInventory(ctx) {
		reports = append(reports, compliance.RotationStatus, compliance.Controls)
	}
	tabs, err := s.Data.Tables(ctx, v.window, reports...)
	if err != nil {
		return nil, err
	}
	daily, err := s.Data.SecretDaily(ctx, id, v.window)
	if err != nil {
		return nil, err
	}
	p.content.Charts = []web.Chart{dayChart("Reads of this secret per day", "reads", "s0", daily, 1, func(day string) string {
		return v.eventsLink("secret", id, "kind", "read", "day", day)
	})}
	cell := func(col string, row []string, c *web.Cell) {
		switch col {
		case "principal":
			c.Link = v.eventsLink("secret", id, "principal", c.Text)
		case "status":
			c.Status = rotationBadges[c.Text]
		}
	}
	for i, t := range tabs {
		col := "secret"
		if t.Report == compliance.Denied {
			col = "target"
		}
		k := indexOf(t.Columns, col)
		var rows [][]string
		for _, r := range t.Rows {
			if r[k] == id {
				rows = append(rows, r)
			}
		}
		p.content.Tables = append(p.content.Tables, v.table(tableSpec{id: fmt.Sprint("t", i), t: t, rows: rows, cell: cell}))
	}
	evs, err := s.eventsTable(ctx, v, EventQuery{Window: v.window, Secret: id})
	if err != nil {
		return nil, err
	}
	p.content.Tables = append(p.content.Tables, evs)
	return p, nil
}

// maxSecretID bounds a secret's id in a URL: an ARN is at most a few
// hundred characters, and every link of the page repeats it.
const maxSecretID = 2048

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return 0
}

func secretFacts(s Secret) []web.Fact {
	day := func(n sql.NullInt64) string {
		if !n.Valid {
			return "never"
		}
		return time.UnixMilli(n.Int64).UTC().Format(time.RFC3339)
	}
	rotation := web.Fact{Label: "Automatic rotation", Value: "off", Status: "warn"}
	if s.RotationEnabled {
		rotation = web.Fact{Label: "Automatic rotation", Value: "on", Status: "pass"}
		if s.RotationDays.Valid {
			rotation.Value += fmt.Sprintf(", every %d days", s.RotationDays.Int64)
		} else if s.Schedule != "" {
			rotation.Value += ", " + s.Schedule
		}
	}
	key := s.KMSKey
	if key == "" {
		key = "aws/secretsmanager (the AWS managed key)"
	}
	facts := []web.Fact{
		{Label: "Name", Value: s.Name}, {Label: "ARN", Value: s.ARN},
		{Label: "Account and region", Value: s.Account + " " + s.Region},
		{Label: "Service", Value: s.Service}, {Label: "Environment", Value: s.Environment}, {Label: "Team", Value: s.Team},
		rotation,
		{Label: "Last rotated", Value: day(s.LastRotated)}, {Label: "Next rotation", Value: day(s.NextRotation)},
		{Label: "Last accessed (day)", Value: day(s.LastAccessed)},
		{Label: "KMS key", Value: key},
		{Label: "Tags", Value: s.Tags},
	}
	if s.Deleted {
		facts = append(facts, web.Fact{Label: "Deletion", Value: "scheduled for " + day(s.DeletedDate), Status: "fail"})
	}
	return facts
}

func (s *server) events(ctx context.Context, v *view) (*page, error) {
	q := EventQuery{Window: v.window, Secret: v.values.Get("secret"), Principal: v.values.Get("principal"),
		Session: v.values.Get("session"), Kind: v.values.Get("kind")}
	if d := v.values.Get("day"); d != "" {
		t, err := time.Parse("2006-01-02", d)
		if err != nil || t.Before(v.window.From) || !t.Before(v.window.To) {
			return nil, badRequest("day %q: want a day of %s, as YYYY-MM-DD", d, v.week)
		}
		q.Window = compliance.Window{From: t, To: t.AddDate(0, 0, 1)}
	}
	if _, ok := compliance.Kinds[q.Kind]; !ok && q.Kind != "" && q.Kind != "all" {
		return nil, badRequest("kind %q: want read, denied, rotation, deleted, break-glass or all", q.Kind)
	}
	var what []string
	if q.Kind != "" && q.Kind != "all" {
		what = append(what, q.Kind)
	}
	what = append(what, "events")
	for _, kv := range [][2]string{{"of", q.Secret}, {"by", q.Principal}, {"in session", q.Session}} {
		if kv[1] != "" {
			what = append(what, kv[0], kv[1])
		}
	}
	title := strings.Join(what, " ")
	p := &page{title: strings.ToUpper(title[:1]) + title[1:] + ", " + q.Window.String()}
	t, err := s.eventsTable(ctx, v, q)
	if err != nil {
		return nil, err
	}
	p.content.Tables = []web.Table{t}
	return p, nil
}

// eventsTable is the page of events q picks that the request's
// events.page asks for.
func (s *server) eventsTable(ctx context.Context, v *view, q EventQuery) (web.Table, error) {
	pageNo, _ := strconv.Atoi(v.values.Get("events.page"))
	pageNo = min(max(pageNo, 1), countCap/pageRows+1) // no offset past what is counted, nor overflowing
	q.Limit, q.Offset = pageRows, (pageNo-1)*pageRows
	evs, total, err := s.Data.Events(ctx, q)
	if err != nil {
		return web.Table{}, err
	}
	pages := max(1, (min(total, countCap)+pageRows-1)/pageRows)
	if pageNo > pages { // past the end: the last page
		pageNo = pages
		q.Offset = (pageNo - 1) * pageRows
		if evs, total, err = s.Data.Events(ctx, q); err != nil {
			return web.Table{}, err
		}
	}
	t := web.Table{ID: "events", Title: "CloudTrail events", Total: total, Page: pageNo,
		Pages: pages, Empty: "No event matches.", More: total > countCap}
	t.Meaning = "As ingested from the trail's log files, oldest first; the file each came from is its evidence."
	if q.Secret != "" {
		t.Meaning += " The KMS calls Secrets Manager made for this secret's reads and writes are not listed when KMS allowed them: each serves a call that is."
	}
	for _, c := range []string{"time", "event", "principal", "session", "MFA", "target", "source IP", "user agent", "error", "log file"} {
		t.Columns = append(t.Columns, web.Column{Label: c})
	}
	if pageNo > 1 {
		t.Prev = v.here("events.page", strconv.Itoa(pageNo-1)) + "#events"
	}
	if pageNo < t.Pages {
		t.Next = v.here("events.page", strconv.Itoa(pageNo+1)) + "#events"
	}
	for _, e := range evs {
		target := web.Cell{Text: e.Secret}
		switch {
		case e.Secret != "":
			target.Link = v.secretLink(e.Secret)
		case e.Key != "":
			target.Text = e.Key
		default:
			target.Text = e.Parameter
		}
		mfa := web.Cell{Text: "no"}
		if e.MFA {
			mfa.Text = "yes"
		}
		errCell := web.Cell{Text: e.ErrorCode}
		if e.ErrorCode != "" {
			errCell.Status = "fail"
		}
		service, _, _ := strings.Cut(e.Source, ".")
		row := web.Row{Cells: []web.Cell{{Text: e.Time}, {Text: service + ":" + e.Name},
			{Text: e.Principal, Link: v.eventsLink("principal", e.Principal)}, {Text: e.Session}, mfa, target,
			{Text: e.SourceIP}, {Text: e.UserAgent}, errCell, {Text: logFile(e.File)}}}
		row.Flag = e.ErrorMessage
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// logFile is a log file's path from its AWSLogs folder on, the part that
// names account, region and day; the file name alone for a file kept
// elsewhere.
func logFile(path string) string {
	if i := strings.Index(path, "/AWSLogs/"); i >= 0 {
		return path[i+1:]
	}
	return filepath.Base(path)
}
