package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 15, 123_000_000, time.UTC)

func testPush(repo string, v Verdict) Push {
	return Push{
		Repo:    repo,
		Pusher:  "dana",
		Source:  "pre-receive",
		At:      t0,
		Updates: []RefUpdate{{Old: strings.Repeat("0", 40), New: strings.Repeat("a", 40), Ref: "refs/heads/main"}},
		Verdict: v,
		Commits: 2,
	}
}

func testFinding(fp string) scan.Finding {
	return scan.Finding{
		RuleID:      "aws-access-key",
		Severity:    rules.High,
		Origin:      scan.Origin{Commit: strings.Repeat("a", 40), Path: "config/prod.env"},
		Line:        3,
		Column:      14,
		Redacted:    "AKIA…MPLE",
		Fingerprint: fp,
	}
}

func testAlert(kind string) Alert {
	return Alert{
		Kind:       kind,
		Subject:    "secretgate: 1 secret blocked in acme/api (push by dana)",
		Message:    `{"repository":"acme/api"}`,
		Attributes: map[string]string{"severity": "high", "repository": "acme/api"},
	}
}

// count returns the number of rows in a table.
func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.dsn(t)
		ctx := context.Background()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != b.name {
			t.Errorf("Backend() = %q, want %q", s.Backend(), b.name)
		}
		if got := count(t, s, "schema_migrations"); got != SchemaVersion() || got == 0 {
			t.Errorf("schema_migrations has %d rows, want %d", got, SchemaVersion())
		}
		s.Close()

		// Reopening applies nothing twice.
		s, err = Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := count(t, s, "schema_migrations"); got != SchemaVersion() {
			t.Errorf("after reopen schema_migrations has %d rows, want %d", got, SchemaVersion())
		}
	})
}

func TestOpenSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d", "gate.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if s.Path() != path || s.String() != path {
		t.Errorf("Path() = %q, String() = %q, want %q (the folder name must not be read as URI syntax)", s.Path(), s.String(), path)
	}
}

