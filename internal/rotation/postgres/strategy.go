// Package postgres rotates PostgreSQL logins: multi-user (two users taking
// turns, so the login applications hold keeps working until the next
// rotation) and single-user (one user, a new password).
//
// Passwords reach the server only as SCRAM-SHA-256 verifiers computed here,
// never in plain text. Connections use TLS, verified against the configured
// roots and the secret's host name, unless the secret's "ssl" is false:
// there is no silent fallback to an unencrypted connection.
package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/secretgate/secretgate/internal/rotation"
)

// Secrets reads the master secret a multi-user secret names.
type Secrets interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Strategy rotates PostgreSQL logins; it is a rotation.Strategy.
type Strategy struct {
	// MultiUser alternates between <user> and <user>_clone, set by the
	// master login; otherwise the user changes its own password.
	MultiUser bool
	Secrets   Secrets        // reads the master secret (multi-user)
	RootCAs   *x509.CertPool // nil: the system's roots
	Passwords Passwords
	// Timeout bounds each connection attempt (0: 5 seconds).
	Timeout time.Duration
}

var _ rotation.Strategy = (*Strategy)(nil)

// Create copies the current value with the next user (multi-user) and a new
// password.
func (s *Strategy) Create(_ context.Context, current rotation.Version, _ string) (string, error) {
	cur, err := parseLogin(current.Value, "the current value")
	if err != nil {
		return "", err
	}
	user := cur.Username
	if s.MultiUser {
		if cur.MasterARN == "" {
			return "", errors.New("the current value has no masterarn: multi-user rotation needs the master secret")
		}
		if user, err = CloneName(cur.Username); err != nil {
			return "", err
		}
	}
	pw, err := s.Passwords.New()
	if err != nil {
		return "", err
	}
	return withLogin(current.Value, user, pw)
}

