package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/athena/athenatest"
	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
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

// weekDB is a dashboard database of a generated organisation's 2026-W48
// and the days around it, with the secret inventory imported.
func weekDB(t *testing.T) string {
	t.Helper()
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
	return db
}

func TestReportCommand(t *testing.T) {
	ctx := context.Background()
	db := weekDB(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"report", "--db", db, "--week", "2026-W48", "--format", "csv", "--out", filepath.Join(dir, "out")}, &out, &errb, false); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	files := strings.Fields(out.String())
	last := len(files) - 2
	if len(files) != len(compliance.All)+3 || !strings.HasSuffix(files[0], "2026-W48-caveats.csv") || !strings.HasSuffix(files[1], "2026-W48-headline.csv") ||
		!strings.HasSuffix(files[last], "2026-W48-controls.csv") || !strings.HasSuffix(files[last+1], "2026-W48-outside-readers.csv") {
		t.Fatalf("files %v", files)
	}
	// What the evidence lacks comes first: here, the key inventory and the
	// gate's record.
	caveats, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(caveats), "caveat\r\n") || !strings.Contains(string(caveats), "no key inventory") ||
		!strings.Contains(string(caveats), "no gate record (--store)") {
		t.Errorf("caveats.csv:\n%s", caveats)
	}
	files = files[1:]
	last--
	controls, _ := os.ReadFile(files[last])
	if !strings.Contains(string(controls), "SecretsManager.1,") || !strings.Contains(string(controls), "SecretsManager.4,") {
		t.Errorf("controls.csv:\n%.400s", controls)
	}
	head, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(head), "figure,this_window,previous_window\r\nsecret reads,") {
		t.Errorf("headline.csv:\n%s", head)
	}
	for _, want := range []string{"no key inventory", "no gate record (--store)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errb.String())
		}
	}
	for _, bad := range [][]string{{"--week", "2026-W99"}, {"--format", "docx"}, {"--engine", "bigquery"}} {
		errb.Reset()
		if code := run(ctx, append([]string{"report", "--db", db}, bad...), &out, &errb, false); code != exitError || errb.Len() == 0 {
			t.Errorf("%v: exit %d, %s", bad, code, errb.String())
		}
	}
}

func TestReportPDF(t *testing.T) {
	db := weekDB(t)
	dir := filepath.Join(t.TempDir(), "evidence")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"report", "--db", db, "--week", "2026-W48", "--format", "pdf", "--out", dir}, &out, &errb, false); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	want := filepath.Join(dir, "secretgate-2026-W48.pdf")
	if strings.TrimSpace(out.String()) != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	b, err := os.ReadFile(want)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) || len(b) < 10000 {
		t.Fatalf("%s: %d bytes, %v", want, len(b), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in %s, want the PDF only", len(entries), dir)
	}
}

// The same week on Athena (the local one, through the SDK) reads as it
// does on SQLite, less the inventory's controls.
func TestReportOnAthena(t *testing.T) {
	ctx := context.Background()
	db := weekDB(t)
	src, err := cloudtrail.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	srv := athenatest.NewServer(t)
	srv.PageSize = 1000
	srv.LoadEvents(src.SQL())
	src.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	var local, remote, errb bytes.Buffer
	if code := run(ctx, []string{"report", "--db", db, "--week", "2026-W48"}, &local, &errb, false); code != 0 {
		t.Fatalf("sqlite: %d %s", code, errb.String())
	}
	errb.Reset()
	args := []string{"report", "--db", db, "--week", "2026-W48", "--engine", "athena", "--region", athenatest.Region,
		"--endpoint", srv.URL, "--workgroup", "evidence", "--database", "trail"}
	if code := run(ctx, args, &remote, &errb, false); code != 0 {
		t.Fatalf("athena: %d %s", code, errb.String())
	}
	// the ten reports, and the week before's coverage for the caveats
	if !strings.Contains(errb.String(), "11 Athena queries scanned") {
		t.Errorf("stderr: %s", errb.String())
	}
	// The same tables from the headline on, but for the controls, which
	// only the SQLite report has; the caveats before differ in that.
	controls := strings.Index(local.String(), "\nSecurity Hub controls")
	lh, rh := strings.Index(local.String(), "\nHeadline figures"), strings.Index(remote.String(), "\nHeadline figures")
	if controls < 0 || lh < 0 || rh < 0 {
		t.Fatalf("no controls or headline in the reports")
	}
	if l, r := strings.Split(local.String()[lh:controls], "\n"), strings.Split(remote.String()[rh:], "\n"); len(l) != len(r) {
		t.Errorf("Athena's report has %d lines, SQLite's %d", len(r), len(l))
	} else {
		for i := range l {
			if l[i] != r[i] {
				t.Errorf("line %d differs:\nathena %s\nsqlite %s", i+1, r[i], l[i])
				break
			}
		}
	}
	for _, e := range srv.Executions() {
		if e.WorkGroup != "evidence" || e.Database != "trail" {
			t.Errorf("query ran in workgroup %q, database %q", e.WorkGroup, e.Database)
		}
	}
}

// The gate's store adds its table to the evidence.
func TestReportWithStore(t *testing.T) {
	ctx := context.Background()
	db := weekDB(t)
	dsn := filepath.Join(t.TempDir(), "gate.db")
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := scan.Finding{RuleID: "aws-access-key", Severity: rules.High, Redacted: "AKIA…MPLE", Fingerprint: "fp1"}
	if _, err := st.RecordPush(ctx, store.Push{Repo: "acme/api", Pusher: "dana", Source: "pre-receive", At: at,
		Verdict: store.VerdictBypassed, Reason: "test fixture"}, []scan.Finding{f}, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"report", "--db", db, "--week", "2026-W48", "--store", dsn}, &out, &errb, false); code != 0 {
		t.Fatalf("report: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Secrets pushed to git (1 row)") || !strings.Contains(out.String(), "acme/api    aws-access-key  0        1         0            1         test fixture") {
		t.Errorf("no gate table:\n%s", out.String()[strings.Index(out.String(), "Secrets pushed"):])
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

// A mistyped --db is an error, not an empty database and a week of
// nothing; a path that does not exist is an error without a summary of
// nothing read.
func TestMissingInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report", "--db", filepath.Join(dir, "typo.db"), "--week", "2026-W48"}, "no database at " + filepath.Join(dir, "typo.db")},
		{[]string{"ingest", "--db", filepath.Join(dir, "d.db"), filepath.Join(dir, "no-such-trail")}, "no-such-trail"},
	}
	for _, tt := range tests {
		var out, errs bytes.Buffer
		if code := run(ctx, tt.args, &out, &errs, false); code != exitError {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitError)
		}
		if !strings.Contains(errs.String(), tt.want) || out.Len() != 0 {
			t.Errorf("%v: stdout %q, stderr %q, want %q on stderr only", tt.args, out.String(), errs.String(), tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); err == nil {
		t.Error("report made the database it was asked to read")
	}
}
