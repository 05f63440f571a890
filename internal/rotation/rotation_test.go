package rotation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretgate/secretgate/internal/rotation"
	"github.com/secretgate/secretgate/internal/rotation/smtest"
)

// fake is a Strategy that records its calls, makes values that name the
// token, and fails where told.
type fake struct {
	mu     sync.Mutex
	calls  []string
	fail   map[string]int // method -> failures left
	tested []string       // pending values tested
}

func (f *fake) record(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	if f.fail[method] > 0 {
		f.fail[method]--
		return fmt.Errorf("%s failed as told", method)
	}
	return nil
}

func (f *fake) Create(_ context.Context, cur rotation.Version, token string) (string, error) {
	return "planted-secret-" + token, f.record("Create")
}
func (f *fake) Set(context.Context, rotation.Versions) error { return f.record("Set") }
func (f *fake) Test(_ context.Context, v rotation.Versions) error {
	f.tested = append(f.tested, v.Pending.Value)
	return f.record("Test")
}
func (f *fake) Finish(context.Context, rotation.Versions) error { return f.record("Finish") }

type setup struct {
	sm    *smtest.Server
	arn   string
	f     *fake
	r     *rotation.Rotator
	log   *bytes.Buffer
	token string
}

func newSetup(t *testing.T) *setup {
	s := &setup{sm: smtest.NewServer(t), f: &fake{fail: map[string]int{}}, log: &bytes.Buffer{}}
	s.arn = s.sm.CreateSecret("test/app/key", "planted-secret-first")
	s.r = s.rotator()
	return s
}

// rotator is a fresh Rotator, as a new Lambda invocation gets.
func (s *setup) rotator() *rotation.Rotator {
	return &rotation.Rotator{
		SM:   s.sm.Client(func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }),
		Pick: func(string) (rotation.Strategy, error) { return s.f, nil },
		Log:  slog.New(slog.NewTextHandler(s.log, nil)),
	}
}

func (s *setup) invoke(r *rotation.Rotator) func(step, token string) error {
	return func(step, token string) error {
		return r.Handle(context.Background(), rotation.Event{Step: step, SecretID: s.arn, ClientRequestToken: token, RotationToken: "rt-" + token})
	}
}

