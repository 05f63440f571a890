package dashboard

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
	"github.com/secretgate/secretgate/internal/inventory"
)

var (
	bigOnce sync.Once
	bigDB   *cloudtrail.DB
	bigErr  error
)

// bigData is a generated organisation's 1M events over 14 days (or
// SECRETGATE_BENCH_EVENTS) with its inventory, ingested once per run.
func bigData(b *testing.B) *cloudtrail.DB {
	bigOnce.Do(func() {
		n := 1_000_000
		if v, err := strconv.Atoi(os.Getenv("SECRETGATE_BENCH_EVENTS")); err == nil && v > 0 {
			n = v
		}
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "secretgate-dashboard-bench-*")
		if err != nil {
			bigErr = err
			return
		}
		inv := filepath.Join(dir, "secrets.json")
		start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
		if _, bigErr = gen.Write(filepath.Join(dir, "trail"), gen.Config{Seed: 1, Days: 14, Events: n, Start: start, Inventory: inv}); bigErr != nil {
			return
		}
		if bigDB, bigErr = cloudtrail.Open(ctx, filepath.Join(dir, "events.db")); bigErr != nil {
			return
		}
		if _, bigErr = bigDB.Ingest(ctx, []string{filepath.Join(dir, "trail")}, cloudtrail.Options{}); bigErr != nil {
			return
		}
		f, err := os.Open(inv)
		if err != nil {
			bigErr = err
			return
		}
		defer f.Close()
		_, bigErr = inventory.Import(ctx, bigDB.SQL(), f)
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigDB
}

var benchPages = []struct{ name, path string }{
	{"overview", "/?week=2026-W48"},
	{"access", "/access?week=2026-W48"},
	{"rotation", "/rotation?week=2026-W48"},
	{"violations", "/violations?week=2026-W48"},
	{"secret", "/secret?week=2026-W48&id=" + url.QueryEscape("arn:aws:secretsmanager:us-east-1:210000000003:secret:orders/prod/db-credentials")},
	{"events", "/events?week=2026-W48&kind=read&events.page=20"},
}

// BenchmarkPageLoad is one page load over 1M ingested events, as the
// server answers it. warm: the week's reports were computed before (at
// start, or by an earlier page); the database is still read for the
// inventory, the weeks and the freshness check, and the page rendered.
// cold: the first load after an ingest, every report computed.
func BenchmarkPageLoad(b *testing.B) {
	db := bigData(b)
	p, _, err := OneTimePassword("bench")
	if err != nil {
		b.Fatal(err)
	}
	cookie := &http.Cookie{Name: sessionCookie, Value: p.sign("bench", time.Now().Add(time.Hour))}
	serve := func(h http.Handler, path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, rec.Code)
		}
	}
	newHandler := func() http.Handler {
		h, err := New(Config{Data: NewData(db.SQL(), nil), Passwords: p, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	for _, pg := range benchPages {
		b.Run("warm/"+pg.name, func(b *testing.B) {
			h := newHandler()
			serve(h, pg.path)
			for b.Loop() {
				serve(h, pg.path)
			}
		})
	}
	for _, pg := range benchPages {
		b.Run("cold/"+pg.name, func(b *testing.B) {
			for b.Loop() {
				serve(newHandler(), pg.path)
			}
		})
	}
}
