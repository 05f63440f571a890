package compliance

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/inventory"
)

// keyControlRows runs KeyControls over db for the week 2026-W48 with the
// named parameters that reports are given.
func keyControlRows(t *testing.T, db *sql.DB) [][]string {
	t.Helper()
	w, _ := Week("2026-W48")
	rows, err := db.Query(KeyControls.SQLite, sql.Named("from", w.From.UnixMilli()), sql.Named("to", w.To.UnixMilli()),
		sql.Named("prev_from", w.Previous().From.UnixMilli()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		row := make([]string, len(KeyControls.Columns))
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeyControls(t *testing.T) {
	ctx := context.Background()
	cdb, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	db := cdb.SQL()
	if _, err := db.Exec(inventory.KeySchema); err != nil {
		t.Fatal(err)
	}
	const key = "arn:aws:kms:eu-west-1:111122223333:key/"
	const admin = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
	ms := func(s string) any {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixMilli()
	}
	for _, k := range []struct {
		id, manager, state, spec, origin string
		rotation, days, next, deletion   any
	}{
		{"a-rotates", "CUSTOMER", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS", 1, 180, ms("2027-05-01T10:00:00Z"), nil},
		{"b-rotation-off", "CUSTOMER", "Disabled", "SYMMETRIC_DEFAULT", "AWS_KMS", 0, nil, nil, nil},
		{"c-not-asked", "CUSTOMER", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS", nil, nil, nil, nil},
		{"d-rotates-no-dates", "CUSTOMER", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS", 1, nil, nil, nil},
		{"e-deleted", "CUSTOMER", "PendingDeletion", "SYMMETRIC_DEFAULT", "AWS_KMS", nil, nil, nil, ms("2026-12-24T09:00:00Z")},
		{"f-replicas-first", "CUSTOMER", "PendingReplicaDeletion", "SYMMETRIC_DEFAULT", "AWS_KMS", nil, nil, nil, nil},
		{"g-rsa", "CUSTOMER", "Enabled", "RSA_2048", "AWS_KMS", nil, nil, nil, nil},
		{"h-imported", "CUSTOMER", "Enabled", "SYMMETRIC_DEFAULT", "EXTERNAL", nil, nil, nil, nil},
		{"i-hmac", "CUSTOMER", "Enabled", "HMAC_256", "AWS_KMS", nil, nil, nil, nil},
		{"j-aws-managed", "AWS", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS", 1, 365, nil, nil},
	} {
		if _, err := db.Exec(`INSERT INTO keys (key_id, region, account_id, aliases, description, key_manager, key_state,
			key_spec, key_usage, origin, multi_region, rotation_enabled, rotation_period_days, next_rotation, deletion_date,
			created, imported_at) VALUES (?, 'eu-west-1', '111122223333', '[]', '', ?, ?, ?, 'ENCRYPT_DECRYPT', ?, 0, ?, ?, ?, ?, NULL, 0)`,
			key+k.id, k.manager, k.state, k.spec, k.origin, k.rotation, k.days, k.next, k.deletion); err != nil {
			t.Fatal(err)
		}
	}
	var rows []cloudtrail.Event
	for i, e := range []struct {
		at, name, key, errorCode string
	}{
		{"2026-11-24T10:00:00Z", "DisableKeyRotation", "b-rotation-off", ""},
		{"2026-11-20T10:00:00Z", "DisableKeyRotation", "c-not-asked", ""},                    // the week before
		{"2026-11-24T11:00:00Z", "DisableKeyRotation", "a-rotates", "AccessDeniedException"}, // refused
		{"2026-11-24T12:00:00Z", "ScheduleKeyDeletion", "e-deleted", ""},
		{"2026-11-25T12:00:00Z", "ScheduleKeyDeletion", "e-deleted", ""}, // the last counts
	} {
		rows = append(rows, cloudtrail.Event{ID: fmt.Sprint("k", i), Time: ms(e.at).(int64), Source: "kms.amazonaws.com", Name: e.name,
			Region: "eu-west-1", Account: "111122223333", Principal: admin, PrincipalType: "AssumedRole",
			SessionName: fmt.Sprint("s", i), MFA: true, KeyID: key + e.key, ErrorCode: e.errorCode, File: "t"})
	}
	if _, err := cdb.Add(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range keyControlRows(t, db) {
		got = append(got, strings.Join(r, " | "))
	}
	want := []string{
		"KMS.3 | " + key + "e-deleted | FAIL | deletion scheduled for 2026-12-24; scheduled 2026-11-25T12:00:00Z by " + admin,
		"KMS.3 | " + key + "f-replicas-first | FAIL | deletion scheduled once its replica keys are deleted",
		"KMS.3 | " + key + "a-rotates | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "b-rotation-off | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "c-not-asked | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "d-rotates-no-dates | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "g-rsa | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "h-imported | PASS | not scheduled for deletion",
		"KMS.3 | " + key + "i-hmac | PASS | not scheduled for deletion",
		"KMS.4 | " + key + "b-rotation-off | FAIL | automatic rotation off; rotation disabled 2026-11-24T10:00:00Z by " + admin,
		"KMS.4 | " + key + "c-not-asked | FAIL | rotation status unknown",
		"KMS.4 | " + key + "a-rotates | PASS | automatic rotation on, every 180 days, next 2027-05-01",
		"KMS.4 | " + key + "d-rotates-no-dates | PASS | automatic rotation on",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestKeyControlsFromImport runs the report over keys as ImportKeys
// stores them, so that the report and the table agree on names and values.
func TestKeyControlsFromImport(t *testing.T) {
	ctx := context.Background()
	cdb, err := cloudtrail.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	const k = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	doc := `[{"KeyMetadata": {"Arn": "` + k + `", "KeyManager": "CUSTOMER", "KeyState": "Enabled",
		"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS"},
		"KeyRotationEnabled": true, "RotationPeriodInDays": 365, "NextRotationDate": "2027-01-02T03:04:05+00:00"}]`
	if _, err := inventory.ImportKeys(ctx, cdb.SQL(), strings.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	want := "[[KMS.3 " + k + " PASS not scheduled for deletion] [KMS.4 " + k + " PASS automatic rotation on, every 365 days, next 2027-01-02]]"
	if got := fmt.Sprint(keyControlRows(t, cdb.SQL())); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
