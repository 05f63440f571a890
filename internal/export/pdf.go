package export

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"codeberg.org/go-pdf/fpdf"

	"github.com/secretgate/secretgate/internal/compliance"
)

// Document is the weekly evidence as one PDF: a cover, then every table in
// the order given.
type Document struct {
	Week      string // ISO week, such as 2026-W48; from Window when empty
	Window    compliance.Window
	Generated time.Time // on the cover, and the PDF's creation date; now when zero
	Tables    []*compliance.Table
}

// PDF writes d as an A4 landscape PDF. Every table gets its title, its
// meaning and its rows (long cells wrap; the header repeats on each page);
// "headline" becomes figure cards with the change against the previous
// window, a Chart "bar" table is drawn as bars, "rotations" adds a chart of
// successes and failures per secret, and "controls" a PASS/FAIL matrix per
// control before its failing and passing rows. The same Document gives the
// same bytes.
func PDF(w io.Writer, d Document) error {
	if d.Week == "" {
		y, n := d.Window.From.ISOWeek()
		d.Week = fmt.Sprintf("%d-W%02d", y, n)
	}
	if d.Generated.IsZero() {
		d.Generated = time.Now()
	}
	d.Generated = d.Generated.UTC()
	r := newRenderer(d)
	r.cover()
	for i, t := range d.Tables {
		r.section(i, t)
	}
	r.finish()
	if err := r.pdf.Output(w); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

// Page geometry, in millimetres: A4 landscape.
const (
	pageW    = 297.0
	pageH    = 210.0
	margin   = 14.0
	contentW = pageW - 2*margin
	topY     = 20.0         // below the running header
	bottomY  = pageH - 15.0 // above the footer
	cellPad  = 1.6          // left and right of a cell's text
	rowPad   = 1.1          // above and below a row's text
	maxLines = 6            // a cell longer than this is cut, with an ellipsis
)

type rgb struct{ r, g, b int }

var (
	ink      = rgb{33, 37, 41}
	muted    = rgb{108, 117, 125}
	navy     = rgb{24, 52, 92}
	rule     = rgb{206, 212, 218}
	zebra    = rgb{243, 246, 250}
	cardFill = rgb{241, 244, 248}
	passCol  = rgb{46, 139, 87}
	failCol  = rgb{200, 45, 45}
	amber    = rgb{230, 150, 30}
	// seriesCol colours a chart's series in order.
	seriesCol = []rgb{{46, 117, 182}, {237, 125, 49}, {112, 48, 160}, {0, 150, 136}, {191, 144, 0}, {90, 90, 90}}
)

type renderer struct {
	pdf     *fpdf.Fpdf
	doc     Document
	regular *metrics // table font widths
	bold    *metrics
	links   []int  // per table, from the contents
	pages   []int  // per table, the page it starts on
	current string // the section's title, for the "(continued)" line
}

func newRenderer(d Document) *renderer {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetCreationDate(d.Generated)
	pdf.SetModificationDate(d.Generated)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("secretgate weekly evidence "+d.Week, true)
	pdf.SetSubject(d.Week+" ("+d.Window.String()+")", true)
	pdf.SetCreator("secretgate", true)
	pdf.SetProducer("secretgate", true)
	pdf.SetLang("en")
	pdf.SetMargins(margin, topY, margin)
	pdf.SetAutoPageBreak(false, 0) // every break is placed by hand
	r := &renderer{pdf: pdf, doc: d, pages: make([]int, len(d.Tables))}
	r.regular = newMetrics(pdf, "")
	r.bold = newMetrics(pdf, "B")
	return r
}

// finish goes back over the pages once all are made and the count is
// known: the contents' page numbers on the cover, and on every page its
// header and footer, "page N of M".
func (r *renderer) finish() {
	p := r.pdf
	n := p.PageCount()
	for page := 1; page <= n; page++ {
		p.SetPage(page)
		// This page's content stream holds its own last font and colours,
		// not fpdf's current ones: set them again.
		p.SetFont("Helvetica", "", 1)
		r.fill(rgb{255, 255, 255})
		p.SetCellMargin(0)
		if page == 1 {
			r.contents()
		} else {
			r.header()
		}
		r.footer(page, n)
	}
}

func (r *renderer) header() {
	p := r.pdf
	r.font("", 7.5, muted)
	p.SetXY(margin, 8)
	p.CellFormat(contentW/2, 5, enc("secretgate weekly evidence · "+r.doc.Week), "", 0, "L", false, 0, "")
	p.CellFormat(contentW/2, 5, enc(r.doc.Window.String()), "", 0, "R", false, 0, "")
	r.draw(rule)
	p.SetLineWidth(0.2)
	p.Line(margin, 13.5, pageW-margin, 13.5)
}

func (r *renderer) footer(page, pages int) {
	p := r.pdf
	r.draw(rule)
	p.SetLineWidth(0.2)
	p.Line(margin, pageH-11.5, pageW-margin, pageH-11.5)
	r.font("", 7.5, muted)
	p.SetXY(margin, pageH-10.5)
	p.CellFormat(contentW/2, 5, enc("Generated "+r.doc.Generated.Format("2006-01-02 15:04 UTC")+" by secretgate"), "", 0, "L", false, 0, "")
	p.CellFormat(contentW/2, 5, fmt.Sprintf("page %d of %d", page, pages), "", 0, "R", false, 0, "")
}

func (r *renderer) font(style string, size float64, c rgb) {
	r.pdf.SetFont("Helvetica", style, size)
	r.pdf.SetTextColor(c.r, c.g, c.b)
}

func (r *renderer) fill(c rgb) { r.pdf.SetFillColor(c.r, c.g, c.b) }
func (r *renderer) draw(c rgb) { r.pdf.SetDrawColor(c.r, c.g, c.b) }

func (r *renderer) newPage() {
	r.pdf.AddPage()
	r.pdf.SetXY(margin, topY)
}

// ensure starts a new page unless h millimetres remain on this one.
func (r *renderer) ensure(h float64) bool {
	if r.pdf.GetY()+h > bottomY {
		r.newPage()
		return true
	}
	return false
}

// cover is page 1: what, which week, when made, and the contents.
func (r *renderer) cover() {
	p := r.pdf
	p.AddPage()
	p.SetCellMargin(0)
	d := r.doc
	r.fill(navy)
	p.Rect(0, 0, pageW, 62, "F")
	r.font("B", 11, rgb{170, 190, 220})
	p.SetXY(margin+4, 16)
	p.CellFormat(0, 6, "SECRETGATE", "", 1, "L", false, 0, "")
	r.font("B", 30, rgb{255, 255, 255})
	p.SetXY(margin+4, 26)
	p.CellFormat(0, 14, "secretgate weekly evidence", "", 1, "L", false, 0, "")
	r.font("", 13, rgb{215, 225, 240})
	p.SetXY(margin+4, 42)
	p.CellFormat(0, 8, enc("Secrets access, rotation and policy controls · ISO week "+d.Week), "", 1, "L", false, 0, "")

	// Left: the facts.
	x, y := margin+4, 76.0
	last := d.Window.To.Add(-time.Nanosecond)
	facts := []struct {
		label, value string
		big          bool
	}{
		{"ISO week", d.Week, true},
		{"Window", d.Window.String(), true},
		{"", "from " + d.Window.From.Format("Monday 2 January 2006 15:04") + " UTC", false},
		{"", "to " + last.Format("Monday 2 January 2006 15:04:05") + " UTC", false},
		{"Generated", d.Generated.Format("2006-01-02 15:04:05 UTC"), true},
	}
	for _, f := range facts {
		if f.label == "Generated" {
			y += 4
		}
		r.font("", 9.5, muted)
		p.SetXY(x, y)
		p.CellFormat(26, 7, f.label, "", 0, "L", false, 0, "")
		h := 5.0
		if f.big {
			r.font("B", 14, ink)
			h = 9
			p.SetXY(x+26, y)
		} else {
			p.SetXY(x+26, y-1.5)
		}
		p.CellFormat(100, 7, enc(f.value), "", 0, "L", false, 0, "")
		y += h
	}
	r.font("", 8, muted)
	note := wrapText(enc("All times are UTC. The window runs from Monday 00:00 up to, not including, the next Monday 00:00. Each table says what it shows and what a reader should take from it."), p.GetStringWidth, 110)
	y = bottomY - 4*float64(len(note))
	for _, l := range note {
		p.SetXY(x, y)
		p.CellFormat(110, 4, l, "", 0, "L", false, 0, "")
		y += 4
	}

	for range d.Tables {
		r.links = append(r.links, p.AddLink())
	}
}

// contents lists the tables on the cover, each with its rows and page,
// linked to it.
func (r *renderer) contents() {
	p := r.pdf
	const cx, cw = 150.0, pageW - margin - 150.0
	y := 76.0
	r.font("B", 11, navy)
	p.SetXY(cx, y)
	p.CellFormat(cw, 7, "Contents", "", 0, "L", false, 0, "")
	y += 9
	r.draw(rule)
	p.SetLineWidth(0.2)
	p.Line(cx, y-0.8, cx+cw, y-0.8)
	// Closer lines when there are many tables.
	step := math.Max(5, math.Min(7, (bottomY-12-y)/float64(max(1, len(r.doc.Tables)))))
	for i, t := range r.doc.Tables {
		if y+step > bottomY-12 {
			break // more tables than the cover holds; the outline lists them all
		}
		r.font("", 9, ink)
		p.SetXY(cx, y)
		p.CellFormat(cw-40, step-1, truncate(enc(title(t)), cw-42, p.GetStringWidth), "", 0, "L", false, 0, "")
		r.font("", 9, muted)
		p.CellFormat(24, step-1, rowCount(len(t.Rows)), "", 0, "R", false, 0, "")
		p.CellFormat(16, step-1, fmt.Sprintf("page %d", r.pages[i]), "", 0, "R", false, 0, "")
		p.Link(cx, y, cw, step-1, r.links[i])
		p.Line(cx, y+step-0.6, cx+cw, y+step-0.6)
		y += step
	}
}

func title(t *compliance.Table) string {
	if t.Report == nil {
		return "Table"
	}
	return t.Report.Title
}

func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return group(float64(n)) + " rows"
}

