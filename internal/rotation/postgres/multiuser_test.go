package postgres

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/rotation"
)

// TestHundredRotationsUnderLoad rotates 100 times in a row while an
// application reads its secret through a cache, logs in and queries; the
// application user's name is 57 bytes, so its clone has the 63 PostgreSQL
// allows.
func TestHundredRotationsUnderLoad(t *testing.T) {
	const rotations = 100
	e := newPG(t, 57, true)
	ctx := context.Background()
	s := e.strategy(true)
	app := startApp(e, 2)
	app.waitSeen(t, e.sm.VersionOf(e.arn, rotation.Current))
	values := []string{e.sm.Value(e.arn, rotation.Current)}
	start := time.Now()
	var rotating time.Duration
	for i := 1; i <= rotations; i++ {
		began := time.Now()
		token, err := e.sm.Rotate(e.arn, e.invoke(e.rotator(s)))
		rotating += time.Since(began)
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		values = append(values, e.sm.Value(e.arn, rotation.Current))
		if e.sm.Value(e.arn, rotation.Previous) != values[i-1] {
			t.Fatalf("rotation %d: AWSPREVIOUS is not the value current before it", i)
		}
		if i%10 == 0 || i == 1 {
			// The previous login works until the next rotation; the one
			// before it no longer does.
			if err := e.login(ctx, s, values[i-1]); err != nil {
				t.Fatalf("rotation %d: the previous value does not log in: %v", i, err)
			}
			if i >= 2 && e.login(ctx, s, values[i-2]) == nil {
				t.Fatalf("rotation %d: the value of two rotations ago still logs in", i)
			}
		}
		// Rotations must be further apart than the application's cache
		// lifetime: wait until it uses the new login.
		app.waitSeen(t, token)
	}
	elapsed := time.Since(start)
	queries, failures, p99 := app.stop()
	if len(failures) > 0 {
		t.Fatalf("%d of %d queries failed during %d rotations; first: %s", len(failures), queries, rotations, failures[0])
	}
	t.Logf("%d rotations in %v (%v each, %v of it rotating) with %d application queries, none failed; p99 of read+login+query %v",
		rotations, elapsed.Round(time.Millisecond), (elapsed / rotations).Round(time.Millisecond), (rotating / rotations).Round(time.Millisecond),
		queries, p99.Round(time.Microsecond))
	want := []string{e.user, e.user + "_clone"}
	if got := e.roles(); !reflect.DeepEqual(got, want) {
		t.Fatalf("roles afterwards %v, want exactly %v", got, want)
	}
	if len(e.user+"_clone") != 63 {
		t.Fatalf("the clone's name is %d bytes, want 63", len(e.user+"_clone"))
	}
	// Both users' passwords are stored as SCRAM verifiers.
	var scram int
	if err := e.admin.QueryRow(ctx, `SELECT count(*) FROM pg_authid WHERE rolname = ANY($1) AND rolpassword LIKE 'SCRAM-SHA-256$4096:%'`, want).Scan(&scram); err != nil || scram != 2 {
		t.Fatalf("%d of the 2 users have a SCRAM verifier (%v)", scram, err)
	}
}

func TestFailingTestLeavesCurrentAndRetries(t *testing.T) {
	e := newPG(t, 0, true)
	ctx := context.Background()
	s := e.strategy(true)
	first := e.sm.VersionOf(e.arn, rotation.Current)
	token := e.createAndSet(s)
	// Someone changes the clone's password between setSecret and testSecret.
	if _, err := e.admin.Exec(ctx, `ALTER ROLE `+ident(e.user+"_clone")+` PASSWORD `+literal(mustVerifier(t, mustPassword(t)))); err != nil {
		t.Fatal(err)
	}
	err := e.invoke(e.rotator(s))(rotation.TestSecret, token)
	if err == nil || !strings.Contains(err.Error(), "log in with the pending value") || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("got %v, want the pending login to fail", err)
	}
	for _, label := range []string{rotation.Current, rotation.Pending} {
		if l, _ := parseLogin(e.sm.Value(e.arn, label), ""); strings.Contains(err.Error(), l.Password) {
			t.Fatalf("the error names the %s password", label)
		}
	}
	if e.sm.VersionOf(e.arn, rotation.Current) != first {
		t.Fatal("AWSCURRENT moved after a failed testSecret")
	}
	if err := e.login(ctx, s, e.sm.Value(e.arn, rotation.Current)); err != nil {
		t.Fatalf("the current value stopped working: %v", err)
	}
	if err := e.sm.Resume(token, e.invoke(e.rotator(s))); err != nil {
		t.Fatalf("the retried rotation: %v", err)
	}
	if e.sm.VersionOf(e.arn, rotation.Current) != token {
		t.Fatal("the retried rotation did not finish")
	}
	if err := e.login(ctx, s, e.sm.Value(e.arn, rotation.Current)); err != nil {
		t.Fatalf("the new value does not log in: %v", err)
	}
}