// TestOpenPostgresKeepsPassword fails to reach a server and checks that
// the error names the database without its password.
func TestOpenPostgresKeepsPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://gate:hunter2@127.0.0.1:1/secretgate?connect_timeout=2",
		"POSTGRESQL://gate:hunter2@127.0.0.1:1/secretgate?connect_timeout=2",
		"postgres://gate:hunter2@[::1:bad/x",
	} {
		_, err := Open(context.Background(), dsn)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open error shows the password: %v", err)
		}
		if _, statErr := os.Stat(dsn); statErr == nil {
			t.Errorf("%s was taken for a SQLite file", dsn)
		}
	}
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://h/db":          true,
		"postgresql://h/db":        true,
		"Postgres://h/db":          true,
		"postgres.db":              false,
		"data/postgres://x":        false,
		"/var/lib/secretgate.db":   false,
		"file:gate.db?mode=memory": false,
	} {
		if got := isPostgres(dsn); got != want {
			t.Errorf("isPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = '?' AND "e?" = ?`
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite rebind changed the query: %s", got)
	}
	want := `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '?' AND "e?" = $4`
	if got := postgresDialect.rebind(q); got != want {
		t.Errorf("postgres rebind =\n%s\nwant\n%s", got, want)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.dsn(t)
		ctx := context.Background()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = Open(ctx, dsn)
		if err == nil {
			t.Fatal("Open of a newer schema succeeded")
		}
		for _, want := range []string{"999", fmt.Sprint(SchemaVersion())} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name version %s", err, want)
			}
		}
	})
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    []int
		wantErr string
	}{
		{"numbers compared as numbers", []string{"0002_b.sql", "0001_a.sql", "0010_c.sql"}, nil, "expected version 3"},
		{"sorted numerically", []string{"2_b.sql", "1_a.sql", "3_c.sql"}, []int{1, 2, 3}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, nil, "expected version 2"},
		{"duplicate", []string{"0001_a.sql", "001_b.sql"}, nil, "expected version 2"},
		{"no number", []string{"init.sql"}, nil, "positive number"},
		{"zero", []string{"0000_a.sql"}, nil, "positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["migrations/x/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			fsys["migrations/y/0001_other.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			ms, err := loadMigrations(fsys, "x")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("versions = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMigrationsMatch checks that every dialect has the same numbered
// migrations, so a schema version means the same on every backend.
func TestMigrationsMatch(t *testing.T) {
	names := func(d *dialect) []string {
		ms, err := loadMigrations(migrationFiles, d.name)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	sq, pg := names(sqliteDialect), names(postgresDialect)
	if len(sq) == 0 || fmt.Sprint(sq) != fmt.Sprint(pg) {
		t.Errorf("migrations differ: sqlite %v, postgres %v", sq, pg)
	}
}

// TestRoundTrip stores every field a push and its findings carry and reads
// them back. The redacted preview and fingerprint are the only traces of a
// secret, and they come back exactly as given.
func TestRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		p := Push{
			Repo:   "acme/api",
			Pusher: "dana",
			Source: "github",
			At:     t0,
			Updates: []RefUpdate{
				{Old: strings.Repeat("1", 40), New: strings.Repeat("2", 40), Ref: "refs/heads/main"},
				{Old: strings.Repeat("0", 64), New: strings.Repeat("3", 64), Ref: "refs/tags/v1.0 ✓"},
			},
			Verdict:   VerdictFailedOpen,
			Reason:    "scan budget of 4s exceeded",
			Commits:   17,
			Duration:  4*time.Second + 250*time.Millisecond,
			Unscanned: []RefUpdate{{Old: strings.Repeat("1", 40), New: strings.Repeat("2", 40), Ref: "refs/heads/main"}},
		}
		findings := []scan.Finding{
			{
				RuleID:      "aws-access-key",
				Description: "AWS access key id",
				Severity:    rules.Critical,
				Tags:        []string{"aws"},
				Origin:      scan.Origin{Commit: strings.Repeat("2", 40), Author: "Dana", Path: "deploy/prod.env"},
				Line:        12,
				Column:      21,
				EndLine:     12,
				EndColumn:   41,
				Redacted:    "AKIA****************",
				Fingerprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				Entropy:     3.9,
			},
			{
				RuleID:      "generic-password",
				Severity:    rules.Info,
				Origin:      scan.Origin{Commit: strings.Repeat("3", 64), Path: "src/dïr/ünïcode.go"},
				Line:        1,
				Column:      1,
				Redacted:    `pa…"d`,
				Fingerprint: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
			},
		}
		id, err := s.RecordPush(ctx, p, findings, nil)
		if err != nil {
			t.Fatal(err)
		}
		pushes, err := s.Pushes(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := p
		want.ID = id
		if len(pushes) != 1 || fmt.Sprintf("%+v", pushes[0]) != fmt.Sprintf("%+v", want) {
			t.Errorf("Pushes() =\n%+v\nwant\n%+v", pushes, want)
		}
		got, err := s.Findings(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantF := []Finding{
			{id, "aws-access-key", "critical", strings.Repeat("2", 40), "deploy/prod.env", 12, 21, "AKIA****************", findings[0].Fingerprint},
			{id, "generic-password", "info", strings.Repeat("3", 64), "src/dïr/ünïcode.go", 1, 1, `pa…"d`, findings[1].Fingerprint},
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", wantF) {
			t.Errorf("Findings() =\n%+v\nwant\n%+v", got, wantF)
		}
	})
}

func TestPushesNewestFirst(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		for i, repo := range []string{"a", "b", "c"} {
			p := testPush(repo, VerdictAccepted)
			p.At = t0.Add(time.Duration(i) * time.Minute)
			if _, err := s.RecordPush(ctx, p, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			limit int
			want  string
		}{{0, "cba"}, {2, "cb"}, {5, "cba"}}
		for _, tt := range tests {
			ps, err := s.Pushes(ctx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, p := range ps {
				got += p.Repo
			}
			if got != tt.want {
				t.Errorf("Pushes(%d) = %s, want %s", tt.limit, got, tt.want)
			}
		}
	})
}

// TestRecordPushAllOrNothing fails RecordPush at its last step in several
// ways and checks that not a row of the push is left behind.
func TestRecordPushAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		tooLong := testAlert("secret_pushed")
		tooLong.Subject = strings.Repeat("x", 100)
		noKind := testAlert("")
		tests := []struct {
			name   string
			alerts []Alert
			hook   func(ctx context.Context, cancel context.CancelFunc) error
		}{
			{"alert without kind", []Alert{testAlert("bypass"), noKind}, nil},
			{"alert subject of 100 characters", []Alert{tooLong}, nil},
			{"hook error", []Alert{testAlert("bypass")}, func(context.Context, context.CancelFunc) error {
				return errors.New("disk on fire")
			}},
			{"context cancelled midway", []Alert{testAlert("bypass")}, func(ctx context.Context, cancel context.CancelFunc) error {
				cancel()
				return nil
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t, b)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.hook != nil {
					s.beforeAlerts = func(ctx context.Context) error { return tt.hook(ctx, cancel) }
				}
				p := testPush("acme/api", VerdictBypassed)
				p.Reason = "false_positive"
				_, err := s.RecordPush(ctx, p, []scan.Finding{testFinding("fp1"), testFinding("fp2")}, tt.alerts)
				if err == nil {
					t.Fatal("RecordPush succeeded")
				}
				for _, table := range []string{"pushes", "findings", "bypasses", "outbox"} {
					if n := count(t, s, table); n != 0 {
						t.Errorf("%s has %d rows after a failed RecordPush", table, n)
					}
				}
				// The store still works afterwards.
				s.beforeAlerts = nil
				if _, err := s.RecordPush(context.Background(), p, nil, []Alert{testAlert("bypass")}); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestForeignKeysEnforced(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		_, err := s.db.Exec(`INSERT INTO findings (push_id, rule_id, severity, fingerprint) VALUES (42, 'r', 'high', 'fp')`)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			t.Errorf("finding of a missing push: err = %v, want a foreign key error", err)
		}
	})
}

func TestBypassed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		bypass := testPush("acme/api", VerdictBypassed)
		bypass.Reason = "used_in_tests"
		if _, err := s.RecordPush(ctx, bypass, []scan.Finding{testFinding("fp1"), testFinding("fp2"), testFinding("")}, nil); err != nil {
			t.Fatal(err)
		}
		// The same fingerprint bypassed again keeps its first record.
		again := bypass
		again.Pusher, again.Reason = "eve", "will_fix_later"
		if _, err := s.RecordPush(ctx, again, []scan.Finding{testFinding("fp1")}, nil); err != nil {
			t.Fatal(err)
		}
		// A rejected push bypasses nothing.
		if _, err := s.RecordPush(ctx, testPush("acme/api", VerdictRejected), []scan.Finding{testFinding("fp3")}, nil); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "bypasses"); n != 2 {
			t.Errorf("bypasses has %d rows, want 2", n)
		}
		var pusher, reason string
		if err := s.db.QueryRow(`SELECT pusher, reason FROM bypasses WHERE fingerprint = 'fp1'`).Scan(&pusher, &reason); err != nil {
			t.Fatal(err)
		}
		if pusher != "dana" || reason != "used_in_tests" {
			t.Errorf("fp1 bypass by %s for %s, want the first: dana for used_in_tests", pusher, reason)
		}

		many := make([]string, 1200) // more than one query's worth
		for i := range many {
			many[i] = fmt.Sprintf("other%d", i)
		}
		many[1100] = "fp2"
		tests := []struct {
			repo string
			fps  []string
			want string
		}{
			{"acme/api", []string{"fp1", "fp2", "fp3", "fp4"}, "map[fp1:true fp2:true]"},
			{"acme/web", []string{"fp1", "fp2"}, "map[]"},
			{"acme/api", nil, "map[]"},
			{"acme/api", many, "map[fp2:true]"},
		}
		for _, tt := range tests {
			got, err := s.Bypassed(ctx, tt.repo, tt.fps)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("Bypassed(%s, %d fingerprints) = %v, want %s", tt.repo, len(tt.fps), got, tt.want)
			}
		}
	})
}

func TestOutboxLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		alerts := []Alert{testAlert("secret_pushed"), testAlert("bypass"), testAlert("fail_open")}
		alerts[2].Attributes = nil
		pushID, err := s.RecordPush(ctx, testPush("acme/api", VerdictRejected), nil, alerts)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(as []Alert) string {
			var out []string
			for _, a := range as {
				out = append(out, fmt.Sprintf("%d:%s", a.ID, a.Kind))
			}
			return strings.Join(out, " ")
		}
		lease := time.Minute

		// Not due before the push happened.
		if got, _ := s.ClaimAlerts(ctx, t0.Add(-time.Second), 10, lease); len(got) != 0 {
			t.Errorf("claimed %s before they were due", ids(got))
		}
		got, err := s.ClaimAlerts(ctx, t0, 2, lease)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != "1:secret_pushed 2:bypass" {
			t.Fatalf("first claim = %s", ids(got))
		}
		a := got[0]
		if a.PushID != pushID || a.Subject != alerts[0].Subject || a.Message != alerts[0].Message ||
			fmt.Sprint(a.Attributes) != fmt.Sprint(alerts[0].Attributes) || !a.CreatedAt.Equal(t0) || a.Attempts != 0 {
			t.Errorf("claimed alert = %+v", a)
		}
		// Leased: a second deliverer gets only the third.
		got, _ = s.ClaimAlerts(ctx, t0.Add(time.Second), 10, lease)
		if ids(got) != "3:fail_open" || got[0].Attributes == nil {
			t.Fatalf("second claim = %s (%+v)", ids(got), got)
		}
		// 1 delivered, 2 failed (retry in 5 minutes), 3's deliverer died.
		if err := s.AlertDelivered(ctx, 1, t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.AlertFailed(ctx, 2, "connection refused", t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.PendingAlerts(ctx); n != 2 {
			t.Errorf("PendingAlerts = %d, want 2", n)
		}
		if got, _ := s.ClaimAlerts(ctx, t0.Add(30*time.Second), 10, lease); len(got) != 0 {
			t.Errorf("claimed %s while 2 waits for its retry and 3 is leased", ids(got))
		}
		// 3's lease has expired.
		got, _ = s.ClaimAlerts(ctx, t0.Add(90*time.Second), 10, lease)
		if ids(got) != "3:fail_open" {
			t.Errorf("claim after lease expiry = %s, want 3", ids(got))
		}
		if err := s.AlertDelivered(ctx, 3, t0.Add(91*time.Second)); err != nil {
			t.Fatal(err)
		}
		// 2 is due again, with its attempt counted.
		got, _ = s.ClaimAlerts(ctx, t0.Add(5*time.Minute), 10, lease)
		if ids(got) != "2:bypass" || got[0].Attempts != 1 || got[0].LastError != "connection refused" {
			t.Errorf("claim at retry time = %s %+v", ids(got), got)
		}
		if err := s.AlertDelivered(ctx, 1, t0); !errors.Is(err, ErrNoAlert) {
			t.Errorf("delivering an alert twice: err = %v, want ErrNoAlert", err)
		}
		if err := s.AlertFailed(ctx, 99, "x", t0); !errors.Is(err, ErrNoAlert) {
			t.Errorf("failing a missing alert: err = %v, want ErrNoAlert", err)
		}
		if _, err := s.ClaimAlerts(ctx, t0, 1, 0); err == nil {
			t.Error("ClaimAlerts with no lease succeeded")
		}
	})
}

