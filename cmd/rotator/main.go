// Command rotator is the Secrets Manager rotation function for what AWS does
// not host: third-party API keys, and PostgreSQL logins (multi-user or
// single-user) rotated by Go code you can read and test. It runs on Lambda's
// provided.al2023 runtime as bootstrap (make lambda builds the zips).
//
// Configuration, from the function's environment:
//
//	SECRETGATE_KEYS_URL           base URL of the key-management API (API-key secrets)
//	SECRETGATE_KEYS_ADMIN_SECRET  id of the secret holding that API's admin token (its value, or {"token": …})
//	SECRETGATE_PG_CA_FILE         PEM roots for PostgreSQL TLS, e.g. the RDS bundle in the zip (default: system roots)
//	PASSWORD_LENGTH               new PostgreSQL passwords' length (default 32)
//	EXCLUDE_CHARACTERS            characters they never hold (default :/@"'\)
//	SECRETGATE_SECRETSMANAGER_ENDPOINT  override, for tests
//
// How a secret rotates follows from its value (rotation.KindOf).
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretgate/secretgate/internal/rotation"
	"github.com/secretgate/secretgate/internal/rotation/apikey"
	"github.com/secretgate/secretgate/internal/rotation/postgres"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("cannot start: AWS configuration", "err", err)
		os.Exit(1)
	}
	r, err := newRotator(awsCfg, os.Getenv, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(handler(r))
}

// handler adapts the Lambda event to a rotation step.
func handler(r *rotation.Rotator) func(context.Context, events.SecretsManagerSecretRotationEvent) error {
	return func(ctx context.Context, e events.SecretsManagerSecretRotationEvent) error {
		return r.Handle(ctx, rotation.Event{
			Step: e.Step, SecretID: e.SecretID, ClientRequestToken: e.ClientRequestToken, RotationToken: e.RotationToken,
		})
	}
}

// newRotator wires the strategies from the environment.
func newRotator(awsCfg aws.Config, env func(string) string, log *slog.Logger) (*rotation.Rotator, error) {
	sm := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		if ep := env("SECRETGATE_SECRETSMANAGER_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	pw := postgres.Passwords{Exclude: env("EXCLUDE_CHARACTERS")}
	if s := env("PASSWORD_LENGTH"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 8 || n > 4096 {
			return nil, fmt.Errorf("PASSWORD_LENGTH is %q; it must be a number from 8 to 4096", s)
		}
		pw.Length = n
	}
	if _, err := pw.New(); err != nil {
		return nil, fmt.Errorf("PASSWORD_LENGTH and EXCLUDE_CHARACTERS: %w", err)
	}
	var roots *x509.CertPool
	if f := env("SECRETGATE_PG_CA_FILE"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("SECRETGATE_PG_CA_FILE: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SECRETGATE_PG_CA_FILE: %s holds no PEM certificate", f)
		}
	}
	multi := &postgres.Strategy{MultiUser: true, Secrets: sm, RootCAs: roots, Passwords: pw}
	single := &postgres.Strategy{Secrets: sm, RootCAs: roots, Passwords: pw}

	var keys rotation.Strategy
	if url := env("SECRETGATE_KEYS_URL"); url != "" {
		adminSecret := env("SECRETGATE_KEYS_ADMIN_SECRET")
		if adminSecret == "" {
			return nil, errors.New("SECRETGATE_KEYS_URL is set but SECRETGATE_KEYS_ADMIN_SECRET is not (the id of the secret holding the key API's admin token)")
		}
		keys = &apikey.Strategy{Provider: &apikey.HTTP{URL: url, Admin: adminToken(sm, adminSecret)}}
	}

	return &rotation.Rotator{SM: sm, Log: log, Pick: func(current string) (rotation.Strategy, error) {
		kind, err := rotation.KindOf(current)
		if err != nil {
			return nil, err
		}
		switch kind {
		case rotation.PostgresMultiUser:
			return multi, nil
		case rotation.PostgresSingleUser:
			return single, nil
		}
		if keys == nil {
			return nil, errors.New("the secret holds an API key (its value has no engine) but SECRETGATE_KEYS_URL is not set")
		}
		return keys, nil
	}}, nil
}

// adminToken reads the key API's admin token from its secret when needed.
func adminToken(sm *secretsmanager.Client, id string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("read %s: %w", id, err)
		}
		v := strings.TrimSpace(aws.ToString(out.SecretString))
		var wrapped struct {
			Token string `json:"token"`
		}
		if json.Unmarshal([]byte(v), &wrapped) == nil && wrapped.Token != "" {
			return wrapped.Token, nil
		}
		if v == "" || strings.HasPrefix(v, "{") {
			return "", fmt.Errorf("%s holds neither a token nor {\"token\": …}", id)
		}
		return v, nil
	}
}