func TestCrashBetweenStepsIsFinished(t *testing.T) {
	e := newPG(t, 0, true)
	s := e.strategy(true)
	token := e.createAndSet(s) // … and the function dies here.
	if _, err := e.sm.StartRotation(e.arn); err == nil || !strings.Contains(err.Error(), "previous rotation isn't complete") {
		t.Fatalf("got %v, want the unfinished rotation reported", err)
	}
	if err := e.sm.Resume(token, e.invoke(e.rotator(e.strategy(true)))); err != nil {
		t.Fatal(err)
	}
	if e.sm.VersionOf(e.arn, rotation.Current) != token {
		t.Fatal("the next invocation did not finish the rotation")
	}
	if err := e.login(context.Background(), s, e.sm.Value(e.arn, rotation.Current)); err != nil {
		t.Fatal(err)
	}
	if got := e.roles(); len(got) != 2 {
		t.Fatalf("roles %v, want two", got)
	}
}

func TestSingleUser(t *testing.T) {
	e := newPG(t, 0, false)
	ctx := context.Background()
	s := e.strategy(false)
	for i := range 3 {
		before := e.sm.Value(e.arn, rotation.Current)
		if _, err := e.sm.Rotate(e.arn, e.invoke(e.rotator(s))); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		after := e.sm.Value(e.arn, rotation.Current)
		if err := e.login(ctx, s, after); err != nil {
			t.Fatalf("rotation %d: the new value: %v", i+1, err)
		}
		if e.login(ctx, s, before) == nil {
			t.Fatalf("rotation %d: the old password still works", i+1)
		}
		cur, _ := parseLogin(after, "")
		if cur.Username != e.user {
			t.Fatalf("single-user rotation changed the user to %q", cur.Username)
		}
	}
	if got := e.roles(); !reflect.DeepEqual(got, []string{e.user}) {
		t.Fatalf("roles %v, want only %s", got, e.user)
	}
}

func TestSetRefusesInconsistentSecrets(t *testing.T) {
	e := newPG(t, 0, true)
	s := e.strategy(true)
	ctx := context.Background()
	cur := e.sm.Value(e.arn, rotation.Current)
	pending := func(user, host string) string {
		v, _ := withLogin(cur, user, "Pending-pw-1!")
		return strings.Replace(v, `"host":"`+e.host+`"`, `"host":"`+host+`"`, 1)
	}
	for _, tc := range []struct {
		name, pending, current, want string
	}{
		{"not the clone", pending("someone_else", e.host), cur, `rotating from "` + e.user + `" it must be "` + e.user + `_clone"`},
		{"other host", pending(e.user+"_clone", "db.example.com"), cur, "the pending value is for db.example.com"},
		{"current does not log in", pending(e.user+"_clone", e.host), strings.Replace(cur, `"password":"`, `"password":"x`, 1), "log in with the current value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Set(ctx, rotation.Versions{Pending: rotation.Version{Value: tc.pending}, Current: rotation.Version{Value: tc.current}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if got := e.roles(); len(got) != 1 {
				t.Fatalf("roles %v after a refused setSecret", got)
			}
		})
	}
}

// A clone made beforehand without the original's privileges (by hand, or
// by a tool that copied grants) is given them: otherwise testSecret would
// fail for ever, each retried setSecret finding its login already working.
func TestExistingCloneGetsMembership(t *testing.T) {
	e := newPG(t, 0, true)
	ctx := context.Background()
	s := e.strategy(true)
	if _, err := e.admin.Exec(ctx, `CREATE ROLE `+ident(e.user+"_clone")+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	token, err := e.sm.StartRotation(e.arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{rotation.CreateSecret, rotation.SetSecret, rotation.TestSecret, rotation.FinishSecret} {
		if err := e.invoke(e.rotator(s))(step, token); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if err := e.login(ctx, s, e.sm.Value(e.arn, rotation.Current)); err != nil {
		t.Fatalf("the clone cannot do the application's work: %v", err)
	}
	// And a setSecret retried after the password was set repairs it too.
	if _, err := e.admin.Exec(ctx, `REVOKE `+ident(e.user)+` FROM `+ident(e.user+"_clone")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, rotation.Versions{Current: rotation.Version{Value: e.sm.Value(e.arn, rotation.Previous)},
		Pending: rotation.Version{Value: e.sm.Value(e.arn, rotation.Current)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.login(ctx, s, e.sm.Value(e.arn, rotation.Current)); err != nil {
		t.Fatalf("after a retried setSecret: %v", err)
	}
}