// section draws one table: title, meaning, its picture, its rows.
func (r *renderer) section(i int, t *compliance.Table) {
	p := r.pdf
	rep := t.Report
	if rep == nil {
		rep = &compliance.Report{Name: "table", Title: "Table"}
	}
	cols := t.Columns
	if len(cols) == 0 {
		cols = rep.Columns
	}
	rows := normalise(t.Rows, len(cols))
	if len(cols) == 0 {
		rows = nil // nothing to show
	}

	r.font("", 9, ink)
	meaning := wrapText(enc(rep.Meaning), textWidth(p), 200)
	need := 6 + 8.6 + 4.4*float64(len(meaning)) + 3 // gap, title, meaning
	var tab *prepared
	switch {
	case len(rows) == 0:
		need += 8
	case rep.Name == "headline":
		need += 70
	case rep.Chart == "bar":
		need += 62
	case rep.Name == "rotations":
		need += 16 + 4.4*float64(min(len(rows), rotationBars)) + 12
	case rep.Name == "controls":
		need += 40
	default:
		tab = r.prepare(cols, rows)
		need += tab.height()
	}
	if p.PageNo() == 1 || p.GetY()+need > bottomY {
		r.newPage()
	} else {
		p.SetY(p.GetY() + 6)
	}
	y := p.GetY()
	p.Bookmark(utf16Text(rep.Title), 0, y)
	p.SetLink(r.links[i], y, -1)
	r.pages[i] = p.PageNo()
	r.current = rep.Title
	p.SetCellMargin(0)

	r.font("B", 14, navy)
	p.SetXY(margin, y)
	title := enc(rep.Title)
	p.CellFormat(p.GetStringWidth(title)+2, 8, title, "", 0, "L", false, 0, "")
	r.font("", 9, muted)
	p.CellFormat(40, 8.6, rowCount(len(rows)), "", 1, "L", false, 0, "")
	r.font("", 9, ink)
	for _, l := range meaning {
		p.SetX(margin)
		p.CellFormat(200, 4.4, l, "", 1, "L", false, 0, "")
	}
	p.SetY(p.GetY() + 3)

	if len(rows) == 0 {
		r.font("I", 9, muted)
		p.SetX(margin)
		p.CellFormat(0, 6, "none in this window", "", 1, "L", false, 0, "")
		return
	}
	switch {
	case rep.Name == "headline" && r.cards(cols, rows):
		return
	case rep.Name == "controls" && r.controls(cols, rows):
		return
	}
	if rep.Chart == "bar" {
		r.barChart(cols, rows)
	}
	if rep.Name == "rotations" {
		r.rotationChart(cols, rows)
	}
	if tab == nil {
		tab = r.prepare(cols, rows)
	}
	r.table(tab)
}

