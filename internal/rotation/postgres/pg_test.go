package postgres

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/secretgate/secretgate/internal/rotation"
	"github.com/secretgate/secretgate/internal/rotation/smtest"
)

// postgresEnv names the variable with the URL of a PostgreSQL superuser
// login; .ci/run and scripts/testpg.sh set it.
const postgresEnv = "SECRETGATE_TEST_POSTGRES"

// pgEnv is one test's corner of the server: an application user with
// SELECT on a table of its own schema, a master user that may create and
// alter roles, and their secrets in a local Secrets Manager.
type pgEnv struct {
	t      testing.TB
	admin  *pgx.Conn
	host   string
	port   int
	db     string
	roots  *x509.CertPool
	sm     *smtest.Server
	user   string // the application user; its clone is user+"_clone"
	schema string
	master string // ARN of the master secret
	arn    string // ARN of the application's secret
}

// newPG sets up a test's roles and secrets; userLen pads the application
// user's name to that many bytes (0: no padding). The roles and the schema
// are dropped when the test ends.
func newPG(t testing.TB, userLen int, multiUser bool) *pgEnv {
	t.Helper()
	raw := os.Getenv(postgresEnv)
	if raw == "" {
		t.Skipf("PostgreSQL test skipped: %s is not set (a postgres:// URL of a superuser; scripts/testpg.sh starts a server with TLS and SCRAM)", postgresEnv)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", postgresEnv)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	var ssl, certPEM string
	if err := admin.QueryRow(ctx, `SHOW ssl`).Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	if ssl != "on" {
		t.Skipf("PostgreSQL test skipped: the server at %s has TLS off; the rotator requires TLS (scripts/testpg.sh starts a server with it)", u.Redacted())
	}
	// The server's self-signed certificate is the root to trust.
	if err := admin.QueryRow(ctx, `SELECT pg_read_file(current_setting('ssl_cert_file'))`).Scan(&certPEM); err != nil {
		t.Fatalf("read the server's certificate: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(certPEM)) {
		t.Fatal("the server's ssl_cert_file holds no PEM certificate")
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 5432
	}
	var b [4]byte
	rand.Read(b[:])
	tag := hex.EncodeToString(b[:])
	e := &pgEnv{
		t: t, admin: admin, host: u.Hostname(), port: port, db: strings.TrimPrefix(u.Path, "/"), roots: roots,
		sm: smtest.NewServer(t), user: "app_" + tag, schema: "rot_" + tag,
	}
	if n := userLen - len(e.user); n > 0 {
		e.user += "_" + strings.Repeat("x", n-1)
	}
	masterUser, masterPW := "rotmaster_"+tag, mustPassword(t)
	userPW := mustPassword(t)
	t.Cleanup(func() {
		admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+e.schema+` CASCADE`)
		for _, r := range []string{e.user + "_clone", e.user, masterUser} {
			if _, err := admin.Exec(ctx, `DROP ROLE IF EXISTS `+ident(r)); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
	})
	for _, q := range []string{
		`CREATE ROLE ` + masterUser + ` LOGIN CREATEROLE PASSWORD ` + literal(mustVerifier(t, masterPW)),
		`CREATE ROLE ` + ident(e.user) + ` LOGIN PASSWORD ` + literal(mustVerifier(t, userPW)),
		`CREATE SCHEMA ` + e.schema,
		`CREATE TABLE ` + e.schema + `.items (n int)`,
		`INSERT INTO ` + e.schema + `.items SELECT generate_series(1, 42)`,
		`GRANT USAGE ON SCHEMA ` + e.schema + ` TO ` + ident(e.user),
		`GRANT SELECT ON ` + e.schema + `.items TO ` + ident(e.user),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", strings.Fields(q)[0]+" "+strings.Fields(q)[1], err)
		}
	}
	e.master = e.sm.CreateSecret("test/master-"+tag, e.loginJSON(masterUser, masterPW, ""))
	masterARN := e.master
	if !multiUser {
		masterARN = ""
	}
	e.arn = e.sm.CreateSecret("test/app-"+tag, e.loginJSON(e.user, userPW, masterARN))
	return e
}

func (e *pgEnv) loginJSON(user, pw, master string) string {
	m := map[string]any{"engine": "postgres", "host": e.host, "port": e.port, "dbname": e.db, "username": user, "password": pw}
	if master != "" {
		m["masterarn"] = master
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func mustPassword(t testing.TB) string {
	pw, err := Passwords{}.New()
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func mustVerifier(t testing.TB, pw string) string {
	v, err := Verifier(pw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *pgEnv) strategy(multiUser bool) *Strategy {
	return &Strategy{MultiUser: multiUser, Secrets: e.sm.Client(), RootCAs: e.roots}
}

// rotator is what one Lambda invocation builds.
func (e *pgEnv) rotator(s *Strategy) *rotation.Rotator {
	return &rotation.Rotator{
		SM:   e.sm.Client(func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }),
		Pick: func(string) (rotation.Strategy, error) { return s, nil },
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func (e *pgEnv) invoke(r *rotation.Rotator) func(step, token string) error {
	return func(step, token string) error {
		return r.Handle(context.Background(), rotation.Event{Step: step, SecretID: e.arn, ClientRequestToken: token})
	}
}

// createAndSet starts a rotation and runs its first two steps.
func (e *pgEnv) createAndSet(s *Strategy) string {
	e.t.Helper()
	token, err := e.sm.StartRotation(e.arn)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, step := range []string{rotation.CreateSecret, rotation.SetSecret} {
		if err := e.invoke(e.rotator(s))(step, token); err != nil {
			e.t.Fatal(err)
		}
	}
	return token
}

// login tries a secret value and runs the application's query.
func (e *pgEnv) login(ctx context.Context, s *Strategy, value string) error {
	l, err := parseLogin(value, "value")
	if err != nil {
		return err
	}
	conn, err := s.connect(ctx, l)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+e.schema+`.items`).Scan(&n); err != nil {
		return err
	}
	if n != 42 {
		return fmt.Errorf("read %d rows, want 42", n)
	}
	return nil
}

// roles returns the test's application roles that exist.
func (e *pgEnv) roles() []string {
	rows, err := e.admin.Query(context.Background(), `SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1`, e.user+"%")
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// cache is how an application reads its secret: from Secrets Manager
// through the SDK, kept for ttl.
type cache struct {
	sm  *secretsmanager.Client
	id  string
	ttl time.Duration

	mu      sync.Mutex
	value   string
	version string
	fetched time.Time
}

func (c *cache) get(ctx context.Context) (value, version string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.fetched) < c.ttl {
		return c.value, c.version, nil
	}
	out, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.id)})
	if err != nil {
		return "", "", err
	}
	c.value, c.version, c.fetched = aws.ToString(out.SecretString), aws.ToString(out.VersionId), time.Now()
	return c.value, c.version, nil
}

// appLoop is an application: workers that each, in a loop, read the
// secret through the cache, log in and run a query.
type appLoop struct {
	e      *pgEnv
	s      *Strategy
	cache  *cache
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	queries   int
	failures  []string
	latencies []time.Duration
	seen      []string // per worker: the version of its last successful query
}

func startApp(e *pgEnv, workers int) *appLoop {
	ctx, cancel := context.WithCancel(context.Background())
	a := &appLoop{e: e, s: e.strategy(true), cancel: cancel, seen: make([]string, workers),
		cache: &cache{sm: e.sm.Client(), id: e.arn, ttl: 10 * time.Millisecond}}
	for w := range workers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				value, version, err := a.cache.get(ctx)
				if err == nil {
					err = e.login(ctx, a.s, value)
				}
				took := time.Since(start)
				if ctx.Err() != nil {
					return
				}
				a.mu.Lock()
				a.queries++
				a.latencies = append(a.latencies, took)
				if err != nil {
					a.failures = append(a.failures, err.Error())
				} else {
					a.seen[w] = version
				}
				a.mu.Unlock()
				// A query every few milliseconds per worker: steady load that
				// leaves the two-core CI machine room for the rotations.
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return a
}

// waitSeen blocks until every worker has run a query with version.
func (a *appLoop) waitSeen(t testing.TB, version string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		all := !slices.ContainsFunc(a.seen, func(v string) bool { return v != version })
		a.mu.Unlock()
		if all {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the application did not pick up version %s within 20 s", version)
}

// stop ends the workers and returns the queries run, the failures and the
// 99th percentile of the latency of one read-login-query.
func (a *appLoop) stop() (queries int, failures []string, p99 time.Duration) {
	a.cancel()
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queries, a.failures, percentile(a.latencies, 0.99)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
