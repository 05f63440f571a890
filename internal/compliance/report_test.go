package compliance

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/inventory"
	"github.com/secretgate/secretgate/internal/store"
)

func TestWeek(t *testing.T) {
	for in, want := range map[string]string{
		"2026-W48": "2026-11-23 – 2026-11-29",
		"2026-W01": "2025-12-29 – 2026-01-04",
		"2020-W53": "2020-12-28 – 2021-01-03",
	} {
		w, err := Week(in)
		if err != nil || w.String() != want {
			t.Errorf("Week(%s) = %v, %v; want %s", in, w, err, want)
		}
	}
	for _, bad := range []string{"2026-48", "2026-W54", "2021-W53", "soon"} {
		if _, err := Week(bad); err == nil {
			t.Errorf("Week(%q): no error", bad)
		}
	}
	if got := LastWeek(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)).String(); got != "2026-11-23 – 2026-11-29" {
		t.Errorf("LastWeek = %s", got)
	}
}

const (
	acct    = "111122223333"
	secretA = "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:prod/payments/db"
	secretB = "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:prod/search/api-key"
	appRole = "arn:aws:iam::" + acct + ":role/payments-prod"
	sso     = "arn:aws:iam::" + acct + ":role/AWSReservedSSO_Admin_0123456789abcdef"
	bg      = "arn:aws:iam::" + acct + ":role/break-glass"
)

type ev struct {
	day                       int // day of week 2026-W48 (0 = Monday); negative: the week before
	name, source              string
	principal, ptype, session string
	mfa, read                 int
	secret, key, errorCode    string
}

