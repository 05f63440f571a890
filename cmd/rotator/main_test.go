package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/secretgate/secretgate/internal/rotation"
	"github.com/secretgate/secretgate/internal/rotation/apikey/keytest"
	"github.com/secretgate/secretgate/internal/rotation/smtest"
)

func testConfig() aws.Config {
	return aws.Config{Region: smtest.Region, Credentials: credentials.NewStaticCredentialsProvider("smtest", "smtest", "")}
}

// The function as Lambda runs it: events decoded from the JSON Secrets
// Manager sends, an API key rotated twice through the local key API, with
// the admin token read from its own secret.
func TestRotatorFromEnvironment(t *testing.T) {
	sm := smtest.NewServer(t)
	keys := keytest.NewServer(t)
	admin := sm.CreateSecret("prod/rotator/keys-admin", `{"token":"`+keytest.AdminToken+`"}`)
	arn := sm.CreateSecret("prod/shop/payments-api", "Zq8rT2pLm4Vx9Kc1Wn5Hb7Jd3Fg6Ys0A")
	env := map[string]string{
		"SECRETGATE_SECRETSMANAGER_ENDPOINT": sm.URL,
		"SECRETGATE_KEYS_URL":                keys.URL,
		"SECRETGATE_KEYS_ADMIN_SECRET":       admin,
	}
	var log bytes.Buffer
	r, err := newRotator(testConfig(), func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := handler(r)
	invoke := func(step, token string) error {
		raw := `{"Step":"` + step + `","SecretId":"` + arn + `","ClientRequestToken":"` + token + `","RotationToken":"rt-1"}`
		var e events.SecretsManagerSecretRotationEvent
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return err
		}
		return h(context.Background(), e)
	}
	for i := range 2 {
		if _, err := sm.Rotate(arn, invoke); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
	}
	if valid := keys.Valid(); len(valid) != 2 || !strings.Contains(sm.Value(arn, rotation.Current), valid[0]) && !strings.Contains(sm.Value(arn, rotation.Current), valid[1]) {
		t.Fatalf("valid keys %v", valid)
	}
	if strings.Contains(log.String(), "sk_") || strings.Contains(log.String(), keytest.AdminToken) {
		t.Fatalf("a key reached the log:\n%s", log.String())
	}
}

func TestConfigErrors(t *testing.T) {
	sm := smtest.NewServer(t)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PASSWORD_LENGTH": "six"}, `PASSWORD_LENGTH is "six"`},
		{map[string]string{"EXCLUDE_CHARACTERS": lowerUpperDigitsPunct}, "leave no characters"},
		{map[string]string{"SECRETGATE_PG_CA_FILE": "/nonexistent/rds.pem"}, "SECRETGATE_PG_CA_FILE"},
		{map[string]string{"SECRETGATE_KEYS_URL": "https://keys.example.com"}, "SECRETGATE_KEYS_ADMIN_SECRET is not"},
	} {
		if _, err := newRotator(testConfig(), func(k string) string { return tc.env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.env, err, tc.want)
		}
	}

	// Without a key API, an API-key secret is refused by name; so is an
	// engine the rotator does not know.
	r, err := newRotator(testConfig(), func(k string) string {
		return map[string]string{"SECRETGATE_SECRETSMANAGER_ENDPOINT": sm.URL}[k]
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for value, want := range map[string]string{
		"placeholder-value": "SECRETGATE_KEYS_URL is not set",
		`{"engine":"mysql","host":"db","username":"u","password":"p"}`: `engine "mysql"`,
	} {
		arn := sm.CreateSecret("s-"+want[:5], value)
		_, err := sm.Rotate(arn, func(step, token string) error {
			return r.Handle(context.Background(), rotation.Event{Step: step, SecretID: arn, ClientRequestToken: token})
		})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

const lowerUpperDigitsPunct = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-.;<=>?[]^_`{|}~:/@\"'\\"
