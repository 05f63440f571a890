package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
	"github.com/secretgate/secretgate/internal/inventory"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// plantedKey is an AWS access key the gate found in a push: it must
// appear on no page and in no download.
var plantedKey = "AKIA" + "Q7ZK3MWXH5NPTBYL"

// now is the fixtures' clock: the Tuesday after week 2026-W48.
var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

type fixtureData struct {
	dir   string
	db    *cloudtrail.DB
	store *store.Store
	err   error
}

var (
	fixtureOnce sync.Once
	shared      fixtureData
)

// TestMain removes the shared fixture's folder after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		if shared.db != nil {
			shared.db.Close()
		}
		if shared.store != nil {
			shared.store.Close()
		}
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// fixture is a dashboard database with two weeks of a generated
// organisation (2026-W47 and W48), the real CloudTrail records of
// ../cloudtrail/testdata, the generated secret inventory, and a gate store
// with pushes in W48, one of them holding plantedKey. Built once.
func fixture(t testing.TB) *fixtureData {
	t.Helper()
	fixtureOnce.Do(func() {
		shared.err = buildFixture(&shared)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return &shared
}

func buildFixture(f *fixtureData) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "secretgate-dashboard-*")
	if err != nil {
		return err
	}
	f.dir = dir
	trail, inv := filepath.Join(dir, "trail"), filepath.Join(dir, "secrets.json")
	if _, err := gen.Write(trail, gen.Config{Seed: 7, Days: 14, Events: 20000, Start: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), Inventory: inv}); err != nil {
		return err
	}
	if f.db, err = cloudtrail.Open(ctx, filepath.Join(dir, "events.db")); err != nil {
		return err
	}
	if _, err := f.db.Ingest(ctx, []string{trail, "../cloudtrail/testdata"}, cloudtrail.Options{}); err != nil {
		return err
	}
	file, err := os.Open(inv)
	if err != nil {
		return err
	}
	defer file.Close()
	if _, err := inventory.Import(ctx, f.db.SQL(), file); err != nil {
		return err
	}
	if f.store, err = store.Open(ctx, filepath.Join(dir, "gate.db")); err != nil {
		return err
	}
	return seedGate(ctx, f.store)
}

// seedGate records pushes as the gate would: findings from the real
// scanner over text holding plantedKey.
func seedGate(ctx context.Context, st *store.Store) error {
	cfg, err := rules.Default()
	if err != nil {
		return err
	}
	sc, err := scan.New(cfg, scan.Options{FingerprintKey: []byte("dashboard test key")})
	if err != nil {
		return err
	}
	res := sc.Scan(scan.Fragment{Origin: scan.Origin{Commit: "0123456789abcdef0123456789abcdef01234567", Path: "deploy/prod.env"},
		Text: []byte("AWS_ACCESS_KEY_ID=" + plantedKey + "\n")})
	if len(res.Findings) == 0 {
		return fmt.Errorf("the scanner found nothing in the planted text")
	}
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i, p := range []store.Push{
		{Repo: "acme/payments", Verdict: store.VerdictRejected, At: monday.Add(10 * time.Hour)},
		{Repo: "acme/payments", Verdict: store.VerdictBypassed, Reason: "test fixture, revoked", At: monday.Add(11 * time.Hour)},
		{Repo: "acme/web", Verdict: store.VerdictFailedOpen, Reason: "scan budget of 4s exceeded", At: monday.Add(30 * time.Hour)},
	} {
		p.Pusher, p.Source, p.EventID = "dana", "pre-receive", fmt.Sprint("push-", i)
		findings := res.Findings
		if p.Verdict == store.VerdictFailedOpen {
			findings = nil
		}
		if _, err := st.RecordPush(ctx, p, findings, nil); err != nil {
			return err
		}
	}
	return nil
}

// testServer is the dashboard over the fixture with the built-in sign-in
// (user dana), and a cookie signed in as dana.
func testServer(t testing.TB) (http.Handler, *http.Cookie) {
	t.Helper()
	f := fixture(t)
	p, err := newPasswords()
	if err != nil {
		t.Fatal(err)
	}
	line, err := HashPassword("dana", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("# the dashboard's users\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err = LoadPasswords(path); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Data: NewData(f.db.SQL(), f.store), Passwords: p, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h, &http.Cookie{Name: sessionCookie, Value: p.sign("dana", time.Now().Add(time.Hour))}
}

// get fetches path from h as the cookie's user.
func get(t testing.TB, h http.Handler, c *http.Cookie, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
