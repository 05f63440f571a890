package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/alert/snstest"
	"github.com/secretgate/secretgate/internal/codecommit/cctest"
)

// The Lambda handler as the runtime builds it from its environment, talking
// to a local CodeCommit and a local SNS through the real SDK clients.
func TestLambdaHandler(t *testing.T) {
	cc := cctest.NewServer(t)
	sns := snstest.NewServer(t)
	cc.AddRepo("shop")
	cc.Commit("shop", "main", "first", map[string]string{"a.txt": "a\n"})
	head := cc.Commit("shop", "main", "deploy", map[string]string{"deploy.ini": "aws_access_key_id = " + awsID + "\n"})
	t.Setenv("AWS_ACCESS_KEY_ID", cctest.ScannerKey) // the scanner's role, as cctest knows it
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", snstest.Region)
	env := map[string]string{
		"SECRETGATE_STORE":               filepath.Join(t.TempDir(), "gate.db"),
		"SECRETGATE_FINGERPRINT_KEY":     testKey,
		"SECRETGATE_SNS_TOPIC":           sns.Topic(),
		"SECRETGATE_SNS_ENDPOINT":        sns.URL,
		"SECRETGATE_CODECOMMIT_ENDPOINT": cc.URL,
	}
	h, closeStore, err := newLambdaHandler(context.Background(), func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	event := fmt.Sprintf(`{"Records":[{"eventId":"e-1","eventSource":"aws:codecommit","awsRegion":"us-east-1","eventSourceARN":"arn:aws:codecommit:us-east-1:123456789012:shop","codecommit":{"references":[{"commit":%q,"ref":"refs/heads/main"}]}}]}`, head)
	if err := h.Handle(context.Background(), []byte(event)); err != nil {
		t.Fatal(err)
	}
	pub := sns.Published()
	if len(pub) != 1 || !strings.Contains(pub[0].Subject, "1 secret found in shop") || strings.Contains(pub[0].Message, awsID) {
		t.Errorf("published: %+v", pub)
	}

	for k, want := range map[string]string{"SECRETGATE_STORE": "SECRETGATE_STORE is not set", "SECRETGATE_FINGERPRINT_KEY": "SECRETGATE_FINGERPRINT_KEY must be"} {
		saved := env[k]
		env[k] = ""
		if _, _, err := newLambdaHandler(context.Background(), func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without %s: %v", k, err)
		}
		env[k] = saved
	}
}
