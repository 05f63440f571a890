package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/githubapp"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/store"
)

// runServe runs the GitHub App: the webhook endpoint, the workers that scan
// and answer with check runs, and alert delivery, until ctx is done.
func runServe(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "secretgate.toml", "policy file with a [github] section (`FILE`)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	pol, err := policy.Load(*config)
	if err != nil {
		return 0, err
	}
	gh := pol.GitHub
	secret, key, err := appSecrets(gh)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", *config, err)
	}
	s, err := policyScanner(pol)
	if err != nil {
		return 0, err
	}
	st, err := store.Open(ctx, pol.StorePath)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sender, closeSender, err := alertSender(ctx, pol)
	if err != nil {
		return 0, err
	}
	defer closeSender()

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	app := &githubapp.App{AppID: gh.AppID, Key: key, APIURL: gh.APIURL, Fetcher: &githubapp.Fetcher{Dir: gh.CacheDir},
		Scanner: s, Record: st, Policy: pol, Log: log, CommitStatus: gh.CommitStatus}
	workers := &githubapp.Workers{Jobs: st, Handler: app, N: gh.Workers, Lease: gh.JobLease, Log: log}
	srv := &http.Server{
		Handler:           githubapp.Routes(&githubapp.Webhook{Secret: secret, Queue: st, Log: log, Queued: workers.Wake}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	ln, err := net.Listen("tcp", gh.Listen)
	if err != nil {
		return 0, err
	}
	log.Info("serving", "addr", ln.Addr().String(), "app_id", gh.AppID, "workers", gh.Workers, "store", pol.StorePath)

	work, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() { workers.Run(work); close(done) }()
	go deliverAlerts(work, st, sender, log)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shut) // stop taking deliveries; queued ones wait in the store
	}()
	err = srv.Serve(ln)
	stop()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return exitClean, nil
	}
	return 0, err
}

// appSecrets reads the webhook secret ($SECRETGATE_WEBHOOK_SECRET or the
// file) and the app's private key.
func appSecrets(gh policy.GitHub) (secret, key []byte, err error) {
	if gh.AppID == 0 {
		return nil, nil, errors.New("[github] app_id is not set")
	}
	if v := os.Getenv("SECRETGATE_WEBHOOK_SECRET"); v != "" {
		secret = []byte(v)
	} else if gh.WebhookSecretFile != "" {
		b, err := os.ReadFile(gh.WebhookSecretFile)
		if err != nil {
			return nil, nil, fmt.Errorf("[github] webhook_secret_file: %w", err)
		}
		secret = []byte(strings.TrimSpace(string(b)))
	}
	if len(secret) == 0 {
		return nil, nil, errors.New("no webhook secret: set [github] webhook_secret_file or $SECRETGATE_WEBHOOK_SECRET")
	}
	if gh.PrivateKeyFile == "" {
		return nil, nil, errors.New("[github] private_key_file is not set")
	}
	key, err = os.ReadFile(gh.PrivateKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("[github] private_key_file: %w", err)
	}
	return secret, key, nil
}

// deliverAlerts sends the outbox every few seconds while the app runs.
func deliverAlerts(ctx context.Context, st *store.Store, s alert.Sender, log *slog.Logger) {
	for {
		if _, err := alert.Deliver(ctx, st, s, alert.DeliverOptions{}); err != nil && ctx.Err() == nil {
			log.Error("delivering alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}