func textWidth(p *fpdf.Fpdf) func(string) float64 { return p.GetStringWidth }

// normalise gives every row exactly n cells.
func normalise(rows [][]string, n int) [][]string {
	out := make([][]string, len(rows))
	for i, row := range rows {
		if len(row) == n {
			out[i] = row
			continue
		}
		c := make([]string, n)
		copy(c, row)
		out[i] = c
	}
	return out
}

// cards draws the headline figures, three to a line, each with the
// previous window and the change. It reports false, drawing nothing, when
// the rows are not figure, this, previous with numbers.
func (r *renderer) cards(cols []string, rows [][]string) bool {
	if len(cols) < 3 {
		return false
	}
	type card struct {
		label      string
		this, prev float64
	}
	var cs []card
	for _, row := range rows {
		a, err1 := parseNumber(row[1])
		b, err2 := parseNumber(row[2])
		if err1 != nil || err2 != nil {
			return false
		}
		cs = append(cs, card{row[0], a, b})
	}
	p := r.pdf
	per := 3
	if len(cs) == 4 {
		per = 4
	} else if len(cs) < 3 {
		per = len(cs)
	}
	const gap, h = 5.0, 27.0
	w := (contentW - gap*float64(per-1)) / float64(per)
	y := p.GetY() + 1
	for i, c := range cs {
		if i%per == 0 && i > 0 {
			y += h + gap
		}
		if y+h > bottomY {
			r.newPage()
			r.continued()
			y = p.GetY()
		}
		x := margin + float64(i%per)*(w+gap)
		r.fill(cardFill)
		p.RoundedRect(x, y, w, h, 1.5, "1234", "F")
		r.fill(navy)
		p.Rect(x, y, 1.6, h, "F")

		r.font("B", 8.5, muted)
		p.SetXY(x+6, y+3)
		p.CellFormat(w-10, 5, enc(c.label), "", 0, "L", false, 0, "")
		r.font("B", 22, ink)
		p.SetXY(x+6, y+8)
		p.CellFormat(w-10, 10, group(c.this), "", 0, "L", false, 0, "")
		r.font("", 8, muted)
		p.SetXY(x+6, y+19.5)
		p.CellFormat(w/2, 5, enc("previous window "+group(c.prev)), "", 0, "L", false, 0, "")

		// The change, right-aligned, with a triangle that points its way.
		d := c.this - c.prev
		txt := change(c.this, c.prev)
		r.font("B", 10, ink)
		tw := p.GetStringWidth(txt)
		tx := x + w - 5 - tw
		p.SetXY(tx, y+19)
		p.CellFormat(tw, 6, txt, "", 0, "L", false, 0, "")
		r.fill(ink)
		cx, cy := tx-3.2, y+22
		switch {
		case d > 0:
			p.Polygon([]fpdf.PointType{{X: cx - 1.6, Y: cy + 1.2}, {X: cx + 1.6, Y: cy + 1.2}, {X: cx, Y: cy - 1.4}}, "F")
		case d < 0:
			p.Polygon([]fpdf.PointType{{X: cx - 1.6, Y: cy - 1.2}, {X: cx + 1.6, Y: cy - 1.2}, {X: cx, Y: cy + 1.4}}, "F")
		}
	}
	p.SetY(y + h + 2)
	return true
}

// change is "+12 (+5.0%)", "-3 (-20%)", "-6 (<0.1%)", "+4" from zero, or
// "no change".
func change(this, prev float64) string {
	d := this - prev
	if d == 0 {
		return "no change"
	}
	s := signed(d)
	if prev == 0 {
		return s
	}
	pct := d / math.Abs(prev) * 100
	var ps string
	switch a := math.Abs(pct); {
	case a < 0.1:
		ps = "<0.1%"
	case a < 10:
		ps = fmt.Sprintf("%+.1f%%", pct)
	default:
		ps = fmt.Sprintf("%+.0f%%", pct)
	}
	return s + " (" + ps + ")"
}

func signed(v float64) string {
	if v > 0 {
		return "+" + group(v)
	}
	return "-" + group(-v)
}

// group writes v with thousands separators, and decimals only if it has
// them: 249454 is "249,454".
func group(v float64) string {
	neg := v < 0
	v = math.Abs(v)
	whole := math.Floor(v)
	frac := ""
	if v != whole {
		frac = strings.TrimRight(strconv.FormatFloat(v-whole, 'f', 2, 64)[1:], "0")
		if frac == "." {
			frac = ""
		}
	}
	s := strconv.FormatFloat(whole, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + frac
	}
	return b.String() + frac
}

