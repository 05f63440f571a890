package apikey_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretgate/secretgate/internal/rotation"
	"github.com/secretgate/secretgate/internal/rotation/apikey"
	"github.com/secretgate/secretgate/internal/rotation/apikey/keytest"
	"github.com/secretgate/secretgate/internal/rotation/smtest"
)

type setup struct {
	sm   *smtest.Server
	keys *keytest.Server
	arn  string
	r    *rotation.Rotator
	log  *bytes.Buffer
}

func newSetup(t *testing.T, admin string) *setup {
	s := &setup{sm: smtest.NewServer(t), keys: keytest.NewServer(t), log: &bytes.Buffer{}}
	// The placeholder infra/ gives the secret before its first rotation.
	s.arn = s.sm.CreateSecret("prod/shop/payments-api", "Zq8rT2pLm4Vx9Kc1Wn5Hb7Jd3Fg6Ys0A")
	strategy := &apikey.Strategy{Provider: &apikey.HTTP{
		URL:   s.keys.URL,
		Admin: func(context.Context) (string, error) { return admin, nil },
	}}
	s.r = &rotation.Rotator{
		SM:   s.sm.Client(func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }),
		Pick: func(string) (rotation.Strategy, error) { return strategy, nil },
		Log:  slog.New(slog.NewTextHandler(s.log, nil)),
	}
	return s
}

func (s *setup) invoke(step, token string) error {
	return s.r.Handle(context.Background(), rotation.Event{Step: step, SecretID: s.arn, ClientRequestToken: token})
}

// keyID is the key_id of the version that carries label.
func (s *setup) keyID(t *testing.T, label string) string {
	v := s.sm.Value(s.arn, label)
	i := strings.Index(v, `"key_id":"`)
	if i < 0 {
		t.Fatalf("the %s value names no key", label)
	}
	id, _, _ := strings.Cut(v[i+len(`"key_id":"`):], `"`)
	return id
}

func TestExactlyTwoValidKeys(t *testing.T) {
	s := newSetup(t, keytest.AdminToken)
	for i := 1; i <= 12; i++ {
		if _, err := s.sm.Rotate(s.arn, s.invoke); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		want := []string{s.keyID(t, rotation.Current)}
		if i > 1 {
			want = append(want, s.keyID(t, rotation.Previous))
		}
		slices.Sort(want)
		if got := s.keys.Valid(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after rotation %d the valid keys are %v, want current and previous %v", i, got, want)
		}
	}
	if n := s.keys.Created(); n != 12 {
		t.Fatalf("%d keys created for 12 rotations", n)
	}
	if !strings.Contains(s.sm.Value(s.arn, rotation.Current), `"created_at":"`) {
		t.Fatal("the current value has no created_at")
	}
	for _, planted := range []string{"sk_", "Zq8rT2pLm4Vx9Kc1Wn5Hb7Jd3Fg6Ys0A"} {
		if strings.Contains(s.log.String(), planted) {
			t.Fatalf("a key reached the log:\n%s", s.log)
		}
	}
}

func TestRetriedCreateAdoptsItsKey(t *testing.T) {
	s := newSetup(t, keytest.AdminToken)
	// The provider issued the key, then storing it failed: the retry must
	// not leave a second key behind.
	s.sm.FailNext("PutSecretValue", 1)
	token, err := s.sm.Rotate(s.arn, s.invoke)
	if err == nil {
		t.Fatal("the rotation succeeded although PutSecretValue failed")
	}
	if err := s.sm.Resume(token, s.invoke); err != nil {
		t.Fatal(err)
	}
	if n, valid := s.keys.Created(), s.keys.Valid(); n != 1 || len(valid) != 1 || valid[0] != s.keyID(t, rotation.Current) {
		t.Fatalf("created %d keys, valid %v; want the one key of the current version", n, valid)
	}
}

func TestFailingTestKeepsCurrent(t *testing.T) {
	s := newSetup(t, keytest.AdminToken)
	if _, err := s.sm.Rotate(s.arn, s.invoke); err != nil {
		t.Fatal(err)
	}
	current := s.sm.VersionOf(s.arn, rotation.Current)
	token, err := s.sm.StartRotation(s.arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range smtest.Steps[:2] {
		if err := s.invoke(step, token); err != nil {
			t.Fatal(err)
		}
	}
	s.keys.FailNext(1)
	if err := s.invoke(rotation.TestSecret, token); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("got %v, want the provider's 503", err)
	}
	if s.sm.VersionOf(s.arn, rotation.Current) != current {
		t.Fatal("AWSCURRENT moved after a failed test")
	}
	if err := s.sm.Resume(token, s.invoke); err != nil {
		t.Fatal(err)
	}
	if s.sm.VersionOf(s.arn, rotation.Current) != token || len(s.keys.Valid()) != 2 {
		t.Fatalf("retry: current %s, valid keys %v", s.sm.VersionOf(s.arn, rotation.Current), s.keys.Valid())
	}
}

func TestProviderErrorsNameNoKey(t *testing.T) {
	s := newSetup(t, "wrong-admin-token")
	_, err := s.sm.Rotate(s.arn, s.invoke)
	if err == nil || !strings.Contains(err.Error(), "POST /keys: 403 Forbidden") {
		t.Fatalf("got %v, want POST /keys: 403 Forbidden", err)
	}
	if strings.Contains(err.Error(), "wrong-admin-token") {
		t.Fatal("the error names the admin token")
	}

	h := &apikey.HTTP{URL: keytest.NewServer(t).URL}
	err = h.Test(context.Background(), "sk_planted")
	if !errors.Is(err, apikey.ErrRejected) || strings.Contains(err.Error(), "sk_planted") {
		t.Fatalf("got %v, want ErrRejected without the key", err)
	}
	if err := h.Revoke(context.Background(), "k_1"); err == nil || !strings.Contains(err.Error(), "no admin credential") {
		t.Fatalf("got %v, want no admin credential", err)
	}
}

// TestEmptyKeyNotTestedAsAdmin: an empty key must not fall back to the
// admin credential, which a provider may well accept on /keys/self.
func TestEmptyKeyNotTestedAsAdmin(t *testing.T) {
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	h := &apikey.HTTP{URL: srv.URL, Admin: func(context.Context) (string, error) { return "admin-planted", nil }}
	if err := h.Test(context.Background(), ""); err == nil {
		t.Fatal("Test of an empty key passed")
	}
	if len(sent) != 0 {
		t.Fatalf("Test of an empty key sent %q", sent)
	}
}
