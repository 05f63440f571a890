package cloudtrail

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

// TestGeneratedOrganisation ingests a generated week and checks that what
// the generator put in comes out normalised.
func TestGeneratedOrganisation(t *testing.T) {
	dir := t.TempDir()
	st, err := gen.Write(dir, gen.Config{Seed: 3, Days: 7, Events: 14000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, err := db.Ingest(ctx, []string{dir}, Options{})
	if err != nil || len(in.Failed) > 0 || int(in.Records) != st.Records || in.Files != st.Files {
		t.Fatalf("ingest %+v of %+v: %v", in, st, err)
	}
	checks := []struct {
		what, where string
		min         int
	}{
		{"reads", "is_read = 1 AND event_name = 'GetSecretValue' AND error_code = ''", 5000},
		{"denied reads", "is_read = 1 AND error_code = 'AccessDenied'", 5},
		{"Decrypt via Secrets Manager", "via = 'secretsmanager' AND event_name = 'Decrypt' AND secret_id <> ''", 5000},
		{"rotations", "event_name = 'RotationSucceeded' AND principal = 'secretsmanager.amazonaws.com' AND secret_id <> ''", 100},
		{"failed rotations", "event_name = 'RotationFailed' AND error_message LIKE 'Error when executing lambda%'", 1},
		{"break-glass reads with MFA", "principal LIKE 'arn:aws:iam::210000000003:role/break-glass' AND mfa = 1 AND is_read = 1", 2},
		{"break-glass assumed with MFA", "event_name = 'AssumeRole' AND mfa = 1", 1},
		{"human reads through SSO", "principal LIKE '%:role/AWSReservedSSO_%' AND session_name LIKE '%@example.com' AND is_read = 1", 20},
		{"deletions", "event_name = 'DeleteSecret' AND secret_id <> ''", 1},
		{"parameter reads", "is_read = 1 AND parameter_name LIKE '/%/config'", 100},
	}
	for _, c := range checks {
		if n := count(t, db, c.where); n < c.min {
			t.Errorf("%s: %d rows, want at least %d", c.what, n, c.min)
		}
	}
	for _, none := range []string{
		"via = 'secretsmanager' AND is_read = 1",
		"event_name = 'GenerateDataKey' AND is_read = 1",
		"secret_id GLOB '*-[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]'",
		"principal LIKE 'arn:aws:sts:%'",
	} {
		if n := count(t, db, none); n != 0 {
			t.Errorf("%s: %d rows", none, n)
		}
	}
	// Names, partial ARNs and full ARNs collapse to one identity per secret.
	var secrets int
	if err := db.SQL().QueryRow(`SELECT COUNT(DISTINCT secret_id) FROM events WHERE secret_id <> ''`).Scan(&secrets); err != nil {
		t.Fatal(err)
	}
	if want := len(gen.Services) * len(gen.Environments) * 3; secrets != want {
		t.Errorf("%d secret identities, want %d", secrets, want)
	}
}
