package dashboard

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
)

// Check renders every page and download of a week (by default the one
// the pages show first) through the
// dashboard's own handler, as a signed-in user, into dir, and reports
// each one's status, size and time on w: a health check for a fresh
// deployment, and what make demo shows without a browser. It fails when
// any page does.
func Check(ctx context.Context, d *Data, week, dir string, w io.Writer) error {
	p, _, err := OneTimePassword("check")
	if err != nil {
		return err
	}
	h, err := New(Config{Data: d, Passwords: p, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	weeks, err := d.Weeks(ctx)
	if err != nil {
		return err
	}
	if len(weeks) == 0 {
		return fmt.Errorf("no events in the database: nothing to show")
	}
	if week == "" {
		week = defaultWeek(weeks, time.Now())
	}
	window, err := compliance.Week(week)
	if err != nil {
		return err
	}
	pages := []struct{ file, path string }{
		{"overview.html", "/"}, {"access.html", "/access"}, {"rotation.html", "/rotation"},
		{"violations.html", "/violations"}, {"gate.html", "/gate"}, {"events-denied.html", "/events?kind=denied"},
		{"evidence.pdf", "/export/evidence.pdf"}, {"evidence.zip", "/export/evidence.zip"},
	}
	// A secret read this week has its page too.
	if t, err := d.Table(ctx, compliance.Access, window); err == nil && len(t.Rows) > 0 {
		pages = append(pages, struct{ file, path string }{"secret.html", "/secret?id=" + url.QueryEscape(t.Rows[0][0])})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cookie := &http.Cookie{Name: sessionCookie, Value: p.sign("check", time.Now().Add(time.Hour))}
	var failed []string
	for _, pg := range pages {
		sep := "?"
		if strings.Contains(pg.path, "?") {
			sep = "&"
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, pg.path+sep+"week="+week, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		took := time.Since(start)
		fmt.Fprintf(w, "%d  %-34s %8.1f KB %7.0f ms\n", rec.Code, strings.SplitN(pg.path, "?", 2)[0]+" "+week, float64(rec.Body.Len())/1024, float64(took.Microseconds())/1000)
		if rec.Code != http.StatusOK {
			failed = append(failed, pg.path)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, pg.file), rec.Body.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("pages failed: %s", strings.Join(failed, ", "))
	}
	return nil
}
