package dashboard

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/compliance"
)

// After an ingest, a report answers at once with the figures from before
// it, and with the new ones once they are computed.
func TestTableRefreshesAfterIngest(t *testing.T) {
	ctx := context.Background()
	db, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert := func(id string, at time.Time) {
		t.Helper()
		if _, err := db.Add(ctx, []cloudtrail.Event{{ID: id, Time: at.UnixMilli(), Source: "secretsmanager.amazonaws.com",
			Name: "GetSecretValue", Region: "eu-west-1", Account: "1", Principal: "arn:aws:iam::1:role/app",
			PrincipalType: "AssumedRole", SessionName: "s", SecretID: "arn:aws:secretsmanager:eu-west-1:1:secret:a",
			Read: true, File: "f"}}); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := compliance.Week("2026-W48")
	insert("e1", w.From.Add(time.Hour))
	d := NewData(db.SQL(), nil)
	reads := func() string {
		t.Helper()
		tab, err := d.Table(ctx, compliance.Headline, w)
		if err != nil {
			t.Fatal(err)
		}
		return tab.Rows[0][1]
	}
	if got := reads(); got != "1" {
		t.Fatalf("reads %s, want 1", got)
	}
	insert("e2", w.From.Add(2*time.Hour))
	// The call that notices the change starts the new computation and
	// answers with the old figures without waiting for it.
	if got := reads(); got != "1" {
		t.Errorf("right after the ingest: reads %s, want the old 1", got)
	}
	for end := time.Now().Add(10 * time.Second); d.Refreshing() && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
	}
	if got := reads(); got != "2" || d.Refreshing() {
		t.Errorf("once computed: reads %s (want 2), refreshing %v", got, d.Refreshing())
	}
}

// A database with only the real CloudTrail records (no inventory, no
// gate store), and an empty one, still give every page, saying what is
// missing.
func TestPagesWithLittleData(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		paths []string
		want  map[string]string
	}{
		{"fixtures only", []string{"../cloudtrail/testdata"}, map[string]string{
			"/rotation":   "No secret inventory",
			"/gate":       "No gate store",
			"/violations": "No key inventory",
		}},
		{"empty", nil, map[string]string{"/": "No CloudTrail events in the database yet", "/access": "Nothing in this window",
			"/rotation": "No secret inventory", "/gate": "No gate store"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if tt.paths != nil {
				if _, err := db.Ingest(ctx, tt.paths, cloudtrail.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			p, _, err := OneTimePassword("dana")
			if err != nil {
				t.Fatal(err)
			}
			h, err := New(Config{Data: NewData(db.SQL(), nil), Passwords: p})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Cookie{Name: sessionCookie, Value: p.sign("dana", time.Now().Add(time.Hour))}
			for _, path := range []string{"/", "/access", "/rotation", "/violations", "/gate", "/events", "/secret?id=x",
				"/export/evidence.zip", "/export/evidence.pdf", "/export/access.csv"} {
				rec := get(t, h, c, path)
				if rec.Code != http.StatusOK {
					t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
				}
				if want := tt.want[path]; want != "" && !strings.Contains(rec.Body.String(), want) {
					t.Errorf("%s: no %q", path, want)
				}
			}
		})
	}
}

// Results are kept for at most maxWindows windows, the least used going
// first.
func TestCacheForgetsOldWindows(t *testing.T) {
	ctx := context.Background()
	db, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := NewData(db.SQL(), nil)
	first, _ := compliance.Week("2020-W01")
	for i := range maxWindows + 5 {
		w := compliance.Window{From: first.From.AddDate(0, 0, 7*i), To: first.To.AddDate(0, 0, 7*i)}
		if _, err := d.Table(ctx, compliance.Daily, w); err != nil {
			t.Fatal(err)
		}
		if i == maxWindows-1 {
			d.Table(ctx, compliance.Daily, first) // the first week stays in use
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) != maxWindows || len(d.used) != maxWindows {
		t.Errorf("%d results for %d windows, want %d", len(d.cache), len(d.used), maxWindows)
	}
	if d.cache[cacheKey{"daily", first.From.UnixMilli(), first.To.UnixMilli()}] == nil {
		t.Error("the week asked for again was forgotten")
	}
}

// A secret's events leave out the KMS calls Secrets Manager made for its
// reads when KMS allowed them, and keep a refused one, which says why the
// read failed; the page's daily counts and Denied table agree with them.
func TestSecretEventsKeepRefusedKMSCalls(t *testing.T) {
	ctx := context.Background()
	db, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(ctx, []string{"../cloudtrail/testdata/kms-GenerateDataKey-Decrypt-via-SecretsManager.json", "testdata/trail"}, cloudtrail.Options{}); err != nil {
		t.Fatal(err)
	}
	d := NewData(db.SQL(), nil)
	w, err := compliance.Week("2018-W22")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "arn:aws:secretsmanager:us-east-2:123456789012:secret:test-secret"
	events, total, err := d.Events(ctx, EventQuery{Window: w, Secret: secret, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Source+" "+e.Name+" "+e.ErrorCode)
	}
	want := []string{"kms.amazonaws.com Decrypt AccessDenied", "secretsmanager.amazonaws.com GetSecretValue AccessDeniedException"}
	if total != len(want) || !slices.Equal(got, want) {
		t.Errorf("the secret's events: %d %q, want %q", total, got, want)
	}

	daily, err := d.SecretDaily(ctx, secret, w)
	if err != nil {
		t.Fatal(err)
	}
	var deniedPerDay []string
	for _, r := range daily.Rows {
		deniedPerDay = append(deniedPerDay, r[0][5:]+" "+r[1]+" "+r[2])
	}
	if want := []string{"05-28 0 0", "05-29 0 0", "05-30 0 0", "05-31 0 2", "06-01 0 0", "06-02 0 0", "06-03 0 0"}; !slices.Equal(deniedPerDay, want) {
		t.Errorf("reads and denials per day: %q, want %q", deniedPerDay, want)
	}
	denied, err := d.Table(ctx, compliance.Denied, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(denied.Rows) != len(want) {
		t.Errorf("the Denied table has %d rows, the events list %d", len(denied.Rows), len(want))
	}
}
