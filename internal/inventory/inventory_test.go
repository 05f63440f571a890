package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := cloudtrail.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.SQL()
}

func importFile(t *testing.T, db *sql.DB, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := Import(context.Background(), db, f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func byID(t *testing.T, db *sql.DB) map[string]Secret {
	t.Helper()
	list, err := Secrets(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Secret{}
	for _, s := range list {
		m[s.ID] = s
	}
	return m
}

func at(s string) time.Time {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return v.UTC()
}

const fixture = "testdata/list-secrets.json"

func TestImportFixture(t *testing.T) {
	db := open(t)
	if n := importFile(t, db, fixture); n != 7 {
		t.Fatalf("imported %d secrets, want 7", n)
	}
	got := byID(t, db)
	const acct = "arn:aws:secretsmanager:us-east-1:111122223333:secret:"
	cmk := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		what string
		want Secret
	}{
		{"CMK, AutomaticallyAfterDays, ISO dates with fractions and offsets", Secret{
			ID: acct + "prod/payments/db", Name: "prod/payments/db", ARN: acct + "prod/payments/db-AbCdEf",
			Region: "us-east-1", Account: "111122223333", RotationEnabled: true, RotationDays: 30,
			LastRotated: at("2026-01-10T08:00:00.123Z"), LastAccessed: at("2026-01-12T00:00:00Z"),
			NextRotation: at("2026-02-09T08:00:00Z"), KMSKeyID: cmk,
			Tags:    map[string]string{"service": "payments", "environment": "prod", "owner": "payments-team"},
			Service: "payments", Environment: "prod"}},
		{"managed key, rate(10 days), epoch dates, Team/Env tags", Secret{
			ID: acct + "staging/search/api-key", Name: "staging/search/api-key", ARN: acct + "staging/search/api-key-x1Y2z3",
			Region: "us-east-1", Account: "111122223333", RotationEnabled: true, RotationDays: 10, RotationSchedule: "rate(10 days)",
			LastRotated: at("2026-01-01T00:00:00.5Z"), LastAccessed: at("2025-12-31T00:00:00Z"), NextRotation: at("2026-01-11T00:00:00Z"),
			Tags:    map[string]string{"Team": "search", "Env": "staging"},
			Service: "search", Environment: "staging"}},
		{"cron: no interval in days", Secret{
			ID: acct + "dev/orders/signing-key", Name: "dev/orders/signing-key", ARN: acct + "dev/orders/signing-key-QwErTy",
			Region: "us-east-1", Account: "111122223333", RotationEnabled: true, RotationSchedule: "cron(0 16 1,15 * ? *)",
			LastRotated: at("2026-01-01T16:00:00Z"), KMSKeyID: "1234abcd-12ab-34cd-56ef-1234567890ab",
			Tags:    map[string]string{"SERVICE": "orders", "environment": "dev"},
			Service: "orders", Environment: "dev"}},
		{"no rotation, no tags, epoch seconds in a string", Secret{
			ID: acct + "legacy/password", Name: "legacy/password", ARN: acct + "legacy/password-Zz9Yy8",
			Region: "us-east-1", Account: "111122223333", LastAccessed: at("2025-01-01T00:00:00Z"),
			Tags: map[string]string{}}},
		{"planned deletion, managed key by alias, service beats team", Secret{
			ID: acct + "prod/auth/old-token", Name: "prod/auth/old-token", ARN: acct + "prod/auth/old-token-PlMnOk",
			Region: "us-east-1", Account: "111122223333", RotationDays: 90,
			Deleted: true, DeletedDate: at("2026-01-12T00:00:00.25Z"),
			Tags:    map[string]string{"team": "identity", "Service": "auth", "environment": "prod"},
			Service: "auth", Environment: "prod"}},
		{"rate(1 day), another account and region", Secret{
			ID: "arn:aws:secretsmanager:eu-west-1:444455556666:secret:prod/daily", Name: "prod/daily",
			ARN:    "arn:aws:secretsmanager:eu-west-1:444455556666:secret:prod/daily-AaBbCc",
			Region: "eu-west-1", Account: "444455556666", RotationEnabled: true, RotationDays: 1, RotationSchedule: "rate(1 day)",
			Tags: map[string]string{}}},
		{"rate in hours: no interval in days", Secret{
			ID: acct + "prod/hourly", Name: "prod/hourly", ARN: acct + "prod/hourly-DdEeFf",
			Region: "us-east-1", Account: "111122223333", RotationEnabled: true, RotationSchedule: "rate(4 hours)",
			Tags: map[string]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			s, ok := got[tt.want.ID]
			if !ok {
				t.Fatalf("%s not imported", tt.want.ID)
			}
			if !reflect.DeepEqual(s, tt.want) {
				t.Errorf("got  %+v\nwant %+v", s, tt.want)
			}
		})
	}
	// NULLs where Secrets Manager gave nothing, so reports can tell.
	var nulls int
	if err := db.QueryRow(`SELECT COUNT(*) FROM secrets WHERE rotation_days IS NULL AND last_rotated IS NULL
		AND next_rotation IS NULL AND deleted_date IS NULL`).Scan(&nulls); err != nil || nulls != 2 {
		t.Errorf("rows with NULL interval and dates: %d (%v), want 2", nulls, err)
	}
}

func TestReimportReplaces(t *testing.T) {
	db := open(t)
	importFile(t, db, fixture)
	first := byID(t, db)
	importFile(t, db, fixture)
	if again := byID(t, db); !reflect.DeepEqual(first, again) {
		t.Errorf("re-import changed the inventory:\n%+v\n%+v", first, again)
	}
	// A later listing of one secret replaces its row, found by its identity
	// whatever the suffix.
	later := `{"SecretList":[{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/payments/db-AbCdEf",
		"Name":"prod/payments/db","RotationEnabled":false,"Tags":[{"Key":"env","Value":"prod"}]}]}`
	if n, err := Import(context.Background(), db, strings.NewReader(later)); err != nil || n != 1 {
		t.Fatalf("Import: %d, %v", n, err)
	}
	got := byID(t, db)
	if len(got) != 7 {
		t.Errorf("%d secrets after re-import, want 7", len(got))
	}
	s := got["arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/payments/db"]
	if s.RotationEnabled || s.RotationDays != 0 || !s.LastRotated.IsZero() || s.KMSKeyID != "" || s.Service != "" || s.Environment != "prod" {
		t.Errorf("not replaced: %+v", s)
	}
}

func TestMalformed(t *testing.T) {
	good := `{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf","Name":"a"}`
	tests := []struct {
		what, doc, bad string // bad: the text at the offset the error must name
		want           string
	}{
		{"syntax error in the second secret", `{"SecretList":[` + good + `, {"ARN": }]}`, `}]}`, "invalid character"},
		{"bad date: the secret's offset", `{"SecretList":[` + good + `,  {"ARN":"x","LastRotatedDate":"last tuesday"}]}`, `{`, "last tuesday"},
		{"wrong type", `{"SecretList":[{"RotationEnabled":"yes"}]}`, `"yes"`, "bool"},
		{"not a Secrets Manager ARN", `{"SecretList":[` + good + `, {"ARN":"arn:aws:kms:us-east-1:1:key/x"}]}`, `{`, "not a Secrets Manager ARN"},
		{"SecretList not a list", `{"NextToken":null, "SecretList":{}}`, `{}`, "SecretList"},
		{"cut short", `{"SecretList":[` + good, ``, "unexpected EOF"},
		{"no list", `{"Secrets":[]}`, ``, "SecretList"},
		{"not an object", `[]`, `]`, "SecretList"},
		{"empty", ``, ``, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			db := open(t)
			n, err := Import(context.Background(), db, strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("no error, %d imported", n)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			off := len(tt.doc)
			if tt.bad != "" {
				off = strings.LastIndex(tt.doc, tt.bad)
			}
			if !strings.Contains(err.Error(), "byte ") {
				t.Fatalf("error %q names no byte offset", err)
			}
			var got int
			rest := err.Error()[strings.Index(err.Error(), "byte ")+5:]
			for _, c := range rest {
				if c < '0' || c > '9' {
					break
				}
				got = got*10 + int(c-'0')
			}
			if got < off || got > off+len(tt.bad) {
				t.Errorf("error %q: offset %d, want %d (%q)", err, got, off, tt.doc[min(off, len(tt.doc)):])
			}
			// All or nothing: the good secret before the bad one is not kept.
			if list, err := Secrets(context.Background(), db); err != nil || len(list) != 0 {
				t.Errorf("%d secrets kept after a failed import (%v)", len(list), err)
			}
		})
	}
}

// TestJoinsWithGeneratedEvents imports the generator's inventory next to
// its CloudTrail and checks that secrets and events meet on secret_id.
func TestJoinsWithGeneratedEvents(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(t.TempDir(), "inventory.json")
	if _, err := gen.Write(dir, gen.Config{Seed: 7, Days: 2, Events: 3000, Inventory: inv}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cdb, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	if _, err := cdb.Ingest(ctx, []string{dir}, cloudtrail.Options{}); err != nil {
		t.Fatal(err)
	}
	db := cdb.SQL()
	n := importFile(t, db, inv)
	want := len(gen.Services) * len(gen.Environments) * 3
	if n != want {
		t.Errorf("imported %d secrets, want %d", n, want)
	}
	var joined, readers int
	if err := db.QueryRow(`SELECT COUNT(DISTINCT s.secret_id) FROM secrets s JOIN events e ON e.secret_id = s.secret_id
		WHERE e.is_read = 1`).Scan(&joined); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(DISTINCT secret_id) FROM events WHERE is_read = 1 AND secret_id <> ''`).Scan(&readers); err != nil {
		t.Fatal(err)
	}
	if joined < 1 || joined != readers {
		t.Errorf("%d secrets read in the events meet the inventory, of %d read", joined, readers)
	}
	// Tags come through: a secret's service and environment match its name.
	var mismatched int
	if err := db.QueryRow(`SELECT COUNT(*) FROM secrets WHERE name <> service || '/' || environment || '/' || substr(name, length(service || '/' || environment || '/') + 1)
		OR service = '' OR environment = ''`).Scan(&mismatched); err != nil || mismatched != 0 {
		t.Errorf("%d secrets whose service/environment tags did not come through (%v)", mismatched, err)
	}
}

func TestDatesAndIntervals(t *testing.T) {
	dates := []struct {
		in   string
		want string // "" for an error
	}{
		{`"2026-01-10T08:00:00.123000+00:00"`, "2026-01-10T08:00:00.123Z"},
		{`"2026-01-10T03:00:00-05:00"`, "2026-01-10T08:00:00Z"},
		{`"2026-01-10T08:00:00Z"`, "2026-01-10T08:00:00Z"},
		{`"2026-01-10 08:00:00"`, "2026-01-10T08:00:00Z"},
		{`1768032000.123`, "2026-01-10T08:00:00.123Z"},
		{`1.768032E9`, "2026-01-10T08:00:00Z"},
		{`"1768032000"`, "2026-01-10T08:00:00Z"},
		{`null`, "0001-01-01T00:00:00Z"},
		{`"NaN"`, ""},
		{`1e400`, ""},
		{`"yesterday"`, ""},
		{`true`, ""},
	}
	for _, d := range dates {
		var v cliTime
		err := json.Unmarshal([]byte(d.in), &v)
		switch {
		case d.want == "" && err == nil:
			t.Errorf("%s: %v, want an error", d.in, v.Time)
		case d.want != "" && (err != nil || !v.Time.Equal(at(d.want))):
			t.Errorf("%s: %v, %v, want %s", d.in, v.Time, err, d.want)
		}
	}
	intervals := []struct {
		after    int64
		schedule string
		want     int
	}{
		{30, "", 30},
		{0, "rate(10 days)", 10},
		{0, "rate(1 day)", 1},
		{7, "rate(7 days)", 7},
		{0, "rate(4 hours)", 0},
		{0, "cron(0 16 1,15 * ? *)", 0},
		{1, "cron(0 8 * * ? *)", 0},
		{0, "rate(days)", 0},
		{0, "", 0},
	}
	for _, i := range intervals {
		if got := rotationDays(i.after, i.schedule); got != i.want {
			t.Errorf("rotationDays(%d, %q) = %d, want %d", i.after, i.schedule, got, i.want)
		}
	}
}