// Set gives the pending user its new password. It checks, in this order,
// that the pending login does not work yet, that it is the login the
// current one rotates to on the same server, and that the current login
// works, before it changes anything.
func (s *Strategy) Set(ctx context.Context, v rotation.Versions) error {
	pending, err := parseLogin(v.Pending.Value, "the pending value")
	if err != nil {
		return err
	}
	if conn, err := s.connect(ctx, pending); err == nil {
		// A previous run set it, unless the clone existed before without
		// the original user's privileges: then it is repaired below.
		holds, err := holdsBase(ctx, conn, pending.Username, s.MultiUser)
		conn.Close(ctx)
		if err != nil {
			return err
		}
		if holds {
			return nil
		}
	}
	current, err := parseLogin(v.Current.Value, "the current value")
	if err != nil {
		return err
	}
	if pending.Host != current.Host || pending.Port != current.Port {
		return fmt.Errorf("the pending value is for %s:%d, the current one for %s:%d", pending.Host, pending.Port, current.Host, current.Port)
	}
	verifier, err := Verifier(pending.Password)
	if err != nil {
		return fmt.Errorf("the pending password: %w", err)
	}
	if !s.MultiUser {
		return s.setOwn(ctx, v, current, pending, verifier)
	}
	if want, _ := CloneName(current.Username); pending.Username != want {
		return fmt.Errorf("the pending user is %q; rotating from %q it must be %q", pending.Username, current.Username, want)
	}
	// Prove the current login before acting with the master's authority
	// on what the secret says.
	conn, err := s.connect(ctx, current)
	if err != nil {
		return fmt.Errorf("log in with the current value: %w", err)
	}
	conn.Close(ctx)
	master, err := s.master(ctx, current)
	if err != nil {
		return err
	}
	if master.Host != current.Host || master.Port != current.Port {
		return fmt.Errorf("the master secret is for %s:%d, the secret for %s:%d", master.Host, master.Port, current.Host, current.Port)
	}
	master.DBName = current.DBName
	conn, err = s.connect(ctx, master)
	if err != nil {
		return fmt.Errorf("log in with the master secret: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, pending.Username).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %q: %w", pending.Username, err)
	}
	user := ident(pending.Username)
	// The clone holds the original user's privileges through membership:
	// granted when it is made, and when it was made elsewhere without it.
	base, isClone := strings.CutSuffix(pending.Username, cloneSuffix)
	member := !isClone
	if exists && isClone {
		if err := conn.QueryRow(ctx, `SELECT pg_has_role($1, $2, 'MEMBER')`, pending.Username, base).Scan(&member); err != nil {
			return fmt.Errorf("check the membership of %s: %w", user, err)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if exists {
		if _, err := tx.Exec(ctx, `ALTER ROLE `+user+` WITH LOGIN PASSWORD `+literal(verifier)); err != nil {
			return wrapSQL(err, "set the password of "+user)
		}
	} else if _, err := tx.Exec(ctx, `CREATE ROLE `+user+` WITH LOGIN PASSWORD `+literal(verifier)); err != nil {
		return wrapSQL(err, "create role "+user)
	}
	if !member {
		if _, err := tx.Exec(ctx, `GRANT `+ident(base)+` TO `+user); err != nil {
			return wrapSQL(err, "grant "+ident(base)+" to "+user)
		}
	}
	return wrapSQL(tx.Commit(ctx), "set role "+user)
}

// holdsBase says whether the login on conn, user, holds what it must:
// in multi-user rotation a clone (<user>_clone) holds its original's
// privileges; the original, and a single user, hold their own.
func holdsBase(ctx context.Context, conn *pgx.Conn, user string, multiUser bool) (bool, error) {
	base, isClone := strings.CutSuffix(user, cloneSuffix)
	if !multiUser || !isClone {
		return true, nil
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_has_role($1, 'USAGE')`, base).Scan(&ok); err != nil {
		return false, fmt.Errorf("check the pending user's privileges: %w", err)
	}
	return ok, nil
}

// setOwn changes the single user's password, logged in as itself with the
// current value or, if that no longer works, the previous one.
func (s *Strategy) setOwn(ctx context.Context, v rotation.Versions, current, pending Login, verifier string) error {
	if pending.Username != current.Username {
		return fmt.Errorf("the pending user is %q, the current one %q: single-user rotation keeps the user", pending.Username, current.Username)
	}
	conn, err := s.connect(ctx, current)
	if err != nil && v.Previous != nil {
		if prev, perr := parseLogin(v.Previous.Value, "the previous value"); perr == nil && prev.Username == current.Username {
			prev.Host, prev.Port, prev.DBName, prev.TLS = current.Host, current.Port, current.DBName, current.TLS
			conn, err = s.connect(ctx, prev)
		}
	}
	if err != nil {
		return fmt.Errorf("log in with the current or previous value: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `ALTER ROLE `+ident(pending.Username)+` WITH PASSWORD `+literal(verifier))
	return wrapSQL(err, "set the password of "+ident(pending.Username))
}

// Test logs in with the pending value and checks that it holds the
// privileges of the user it takes turns with.
func (s *Strategy) Test(ctx context.Context, v rotation.Versions) error {
	pending, err := parseLogin(v.Pending.Value, "the pending value")
	if err != nil {
		return err
	}
	conn, err := s.connect(ctx, pending)
	if err != nil {
		return fmt.Errorf("log in with the pending value: %w", err)
	}
	defer conn.Close(ctx)
	usable, err := holdsBase(ctx, conn, pending.Username, true)
	if err != nil {
		return err
	}
	if !usable {
		base, _ := strings.CutSuffix(pending.Username, cloneSuffix)
		return fmt.Errorf("the pending user %q does not hold the privileges of %q", pending.Username, base)
	}
	return nil
}

// Finish has nothing to retire: the previous user keeps its password until
// the next rotation, so applications that still hold it keep working.
func (s *Strategy) Finish(context.Context, rotation.Versions) error { return nil }

// master reads the master secret the current value names.
func (s *Strategy) master(ctx context.Context, current Login) (Login, error) {
	if current.MasterARN == "" {
		return Login{}, errors.New("the current value has no masterarn")
	}
	if s.Secrets == nil {
		return Login{}, errors.New("no Secrets Manager client to read the master secret with")
	}
	out, err := s.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(current.MasterARN)})
	if err != nil {
		return Login{}, fmt.Errorf("read the master secret %s: %w", current.MasterARN, err)
	}
	return parseLogin(aws.ToString(out.SecretString), "the master secret "+current.MasterARN)
}

// connect logs in with l, over TLS unless l says otherwise.
func (s *Strategy) connect(ctx context.Context, l Login) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.Database = l.Host, uint16(l.Port), l.DBName
	cfg.User, cfg.Password = l.Username, l.Password
	cfg.ConnectTimeout = s.Timeout
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	cfg.Fallbacks = nil
	cfg.TLSConfig = nil
	if l.TLS {
		cfg.TLSConfig = &tls.Config{ServerName: l.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	}
	cfg.RuntimeParams = map[string]string{"application_name": "secretgate-rotator"}
	return pgx.ConnectConfig(ctx, cfg)
}

// ident quotes a role name for SQL.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal quotes a string constant for the statements that take no
// parameters (ALTER ROLE, CREATE ROLE).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// wrapSQL names what failed; the server's message never holds a password
// because only verifiers are sent.
func wrapSQL(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
