// Package web holds the dashboard's templ components and its one
// stylesheet. Components take plain view values: what to show, already
// decided by internal/dashboard; nothing here queries or computes.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"

	"github.com/a-h/templ"
)

//go:generate go tool templ generate

//go:embed static
var static embed.FS

// Static is the stylesheet folder, served under /static/.
var Static, _ = fs.Sub(static, "static")

// StyleVersion changes when app.css does, so that browsers may cache it
// for long and still see a new one at once.
var StyleVersion = func() string {
	b, _ := fs.ReadFile(Static, "app.css")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}()

// Shell is what every page around its content shows.
type Shell struct {
	Title   string
	Nav     []NavLink
	User    string // signed-in user
	SignOut bool   // the dashboard's own sign-in: show the sign-out button
	Filter  *Filter
	Notice  string // a warning above the content, such as a trail not logging reads
}

// NavLink is one entry of the top bar.
type NavLink struct {
	Label, Href string
	Current     bool
}

// Content is a page's body, shown in this order; each part may be empty.
type Content struct {
	Cards    []Card
	Facts    []Fact
	Charts   []Chart
	Timeline *Timeline
	Tables   []Table
}

// Filter is the form at the top of each page; its choices keep the page's
// path.
type Filter struct {
	Action   string
	Week     string
	Weeks    []string
	Env      string
	Envs     []string
	Service  string
	Services []string
	Hidden   [][2]string // other query values to keep, such as id
	PDF, CSV string      // download links for the window
}

// Card is one headline figure.
type Card struct {
	Label    string
	Value    string
	Previous string
	Change   string // "+12%", "−3", "new", ""
	Worse    bool   // the change is bad news
	Link     string
}

// Table is one report, as a page shows it.
type Table struct {
	ID      string // anchor and query prefix
	Title   string
	Meaning string
	Columns []Column
	Rows    []Row
	Empty   string // said when there are no rows
	Total   int    // rows before paging
	More    bool   // Total is a floor: there are more rows than counted
	Page    int
	Pages   int
	Prev    string
	Next    string
	CSV     string
}

// Column is a table header, a link that sorts by it.
type Column struct {
	Label  string
	Sort   string // link
	Sorted string // "asc", "desc" or ""
	Number bool
}

// Row is a table row; Flag highlights it (an unexpected reader, a failure).
type Row struct {
	Cells []Cell
	Flag  string // why it is highlighted, shown as its title; "" for none
}

// Cell is one value, linked when Link is set.
type Cell struct {
	Text   string
	Link   string
	Status string // pass, fail, warn: a coloured badge
	Number bool
}

// Chart is a bar chart drawn on the server as SVG: geometry decided by
// the dashboard, in the view box's units.
type Chart struct {
	Title  string
	Width  int
	Height int
	Series []Series
	Groups []BarGroup
	Ticks  []Tick
}

// Series names one colour of the chart.
type Series struct {
	Name  string
	Class string
}

// BarGroup is the bars of one label (a day).
type BarGroup struct {
	Label  string
	LabelX int
	Link   string
	Bars   []Bar
}

// Bar is one rectangle.
type Bar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

// Tick is a value line on the chart's axis.
type Tick struct {
	Y     int
	Label string
}

// Session is one break-glass session on the timeline.
type Session struct {
	Label string // who and when, the bar's tooltip
	MFA   bool
	X, Y  int
	W     int
	Link  string
}

// Timeline is the break-glass sessions of the window across its days.
type Timeline struct {
	Title    string
	Width    int
	Height   int
	Days     []Tick // Y holds the day line's x
	Sessions []Session
}

// Fact is a labelled value of the secret detail page.
type Fact struct {
	Label, Value, Status string
}

// breakAt is the length from which a cell's text may wrap.
const breakAt = 40

// breakable lets a browser wrap a long ARN or path after its ':' and '/'
// rather than anywhere or nowhere.
func breakable(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] == ':' || s[i] == '/' {
				if _, err := io.WriteString(w, templ.EscapeString(s[start:i+1])+"<wbr>"); err != nil {
					return err
				}
				start = i + 1
			}
		}
		_, err := io.WriteString(w, templ.EscapeString(s[start:]))
		return err
	})
}