// TestConcurrentProcesses opens the same file twice, as two pre-receive
// hook processes would, and writes from many goroutines through both.
func TestConcurrentProcesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		path := b.dsn(t)
		ctx := context.Background()
		var stores [2]*Store
		for i := range stores {
			s, err := Open(ctx, path) // both migrate at once: one waits for the other
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		const perStore = 25
		var wg sync.WaitGroup
		errs := make(chan error, 2*perStore)
		for i, s := range stores {
			for j := range perStore {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := testPush(fmt.Sprintf("repo-%d-%d", i, j), VerdictBypassed)
					fs := []scan.Finding{testFinding(fmt.Sprint("fp", j)), testFinding(fmt.Sprint("fq", j))}
					if _, err := s.RecordPush(ctx, p, fs, []Alert{testAlert("bypass")}); err != nil {
						errs <- err
						return
					}
					if _, err := s.Bypassed(ctx, p.Repo, []string{"fp1"}); err != nil {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for table, want := range map[string]int{"pushes": 2 * perStore, "findings": 4 * perStore, "bypasses": 4 * perStore, "outbox": 2 * perStore} {
			if n := count(t, stores[0], table); n != want {
				t.Errorf("%s has %d rows, want %d", table, n, want)
			}
		}
	})
}

// TestConcurrentClaims has many deliverers in two "processes" claim from
// one outbox: each alert is handed out exactly once.
func TestConcurrentClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		path := b.dsn(t)
		ctx := context.Background()
		a, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		a2, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer a2.Close()
		const pushes, perPush = 20, 5
		for range pushes {
			as := make([]Alert, perPush)
			for i := range as {
				as[i] = testAlert("secret_pushed")
			}
			if _, err := a.RecordPush(ctx, testPush("acme/api", VerdictRejected), nil, as); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			claimed = map[int64]int{}
			wg      sync.WaitGroup
		)
		for w := range 16 {
			s := []*Store{a, a2}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimAlerts(ctx, t0.Add(time.Second), 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, al := range got {
						mu.Lock()
						claimed[al.ID]++
						mu.Unlock()
						if err := s.AlertDelivered(ctx, al.ID, t0); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(claimed) != pushes*perPush {
			t.Errorf("%d alerts claimed, want %d", len(claimed), pushes*perPush)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("alert %d claimed %d times", id, n)
			}
		}
		if n, _ := a.PendingAlerts(ctx); n != 0 {
			t.Errorf("PendingAlerts = %d, want 0", n)
		}
	})
}

