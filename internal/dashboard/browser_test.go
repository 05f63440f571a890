package dashboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"net/http/httptest"
)

// browserEnv, set to "require", turns a missing Chromium from a skip into
// a failure: CI installs Debian's chromium and sets it.
const browserEnv = "SECRETGATE_BROWSER_TESTS"

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(browserEnv) == "require" {
		t.Fatalf("no Chromium on PATH and %s=require: apt-get install chromium", browserEnv)
	}
	t.Skipf("no Chromium on PATH: the browser tests need it (apt-get install chromium; %s=require makes this a failure)", browserEnv)
	return ""
}

// screenshots is where the browser tests leave their pictures: bin/
// screenshots at the top of the repository, or $SECRETGATE_SCREENSHOTS.
func screenshots(t *testing.T) string {
	dir := os.Getenv("SECRETGATE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "screenshots")
	}
	dir, _ = filepath.Abs(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser drives the dashboard in headless Chromium as a person
// would: sign in, open every page, filter, drill down, download.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	h, _ := testServer(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	shots := screenshots(t)
	downloads := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// Anything the page complains of (a CSP violation, a missing file, a
	// script) is a failure.
	var mu sync.Mutex
	var complaints []string
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				complaints = append(complaints, e.Entry.Text)
			}
		case *runtime.EventConsoleAPICalled:
			complaints = append(complaints, "console."+string(e.Type))
		}
	}))
	defer cancel()
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(v)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Signing in lands on the page asked for.
	do("sign in", chromedp.Navigate(srv.URL+"/access?week=2026-W48"), chromedp.WaitVisible(css(`input[name=user]`)))
	shot("login")
	do("sign in", chromedp.SendKeys(css(`input[name=user]`), "dana"),
		chromedp.SendKeys(css(`input[name=password]`), "correct horse battery"),
		chromedp.Submit(css(`form.login`)), chromedp.WaitVisible(css(`#access`)))
	if url := text(chromedp.Location()); !strings.HasSuffix(url, "/access?week=2026-W48") {
		t.Errorf("after sign-in at %s", url)
	}

	// Every page loads with its data.
	for _, p := range []struct{ name, path, sel, want string }{
		{"overview", "/?week=2026-W48", ".cards .card", "Overview, 2026-W48"},
		{"access", "/access?week=2026-W48", "#access tbody tr", "Access, 2026-W48"},
		{"rotation", "/rotation?week=2026-W48", "#status tbody tr", "Rotation, 2026-W48"},
		{"violations", "/violations?week=2026-W48", "figure.chart rect", "Violations, 2026-W48"},
		{"gate", "/gate?week=2026-W48", "#gate tbody tr", "Gate, 2026-W48"},
		{"secret", "/secret?week=2026-W48&id=" + secretID, "dl.facts", "Secret orders/prod/db-credentials"},
		{"events", "/events?week=2026-W48&kind=denied", "#events tbody tr", "Denied events"},
	} {
		do(p.name, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(css(p.sel)))
		title, n := text(chromedp.Text(css("h1"))), count(p.sel)
		if !strings.HasPrefix(title, p.want) || n == 0 {
			t.Errorf("%s: title %q, %d of %s", p.name, title, n, p.sel)
		}
		shot(p.name)
	}

	// The filters narrow the tables to one environment and service.
	do("filter", chromedp.Navigate(srv.URL+"/access?week=2026-W48"), chromedp.WaitVisible(css(`form.filter`)),
		chromedp.SetValue(css(`select[name=env]`), "prod"), chromedp.SetValue(css(`select[name=service]`), "orders"),
		chromedp.Click(css(`form.filter button`)), chromedp.WaitReady(css(`select[name=env] option[value=prod][selected]`)))
	secrets, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#by-secret tbody tr td:first-child')].map(td => td.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if url := text(chromedp.Location()); !strings.Contains(url, "env=prod") || len(secrets) == 0 {
		t.Fatalf("filtered to %s: %d secrets", url, len(secrets))
	}
	for _, s := range secrets {
		if !strings.Contains(s, ":secret:orders/prod/") {
			t.Errorf("filtered table holds %s", s)
		}
	}
	shot("access-filtered")

	// A number leads to the events it counted.
	reads := text(chromedp.Text(css(`#by-secret tbody tr:first-child td:nth-child(3) a`)))
	do("drill down", chromedp.Click(css(`#by-secret tbody tr:first-child td:nth-child(3) a`)), chromedp.WaitVisible(css(`#events`)))
	rows, title := text(chromedp.Text(css(`#events .pager span`))), text(chromedp.Text(css("h1")))
	if !strings.HasPrefix(title, "Read events of arn:aws:secretsmanager:") || !strings.HasPrefix(rows, reads+" rows") {
		t.Errorf("drill-down from %s reads: %q, %q", reads, title, rows)
	}
	shot("drill-down")

	// Sorting by a column, biggest first.
	do("sort", chromedp.Navigate(srv.URL+"/access?week=2026-W48"), chromedp.WaitVisible(css(`#access`)),
		chromedp.Click(css(`#access th:nth-child(3) a`)), chromedp.WaitVisible(css(`#access th[aria-sort=descending]`)))
	a, _ := strconv.Atoi(text(chromedp.Text(css(`#access tbody tr:nth-child(1) td:nth-child(3)`))))
	b, _ := strconv.Atoi(text(chromedp.Text(css(`#access tbody tr:nth-child(2) td:nth-child(3)`))))
	if a < b || a == 0 {
		t.Errorf("sorted by reads: %d then %d", a, b)
	}

	// The downloads arrive.
	do("downloads", chromedp.Navigate(srv.URL+"/?week=2026-W48"), chromedp.WaitVisible(css(`form.filter`)),
		chromedp.Click(css(`a[href^="/export/evidence.pdf"]`)), chromedp.Click(css(`a[href^="/export/evidence.zip"]`)))
	for name, magic := range map[string]string{"secretgate-2026-W48.pdf": "%PDF-", "secretgate-2026-W48.zip": "PK\x03\x04"} {
		var b []byte
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if b, _ = os.ReadFile(filepath.Join(downloads, name)); len(b) > 0 {
				break
			}
		}
		if !strings.HasPrefix(string(b), magic) {
			t.Errorf("download %s: %d bytes", name, len(b))
		}
	}

	mu.Lock()
	defer mu.Unlock()
	for _, c := range complaints {
		t.Errorf("the browser complained: %s", c)
	}
}