func TestFullRotationMovesLabels(t *testing.T) {
	s := newSetup(t)
	first := s.sm.VersionOf(s.arn, rotation.Current)
	token, err := s.sm.Rotate(s.arn, s.invoke(s.r))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{first: {rotation.Previous}, token: {rotation.Current, rotation.Pending}}
	if got := s.sm.Stages(s.arn); !reflect.DeepEqual(got, want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
	if got := s.sm.Value(s.arn, rotation.Current); got != "planted-secret-"+token {
		t.Fatalf("current value %q", got)
	}
	if want := []string{"Create", "Set", "Test", "Finish"}; !reflect.DeepEqual(s.f.calls, want) {
		t.Fatalf("calls %v, want %v", s.f.calls, want)
	}
	// The rotation token reaches PutSecretValue.
	var put bool
	for _, c := range s.sm.Calls() {
		if c.Operation == "PutSecretValue" {
			put = strings.Contains(string(c.Request), `"RotationToken":"rt-`+token+`"`)
		}
	}
	if !put {
		t.Fatal("PutSecretValue was not sent the RotationToken")
	}
	if strings.Contains(s.log.String(), "planted-secret") {
		t.Fatalf("a secret value reached the log:\n%s", s.log)
	}
}

func TestEveryStepTwiceDoesItOnce(t *testing.T) {
	s := newSetup(t)
	twice := func(step, token string) error {
		for range 2 {
			if err := s.invoke(s.rotator())(step, token); err != nil {
				return err
			}
		}
		return nil
	}
	token, err := s.sm.Rotate(s.arn, twice)
	if err != nil {
		t.Fatal(err)
	}
	// Create is skipped once the value exists and every step is a no-op
	// once the version is AWSCURRENT; Set and Test are the strategy's own
	// idempotent checks, run again.
	if want := []string{"Create", "Set", "Set", "Test", "Test", "Finish"}; !reflect.DeepEqual(s.f.calls, want) {
		t.Fatalf("calls %v, want %v", s.f.calls, want)
	}
	if s.sm.VersionOf(s.arn, rotation.Current) != token {
		t.Fatal("the rotation did not finish")
	}
	if !strings.Contains(s.log.String(), "already created the pending value") || !strings.Contains(s.log.String(), "already AWSCURRENT") {
		t.Fatalf("the log does not say the steps were resumed:\n%s", s.log)
	}
}

func TestFailedTestLeavesCurrentAndRetries(t *testing.T) {
	s := newSetup(t)
	first := s.sm.VersionOf(s.arn, rotation.Current)
	s.f.fail["Test"] = 1
	token, err := s.sm.Rotate(s.arn, s.invoke(s.r))
	if err == nil || !strings.Contains(err.Error(), "testSecret: Test failed as told") {
		t.Fatalf("got %v, want the testSecret failure", err)
	}
	if got := s.sm.VersionOf(s.arn, rotation.Current); got != first {
		t.Fatalf("AWSCURRENT moved to %s after a failed test", got)
	}
	if _, err := s.sm.StartRotation(s.arn); err == nil {
		t.Fatal("a new rotation started while the failed one is pending")
	}
	// Secrets Manager retries the whole rotation with the same token.
	if err := s.sm.Resume(token, s.invoke(s.rotator())); err != nil {
		t.Fatal(err)
	}
	if s.sm.VersionOf(s.arn, rotation.Current) != token {
		t.Fatal("the retried rotation did not finish")
	}
	if n := strings.Count(strings.Join(s.f.calls, " "), "Create"); n != 1 {
		t.Fatalf("Create ran %d times, want once", n)
	}
}

func TestCrashBetweenStepsIsFinishedByTheNextInvocation(t *testing.T) {
	for _, crashAfter := range smtest.Steps[:3] {
		t.Run(crashAfter, func(t *testing.T) {
			s := newSetup(t)
			token, err := s.sm.StartRotation(s.arn)
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range smtest.Steps {
				if err := s.invoke(s.r)(step, token); err != nil {
					t.Fatal(err)
				}
				if step == crashAfter {
					break
				}
			}
			if err := s.sm.Resume(token, s.invoke(s.rotator())); err != nil {
				t.Fatal(err)
			}
			if s.sm.VersionOf(s.arn, rotation.Current) != token || s.sm.Value(s.arn, rotation.Current) != "planted-secret-"+token {
				t.Fatal("the rotation did not finish with the value first created")
			}
		})
	}
}

func TestPutFailureAfterCreateIsRetried(t *testing.T) {
	s := newSetup(t)
	s.sm.FailNext("PutSecretValue", 1)
	token, err := s.sm.Rotate(s.arn, s.invoke(s.r))
	var api interface{ ErrorCode() string }
	if !errors.As(err, &api) || api.ErrorCode() != "InternalServiceError" {
		t.Fatalf("got %v, want the InternalServiceError", err)
	}
	if err := s.sm.Resume(token, s.invoke(s.rotator())); err != nil {
		t.Fatal(err)
	}
	if s.sm.VersionOf(s.arn, rotation.Current) != token {
		t.Fatal("the retried rotation did not finish")
	}
}

func TestRefusals(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	token, err := s.sm.StartRotation(s.arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    rotation.Event
		want string
	}{
		{"unknown step", rotation.Event{Step: "rotate", SecretID: s.arn, ClientRequestToken: token}, `unknown step "rotate"`},
		{"no token", rotation.Event{Step: rotation.SetSecret, SecretID: s.arn}, "needs SecretId and ClientRequestToken"},
		{"not a version", rotation.Event{Step: rotation.SetSecret, SecretID: s.arn, ClientRequestToken: "00000000-0000-0000-0000-000000000000"}, "not a version of the secret"},
		{"before createSecret", rotation.Event{Step: rotation.SetSecret, SecretID: s.arn, ClientRequestToken: token}, "createSecret did not finish"},
		{"unknown secret", rotation.Event{Step: rotation.CreateSecret, SecretID: "nope", ClientRequestToken: token}, "ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.r.Handle(ctx, tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}

	// A token that lost AWSPENDING to another rotation is reported with
	// the version that has it.
	if err := s.sm.Resume(token, s.invoke(s.r)); err != nil {
		t.Fatal(err)
	}
	newer, err := s.sm.StartRotation(s.arn)
	if err != nil {
		t.Fatal(err)
	}
	prev := s.sm.VersionOf(s.arn, rotation.Previous)
	err = s.r.Handle(ctx, rotation.Event{Step: rotation.SetSecret, SecretID: s.arn, ClientRequestToken: prev})
	if !errors.Is(err, rotation.ErrNotPending) || !strings.Contains(err.Error(), "AWSPENDING is on "+newer) {
		t.Fatalf("got %v, want ErrNotPending naming %s", err, newer)
	}

	s.sm.SetRotationEnabled(s.arn, false)
	if err := s.r.Handle(ctx, rotation.Event{Step: rotation.CreateSecret, SecretID: s.arn, ClientRequestToken: newer}); err == nil || !strings.Contains(err.Error(), "rotation is not enabled") {
		t.Fatalf("got %v, want rotation not enabled", err)
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  rotation.Kind
		err   string
	}{
		{`{"engine":"postgres","host":"h","username":"u","password":"p","masterarn":"arn:m"}`, rotation.PostgresMultiUser, ""},
		{`{"engine":"aurora-postgresql","host":"h","username":"u","password":"p"}`, rotation.PostgresSingleUser, ""},
		{`{"key_id":"k_1","api_key":"x"}`, rotation.APIKey, ""},
		{`Zq8rT2pLm4Vx9Kc1Wn5Hb7Jd3Fg6Ys0A`, rotation.APIKey, ""},
		{`{"engine":"mysql","host":"h"}`, "", `engine "mysql" is not one the rotator rotates`},
	} {
		got, err := rotation.KindOf(tc.value)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("KindOf(%s) = %q, %v; want %q, %q", tc.value, got, err, tc.want, tc.err)
		}
	}
}
