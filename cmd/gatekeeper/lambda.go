package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	cc "github.com/aws/aws-sdk-go-v2/service/codecommit"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/codecommit"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// onLambda reports whether the Lambda runtime started this process.
func onLambda() bool { return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" }

// lambdaEnv is the function's configuration, from its environment:
//
//	SECRETGATE_STORE            the store: a postgres:// URL (Lambda's disk does not last)
//	SECRETGATE_SNS_TOPIC        the alert topic ARN
//	SECRETGATE_FINGERPRINT_KEY  the fingerprint key, hex (shared with the other front doors)
//	SECRETGATE_CODECOMMIT_ENDPOINT, SECRETGATE_SNS_ENDPOINT  overrides, for tests
type lambdaEnv func(string) string

// newLambdaHandler builds the CodeCommit handler from the environment.
func newLambdaHandler(ctx context.Context, env lambdaEnv, log *slog.Logger) (*codecommit.Handler, func(), error) {
	dsn := env("SECRETGATE_STORE")
	if dsn == "" {
		return nil, nil, errors.New("SECRETGATE_STORE is not set (a postgres:// URL: the function's disk does not last)")
	}
	key, err := hex.DecodeString(strings.TrimSpace(env("SECRETGATE_FINGERPRINT_KEY")))
	if err != nil || len(key) < 16 {
		return nil, nil, errors.New("SECRETGATE_FINGERPRINT_KEY must be at least 32 hex digits (the same key as the other front doors, so fingerprints match)")
	}
	cfg, err := rules.Default()
	if err != nil {
		return nil, nil, err
	}
	s, err := scan.New(cfg, scan.Options{FingerprintKey: key})
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("AWS configuration: %w", err)
	}
	client := cc.NewFromConfig(awsCfg, func(o *cc.Options) {
		if ep := env("SECRETGATE_CODECOMMIT_ENDPOINT"); ep != "" {
			o.BaseEndpoint = &ep
		}
	})
	var sender alert.Sender = alert.NewLog(os.Stdout) // CloudWatch Logs
	if topic := env("SECRETGATE_SNS_TOPIC"); topic != "" {
		snsClient, err := alert.NewSNSClient(ctx, awsCfg.Region, env("SECRETGATE_SNS_ENDPOINT"))
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		sender = alert.NewSNS(snsClient, topic)
	}
	h := &codecommit.Handler{
		API: client, Scanner: s, Record: st, Log: log,
		Deliver: func(ctx context.Context) error {
			_, err := alert.Deliver(ctx, st, sender, alert.DeliverOptions{})
			return err
		},
	}
	return h, func() { st.Close() }, nil
}

// runLambda serves CodeCommit events until the runtime stops the process.
func runLambda() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, closeStore, err := newLambdaHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		os.Exit(exitError)
	}
	defer closeStore()
	lambda.Start(func(ctx context.Context, event json.RawMessage) error {
		return h.Handle(ctx, event)
	})
}