func parseNumber(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// numericColumns reports which columns hold numbers only (blanks allowed).
func numericColumns(n int, rows [][]string) []bool {
	num := make([]bool, n)
	for c := range n {
		seen := false
		num[c] = true
		for _, row := range rows {
			v := strings.TrimSpace(row[c])
			if v == "" {
				continue
			}
			if _, err := parseNumber(v); err != nil {
				num[c] = false
				break
			}
			seen = true
		}
		num[c] = num[c] && seen
	}
	return num
}

// controls draws the control matrix (PASS and FAIL per control, with a bar
// each), then the failing rows, then the rest. It reports false, drawing
// nothing, without "control" and "status" columns.
func (r *renderer) controls(cols []string, rows [][]string) bool {
	ci, si := column(cols, "control"), column(cols, "status")
	if ci < 0 || si < 0 {
		return false
	}
	type count struct {
		id         string
		pass, fail int
	}
	var order []*count
	by := map[string]*count{}
	var failing, other, passing [][]string
	for _, row := range rows {
		c := by[row[ci]]
		if c == nil {
			c = &count{id: row[ci]}
			by[row[ci]] = c
			order = append(order, c)
		}
		switch strings.ToUpper(strings.TrimSpace(row[si])) {
		case "PASS":
			c.pass++
			passing = append(passing, row)
		case "FAIL":
			c.fail++
			failing = append(failing, row)
		default:
			other = append(other, row)
		}
	}

	p := r.pdf
	widths := []float64{42, 20, 20, 22, contentW - 104}
	heads := [][]string{{"control"}, {"PASS"}, {"FAIL"}, {"pass rate"}, {"PASS and FAIL"}}
	const rh = 7.0
	r.ensure(rh * float64(len(order)+2))
	y := p.GetY()
	r.headerRow(y, widths, heads, []bool{false, true, true, true, false}, rh, 7.5)
	y += rh
	most := 0
	for _, c := range order {
		most = max(most, c.pass+c.fail)
	}
	for i, c := range order {
		if y+rh > bottomY {
			r.newPage()
			r.continued()
			y = p.GetY()
			r.headerRow(y, widths, heads, []bool{false, true, true, true, false}, rh, 7.5)
			y += rh
		}
		if i%2 == 1 {
			r.fill(zebra)
			p.Rect(margin, y, sum(widths), rh, "F")
		}
		x := margin
		total := c.pass + c.fail
		rate := "-"
		if total > 0 {
			rate = fmt.Sprintf("%.0f%%", 100*float64(c.pass)/float64(total))
		}
		cells := []string{c.id, strconv.Itoa(c.pass), strconv.Itoa(c.fail), rate}
		for j, s := range cells {
			style, col := "", ink
			if j == 0 {
				style = "B"
			}
			if j == 2 && c.fail > 0 {
				style, col = "B", failCol
			}
			r.font(style, 8.5, col)
			p.SetXY(x, y)
			align := "R"
			if j == 0 {
				align = "L"
			}
			p.SetCellMargin(cellPad)
			p.CellFormat(widths[j], rh, enc(s), "", 0, align, false, 0, "")
			x += widths[j]
		}
		// The bar: passes in green, failures in red, to one scale.
		bw := widths[4] - 2*cellPad
		if most > 0 && total > 0 {
			bx := x + cellPad
			pw := bw * float64(c.pass) / float64(most)
			fw := bw * float64(c.fail) / float64(most)
			r.segment(bx, y+1.5, pw, rh-3, passCol, float64(c.pass))
			r.segment(bx+pw, y+1.5, fw, rh-3, failCol, float64(c.fail))
		}
		y += rh
	}
	r.draw(rule)
	p.SetLineWidth(0.2)
	p.Line(margin, y, margin+sum(widths), y)
	p.SetY(y + 2)
	r.legend(margin, p.GetY(), []string{"PASS", "FAIL"}, []rgb{passCol, failCol})
	p.SetY(p.GetY() + 7)

	groups := []struct {
		title string
		rows  [][]string
		empty string
	}{
		{"Failing", failing, "No control failed."},
		{"Other results", other, ""},
		{"Passing", passing, ""},
	}
	for _, g := range groups {
		if len(g.rows) == 0 && g.empty == "" {
			continue
		}
		var tab *prepared
		need := 7.0
		if len(g.rows) > 0 {
			tab = r.prepare(cols, g.rows)
			need += tab.height()
		}
		r.ensure(need)
		p.SetCellMargin(0)
		r.font("B", 10.5, navy)
		p.SetX(margin)
		p.CellFormat(0, 7, enc(fmt.Sprintf("%s (%s)", g.title, rowCount(len(g.rows)))), "", 1, "L", false, 0, "")
		if len(g.rows) == 0 {
			r.font("I", 9, muted)
			p.SetX(margin)
			p.CellFormat(0, 6, g.empty, "", 1, "L", false, 0, "")
			p.SetY(p.GetY() + 3)
			continue
		}
		r.table(tab)
		p.SetY(p.GetY() + 4)
	}
	return true
}

// segment is one coloured part of a bar, its count inside when it fits.
func (r *renderer) segment(x, y, w, h float64, c rgb, n float64) {
	if w <= 0 {
		return
	}
	p := r.pdf
	r.fill(c)
	p.Rect(x, y, w, h, "F")
	s := group(n)
	r.font("B", 6.5, rgb{255, 255, 255})
	if sw := p.GetStringWidth(s); sw+2 < w {
		p.SetXY(x, y)
		p.SetCellMargin(0)
		p.CellFormat(w, h, s, "", 0, "C", false, 0, "")
	}
}

func column(cols []string, name string) int {
	for i, c := range cols {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// legend draws a coloured square and a name per series, left to right.
func (r *renderer) legend(x, y float64, names []string, colors []rgb) {
	p := r.pdf
	r.font("", 7.5, ink)
	for i, n := range names {
		r.fill(colors[i])
		p.Rect(x, y+1, 3, 3, "F")
		n = enc(n)
		p.SetXY(x+4, y)
		p.SetCellMargin(0)
		w := p.GetStringWidth(n)
		p.CellFormat(w, 5, n, "", 0, "L", false, 0, "")
		x += 4 + w + 6
	}
}

// series is one numeric column of a chart.
type series struct {
	name   string
	values []float64
	color  rgb
}

// chartSeries reads the columns after the first as numbers: a column with
// anything else is no series.
func chartSeries(cols []string, rows [][]string) []series {
	var ss []series
	for c := 1; c < len(cols); c++ {
		s := series{name: cols[c], values: make([]float64, len(rows))}
		ok := true
		for i, row := range rows {
			v := strings.TrimSpace(row[c])
			if v == "" {
				continue
			}
			f, err := parseNumber(v)
			if err != nil {
				ok = false
				break
			}
			s.values[i] = f
		}
		if ok {
			s.color = seriesCol[len(ss)%len(seriesCol)]
			ss = append(ss, s)
		}
	}
	return ss
}

// barChart draws a Chart "bar" table: one group of bars per row. Series of
// very different sizes (reads in thousands, denials in units) get a panel
// each, with its own scale, so the small one is not a flat line.
func (r *renderer) barChart(cols []string, rows [][]string) {
	ss := chartSeries(cols, rows)
	if len(ss) == 0 {
		return
	}
	labels := make([]string, len(rows))
	dates := true
	for i, row := range rows {
		labels[i] = row[0]
		if _, err := time.Parse("2006-01-02", row[0]); err != nil {
			dates = false
		}
	}
	if dates {
		for i, l := range labels {
			t, _ := time.Parse("2006-01-02", l)
			labels[i] = t.Format("Mon 2 Jan")
		}
	}
	// As tall as the page allows, between 50 and 72 mm.
	p := r.pdf
	h := math.Min(72, bottomY-p.GetY()-12)
	if h < 50 {
		r.newPage()
		r.continued()
		h = 72
	}
	y := p.GetY()
	names := make([]string, len(ss))
	colors := make([]rgb, len(ss))
	for i, s := range ss {
		names[i], colors[i] = s.name, s.color
	}
	r.legend(margin, y, names, colors)
	y += 7

	split := false
	lo, hi := math.Inf(1), 0.0
	for _, s := range ss {
		m := maxOf(s.values)
		hi = math.Max(hi, m)
		if m > 0 {
			lo = math.Min(lo, m)
		}
	}
	if len(ss) > 1 && len(ss) <= 4 && hi > 0 && hi/lo > 8 {
		split = true
	}
	if split {
		const gap = 10.0
		w := (contentW - gap*float64(len(ss)-1)) / float64(len(ss))
		for i, s := range ss {
			r.bars(margin+float64(i)*(w+gap), y, w, h, labels, []series{s}, s.name)
		}
	} else {
		r.bars(margin, y, contentW, h, labels, ss, "")
	}
	p.SetY(y + h + 5)
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// niceScale gives an axis top and step covering m in about four steps of
// 1, 2 or 5 times a power of ten.
func niceScale(m float64) (top, step float64) {
	if m <= 0 {
		return 1, 1
	}
	raw := m / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if step = f * mag; step >= raw {
			break
		}
	}
	if step < 1 && m >= 1 {
		step = 1
	}
	return math.Ceil(m/step) * step, step
}

// bars draws one panel of vertical grouped bars with its axis.
func (r *renderer) bars(x, y, w, h float64, labels []string, ss []series, title string) {
	p := r.pdf
	top := y
	if title != "" {
		r.font("B", 8.5, ink)
		p.SetXY(x, y)
		p.SetCellMargin(0)
		p.CellFormat(w, 5, enc(title), "", 0, "L", false, 0, "")
		top += 7
	}
	m := 0.0
	for _, s := range ss {
		m = math.Max(m, maxOf(s.values))
	}
	vmax, step := niceScale(m)
	r.font("", 6.5, muted)
	axisW := p.GetStringWidth(group(vmax)) + 3
	px, pw := x+axisW, w-axisW
	py, ph := top+3, y+h-(top+3)-7 // leave room for the labels below
	base := py + ph

	// Grid and scale.
	p.SetLineWidth(0.15)
	r.draw(rule)
	for v := 0.0; v <= vmax+step/2; v += step {
		ly := base - ph*v/vmax
		p.Line(px, ly, px+pw, ly)
		p.SetXY(x, ly-2)
		p.CellFormat(axisW-1.5, 4, group(v), "", 0, "R", false, 0, "")
	}

	n := len(labels)
	gw := pw / float64(n)
	bw := math.Min(gw*0.78/float64(len(ss)), 16)
	inner := bw * float64(len(ss))
	showValues := n*len(ss) <= 48
	for i := range n {
		gx := px + float64(i)*gw + (gw-inner)/2
		for j, s := range ss {
			v := s.values[i]
			bh := ph * v / vmax
			r.fill(s.color)
			if bh > 0 {
				p.Rect(gx+float64(j)*bw, base-bh, bw, bh, "F")
			}
			if showValues {
				r.font("", 6, ink)
				t := group(v)
				if tw := p.GetStringWidth(t); tw <= bw+gw*0.2/float64(len(ss)) || len(ss) == 1 {
					p.SetXY(gx+float64(j)*bw-3, base-bh-3.6)
					p.CellFormat(bw+6, 3.4, t, "", 0, "C", false, 0, "")
				}
			}
		}
	}
	// The axis over the bars' feet.
	r.draw(muted)
	p.SetLineWidth(0.3)
	p.Line(px, base, px+pw, base)

	// Labels under the groups: every k-th when they would collide.
	r.font("", 6.5, ink)
	widest := 0.0
	for _, l := range labels {
		widest = math.Max(widest, p.GetStringWidth(enc(l)))
	}
	k := max(1, int(math.Ceil((widest+1.5)/gw)))
	for i := 0; i < n; i += k {
		p.SetXY(px+float64(i)*gw+gw/2-widest, base+1.2)
		p.CellFormat(2*widest, 4, enc(labels[i]), "", 0, "C", false, 0, "")
	}
}

// rotationBars is the most secrets the rotation chart shows.
const rotationBars = 34

// rotationChart draws, per secret, its rotations as one bar stacked by
// outcome (succeeded, failed, and abandoned when the table has it),
// secrets with failures first.
func (r *renderer) rotationChart(cols []string, rows [][]string) {
	type outcome struct {
		col   int
		name  string
		color rgb
	}
	var outs []outcome
	for _, o := range []outcome{{name: "succeeded", color: passCol}, {name: "failed", color: failCol}, {name: "abandoned", color: amber}} {
		if o.col = column(cols, o.name); o.col >= 0 {
			outs = append(outs, o)
		}
	}
	if len(outs) < 2 || outs[0].name != "succeeded" || outs[1].name != "failed" {
		return
	}
	type bar struct {
		label string
		n     []float64 // per outcome
	}
	bs := make([]bar, len(rows))
	for i, row := range rows {
		bs[i] = bar{label: row[0], n: make([]float64, len(outs))}
		for k, o := range outs {
			bs[i].n[k], _ = parseNumber(row[o.col])
		}
	}
	sort.SliceStable(bs, func(a, b int) bool { return bs[a].n[1] > bs[b].n[1] })
	const step, bh = 4.4, 3.2
	note := ""
	if len(bs) > rotationBars {
		note = fmt.Sprintf("The %d secrets with the most failures, of %d; every secret is in the table below.", rotationBars, len(bs))
		bs = bs[:rotationBars]
	}
	labels := make([]string, len(bs))
	for i, b := range bs {
		labels[i] = b.label
	}
	labels = shortLabels(labels)

	p := r.pdf
	h := 8 + step*float64(len(bs)) + 8
	if note != "" {
		h += 5
	}
	r.ensure(h)
	y := p.GetY()
	r.font("B", 10.5, navy)
	p.SetXY(margin, y)
	p.SetCellMargin(0)
	p.CellFormat(90, 6, "Rotation status by secret", "", 0, "L", false, 0, "")
	names, colors := make([]string, len(outs)), make([]rgb, len(outs))
	for k, o := range outs {
		names[k], colors[k] = o.name, o.color
	}
	r.legend(margin+90, y+0.5, names, colors)
	y += 8

	r.font("", 7, ink)
	lw := 0.0
	for i := range labels {
		labels[i] = enc(labels[i])
		lw = math.Max(lw, p.GetStringWidth(labels[i]))
	}
	lw = math.Min(lw+3, contentW*0.35)
	most := 0.0
	for _, b := range bs {
		most = math.Max(most, sum(b.n))
	}
	vmax, vstep := niceScale(most)
	bx, bw := margin+lw, contentW-lw-4
	base := y + step*float64(len(bs))
	// Vertical grid with the scale under it.
	p.SetLineWidth(0.15)
	r.draw(rule)
	r.font("", 6.5, muted)
	for v := 0.0; v <= vmax+vstep/2; v += vstep {
		gx := bx + bw*v/vmax
		p.Line(gx, y-1, gx, base)
		p.SetXY(gx-10, base+0.8)
		p.CellFormat(20, 3.5, group(v), "", 0, "C", false, 0, "")
	}
	for i, b := range bs {
		by := y + float64(i)*step
		r.font("", 7, ink)
		p.SetXY(margin, by)
		p.CellFormat(lw-2, bh, truncate(labels[i], lw-2, p.GetStringWidth), "", 0, "R", false, 0, "")
		x := bx
		for k, o := range outs {
			w := bw * b.n[k] / vmax
			r.segment(x, by, w, bh, o.color, b.n[k])
			x += w
		}
	}
	r.draw(muted)
	p.SetLineWidth(0.3)
	p.Line(bx, y-1, bx, base)
	y = base + 6
	if note != "" {
		r.font("I", 7.5, muted)
		p.SetXY(margin, y)
		p.CellFormat(0, 4, enc(note), "", 0, "L", false, 0, "")
		y += 5
	}
	p.SetY(y + 2)
}

// shortLabels turns AWS ARNs into their resource names
// (arn:aws:secretsmanager:…:secret:app/db → app/db), adding the account
// where two would read the same.
func shortLabels(in []string) []string {
	out := make([]string, len(in))
	seen := map[string]int{}
	for i, s := range in {
		out[i] = s
		if f := strings.SplitN(s, ":", 6); len(f) == 6 && f[0] == "arn" {
			res := f[5]
			if j := strings.IndexAny(res, ":/"); j >= 0 && strings.HasPrefix(res, "secret") {
				res = res[j+1:]
			}
			out[i] = res
		}
		seen[out[i]]++
	}
	for i, s := range in {
		if f := strings.SplitN(s, ":", 6); seen[out[i]] > 1 && len(f) == 6 && f[0] == "arn" && f[4] != "" {
			out[i] += " (" + f[4] + ")"
		}
	}
	return out
}

// truncate shortens s with an ellipsis to fit w.
func truncate(s string, w float64, width func(string) float64) string {
	if width(s) <= w {
		return s
	}
	for len(s) > 0 && width(s+"\x85") > w {
		s = s[:len(s)-1]
	}
	return s + "\x85"
}

// continued repeats the section's title on a new page.
func (r *renderer) continued() {
	p := r.pdf
	p.SetCellMargin(0)
	r.font("B", 9, muted)
	p.SetX(margin)
	p.CellFormat(0, 6, enc(r.current+" (continued)"), "", 1, "L", false, 0, "")
	p.SetY(p.GetY() + 1)
}

// headerRow draws a table's header, white on navy, each name on the lines
// given; numbers' headers are right-aligned like their numbers.
func (r *renderer) headerRow(y float64, widths []float64, heads [][]string, right []bool, h, size float64) {
	p := r.pdf
	r.fill(navy)
	p.Rect(margin, y, sum(widths), h, "F")
	r.font("B", size, rgb{255, 255, 255})
	p.SetCellMargin(cellPad)
	lh := lineHeight(size)
	x := margin
	for i, lines := range heads {
		align := "L"
		if right[i] {
			align = "R"
		}
		ly := y + (h-lh*float64(len(lines)))/2
		for j, l := range lines {
			p.SetXY(x, ly+float64(j)*lh)
			p.CellFormat(widths[i], lh, l, "", 0, align, false, 0, "")
		}
		x += widths[i]
	}
}

func lineHeight(size float64) float64 { return size * 0.44 }

// tableSizes are the font sizes a table may take, largest first: a wide
// table gets a smaller size before any of its cells wrap.
var tableSizes = []float64{7.5, 7, 6.5}

// grid is a table laid out for the page: a font size, column widths, and
// every cell's lines.
type grid struct {
	size    float64
	widths  []float64
	heads   [][]string
	headH   float64
	lines   [][][]string
	heights []float64
}

// layout sets cells (cp1252) under heads: at the largest size at which no
// cell wraps, else at 7 points with the width shared out by shareWidths.
func (r *renderer) layout(heads []string, cells [][]string) *grid {
	n := len(heads)
	// Widths at 1 point: each cell's widest line, each header and its
	// widest word.
	cellW := make([][]float64, n)
	headW, wordW := make([]float64, n), make([]float64, n)
	for j, h := range heads {
		headW[j] = r.bold.width(h)
		for _, w := range strings.Fields(h) {
			wordW[j] = math.Max(wordW[j], r.bold.width(w))
		}
		cellW[j] = make([]float64, len(cells))
		for i, row := range cells {
			for _, l := range strings.Split(row[j], "\n") {
				cellW[j][i] = math.Max(cellW[j][i], r.regular.width(l))
			}
		}
	}
	natural := func(size float64) []float64 {
		nat := make([]float64, n)
		for j := range n {
			nat[j] = headW[j]
			for _, w := range cellW[j] {
				nat[j] = math.Max(nat[j], w)
			}
			nat[j] = nat[j]*size + 2*cellPad
		}
		return nat
	}
	var g *grid
	for _, size := range tableSizes {
		if nat := natural(size); sum(nat) <= contentW {
			g = &grid{size: size, widths: spread(nat)}
			break
		}
	}
	if g == nil {
		const size = 7.0
		g = &grid{size: size, widths: shareWidths(natural(size), cellW, wordW, size)}
	}
	lh := lineHeight(g.size)
	g.heads = make([][]string, n)
	for j, h := range heads {
		g.heads[j] = wrap(h, g.widths[j]-2*cellPad, r.bold, g.size)
		g.headH = math.Max(g.headH, float64(len(g.heads[j])))
	}
	g.headH = g.headH*lh + 2*rowPad
	g.lines = make([][][]string, len(cells))
	g.heights = make([]float64, len(cells))
	for i, row := range cells {
		g.lines[i] = make([][]string, n)
		most := 1
		for j, c := range row {
			w := g.widths[j] - 2*cellPad
			ls := wrap(c, w, r.regular, g.size)
			if len(ls) > maxLines {
				ls = ls[:maxLines]
				ls[maxLines-1] = truncate(ls[maxLines-1]+"\x85", w, func(s string) float64 { return r.regular.width(s) * g.size })
			}
			g.lines[i][j] = ls
			most = max(most, len(ls))
		}
		g.heights[i] = float64(most)*lh + 2*rowPad
	}
	return g
}

// spread gives a table that fits its natural widths and the page's spare
// width, evenly; a table much narrower than the page keeps some of it.
func spread(nat []float64) []float64 {
	total := sum(nat)
	extra := contentW - total
	if total < contentW*0.6 {
		extra = math.Min(extra, 8*float64(len(nat)))
	}
	out := make([]float64, len(nat))
	for j := range nat {
		out[j] = nat[j] + extra/float64(len(nat))
	}
	return out
}

// shareWidths fits a table wider than the page. Each column first gets its
// floor: its header's widest word, and up to 35 mm so that times and short
// values never wrap. The columns that may wrap then try widths that show
// a tenth, two tenths … all of their cells on one line, and the set that
// fits the page and keeps the most rows on one line wins (ties: the fewest
// wrapped cells). So a column of short cells and a few long ones (an error
// message) wraps those few, not every row of another column. What is left
// is shared by the columns that still wrap, the narrowest first.
func shareWidths(nat []float64, cellW [][]float64, wordW []float64, size float64) []float64 {
	n := len(nat)
	floor := make([]float64, n)
	for j := range n {
		floor[j] = math.Min(math.Max(wordW[j]*size+2*cellPad, math.Min(nat[j], 35)), nat[j])
	}
	if s := sum(floor); s >= contentW {
		for j := range floor {
			floor[j] *= contentW / s
		}
		return floor
	}
	// The columns that may wrap, widest first, at most four.
	var wide []int
	for j := range n {
		if nat[j] > floor[j] {
			wide = append(wide, j)
		}
	}
	sort.SliceStable(wide, func(a, b int) bool { return nat[wide[a]]-floor[wide[a]] > nat[wide[b]]-floor[wide[b]] })
	if len(wide) > 4 {
		wide = wide[:4]
	}
	// Each one's candidate widths: its floor and its cells' deciles.
	need := func(w float64) float64 { return math.Ceil((w*size+2*cellPad)*2) / 2 }
	cands := make([][]float64, len(wide))
	for k, j := range wide {
		ws := append([]float64(nil), cellW[j]...)
		sort.Float64s(ws)
		cs := []float64{floor[j]}
		for q := 1; q <= 10 && len(ws) > 0; q++ {
			i := (len(ws)*q+9)/10 - 1
			if w := need(ws[max(i, 0)]); w > cs[len(cs)-1] {
				cs = append(cs, math.Min(w, nat[j]))
			}
		}
		cands[k] = cs
	}
	// The rows to score: at most 400, spread over the table.
	rows := len(cellW[0])
	stride := max(1, rows/400)
	budget := contentW - sum(floor)
	best := make([]float64, len(wide))
	bestRows, bestCells := -1, 0
	try := make([]float64, len(wide))
	var walk func(k int, spent float64)
	walk = func(k int, spent float64) {
		if k < len(wide) {
			for _, c := range cands[k] {
				if cost := c - floor[wide[k]]; spent+cost <= budget {
					try[k] = c
					walk(k+1, spent+cost)
				}
			}
			return
		}
		whole, cells := 0, 0
		for i := 0; i < rows; i += stride {
			ok := true
			for k, j := range wide {
				if need(cellW[j][i]) > try[k] {
					ok = false
					cells++
				}
			}
			if ok {
				whole++
			}
		}
		if whole > bestRows || whole == bestRows && cells < bestCells {
			bestRows, bestCells = whole, cells
			copy(best, try)
		}
	}
	walk(0, 0)
	out := append([]float64(nil), floor...)
	for k, j := range wide {
		out[j] = best[k]
	}
	return level(out, nat)
}

// level raises base towards top under one common cap, so that the columns
// together take the page's width.
func level(base, top []float64) []float64 {
	width := func(c float64) float64 {
		s := 0.0
		for j := range base {
			s += math.Max(base[j], math.Min(top[j], c))
		}
		return s
	}
	lo, hi := 0.0, contentW
	for range 60 {
		mid := (lo + hi) / 2
		if width(mid) > contentW {
			hi = mid
		} else {
			lo = mid
		}
	}
	out := make([]float64, len(base))
	for j := range base {
		out[j] = math.Max(base[j], math.Min(top[j], lo))
	}
	// The rounding's crumbs go to the widest column.
	widest := 0
	for j := range out {
		if out[j] > out[widest] {
			widest = j
		}
	}
	out[widest] += contentW - sum(out)
	return out
}

// prepared is a table laid out and ready to draw.
type prepared struct {
	grid  *grid
	cells [][]string // cp1252
	right []bool     // numeric columns
}

func (r *renderer) prepare(cols []string, rows [][]string) *prepared {
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = enc(strings.ReplaceAll(c, "_", " "))
	}
	cells := make([][]string, len(rows))
	for i, row := range rows {
		cells[i] = make([]string, len(cols))
		for j := range cols {
			cells[i][j] = enc(row[j])
		}
	}
	return &prepared{grid: r.layout(heads, cells), cells: cells, right: numericColumns(len(cols), rows)}
}

// height is how much of a page the table's start needs: all of it when it
// is short (a short table is never split), else its header and three rows.
func (t *prepared) height() float64 {
	g := t.grid
	h := g.headH + sum(g.heights)
	if h <= 90 {
		return h
	}
	h = g.headH
	for _, x := range g.heights[:min(3, len(g.heights))] {
		h += x
	}
	return h
}

// table draws rows under a header that repeats on every page they reach.
// Numeric columns are right-aligned; PASS is green and FAIL and NO red.
func (r *renderer) table(t *prepared) {
	p := r.pdf
	g, cells, right := t.grid, t.cells, t.right
	lh := lineHeight(g.size)

	tw := sum(g.widths)
	first := 0.0
	if len(g.heights) > 0 {
		first = g.heights[0]
	}
	if r.ensure(g.headH + first) {
		r.continued()
	}
	y := p.GetY()
	r.headerRow(y, g.widths, g.heads, right, g.headH, g.size)
	y += g.headH
	for i, row := range g.lines {
		if y+g.heights[i] > bottomY {
			r.closeTable(y, tw)
			r.newPage()
			r.continued()
			y = p.GetY()
			r.headerRow(y, g.widths, g.heads, right, g.headH, g.size)
			y += g.headH
		}
		if i%2 == 1 {
			r.fill(zebra)
			p.Rect(margin, y, tw, g.heights[i], "F")
		}
		p.SetCellMargin(cellPad)
		x := margin
		for j, ls := range row {
			style, c := "", ink
			switch strings.TrimSpace(cells[i][j]) {
			case "FAIL", "NO":
				style, c = "B", failCol
			case "PASS":
				style, c = "B", passCol
			}
			r.font(style, g.size, c)
			align := "L"
			if right[j] {
				align = "R"
			}
			for k, l := range ls {
				p.SetXY(x, y+rowPad+float64(k)*lh)
				p.CellFormat(g.widths[j], lh, l, "", 0, align, false, 0, "")
			}
			x += g.widths[j]
		}
		y += g.heights[i]
	}
	r.closeTable(y, tw)
	p.SetY(y + 2)
}

func (r *renderer) closeTable(y, w float64) {
	r.draw(rule)
	r.pdf.SetLineWidth(0.2)
	r.pdf.Line(margin, y, margin+w, y)
}

// metrics are a font's glyph widths at 1 point, in millimetres, by cp1252
// byte.
type metrics [256]float64

func newMetrics(p *fpdf.Fpdf, style string) *metrics {
	p.SetFont("Helvetica", style, 1)
	var m metrics
	for b := range 256 {
		m[b] = p.GetStringWidth(string([]byte{byte(b)}))
	}
	return &m
}

func (m *metrics) width(s string) float64 {
	w := 0.0
	for i := 0; i < len(s); i++ {
		w += m[s[i]]
	}
	return w
}

// wrap breaks cp1252 text set at size points into lines no wider than w.
// It breaks at a space or after a colon or slash (the joints of ARNs and
// paths) unless that leaves the line less than half full, then after
// - _ , ; . @ = & | ?, and anywhere when nothing else will do. Newlines
// are kept.
func wrap(s string, w float64, m *metrics, size float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		cut := false
		for m.width(para)*size > w && len(para) > 1 {
			cut = true
			acc, end, strong, weak := 0.0, 0, -1, -1
			for end < len(para) {
				acc += m[para[end]] * size
				if acc > w && end > 0 {
					break
				}
				switch para[end] {
				case ' ':
					strong = end // the space is dropped
				case ':', '/':
					strong = end + 1
				case '-', '_', ',', ';', '.', '@', '=', '&', '|', '?':
					weak = end + 1
				}
				end++
			}
			at := end
			switch {
			case strong > 0 && 2*strong >= end:
				at = strong
			case weak > 0 && weak > strong:
				at = weak
			case strong > 0:
				at = strong
			}
			out = append(out, strings.TrimRight(para[:at], " "))
			para = strings.TrimLeft(para[at:], " ")
		}
		if para != "" || !cut {
			out = append(out, para)
		}
	}
	return out
}

// wrapText wraps a paragraph at spaces only, for prose.
func wrapText(s string, width func(string) float64, w float64) []string {
	if s == "" {
		return nil
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if line != "" && width(try) > w-2 {
			lines = append(lines, line)
			line = word
			continue
		}
		line = try
	}
	return append(lines, line)
}

// cp1252 is Windows-1252 above Latin-1's C1 range: the core PDF fonts'
// encoding as fpdf uses it.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// lookalike spells characters cp1252 lacks with ones it has.
var lookalike = map[rune]string{
	'✓': "OK", '✔': "OK", '☑': "OK", '✗': "X", '✘': "X", '☒': "X",
	'−': "-", '‐': "-", '‑': "-", '‒': "–", '―': "—",
	'→': "->", '←': "<-", '⇒': "=>", '↔': "<->",
	'≤': "<=", '≥': ">=", '≠': "!=", '≈': "~",
	'\u2009': " ", '\u202f': " ", '\u2002': " ", '\u2003': " ", '\u200b': "",
	'\ufeff': "", '′': "'", '″': "\"", '\u2028': "\n",
}

// enc turns UTF-8 into the cp1252 bytes fpdf's core fonts draw:
// characters without a cp1252 form become a look-alike, or "?" (never the
// mojibake of their UTF-8 bytes). Tabs and carriage returns become spaces.
func enc(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || (c < 0x20 && c != '\n') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n':
			b.WriteByte('\n')
		case c < 0x20 || c == 0x7f:
			b.WriteByte(' ')
		case c < 0x80:
			b.WriteByte(byte(c))
		case c >= 0xa0 && c <= 0xff:
			b.WriteByte(byte(c))
		default:
			if x, ok := cp1252[c]; ok {
				b.WriteByte(x)
			} else if l, ok := lookalike[c]; ok {
				b.WriteString(enc(l))
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// utf16Text is s as a PDF text string in UTF-16BE with its byte order
// mark, for the outline, which does not go through a font.
func utf16Text(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xfe, 0xff
	for _, x := range u {
		b = append(b, byte(x>>8), byte(x))
	}
	return string(b)
}
