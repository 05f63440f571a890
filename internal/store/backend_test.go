package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// postgresEnv names the variable that holds the URL of a PostgreSQL
// database the tests may create schemas in. .ci/run sets it.
const postgresEnv = "SECRETGATE_TEST_POSTGRES"

// testBackend is one engine the store's tests run on.
type testBackend struct {
	name string
	// dsn returns a new, empty store for t to Open (as often as it likes),
	// removed when t ends.
	dsn func(t *testing.T) string
}

var backends = []testBackend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sub", "gate.db") }},
	{"postgres", postgresSchema},
}

// eachBackend runs fn as a subtest per backend: SQLite always, PostgreSQL
// when SECRETGATE_TEST_POSTGRES is set (skipped, saying so, when not).
func eachBackend(t *testing.T, fn func(t *testing.T, b testBackend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// postgresSchema creates a schema of its own for t in the test database and
// returns the database's URL with search_path set to it; the schema is
// dropped when t ends.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL subtest skipped: %s is not set (a postgres:// URL of a database the tests may create schemas in; .ci/run starts one)", postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", postgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "sg_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema in %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openTest opens a new, empty store on b, closed when t ends.
func openTest(t *testing.T, b testBackend) *Store {
	t.Helper()
	s, err := Open(context.Background(), b.dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
