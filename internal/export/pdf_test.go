package export

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
)

// The PDF tests read what they render with poppler (pdftotext, pdfinfo,
// pdftoppm), as a reader's viewer would. Without poppler they fail, unless
// SECRETGATE_SKIP_POPPLER=1. SECRETGATE_PDF_DIR keeps the PDFs and page
// images there for a look.

func needPoppler(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfinfo", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("SECRETGATE_SKIP_POPPLER") == "1" {
				t.Skipf("%s not installed and SECRETGATE_SKIP_POPPLER=1", tool)
			}
			t.Fatalf("%s not found: the PDF tests need poppler (apt-get install poppler-utils), or set SECRETGATE_SKIP_POPPLER=1 to skip them", tool)
		}
	}
}

// outDir is where a test's PDF and page images go.
func outDir(t *testing.T) string {
	if d := os.Getenv("SECRETGATE_PDF_DIR"); d != "" {
		d = filepath.Join(d, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// render writes d to dir/evidence.pdf and returns its path.
func render(t *testing.T, dir string, d Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := PDF(&b, d); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "evidence.pdf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pages is the text of each page, as pdftotext -layout gives it.
func pages(t *testing.T, path string) []string {
	t.Helper()
	return strings.Split(strings.TrimSuffix(run(t, "pdftotext", "-layout", path, "-"), "\f"), "\f")
}

func info(t *testing.T, path string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(run(t, "pdfinfo", path), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// rasterise renders every page at dpi and decodes the images.
func rasterise(t *testing.T, path string, dpi int) []image.Image {
	t.Helper()
	prefix := filepath.Join(filepath.Dir(path), "page")
	old, _ := filepath.Glob(prefix + "-*.png")
	for _, f := range old { // a kept directory's last run
		os.Remove(f)
	}
	run(t, "pdftoppm", "-png", "-r", strconv.Itoa(dpi), path, prefix)
	files, err := filepath.Glob(prefix + "-*.png")
	if err != nil || len(files) == 0 {
		t.Fatalf("pdftoppm wrote no pages (%v)", err)
	}
	// page-1.png … page-10.png: sort by number, not by name.
	num := func(f string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(f[strings.LastIndex(f, "-")+1:], ".png"))
		return n
	}
	imgs := make([]image.Image, len(files))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		imgs[num(f)-1] = img
	}
	return imgs
}

// colourBox counts the pixels within 40 of c and returns their bounding box.
func colourBox(img image.Image, c rgb) (int, image.Rectangle) {
	n, box := 0, image.Rectangle{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if abs(int(r>>8)-c.r) <= 40 && abs(int(g>>8)-c.g) <= 40 && abs(int(bl>>8)-c.b) <= 40 {
				n++
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return n, box
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pageWith is the index of the first page after the cover (which lists
// every title) whose text holds s.
func pageWith(t *testing.T, ps []string, s string) int {
	t.Helper()
	for i := 1; i < len(ps); i++ {
		if strings.Contains(ps[i], s) {
			return i
		}
	}
	t.Fatalf("no page holds %q", s)
	return -1
}

var (
	week      = compliance.Window{From: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	generated = time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
)

func arn(acct int, name string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:us-east-1:21000000000%d:secret:%s", acct, name)
}

func role(acct int, name string) string {
	return fmt.Sprintf("arn:aws:iam::21000000000%d:role/%s", acct, name)
}

func tab(name, title, chart string, cols []string, rows [][]string) *compliance.Table {
	return &compliance.Table{
		Report:  &compliance.Report{Name: name, Title: title, Meaning: "What " + name + " shows, in a sentence or two that a reader takes in at a glance.", Columns: cols, Chart: chart},
		Window:  week,
		Columns: cols,
		Rows:    rows,
	}
}

// weekTables is a week like the dashboard's: every kind of table, long
// ARNs, an empty table, and controls with failures.
func weekTables(accessRows int) []*compliance.Table {
	headline := tab("headline", "Headline figures", "", []string{"figure", "this_window", "previous_window"}, [][]string{
		{"secret reads", "249454", "249460"},
		{"secrets read", "36", "36"},
		{"readers", "19", "7"},
		{"denied attempts", "19", "21"},
		{"break-glass sessions", "1", "0"},
		{"rotation failures", "6", "11"},
	})
	var days [][]string
	for i := range 7 {
		days = append(days, []string{week.From.AddDate(0, 0, i).Format("2006-01-02"), strconv.Itoa(35630 + i), strconv.Itoa(1 + i%4)})
	}
	daily := tab("daily", "Secret reads and denied attempts per day", "bar", []string{"day", "reads", "denied"}, days)
	var access [][]string
	apps := []string{"auth", "orders", "payments", "search"}
	for i := range accessRows {
		app := apps[i%4]
		p := role(1+i%3, app+"-app")
		if i%3 == 2 {
			p = role(1+i%3, "AWSReservedSSO_Developer_2b5939f39b85fe19")
		}
		access = append(access, []string{arn(1+i%3, fmt.Sprintf("%s/prod/db-credentials-%03d", app, i)), p, strconv.Itoa(7000 - i), "2026-11-23T00:00:07Z", "2026-11-29T23:58:17Z", "no", "no"})
	}
	accessT := tab("access", "Secret reads by principal", "", []string{"secret", "principal", "reads", "first_read", "last_read", "new_reader", "human"}, access)
	rotations := tab("rotations", "Rotation results by secret", "", []string{"secret", "succeeded", "failed", "last_success", "last_failure"}, [][]string{
		{arn(2, "orders/staging/db-credentials"), "5", "2", "2026-11-28T13:04:59Z", "2026-11-29T03:55:45Z"},
		{arn(1, "search/dev/api-key"), "6", "1", "2026-11-29T22:16:34Z", "2026-11-25T05:08:45Z"},
		{arn(1, "auth/dev/api-key"), "7", "0", "2026-11-29T06:16:43Z", ""},
		{arn(3, "payments/prod/db-credentials"), "7", "0", "2026-11-29T05:23:43Z", ""},
	})
	denied := tab("denied", "Denied attempts on secrets, keys and parameters", "", []string{"time", "principal", "action", "target", "error"}, [][]string{
		{"2026-11-23T04:00:45Z", role(2, "auth-staging-app"), "secretsmanager:GetSecretValue", arn(3, "payments/prod/signing-key"), "AccessDenied"},
		{"2026-11-24T02:20:01Z", role(3, "orders-prod-app"), "kms:Decrypt", "arn:aws:kms:us-east-1:210000000003:key/4c76bee2-8ded-4ef5-a032-67f9c64028b4", "AccessDeniedException"},
	})
	breakGlass := tab("break-glass", "Break-glass sessions", "", []string{"role", "session", "mfa", "first_seen", "last_seen", "calls", "secrets_read"}, [][]string{
		{role(3, "break-glass"), "breakglass-dave@example.com", "NO", "2026-11-23T13:48:34Z", "2026-11-27T05:49:06Z", "24", "10"},
	})
	unsafe := tab("unsafe-changes", "Deletes, policy changes and key disables without MFA", "", []string{"time", "principal", "action", "target"}, nil)
	var controls [][]string
	for c := 1; c <= 4; c++ {
		for s := range 5 {
			status, ev := "PASS", "automatic rotation on"
			if (c == 1 && s < 2) || (c == 4 && s == 4) {
				status, ev = "FAIL", "automatic rotation off"
			}
			controls = append(controls, []string{fmt.Sprintf("SecretsManager.%d", c), arn(1+s%3, fmt.Sprintf("%s/prod/api-key", apps[s%4])), status, ev})
		}
	}
	controlsT := tab("controls", "Security Hub controls SecretsManager.1–4", "", []string{"control", "secret", "status", "evidence"}, controls)
	return []*compliance.Table{headline, daily, accessT, rotations, denied, breakGlass, unsafe, controlsT}
}

func TestPDF(t *testing.T) {
	needPoppler(t)
	// A report someone adds later: any name, a bar chart of three series.
	future := tab("future", "Reads per region", "bar", []string{"region", "reads", "writes", "deletes"}, [][]string{
		{"us-east-1", "120", "80", "40"}, {"eu-west-1", "90", "70", "30"}, {"ap-south-1", "60", "50", "20"},
	})
	unicode := tab("unicode", "Symbols – dashes ✓ and more", "", []string{"name", "note"}, [][]string{
		{"café €5 “quoted”", "✓ rotated → ok"},
		{"日本", "−3 ≥ 2"},
	})
	cases := []struct {
		name   string
		tables []*compliance.Table
		want   []string // in the text, in any page
		charts []string // titles of pages that must show series colours
	}{
		{
			name:   "week",
			tables: weekTables(40),
			want: []string{
				"secretgate weekly evidence", "2026-W48", "2026-11-23 – 2026-11-29", "2026-11-30 06:00:00 UTC", "Generated 2026-11-30 06:00 UTC by secretgate",
				"Headline figures", "249,454", "previous window 249,460", "-6 (<0.1%)", "+12 (+171%)", "-2 (-9.5%)", "-5 (-45%)", "+1", "no change",
				"Secret reads and denied attempts per day", "Mon 23 Nov", "35630",
				"Secret reads by principal", "What access shows",
				"Rotation results by secret", "Rotation status by secret", "orders/staging/db-credentials",
				arn(2, "orders/staging/db-credentials"), "2026-11-29T03:55:45Z",
				"Denied attempts on secrets, keys and parameters", "AccessDeniedException",
				"breakglass-dave@example.com",
				"Deletes, policy changes and key disables without MFA", "none in this window",
				"Security Hub controls SecretsManager.1–4", "Failing (3 rows)", "Passing (17 rows)", "60%", "80%", "100%",
			},
			charts: []string{"Secret reads and denied attempts per day", "Rotation status by secret", "Failing ("},
		},
		{
			name:   "new table and symbols",
			tables: []*compliance.Table{future, unicode},
			want: []string{"Reads per region", "us-east-1", "writes", "deletes",
				"Symbols – dashes OK and more", "café €5 “quoted”", "OK rotated -> ok", "?? ", "-3 >= 2"},
			charts: []string{"Reads per region"},
		},
		{
			name: "cover only",
			want: []string{"secretgate weekly evidence", "page 1 of 1"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := outDir(t)
			path := render(t, dir, Document{Week: "2026-W48", Window: week, Generated: generated, Tables: c.tables})
			ps := pages(t, path)
			all := strings.Join(ps, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("text lacks %q", w)
				}
			}
			for _, bad := range []string{"â€", "Ã", "\ufffd"} { // UTF-8 read as cp1252, or lost
				if strings.Contains(all, bad) {
					t.Errorf("mojibake %q in the text", bad)
				}
			}
			for _, tb := range c.tables {
				if title := strings.ReplaceAll(tb.Report.Title, "✓", "OK"); !strings.Contains(all, title) {
					t.Errorf("no title %q", tb.Report.Title)
				}
			}
			in := info(t, path)
			n, _ := strconv.Atoi(in["Pages"])
			if n != len(ps) {
				t.Errorf("pdfinfo %d pages, pdftotext %d", n, len(ps))
			}
			for i, p := range ps {
				if want := fmt.Sprintf("page %d of %d", i+1, n); !strings.Contains(p, want) {
					t.Errorf("page %d lacks %q", i+1, want)
				}
			}
			if in["Title"] != "secretgate weekly evidence 2026-W48" || in["Creator"] != "secretgate" {
				t.Errorf("metadata %q", in)
			}
			if !strings.Contains(in["CreationDate"], "Nov 30 06:00:00 2026") {
				t.Errorf("creation date %q", in["CreationDate"])
			}
			checkInside(t, path)

			imgs := rasterise(t, path, 50)
			if len(imgs) != n {
				t.Fatalf("%d page images for %d pages", len(imgs), n)
			}
			for _, title := range c.charts {
				i := pageWith(t, ps, title)
				checkChart(t, imgs[i], title)
			}
		})
	}
}

// checkChart asks of a chart's page: bars in the series' colours, tall
// enough to be bars and not a legend's swatches.
func checkChart(t *testing.T, img image.Image, title string) {
	t.Helper()
	h := img.Bounds().Dy()
	colours := map[string][]rgb{
		"Secret reads and denied attempts per day": {seriesCol[0], seriesCol[1]},
		"Reads per region":                         {seriesCol[0], seriesCol[1], seriesCol[2]},
		"Rotation status by secret":                {passCol, failCol},
		"Failing (":                                {passCol, failCol},
	}[title]
	for _, c := range colours {
		n, box := colourBox(img, c)
		if n < 300 || box.Dy() < h/20 {
			t.Errorf("%s: %d pixels of %v in %v: no chart drawn", title, n, c, box)
		}
		if box.Min.Y < h/10 || box.Max.Y > h*93/100 {
			t.Errorf("%s: colour %v at %v, outside the page's body", title, c, box)
		}
	}
}

// checkInside reads every word's box (pdftotext -bbox) and fails if one
// crosses the page's margins: nothing overflows, however long.
func checkInside(t *testing.T, path string) {
	t.Helper()
	out := run(t, "pdftotext", "-bbox", path, "-")
	words := regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="[0-9.]+" xMax="([0-9.]+)" yMax="[0-9.]+">([^<]*)</word>`).FindAllStringSubmatch(out, -1)
	if len(words) == 0 {
		t.Fatal("pdftotext -bbox found no words")
	}
	const pt = 72 / 25.4
	left, right := margin*pt-1, (pageW-margin)*pt+1
	for _, w := range words {
		x0, _ := strconv.ParseFloat(w[1], 64)
		x1, _ := strconv.ParseFloat(w[2], 64)
		if x0 < left || x1 > right {
			t.Errorf("%q at x %.1f–%.1f pt, outside %.1f–%.1f", w[3], x0, x1, left, right)
		}
	}
}

func TestPDFPaginates(t *testing.T) {
	needPoppler(t)
	dir := outDir(t)
	tables := weekTables(500)[2:3] // the access table alone, 500 rows
	path := render(t, dir, Document{Window: week, Generated: generated, Tables: tables})
	ps := pages(t, path)
	in := info(t, path)
	if n, _ := strconv.Atoi(in["Pages"]); n <= 5 || n != len(ps) {
		t.Fatalf("%s pages (pdftotext %d), want more than 5", in["Pages"], len(ps))
	}
	head := regexp.MustCompile(`secret\s+principal\s+reads\s+first read\s+last read\s+new reader\s+human`)
	for i, p := range ps[1:] {
		if !head.MatchString(p) {
			t.Errorf("page %d has no header row", i+2)
		}
		if i > 0 && !strings.Contains(p, "Secret reads by principal (continued)") {
			t.Errorf("page %d does not say it continues", i+2)
		}
	}
	// Every row is there once: its secret's unique suffix, in order.
	all := strings.Join(ps, "\n")
	last := -1
	for i := range 500 {
		at := strings.Index(all, fmt.Sprintf("db-credentials-%03d", i))
		if at < 0 || at < last {
			t.Fatalf("row %d missing or out of order", i)
		}
		last = at
	}
	if !strings.Contains(ps[0], "2026-W48") { // the week, from the window
		t.Error("no week on the cover")
	}
	checkInside(t, path)
	for i, img := range rasterise(t, path, 30) {
		if img.Bounds().Dx() < 300 {
			t.Errorf("page %d: %v", i+1, img.Bounds())
		}
	}
}

func TestPDFDeterministic(t *testing.T) {
	d := Document{Week: "2026-W48", Window: week, Generated: generated, Tables: weekTables(60)}
	var a, b bytes.Buffer
	if err := PDF(&a, d); err != nil {
		t.Fatal(err)
	}
	if err := PDF(&b, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two renderings differ (%d and %d bytes)", a.Len(), b.Len())
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", a.Bytes()[:8])
	}
	d.Generated = generated.Add(time.Hour)
	var c bytes.Buffer
	if err := PDF(&c, d); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("another generation time gives the same bytes")
	}
}

func TestEnc(t *testing.T) {
	for in, want := range map[string]string{
		"plain ascii":   "plain ascii",
		"2026 – 2027":   "2026 \x96 2027",
		"café €":        "caf\xe9 \x80",
		"✓ done ✗":      "OK done X",
		"a → b, −1":     "a -> b, -1",
		"日本":            "??",
		"tab\there\r\n": "tab here \n",
	} {
		if got := enc(in); got != want {
			t.Errorf("enc(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChange(t *testing.T) {
	for _, c := range []struct {
		this, prev float64
		want       string
	}{
		{112, 100, "+12 (+12%)"}, {97, 100, "-3 (-3.0%)"}, {4, 0, "+4"}, {5, 5, "no change"},
		{249454, 249460, "-6 (<0.1%)"}, {1500, 1000, "+500 (+50%)"}, {0, 3, "-3 (-100%)"}, {2500000, 1000000, "+1,500,000 (+150%)"},
	} {
		if got := change(c.this, c.prev); got != c.want {
			t.Errorf("change(%v, %v) = %q, want %q", c.this, c.prev, got, c.want)
		}
	}
}

func TestWrap(t *testing.T) {
	r := newRenderer(Document{Window: week, Generated: generated})
	const size = 7.5
	for _, s := range []string{
		arn(1, "payments/staging/db-credentials"),
		"Error when executing lambda arn:aws:lambda:us-east-1:210000000002:function:search-staging-rotation during testSecret step",
		strings.Repeat("x", 300),
		"two\nlines",
	} {
		for _, w := range []float64{10, 25, 60} {
			lines := wrap(s, w, r.regular, size)
			for _, l := range lines {
				if lw := r.regular.width(l) * size; lw > w+0.01 && len(l) > 1 {
					t.Errorf("wrap(%q, %v): line %q is %.1f mm wide", s, w, l, lw)
				}
			}
			// Nothing lost but the spaces wrapping ate.
			if got, want := strings.ReplaceAll(strings.Join(lines, ""), " ", ""), strings.ReplaceAll(strings.ReplaceAll(s, "\n", ""), " ", ""); got != want {
				t.Errorf("wrap(%q, %v) lost text: %q", s, w, lines)
			}
		}
	}
	// An ARN breaks at its joints, not in a word.
	if got := wrap(arn(1, "payments/staging/db-credentials"), 60, r.regular, size); len(got) != 2 || !strings.HasSuffix(got[0], "/") && !strings.HasSuffix(got[0], ":") {
		t.Errorf("ARN wrapped as %q", got)
	}
}

func TestShareWidths(t *testing.T) {
	// Two wide columns: one always 100 mm, one mostly 40 mm with a few at
	// 150. The page goes to the first, and only the few wrap.
	const size = 1.0
	rows := 50
	a, b, c := make([]float64, rows), make([]float64, rows), make([]float64, rows)
	for i := range rows {
		a[i], b[i], c[i] = 100, 40, 30
		if i%10 == 0 {
			b[i] = 150
		}
	}
	nat := []float64{100 + 2*cellPad, 150 + 2*cellPad, 30 + 2*cellPad}
	w := shareWidths(nat, [][]float64{a, b, c}, []float64{5, 5, 5}, size)
	if math.Abs(sum(w)-contentW) > 0.01 {
		t.Errorf("widths %v sum to %.2f, not %.2f", w, sum(w), contentW)
	}
	if w[0] < 100+2*cellPad || w[2] < 30+2*cellPad || w[1] < 40+2*cellPad {
		t.Errorf("widths %v wrap more than the long cells", w)
	}
}

// BenchmarkPDF renders a week of eight tables: the headline, the daily
// chart, and six tables of 200 rows (long ARNs, the rotation chart, the
// control matrix).
func BenchmarkPDF(b *testing.B) {
	w := weekTables(200)
	repeat := func(t *compliance.Table, n int) *compliance.Table {
		c := *t
		c.Rows = nil
		for len(c.Rows) < n {
			c.Rows = append(c.Rows, t.Rows[len(c.Rows)%len(t.Rows)])
		}
		return &c
	}
	tables := []*compliance.Table{w[0], w[1], w[2], repeat(w[3], 200), repeat(w[4], 200), repeat(w[5], 200), repeat(w[4], 200), repeat(w[7], 200)}
	d := Document{Week: "2026-W48", Window: week, Generated: generated, Tables: tables}
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := PDF(&buf, d); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/pdf")
}
