package dashboard

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const secretID = "arn:aws:secretsmanager:us-east-1:210000000003:secret:orders/prod/db-credentials"

// The pages of week 2026-W48 as HTML, against golden files.
func TestPagesGolden(t *testing.T) {
	h, c := testServer(t)
	for _, tt := range []struct{ name, path string }{
		{"overview", "/?week=2026-W48"},
		{"access", "/access?week=2026-W48"},
		{"access-prod-orders", "/access?week=2026-W48&env=prod&service=orders"},
		{"access-sorted-page2", "/access?week=2026-W48&access.sort=reads&access.dir=desc&access.page=2"},
		{"rotation", "/rotation?week=2026-W48"},
		{"violations", "/violations?week=2026-W48"},
		{"gate", "/gate?week=2026-W48"},
		{"secret", "/secret?week=2026-W48&id=" + url.QueryEscape(secretID)},
		{"events-denied", "/events?week=2026-W48&kind=denied"},
		{"events-day", "/events?week=2026-W48&kind=read&day=2026-11-24&secret=" + url.QueryEscape(secretID)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, c, tt.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", tt.path, rec.Code, rec.Body)
			}
			golden(t, filepath.Join("testdata", "golden", tt.name+".html"), rec.Body.Bytes())
		})
	}
}

// golden compares got, a tag a line, with the file at path.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = bytes.ReplaceAll(got, []byte("><"), []byte(">\n<"))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\ngot  %.300s\nwant %.300s\n(go test -update rewrites it)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d (go test -update rewrites it)", path, len(gl), len(wl))
	}
}

// What the pages must say, whatever the golden files hold.
func TestPagesContent(t *testing.T) {
	h, c := testServer(t)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/?week=2026-W48", []string{"secret reads", "denied attempts", "break-glass sessions", "Secret reads per day",
			"SecretsManager.1", `href="/events?day=2026-11-23&amp;kind=read&amp;week=2026-W48"`}},
		{"/access?week=2026-W48&env=prod", []string{"Secret reads by secret", `class="flag"`, "role outside the secret&#39;s environment (orders, prod)", "Readers outside the secret&#39;s service or environment"}},
		{"/rotation?week=2026-W48", []string{"Rotation status by secret", `<span class="badge warn">disabled</span>`, "Rotation results by secret"}},
		{"/violations?week=2026-W48", []string{"Break-glass sessions across the week", "<rect", "AccessDenied", "Reads of secrets marked for deletion",
			"No key inventory"}},
		{"/gate?week=2026-W48", []string{"acme/payments", "aws-access-key", "test fixture, revoked", "acme/web"}},
		{"/secret?week=2026-W48&id=" + url.QueryEscape(secretID), []string{"Secret orders/prod/db-credentials", "Automatic rotation", "CloudTrail events"}},
	} {
		rec := get(t, h, c, tt.path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", tt.path, rec.Code)
		}
		for _, w := range tt.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s: no %q", tt.path, w)
			}
		}
	}
}

