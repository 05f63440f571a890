package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/compliance"
)

func TestIngestExitCodes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "d.db")
	var out, errs bytes.Buffer
	if code := run(ctx, []string{"ingest", "--db", db, "../../internal/cloudtrail/testdata"}, &out, &errs, false); code != exitOK {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "19 files (0 failed), 71 records") {
		t.Errorf("summary: %s", out.String())
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"Records":[{"eventID":`), 0o644)
	out.Reset()
	errs.Reset()
	if code := run(ctx, []string{"ingest", "--db", db, bad, "../../internal/cloudtrail/testdata/kms-DisableKey.json"}, &out, &errs, false); code != exitFailed {
		t.Fatalf("exit %d with a corrupt file", code)
	}
	if !strings.Contains(errs.String(), "skipped "+bad+": record 1") || !strings.Contains(out.String(), "2 files (1 failed)") {
		t.Errorf("stderr %q stdout %q", errs.String(), out.String())
	}
	if code := run(ctx, []string{"ingest", "--db", db}, &out, &errs, false); code != exitError {
		t.Errorf("no paths: exit %d", code)
	}
	if code := run(ctx, []string{"ingest", "--db", db, filepath.Join(dir, "missing")}, &out, &errs, false); code != exitError {
		t.Errorf("missing path: exit %d", code)
	}
}

func TestGen(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"gen", "--out", dir, "--days", "1", "--events", "500", "--start", "2026-01-05"}, &out, &errs, false); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "AWSLogs")); err != nil {
		t.Error(err)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errb bytes.Buffer
	inv := filepath.Join(dir, "inventory.json")
	if code := run(ctx, []string{"gen", "--out", filepath.Join(dir, "trail"), "--days", "10", "--events", "20000", "--start", "2026-11-20", "--inventory", inv}, &out, &errb, false); code != 0 {
		t.Fatalf("gen: %d %s", code, errb.String())
	}
	db := filepath.Join(dir, "d.db")
	if code := run(ctx, []string{"ingest", "--db", db, filepath.Join(dir, "trail")}, &out, &errb, false); code != 0 {
		t.Fatalf("ingest: %d %s", code, errb.String())
	}
	if code := run(ctx, []string{"inventory", "import", "--db", db, inv}, &out, &errb, false); code != 0 {
		t.Fatalf("inventory: %d %s", code, errb.String())
	}
	out.Reset()
	if code := run(ctx, []string{"report", "--db", db, "--week", "2026-W48", "--format", "csv", "--out", filepath.Join(dir, "out")}, &out, &errb, false); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	files := strings.Fields(out.String())
	last := len(files) - 1
	if len(files) != len(compliance.All)+1 || !strings.HasSuffix(files[0], "2026-W48-headline.csv") || !strings.HasSuffix(files[last], "2026-W48-controls.csv") {
		t.Fatalf("files %v", files)
	}
	controls, _ := os.ReadFile(files[last])
	if !strings.Contains(string(controls), "SecretsManager.1,") || !strings.Contains(string(controls), "SecretsManager.4,") {
		t.Errorf("controls.csv:\n%.400s", controls)
	}
	head, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(head), "figure,this_window,previous_window\r\nsecret reads,") {
		t.Errorf("headline.csv:\n%s", head)
	}
	if code := run(ctx, []string{"report", "--db", db, "--week", "2026-W99"}, &out, &errb, false); code != 2 || !strings.Contains(errb.String(), "want YYYY-Www") {
		t.Errorf("bad week: %d %s", code, errb.String())
	}
}

func TestAthenaDDLCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"athena", "ddl", "--bucket", "acme-trail", "--regions", "eu-west-1"}, &out, &errb, false); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	for _, want := range []string{"CREATE EXTERNAL TABLE", "'projection.region.values'='eu-west-1'", "s3://acme-trail/AWSLogs/${account}/CloudTrail/${region}/${date}"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ddl lacks %q", want)
		}
	}
	if code := run(context.Background(), []string{"athena", "ddl"}, &out, &errb, false); code != 2 {
		t.Errorf("no bucket: code %d", code)
	}
}

func TestInventoryImportCommand(t *testing.T) {
	var out, errb bytes.Buffer
	db := filepath.Join(t.TempDir(), "d.db")
	if code := run(context.Background(), []string{"inventory", "import", "--db", db, "../../internal/inventory/testdata/list-secrets.json"}, &out, &errb, false); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "7 secrets in the inventory") {
		t.Errorf("out %q", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"SecretList": [`), 0o644)
	if code := run(context.Background(), []string{"inventory", "import", "--db", db, bad}, &out, &errb, false); code != 2 || !strings.Contains(errb.String(), "bad.json") {
		t.Errorf("bad file: code %d, %s", code, errb.String())
	}
}