func seed(t *testing.T) *cloudtrail.DB {
	t.Helper()
	db, err := cloudtrail.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	monday := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	evs := []ev{
		{-3, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-1", 0, 1, secretA, "", ""},
		{0, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-1", 0, 1, secretA, "", ""},
		{1, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-2", 0, 1, secretA, "", ""},
		{2, "GetSecretValue", "secretsmanager", sso, "AssumedRole", "dana@example.com", 0, 1, secretA, "", ""},
		{2, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-2", 0, 1, secretB, "", "AccessDenied"},
		{3, "AssumeRole", "sts", bg, "AssumedRole", "lee", 1, 0, "", "", ""},
		{3, "GetSecretValue", "secretsmanager", bg, "AssumedRole", "lee", 1, 1, secretB, "", ""},
		{3, "DeleteSecret", "secretsmanager", sso, "AssumedRole", "dana@example.com", 0, 0, secretB, "", ""},
		{4, "ScheduleKeyDeletion", "kms", sso, "AssumedRole", "dana@example.com", 1, 0, "", "arn:aws:kms:eu-west-1:" + acct + ":key/k1", ""},
		{4, "RotationFailed", "secretsmanager", "secretsmanager.amazonaws.com", "AWSService", "", 0, 0, secretA, "", ""},
		{5, "RotationSucceeded", "secretsmanager", "secretsmanager.amazonaws.com", "AWSService", "", 0, 0, secretA, "", ""},
		{8, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-9", 0, 1, secretA, "", ""}, // next week
		{4, "GetSecretValue", "secretsmanager", appRole, "AssumedRole", "i-2", 0, 1, secretB, "", "InvalidRequestException"},
	}
	var rows []cloudtrail.Event
	for i, e := range evs {
		rows = append(rows, cloudtrail.Event{ID: fmt.Sprint("e", i), Time: monday.AddDate(0, 0, e.day).Add(time.Duration(i) * time.Minute).UnixMilli(),
			Source: e.source + ".amazonaws.com", Name: e.name, Region: "eu-west-1", Account: acct, Principal: e.principal,
			PrincipalType: e.ptype, SessionName: e.session, MFA: e.mfa == 1, SecretID: e.secret, KeyID: e.key,
			ErrorCode: e.errorCode, Read: e.read == 1, File: "t"})
	}
	if _, err := db.Add(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE events SET error_message = 'Error when executing lambda arn:aws:lambda:eu-west-1:111122223333:function:rotate during setSecret step'
		WHERE event_name = 'RotationFailed'`); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReports(t *testing.T) {
	db := seed(t)
	w, _ := Week("2026-W48")
	tests := []struct {
		r    *Report
		want []string // rows, cells joined with " | "
	}{
		{Access, []string{
			secretA + " | " + appRole + " | 2 | 2026-11-23T09:01:00Z | 2026-11-24T09:02:00Z | no | no",
			secretA + " | " + sso + " | 1 | 2026-11-25T09:03:00Z | 2026-11-25T09:03:00Z | yes | yes",
			secretB + " | " + bg + " | 1 | 2026-11-26T09:06:00Z | 2026-11-26T09:06:00Z | yes | no",
		}},
		{Denied, []string{"2026-11-25T09:04:00Z | " + appRole + " | secretsmanager:GetSecretValue | " + secretB + " | AccessDenied"}},
		{BreakGlass, []string{bg + " | lee | yes | 2026-11-26T09:05:00Z | 2026-11-26T09:06:00Z | 2 | 1"}},
		{UnsafeChanges, []string{"2026-11-26T09:07:00Z | " + sso + " | secretsmanager:DeleteSecret | " + secretB}},
		{Rotations, []string{secretA + " | 1 | 1 | 0 | 2026-11-28T09:10:00Z | 2026-11-27T09:09:00Z | " +
			"Error when executing lambda arn:aws:lambda:eu-west-1:111122223333:function:rotate during setSecret step"}},
		{Daily, []string{"2026-11-23 | 1 | 0", "2026-11-24 | 1 | 0", "2026-11-25 | 1 | 1", "2026-11-26 | 1 | 0",
			"2026-11-27 | 0 | 0", "2026-11-28 | 0 | 0", "2026-11-29 | 0 | 0"}},
		{Deletions, []string{
			"2026-11-26T09:07:00Z | " + sso + " | secretsmanager:DeleteSecret | " + secretB + " | no",
			"2026-11-27T09:08:00Z | " + sso + " | kms:ScheduleKeyDeletion | arn:aws:kms:eu-west-1:" + acct + ":key/k1 | yes",
		}},
		{DeletedReads, []string{"2026-11-27T09:12:00Z | " + appRole + " | " + secretB + " | 2026-11-26T09:07:00Z | InvalidRequestException"}},
		{Coverage, []string{
			"2026-11-23 | 1 | 1 | 1 | ok", "2026-11-24 | 1 | 1 | 1 | ok", "2026-11-25 | 1 | 2 | 1 | ok",
			"2026-11-26 | 1 | 3 | 1 | ok", "2026-11-27 | 1 | 3 | 0 | ok", "2026-11-28 | 1 | 1 | 0 | no read events logged",
			"2026-11-29 | 0 | 0 | 0 | NO LOG FILES",
		}},
		{Headline, []string{
			"secret reads | 4 | 1", "secrets read | 2 | 1", "readers | 3 | 1",
			"denied attempts | 1 | 0", "break-glass sessions | 1 | 0", "rotation failures | 1 | 0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.r.Name, func(t *testing.T) {
			tab, err := Run(context.Background(), SQLite{db.SQL()}, tt.r, w)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, row := range tab.Rows {
				if len(row) != len(tt.r.Columns) {
					t.Fatalf("row has %d cells, report names %d columns", len(row), len(tt.r.Columns))
				}
				got = append(got, strings.Join(row, " | "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRunAllMatchesRun(t *testing.T) {
	db := seed(t)
	w, _ := Week("2026-W48")
	all, err := RunAll(context.Background(), SQLite{db.SQL()}, All, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range All {
		one, _ := Run(context.Background(), SQLite{db.SQL()}, r, w)
		if fmt.Sprint(one.Rows) != fmt.Sprint(all[i].Rows) || all[i].Report != r {
			t.Errorf("%s differs when run together", r.Name)
		}
	}
}

// secretC is a secret of the inventory that nobody reads or rotates.
const secretC = "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:prod/old/unused"

// seedInventory adds the inventory TestControls and TestRotationStatus
// read: A rotates (events) every 30 days and is read, B does not rotate,
// C is stale, and one secret is scheduled for deletion.
func seedInventory(t *testing.T, db *cloudtrail.DB) {
	t.Helper()
	if _, err := db.SQL().Exec(inventory.Schema); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, s := range []struct {
		id                      string
		rotation                int
		days                    any
		lastRotated, lastAccess any
		deleted                 int
	}{
		{secretA, 1, 30, nil, nil, 0},     // rotates (events), read this week
		{secretB, 0, nil, nil, nil, 0},    // no rotation; read this week (by break-glass)
		{secretC, 1, 30, old, old, 0},     // rotation on, but stale on both counts
		{"arn:gone", 0, nil, nil, nil, 1}, // scheduled for deletion: left out
	} {
		if _, err := db.SQL().Exec(`INSERT INTO secrets (secret_id, name, arn, region, account_id, rotation_enabled, rotation_days, rotation_schedule,
			last_rotated, last_accessed, kms_key_id, deleted, tags, service, environment, imported_at)
			VALUES (?, '', '', 'eu-west-1', ?, ?, ?, '', ?, ?, '', ?, '{}', '', '', 0)`, s.id, acct, s.rotation, s.days, s.lastRotated, s.lastAccess, s.deleted); err != nil {
			t.Fatal(err)
		}
	}
}

func TestControls(t *testing.T) {
	db := seed(t)
	seedInventory(t, db)
	w, _ := Week("2026-W48")
	tab, err := Run(context.Background(), SQLite{db.SQL()}, Controls, w)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tab.Rows {
		got = append(got, strings.Join(r, " | "))
	}
	want := []string{
		"SecretsManager.1 | " + secretB + " | FAIL | automatic rotation off",
		"SecretsManager.1 | " + secretC + " | PASS | automatic rotation on",
		"SecretsManager.1 | " + secretA + " | PASS | automatic rotation on",
		"SecretsManager.2 | " + secretC + " | PASS | no rotation seen",
		"SecretsManager.2 | " + secretA + " | PASS | last rotation succeeded 2026-11-28T09:10:00Z",
		"SecretsManager.3 | " + secretC + " | FAIL | last read 2026-06-01T00:00:00Z",
		"SecretsManager.3 | " + secretA + " | PASS | last read 2026-11-25T09:03:00Z",
		"SecretsManager.3 | " + secretB + " | PASS | last read 2026-11-26T09:06:00Z",
		"SecretsManager.4 | " + secretC + " | FAIL | last rotated 2026-06-01T00:00:00Z",
		"SecretsManager.4 | " + secretB + " | FAIL | never rotated",
		"SecretsManager.4 | " + secretA + " | PASS | last rotated 2026-11-28T09:10:00Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGateTable(t *testing.T) {
	w, _ := Week("2026-W48")
	tab := GateTable([]store.Activity{
		{Repo: "acme/api", Rule: "aws-access-key", Blocked: 1, Bypassed: 2, Findings: 4, BypassReason: []string{"test fixture", "revoked"}},
		{Repo: "acme/web", Blocked: 1, FailedOpen: 1},
	}, w)
	want := [][]string{
		{"acme/api", "aws-access-key", "1", "2", "0", "4", "test fixture; revoked"},
		{"acme/web", "(not scanned)", "1", "0", "1", "0", ""},
	}
	if fmt.Sprint(tab.Rows) != fmt.Sprint(want) || len(tab.Columns) != len(want[0]) {
		t.Errorf("rows %q", tab.Rows)
	}
}

func TestRotationStatus(t *testing.T) {
	db := seed(t)
	seedInventory(t, db)
	reason := "Error when executing lambda arn:aws:lambda:eu-west-1:111122223333:function:rotate during setSecret step"
	for _, tt := range []struct {
		week string
		want []string
	}{
		// W48: A failed on Friday and succeeded on Saturday.
		{"2026-W48", []string{
			secretC + " | overdue | 30 | 2026-06-01T00:00:00Z | 2026-07-01T00:00:00Z |  | ",
			secretB + " | disabled |  |  |  |  | ",
			secretA + " | ok | 30 | 2026-11-28T09:10:00Z | 2026-12-28T09:10:00Z | 2026-11-27T09:09:00Z | " + reason,
		}},
		// W47 ends before both: A has no rotation seen, so it is overdue too.
		{"2026-W47", []string{
			secretC + " | overdue | 30 | 2026-06-01T00:00:00Z | 2026-07-01T00:00:00Z |  | ",
			secretA + " | overdue | 30 |  |  |  | ",
			secretB + " | disabled |  |  |  |  | ",
		}},
	} {
		w, _ := Week(tt.week)
		tab, err := Run(context.Background(), SQLite{db.SQL()}, RotationStatus, w)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range tab.Rows {
			got = append(got, strings.Join(r, " | "))
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.week, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
	// A failure after the last success makes the secret failing; the
	// reason is the latest failure's (here none was logged).
	if _, err := db.SQL().Exec(`UPDATE events SET event_name = 'RotationFailed' WHERE event_name = 'RotationSucceeded'`); err != nil {
		t.Fatal(err)
	}
	w, _ := Week("2026-W48")
	tab, err := Run(context.Background(), SQLite{db.SQL()}, RotationStatus, w)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tab.Rows[0], " | "); got != secretA+" | failing | 30 |  |  | 2026-11-28T09:10:00Z | " {
		t.Errorf("first row %s", got)
	}
}

func TestOutsideReaders(t *testing.T) {
	db := seed(t)
	seedInventory(t, db)
	if _, err := db.SQL().Exec(`UPDATE secrets SET service = 'payments', environment = 'prod'`); err != nil {
		t.Fatal(err)
	}
	other := "arn:aws:iam::" + acct + ":role/search-staging-app"
	var rows []cloudtrail.Event
	for i, p := range []string{other, other, "arn:aws:iam::" + acct + ":role/payments-staging-worker", "arn:aws:iam::" + acct + ":role/ops/payments-prod-batch"} {
		rows = append(rows, cloudtrail.Event{ID: fmt.Sprint("o", i), Time: time.Date(2026, 11, 24, 10, i, 0, 0, time.UTC).UnixMilli(),
			Source: "secretsmanager.amazonaws.com", Name: "GetSecretValue", Region: "eu-west-1", Account: acct, Principal: p,
			PrincipalType: "AssumedRole", SessionName: "s", SecretID: secretA, Read: true, File: "t"})
	}
	if _, err := db.Add(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	w, _ := Week("2026-W48")
	tab, err := Run(context.Background(), SQLite{db.SQL()}, OutsideReaders, w)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tab.Rows {
		got = append(got, strings.Join(r, " | "))
	}
	// payments-prod (the app), the SSO person, break-glass and the
	// payments-prod-batch role under a path are not outside readers.
	want := []string{
		secretA + " | " + other + " | 2 | payments | prod | service and environment",
		secretA + " | arn:aws:iam::" + acct + ":role/payments-staging-worker | 1 | payments | prod | environment",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFillDaysEndsWithToday(t *testing.T) {
	w, _ := Week("2026-W49") // Monday 2026-11-30 to Sunday 2026-12-06
	rows := [][]string{{"2026-12-01", "7"}}
	tests := []struct {
		now  time.Time
		want []string
	}{
		{time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), []string{"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"}},
		{time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC), []string{"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"}},
		{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), []string{"2026-11-30", "2026-12-01"}},
		{time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), []string{"2026-12-01"}}, // a clock behind the data
	}
	for _, tt := range tests {
		var got []string
		for _, r := range FillDays(rows, w, []string{"0"}, tt.now) {
			got = append(got, r[0])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("now %s: days %v, want %v", tt.now.Format(time.RFC3339), got, tt.want)
		}
	}
}

// An inventory imported after the week shows dates after it: a report of
// that week does not count them.
func TestInventoryDatesAfterTheWindow(t *testing.T) {
	db := seed(t)
	seedInventory(t, db)
	later := time.Date(2026, 12, 3, 5, 33, 40, 0, time.UTC).UnixMilli()
	if _, err := db.SQL().Exec(`UPDATE secrets SET last_rotated = ?, last_accessed = ? WHERE secret_id = ?`, later, later, secretC); err != nil {
		t.Fatal(err)
	}
	w, _ := Week("2026-W48")
	rows := func(r *Report) string {
		tab, err := Run(context.Background(), SQLite{db.SQL()}, r, w)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, row := range tab.Rows {
			if row[0] == secretC || row[1] == secretC {
				got = append(got, strings.Join(row, " | "))
			}
		}
		return strings.Join(got, "\n")
	}
	if got, want := rows(Controls), strings.Join([]string{
		"SecretsManager.1 | " + secretC + " | PASS | automatic rotation on",
		"SecretsManager.2 | " + secretC + " | PASS | no rotation seen",
		"SecretsManager.3 | " + secretC + " | FAIL | never read",
		"SecretsManager.4 | " + secretC + " | FAIL | never rotated",
	}, "\n"); got != want {
		t.Errorf("controls:\n%s\nwant\n%s", got, want)
	}
	if got, want := rows(RotationStatus), secretC+" | overdue | 30 |  |  |  | "; got != want {
		t.Errorf("rotation status:\n%s\nwant\n%s", got, want)
	}
	// The week after sees them.
	w, _ = Week("2026-W49")
	if got := rows(RotationStatus); !strings.Contains(got, "2026-12-03T05:33:40Z") {
		t.Errorf("W49 rotation status: %s", got)
	}
}

func TestCaveatsTable(t *testing.T) {
	db := seed(t)
	ctx := context.Background()
	src := SQLite{db.SQL()}
	w, _ := Week("2026-W48")
	cov, err := Run(ctx, src, Coverage, w)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := CaveatsTable(ctx, src, w, cov, []string{"no secret inventory"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"no secret inventory"},
		{"this week: 2026-11-28 no read events logged; 2026-11-29 no log files"},
		{"the week before: 2026-11-16 no log files; 2026-11-17 no log files; 2026-11-18 no log files; 2026-11-19 no log files; 2026-11-21 no log files; 2026-11-22 no log files"},
	}
	if tab == nil || !reflect.DeepEqual(tab.Rows, want) {
		t.Errorf("caveats %v", tab)
	}
	// Nothing left out and no day lacking (the days of a week to come are
	// not missing yet): nothing to say.
	later, _ := Week("2099-W10")
	full := Table{Rows: [][]string{{"2099-03-02", "1", "1", "1", "ok"}}}
	if tab, err := CaveatsTable(ctx, src, later, &full, nil); err != nil || tab != nil {
		t.Errorf("nothing to say: %v, %v", tab, err)
	}
}