// TestConcurrentFirstOpen opens a new file from many "processes" at once,
// as concurrent first pushes would: all succeed and migrate once.
func TestConcurrentFirstOpen(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		path := b.dsn(t)
		var wg sync.WaitGroup
		stores := make([]*Store, 8)
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				stores[i] = s
			}()
		}
		wg.Wait()
		for _, s := range stores {
			if s != nil {
				defer s.Close()
			}
		}
		if stores[0] != nil {
			if n := count(t, stores[0], "schema_migrations"); n != SchemaVersion() {
				t.Errorf("schema_migrations has %d rows, want %d", n, SchemaVersion())
			}
		}
	})
}

// TestTextStoredAlike stores a path that is not UTF-8 and holds a NUL, as
// a git tree may: PostgreSQL cannot store either in text, so both backends
// store U+FFFD in their place and read back the same.
func TestTextStoredAlike(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		s := openTest(t, b)
		ctx := context.Background()
		f := testFinding("fp1")
		f.Origin.Path = "conf/caf\xe9\x00.env"
		p := testPush("acme/\xffapi", VerdictBypassed)
		p.Reason = "used_in_tests\x00"
		id, err := s.RecordPush(ctx, p, []scan.Finding{f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Findings(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Path != "conf/caf\uFFFD\uFFFD.env" {
			t.Errorf("Findings() = %+v, want the path with U+FFFD for the bad byte and the NUL", got)
		}
		ps, err := s.Pushes(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].Repo != "acme/\uFFFDapi" || ps[0].Reason != "used_in_tests\uFFFD" {
			t.Errorf("Pushes() = %+v", ps)
		}
		if by, err := s.Bypassed(ctx, "acme/\xffapi", []string{"fp1"}); err != nil || !by["fp1"] {
			t.Errorf("Bypassed by the repository's raw name = %v, %v; want fp1", by, err)
		}
	})
}

// TestConcurrentBypassesOfOneSecret has many pushes bypass the same
// fingerprints in one repository at once, each listing them in another
// order: none fails (no deadlock on PostgreSQL) and the first record of
// each fingerprint is the one kept.
func TestConcurrentBypassesOfOneSecret(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testBackend) {
		dsn := b.dsn(t)
		ctx := context.Background()
		var stores [2]*Store
		for i := range stores {
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		fps := []string{"fp0", "fp1", "fp2", "fp3", "fp4", "fp5"}
		var wg sync.WaitGroup
		for w := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var fs []scan.Finding
				for i := range fps {
					fs = append(fs, testFinding(fps[(i*(w%5+1)+w)%len(fps)]))
				}
				slices.Reverse(fs[:w%len(fs)])
				p := testPush("acme/api", VerdictBypassed)
				p.Reason = "false_positive"
				if _, err := stores[w%2].RecordPush(ctx, p, fs, []Alert{testAlert("bypass")}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := count(t, stores[0], "bypasses"); n != len(fps) {
			t.Errorf("bypasses has %d rows, want %d", n, len(fps))
		}
		if n := count(t, stores[0], "pushes"); n != 24 {
			t.Errorf("pushes has %d rows, want 24", n)
		}
	})
}