// A drill-down lists exactly the events its number counted.
func TestDrillDownMatchesCount(t *testing.T) {
	h, c := testServer(t)
	body := get(t, h, c, "/access?week=2026-W48&env=prod&service=orders").Body.String()
	// The first row of the by-secret table: its reads cell links to the events.
	m := regexp.MustCompile(`<a href="(/events\?[^"]*kind=read[^"]*secret=[^"]*)">(\d+)</a>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no reads link on the access page")
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	ev := get(t, h, c, link).Body.String()
	if !strings.Contains(ev, ">"+m[2]+" rows") {
		t.Errorf("%s: the events page does not say %s rows", link, m[2])
	}
}

func TestBadRequests(t *testing.T) {
	h, c := testServer(t)
	for path, want := range map[string]int{
		"/?week=2026-W60": http.StatusBadRequest,
		// Only the week's own name: trailing text would reach titles,
		// the PDF's cover and download names.
		"/?week=2026-W48x": http.StatusBadRequest,
		"/export/evidence.pdf?week=2026-W48%20signed%20off": http.StatusBadRequest,
		"/?week=%2B2026-W48":                       http.StatusBadRequest,
		"/?week=2026-W8":                           http.StatusBadRequest,
		"/?week=-2026-W01":                         http.StatusBadRequest,
		"/events?week=2026-W48&kind=everything":    http.StatusBadRequest,
		"/events?week=2026-W48&day=2026-12-24":     http.StatusBadRequest,
		"/secret?week=2026-W48":                    http.StatusBadRequest,
		"/export/no-such-report.csv?week=2026-W48": http.StatusNotFound,
		"/nowhere": http.StatusNotFound,
	} {
		if got := get(t, h, c, path).Code; got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
}

// Nothing but the sign-in page and the stylesheet is served to a stranger.
func TestNothingUnauthenticated(t *testing.T) {
	h, _ := testServer(t)
	for _, path := range []string{"/", "/access", "/rotation", "/violations", "/gate", "/secret?id=x", "/events",
		"/export/evidence.pdf", "/export/evidence.zip", "/export/access.csv"} {
		rec := get(t, h, nil, path)
		switch {
		case strings.HasPrefix(path, "/export/"):
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", path, rec.Code)
			}
		case rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next="):
			t.Errorf("%s: %d to %q, want a redirect to sign in", path, rec.Code, rec.Header().Get("Location"))
		}
		if strings.Contains(rec.Body.String(), "secretsmanager") {
			t.Errorf("%s: data served before sign-in", path)
		}
	}
	// A forged or expired session is no session.
	p, _ := newPasswords()
	p.hashes["dana"] = []byte("x")
	for _, v := range []string{"dana", p.sign("dana", time.Now().Add(time.Hour)), p.sign("dana", time.Now().Add(-time.Minute))} {
		rec := get(t, h, &http.Cookie{Name: sessionCookie, Value: v}, "/")
		if rec.Code != http.StatusSeeOther {
			t.Errorf("cookie %q let in: %d", v, rec.Code)
		}
	}
	if rec := get(t, h, nil, "/login"); rec.Code != http.StatusOK {
		t.Errorf("/login: %d", rec.Code)
	}
}

func post(h http.Handler, path string, form url.Values, header map[string]string, c *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSignIn(t *testing.T) {
	h, _ := testServer(t)
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	rec := post(h, "/login", url.Values{"user": {"dana"}, "password": {"wrong"}, "next": {"/access"}}, sameOrigin, nil)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong user or password") {
		t.Errorf("wrong password: %d", rec.Code)
	}
	rec = post(h, "/login", url.Values{"user": {"dana"}, "password": {"correct horse battery"}, "next": {"//evil.example/x"}}, sameOrigin, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Errorf("sign-in: %d to %q, want / (never another host)", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", cookies)
	}
	if got := get(t, h, cookies[0], "/?week=2026-W48").Code; got != http.StatusOK {
		t.Errorf("signed in: %d", got)
	}
	// A form on another site cannot sign anyone out (or in).
	if rec := post(h, "/logout", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, cookies[0]); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST /logout: %d, want 403", rec.Code)
	}
	if rec := post(h, "/login", url.Values{"user": {"dana"}, "password": {"correct horse battery"}},
		map[string]string{"Origin": "https://evil.example"}, nil); rec.Code != http.StatusForbidden {
		t.Errorf("cross-origin POST /login: %d, want 403", rec.Code)
	}
	if rec := post(h, "/logout", nil, sameOrigin, cookies[0]); rec.Code != http.StatusSeeOther || rec.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign out: %d %+v", rec.Code, rec.Result().Cookies())
	}
}

func TestSignInLimit(t *testing.T) {
	h, _ := testServer(t)
	var last int
	for range failLimit + 1 {
		last = post(h, "/login", url.Values{"user": {"mallory"}, "password": {"guess"}}, nil, nil).Code
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", failLimit, last)
	}
	// Even the right password waits out the window.
	if got := post(h, "/login", url.Values{"user": {"dana"}, "password": {"correct horse battery"}}, nil, nil).Code; got != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d", got)
	}
}

// Many wrong passwords sent at once are limited like ones sent in turn:
// each waits on bcrypt, and none may slip in before the others count.
func TestSignInLimitAtOnce(t *testing.T) {
	h, _ := testServer(t)
	codes := make([]int, 3*failLimit)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			<-start
			codes[i] = post(h, "/login", url.Values{"user": {"dana"}, "password": {fmt.Sprint("guess", i)}}, nil, nil).Code
		})
	}
	close(start)
	wg.Wait()
	tried := 0
	for _, c := range codes {
		if c != http.StatusTooManyRequests {
			tried++
		}
	}
	if tried != failLimit {
		t.Errorf("%d passwords tried at once, want %d (the limit)", tried, failLimit)
	}
}

func TestLoadPasswordsErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct{ text, want string }{
		"plain":   {"dana:secret\n", "users:1: user \"dana\": only bcrypt hashes"},
		"nocolon": {"# users\n\ndana\n", "users:3: want user:hash"},
		"empty":   {"# nobody\n", "users: no users"},
		"dup":     {"a:$2y$10$abcdefghijklmnopqrstuu5WRJ3vB3/7P3kqJhvEwyJQ4Ah6PXiJy\na:$2y$10$abcdefghijklmnopqrstuu5WRJ3vB3/7P3kqJhvEwyJQ4Ah6PXiJy\n", "users:2: user \"a\" given twice"},
	} {
		path := filepath.Join(dir, "users")
		os.WriteFile(path, []byte(tt.text), 0o600)
		_, err := LoadPasswords(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
}

func TestProxy(t *testing.T) {
	f := fixture(t)
	p, err := ParseProxy("X-Forwarded-Email", []string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Data: NewData(f.db.SQL(), f.store), Proxy: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		remote, user string
		want         int
	}{
		{"10.1.2.3:5555", "dana@example.com", http.StatusOK},
		{"127.0.0.1:5555", "dana@example.com", http.StatusOK},
		{"192.0.2.7:5555", "dana@example.com", http.StatusForbidden}, // straight to the dashboard, header forged
		{"10.1.2.3:5555", "", http.StatusForbidden},
	} {
		req := httptest.NewRequest(http.MethodGet, "/gate?week=2026-W48", nil)
		req.RemoteAddr = tt.remote
		if tt.user != "" {
			req.Header.Set("X-Forwarded-Email", tt.user)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s as %q: %d, want %d", tt.remote, tt.user, rec.Code, tt.want)
		}
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), tt.user) {
			t.Errorf("the page does not name %s", tt.user)
		}
	}
	for _, bad := range [][]string{nil, {"not-an-address"}} {
		if _, err := ParseProxy("X-User", bad); err == nil {
			t.Errorf("ParseProxy(%q): no error", bad)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	h, c := testServer(t)
	for _, path := range []string{"/?week=2026-W48", "/login", "/static/app.css"} {
		rec := get(t, h, c, path)
		hd := rec.Header()
		if csp := hd.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if hd.Get(k) != v {
				t.Errorf("%s: %s %q", path, k, hd.Get(k))
			}
		}
	}
	if cc := get(t, h, c, "/?week=2026-W48").Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("page Cache-Control %q", cc)
	}
	// No page runs a script or loads anything from elsewhere.
	body := get(t, h, c, "/violations?week=2026-W48").Body.String()
	for _, bad := range []string{"<script", "javascript:", "http://", "https://", " style=", "onclick"} {
		if bad == "http://" && strings.Count(body, bad) == strings.Count(body, `xmlns="http://www.w3.org/2000/svg"`) {
			continue
		}
		if strings.Contains(body, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

// The planted key reaches no page, no download and no log.
func TestNoSecretAnywhere(t *testing.T) {
	h, c := testServer(t)
	paths := []string{"/?week=2026-W48", "/access?week=2026-W48", "/rotation?week=2026-W48", "/violations?week=2026-W48",
		"/gate?week=2026-W48", "/events?week=2026-W48", "/export/gate.csv?week=2026-W48", "/export/evidence.zip?week=2026-W48",
		"/export/evidence.pdf?week=2026-W48"}
	for _, p := range paths {
		rec := get(t, h, c, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", p, rec.Code)
		}
		body := rec.Body.Bytes()
		if strings.HasSuffix(strings.SplitN(p, "?", 2)[0], ".zip") {
			body = unzipAll(t, body)
		}
		if bytes.Contains(body, []byte(plantedKey)) || bytes.Contains(body, []byte(plantedKey[4:])) {
			t.Errorf("%s: the planted key is in the response", p)
		}
	}
}

func unzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		out = append(out, data...)
	}
	return out
}

func TestDownloads(t *testing.T) {
	h, c := testServer(t)
	rec := get(t, h, c, "/export/evidence.pdf?week=2026-W48")
	if rec.Header().Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF-")) ||
		rec.Header().Get("Content-Disposition") != `attachment; filename="secretgate-2026-W48.pdf"` {
		t.Errorf("PDF: %s %q %.8q", rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"), rec.Body.Bytes())
	}
	rec = get(t, h, c, "/export/evidence.zip?week=2026-W48")
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "2026-W48-access.csv") || !strings.Contains(got, "2026-W48-gate.csv") ||
		!strings.Contains(got, "2026-W48-controls.csv") {
		t.Errorf("zip holds %s", got)
	}
	// One table, filtered as the page is.
	all := get(t, h, c, "/export/access.csv?week=2026-W48").Body.String()
	prod := get(t, h, c, "/export/access.csv?week=2026-W48&env=prod&service=orders").Body.String()
	if !strings.HasPrefix(all, "secret,principal,reads,") || strings.Count(prod, "\n") >= strings.Count(all, "\n") ||
		strings.Count(prod, "\n") < 2 || strings.Contains(prod, "/staging/") {
		t.Errorf("filtered CSV: %d of %d lines", strings.Count(prod, "\n"), strings.Count(all, "\n"))
	}
}

func TestChange(t *testing.T) {
	for _, tt := range []struct {
		cur, prev, want string
		up              bool
	}{
		{"4448", "4454", "−0.1%", false},
		{"2", "1", "+100%", true},
		{"2", "5", "−60%", false},
		{"3", "0", "new", true},
		{"7", "7", "", false},
		{"x", "7", "", false},
	} {
		got, up := change(tt.cur, tt.prev)
		if got != tt.want || up != tt.up {
			t.Errorf("change(%s, %s) = %q, %v; want %q, %v", tt.cur, tt.prev, got, up, tt.want, tt.up)
		}
	}
}

// After sign-in the browser goes back where it was, never to another
// host: browsers drop tabs and line breaks from a URL and read '\' as
// '/', and http.Redirect cleans "/./x" to "/x", so each of these would
// otherwise lead to //evil.example.
func TestSignInNextStaysHere(t *testing.T) {
	for next, want := range map[string]string{
		"/access?week=2026-W48": "/access?week=2026-W48",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"/./\\evil.example":     "/",
		"/x/..\\evil.example":   "/",
		"/\t/evil.example":      "/",
		"/\x7f/evil.example":    "/",
		"/%09/evil.example":     "/%09/evil.example", // stays a path: the browser does not decode it
		"https://evil.example":  "/",
		"javascript:alert(1)":   "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}

// The filter form keeps what the page is about: a secret's events stay
// that secret's when the week or environment changes.
func TestFilterKeepsSecret(t *testing.T) {
	h, c := testServer(t)
	body := get(t, h, c, "/events?week=2026-W48&kind=read&secret="+url.QueryEscape(secretID)).Body.String()
	want := `<input type="hidden" name="secret" value="` + secretID + `">`
	if !strings.Contains(body, want) {
		t.Errorf("the events filter form lacks %s", want)
	}
}

// Paging past the end of the events, or so far that the offset would
// overflow, shows the last page, not page one under a made-up number.
func TestEventsPageClamped(t *testing.T) {
	h, c := testServer(t)
	last := get(t, h, c, "/events?week=2026-W48&kind=read").Body.String()
	m := regexp.MustCompile(`(\d+) rows, page 1 of (\d+)`).FindStringSubmatch(last)
	if m == nil {
		t.Fatal("no pager on the events page")
	}
	for _, page := range []string{"9999", "46116860184273880", "9223372036854775807"} {
		body := get(t, h, c, "/events?week=2026-W48&kind=read&events.page="+page).Body.String()
		if want := m[1] + " rows, page " + m[2] + " of " + m[2]; !strings.Contains(body, want) {
			t.Errorf("events.page=%s: want %q", page, want)
		}
		if strings.Contains(body, "No event matches") {
			t.Errorf("events.page=%s: an empty page", page)
		}
	}
}

// A download named for a filter holds the filtered rows: the weekly PDF
// and zip are the whole week whatever the page's filter, and say so.
func TestDownloadNames(t *testing.T) {
	h, c := testServer(t)
	for path, want := range map[string]string{
		"/export/evidence.pdf?week=2026-W48&env=prod":                "secretgate-2026-W48.pdf",
		"/export/evidence.zip?week=2026-W48&env=prod&service=orders": "secretgate-2026-W48.zip",
		"/export/access.csv?week=2026-W48":                           "secretgate-2026-W48-access.csv",
		"/export/access.csv?week=2026-W48&env=prod&service=orders":   "secretgate-2026-W48-access-prod-orders.csv",
		"/export/access.csv?week=2026-W48&service=orders":            "secretgate-2026-W48-access-orders.csv",
		"/export/access.csv?week=2026-W48&env=a/../b%22c%20d%C3%A9":  "secretgate-2026-W48-access-a_.._b_c_d_.csv",
	} {
		rec := get(t, h, c, path)
		if got := rec.Header().Get("Content-Disposition"); got != `attachment; filename="`+want+`"` {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

// The static folder serves its files, not a listing of them, and a
// missing file is not cached for a year.
func TestStaticNoListing(t *testing.T) {
	h, _ := testServer(t)
	for path, want := range map[string]int{"/static/app.css": http.StatusOK, "/static/": http.StatusNotFound,
		"/static/nothing.css": http.StatusNotFound} {
		rec := get(t, h, nil, path)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
		if rec.Code != http.StatusOK && strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d cached as %s", path, rec.Code, rec.Header().Get("Cache-Control"))
		}
	}
}

// A session signed out is over, even for a copy of its cookie kept from
// before; other sessions of the same user carry on.
func TestSignOutRevokes(t *testing.T) {
	h, c := testServer(t)
	_, other := testServer(t) // another server's key: refused anyway
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	rec := post(h, "/login", url.Values{"user": {"dana"}, "password": {"correct horse battery"}}, sameOrigin, nil)
	session := rec.Result().Cookies()[0]
	if got := get(t, h, session, "/gate?week=2026-W48").Code; got != http.StatusOK {
		t.Fatalf("signed in: %d", got)
	}
	post(h, "/logout", nil, sameOrigin, session)
	if got := get(t, h, session, "/gate?week=2026-W48").Code; got != http.StatusSeeOther {
		t.Errorf("the signed-out cookie still works: %d", got)
	}
	if got := get(t, h, c, "/gate?week=2026-W48").Code; got != http.StatusOK {
		t.Errorf("dana's other session ended too: %d", got)
	}
	if got := get(t, h, other, "/gate?week=2026-W48").Code; got != http.StatusSeeOther {
		t.Errorf("another server's cookie: %d", got)
	}
}

func TestHeadAndProxyShell(t *testing.T) {
	h, c := testServer(t)
	req := httptest.NewRequest(http.MethodHead, "/gate?week=2026-W48", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK { // net/http's server drops a HEAD's body
		t.Errorf("HEAD: %d", rec.Code)
	}
	if !strings.Contains(get(t, h, c, "/gate?week=2026-W48").Body.String(), `action="/logout"`) {
		t.Error("no sign-out button with the built-in sign-in")
	}
	f := fixture(t)
	p, _ := ParseProxy("X-User", []string{"192.0.2.1"})
	ph, _ := New(Config{Data: NewData(f.db.SQL(), f.store), Proxy: p})
	req = httptest.NewRequest(http.MethodGet, "/gate?week=2026-W48", nil)
	req.RemoteAddr, req.Header["X-User"] = "192.0.2.1:1234", []string{"lee@example.com"}
	rec = httptest.NewRecorder()
	ph.ServeHTTP(rec, req)
	if body := rec.Body.String(); !strings.Contains(body, "lee@example.com") || strings.Contains(body, `action="/logout"`) {
		t.Errorf("behind a proxy: %d, sign-out shown or user missing", rec.Code)
	}
}

func TestDefaultWeek(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) // Tuesday of W49
	for _, tt := range []struct {
		weeks []string
		want  string
	}{
		{[]string{"2026-W49", "2026-W48", "2026-W47"}, "2026-W48"}, // the week running is not the default
		{[]string{"2026-W49"}, "2026-W49"},                         // unless it is all there is
		{[]string{"2026-W30", "2026-W29"}, "2026-W30"},             // an old trail: its newest week
		{nil, "2026-W48"},
	} {
		if got := defaultWeek(tt.weeks, now); got != tt.want {
			t.Errorf("defaultWeek(%v) = %s, want %s", tt.weeks, got, tt.want)
		}
	}
}
