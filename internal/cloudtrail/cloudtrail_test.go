package cloudtrail

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rows normalises every record of a testdata file.
func rows(t *testing.T, name string) []Event {
	t.Helper()
	file := filepath.Join("testdata", name)
	var out []Event
	_, err := newReader().readFile(file, func(r *record) error {
		var err error
		out, err = normalise(out, r, file)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func find(t *testing.T, evs []Event, id string) Event {
	t.Helper()
	for _, e := range evs {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no row %s", id)
	return Event{}
}

func TestNormalise(t *testing.T) {
	const acct = "123456789012"
	tests := []struct {
		name, file, id string
		want           Event // compared field by field, File and times excepted
	}{
		{"AccessDenied read by an SSO session: the role behind it, no MFA",
			"secretsmanager-GetSecretValue-AccessDenied.json", "dfd6d93a-2ce6-4dbe-8939-86b8ba67c868",
			Event{Source: srcSecretsManager, Name: "GetSecretValue", Region: "us-west-2", Account: acct,
				Principal: "arn:aws:iam::123456789012:role/AWSReservedSSO_ExampleAdmin_0123456789abcdef", PrincipalType: "AssumedRole",
				SessionName: "example.user", SourceIP: "192.0.2.10",
				SecretID: "arn:aws:secretsmanager:us-west-2:123456789012:secret:example-app-secret-3", ErrorCode: "AccessDenied", Read: true}},
		{"KMS Decrypt by Secrets Manager for a role: traced to its secret, not a read",
			"kms-GenerateDataKey-Decrypt-via-SecretsManager.json", "f333ec5c-7fc1-46b1-b985-cbda13719611",
			Event{Source: srcKMS, Name: "Decrypt", Region: "us-east-2", Account: acct,
				Principal: "arn:aws:iam::123456789012:role/Admin", PrincipalType: "AssumedRole", SessionName: "user01",
				SourceIP: srcSecretsManager, UserAgent: srcSecretsManager,
				SecretID: "arn:aws:secretsmanager:us-east-2:123456789012:secret:test-secret",
				KeyID:    "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", Via: ViaSecretsManager}},
		{"rotation service event: secret from additionalEventData, the service as principal",
			"secretsmanager-RotationFailed.json", "EXAMPLE3-90ab-cdef-fedc-ba987EXAMPLE",
			Event{Source: srcSecretsManager, Name: "RotationFailed", Region: "us-east-2", Account: acct,
				Principal: srcSecretsManager, PrincipalType: "AWSService", SourceIP: srcSecretsManager, UserAgent: srcSecretsManager,
				SecretID:     "arn:aws:secretsmanager:us-east-2:123456789012:secret:MyDatabaseSecret",
				ErrorMessage: "Error when executing lambda arn:aws:lambda:us-east-2:123456789012:function:SecretsManagertest-alternating-users-rotation2 during setSecret step"}},
		{"DeleteSecret by name, root: the same identity as the ARN of the rotation event",
			"secretsmanager-DeleteSecret.json", "d97c0e86-5e67-5200-87f5-ff5ff822944a",
			Event{Source: srcSecretsManager, Name: "DeleteSecret", Region: "us-east-2", Account: acct,
				Principal: "arn:aws:iam::123456789012:root", PrincipalType: "Root", SourceIP: "",
				SecretID: "arn:aws:secretsmanager:us-east-2:123456789012:secret:MyDatabaseSecret"}},
		{"ConsoleLogin without MFA", "signin-ConsoleLogin-NoMFA.json", "865d9377-9c6b-4fd7-8aad-725e95f6a140",
			Event{Source: srcSignin, Name: "ConsoleLogin", Region: "us-east-1", Account: acct,
				Principal: "arn:aws:iam::123456789012:user/example-console-user", PrincipalType: "IAMUser",
				SourceIP: "192.0.2.10", UserAgent: "stratus-red-team_fccf7123-0651-41f5-b06c-460da5ee1c94"}},
		{"SSM GetParameter with decryption: a read of the parameter", "ssm-GetParameter-WithDecryption.json", "587e6d58-a653-4fd9-859f-367dc1bad98c",
			Event{Source: srcSSM, Name: "GetParameter", Region: "us-west-2", Account: acct,
				Principal: "arn:aws:iam::123456789012:role/SampleRole", PrincipalType: "AssumedRole", SessionName: "example.user",
				SourceIP: "192.0.2.10", UserAgent: "example-user-agent", Parameter: "/example/app/credentials-25", Read: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := find(t, rows(t, tt.file), tt.id)
			tt.want.ID, tt.want.File, tt.want.Time = got.ID, got.File, got.Time
			if tt.want.UserAgent == "" && got.UserAgent != "" && tt.want.Source != srcSignin {
				tt.want.UserAgent = got.UserAgent
			}
			if tt.want.SourceIP == "" {
				tt.want.SourceIP = got.SourceIP
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSecretIdentityAcrossForms(t *testing.T) {
	const want = "arn:aws:secretsmanager:us-east-1:123456789012:secret:example/db-credentials"
	for _, id := range []string{
		"example/db-credentials",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:example/db-credentials",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:example/db-credentials-AbCdEf",
	} {
		if got := SecretID(id, "us-east-1", "123456789012"); got != want {
			t.Errorf("SecretID(%q) = %q, want %q", id, got, want)
		}
	}
	if got := SecretID("db", "cn-north-1", "123456789012"); got != "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db" {
		t.Errorf("China partition: %q", got)
	}
	// Every real GetSecretValue in the bulk file names a full ARN: all lose the suffix.
	for _, e := range rows(t, "secretsmanager-GetSecretValue-bulk.json") {
		if e.Name != "GetSecretValue" {
			continue
		}
		if !e.Read || !strings.HasPrefix(e.SecretID, "arn:aws:secretsmanager:us-east-1:123456789012:secret:example-app-secret-") {
			t.Errorf("%s: %+v", e.ID, e)
		}
		if n := e.SecretID[strings.LastIndex(e.SecretID, "-")+1:]; len(n) > 2 {
			t.Errorf("%s: suffix kept: %s", e.ID, e.SecretID)
		}
		if e.Principal != "arn:aws:iam::123456789012:user/alice" || e.PrincipalType != "IAMUser" || e.MFA {
			t.Errorf("%s: principal %q %q mfa %v", e.ID, e.Principal, e.PrincipalType, e.MFA)
		}
	}
	// The derived lifecycle names one secret by ARN in API calls, service
	// events and KMS encryption contexts: one identity for all of them.
	ids := map[string]int{}
	for _, e := range rows(t, "derived/secretsmanager-rotation-lifecycle.json") {
		if e.SecretID != "" {
			ids[e.SecretID]++
		}
	}
	if len(ids) != 2 || ids[want] == 0 {
		t.Errorf("identities: %v", ids)
	}
}

func TestMFAEvidence(t *testing.T) {
	e := rows(t, "iam-AssumedRole-session-mfaAuthenticated-true.json")[0]
	if !e.MFA || e.Principal != "arn:aws:iam::123456789012:role/admin-tempcreds" || e.SessionName != "Alice-tempcreds" {
		t.Errorf("session with mfaAuthenticated=true: %+v", e)
	}
	for _, e := range rows(t, "sts-AssumeRole-with-MFA-crossaccount.json") {
		if !e.MFA {
			t.Errorf("AssumeRole with an MFA serial number: %+v", e)
		}
	}
	if rows(t, "signin-ConsoleLogin-NoMFA.json")[0].MFA {
		t.Error("ConsoleLogin MFAUsed=No read as MFA")
	}
	// A console login with MFAUsed=Yes.
	r := record{EventID: "x", EventTime: "2024-08-02T08:53:24Z", EventSource: srcSignin, EventName: "ConsoleLogin",
		AdditionalEventData: &additionalData{MFAUsed: "Yes"}}
	evs, _ := normalise(nil, &r, "f")
	if !evs[0].MFA {
		t.Error("ConsoleLogin MFAUsed=Yes not read as MFA")
	}
}

func TestKeysAndParameters(t *testing.T) {
	e := rows(t, "kms-ScheduleKeyDeletion.json")[0]
	if !strings.HasPrefix(e.KeyID, "arn:aws:kms:") || !strings.HasSuffix(e.KeyID, ":123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab") {
		t.Errorf("key: %q", e.KeyID)
	}
	// GenerateDataKey through Secrets Manager: traced, not a read.
	g := rows(t, "kms-GenerateDataKey-Decrypt-via-SecretsManager.json")[0]
	if g.Read || g.Via != ViaSecretsManager || g.SecretID == "" {
		t.Errorf("GenerateDataKey via Secrets Manager: %+v", g)
	}
	// Direct Decrypt by a user: neither a secret read nor via Secrets Manager.
	for _, d := range rows(t, "kms-Decrypt-direct-and-IncorrectKeyException.json") {
		if d.Read || d.Via != "" || d.SecretID != "" || !strings.HasPrefix(d.KeyID, "arn:aws:kms:") {
			t.Errorf("direct Decrypt: %+v", d)
		}
	}
	// GetParameters with decryption: one read row per parameter; DescribeParameters no read.
	var reads, describes int
	for _, e := range rows(t, "ssm-GetParameters-WithDecryption.json") {
		switch e.Name {
		case "GetParameters":
			if !e.Read || !strings.HasPrefix(e.Parameter, "/example/app/credentials-") || !strings.Contains(e.ID, "#") {
				t.Errorf("GetParameters row: %+v", e)
			}
			reads++
		case "DescribeParameters":
			if e.Read {
				t.Errorf("DescribeParameters counted as a read")
			}
			describes++
		}
	}
	if reads < 10 || describes != 5 {
		t.Errorf("%d parameter reads, %d describes", reads, describes)
	}
	for in, want := range map[string]string{
		"arn:aws:ssm:us-west-2:123456789012:parameter/example/app/credentials-25": "/example/app/credentials-25",
		"arn:aws:ssm:us-west-2:123456789012:parameter/flat":                       "flat",
		"/a/b:3": "/a/b",
	} {
		if got := parameterName(in); got != want {
			t.Errorf("parameterName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBatchGetSecretValue(t *testing.T) {
	// The real records use a tag filter: one row, no secret named.
	for _, e := range rows(t, "secretsmanager-BatchGetSecretValue.json") {
		if e.SecretID != "" || e.Read || strings.Contains(e.ID, "#") {
			t.Errorf("filter batch: %+v", e)
		}
	}
	// A secretIdList: one row per secret, whatever form names it.
	in := `{"Records":[{"eventID":"b1","eventTime":"2024-07-31T12:29:16Z","eventSource":"secretsmanager.amazonaws.com",
	"eventName":"BatchGetSecretValue","awsRegion":"us-east-1","recipientAccountId":"123456789012",
	"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012"},
	"requestParameters":{"secretIdList":["db","arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","api"]}}]}`
	var evs []Event
	if _, err := decode("batch.json", strings.NewReader(in), func(r *record) error {
		var err error
		evs, err = normalise(evs, r, "batch.json")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const db = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"
	want := []struct{ id, secret string }{{"b1#1", db}, {"b1#2", db}, {"b1#3", "arn:aws:secretsmanager:us-east-1:123456789012:secret:api"}}
	if len(evs) != len(want) {
		t.Fatalf("%d rows: %+v", len(evs), evs)
	}
	for i, w := range want {
		if evs[i].ID != w.id || evs[i].SecretID != w.secret || evs[i].Principal != "arn:aws:iam::123456789012:user/alice" {
			t.Errorf("row %d: %+v", i, evs[i])
		}
	}
}

func count(t *testing.T, db *DB, where string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM events WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestIdempotent(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Ingest(ctx, []string{"testdata"}, Options{})
	if err != nil || len(st.Failed) > 0 {
		t.Fatal(err, st.Failed)
	}
	if st.Files != 19 || st.Records != 71 || st.Inserted != st.Events || st.Events < st.Records {
		t.Errorf("first ingest: %+v", st)
	}
	total := count(t, db, "1")
	again, err := db.Ingest(ctx, []string{"testdata"}, Options{Workers: 1, TxRows: 3})
	if err != nil || again.Inserted != 0 || again.Events != st.Events || count(t, db, "1") != total {
		t.Errorf("re-ingest added rows: %+v, %v", again, err)
	}
	if n := count(t, db, "via = 'secretsmanager' AND is_read = 1"); n != 0 {
		t.Errorf("%d KMS calls via Secrets Manager counted as reads", n)
	}
	if n := count(t, db, "event_name = 'GetSecretValue' AND is_read = 1"); n != 24 {
		t.Errorf("%d GetSecretValue reads, want 24", n)
	}
}

func gz(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(data)
	zw.Close()
	f.Close()
}

func TestCorruptFilesSkippedAndNamed(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile("testdata/secretsmanager-GetSecretValue-bulk.json")
	gz(t, filepath.Join(dir, "a-good.json.gz"), good)
	os.WriteFile(filepath.Join(dir, "b-notgzip.json.gz"), []byte("plain text, not gzip"), 0o644)
	gz(t, filepath.Join(dir, "c-badjson.json.gz"), []byte(`{"Records":[{"eventID":"x1","eventTime":"2024-07-31T12:29:16Z"},{"eventID":`))
	full := filepath.Join(dir, "d-truncated.json.gz")
	gz(t, full, good)
	data, _ := os.ReadFile(full)
	os.WriteFile(full, data[:len(data)/2], 0o644)
	os.WriteFile(filepath.Join(dir, "e-notcloudtrail.json"), []byte(`{"SecretList":[]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "f-empty.json.gz"), nil, 0o644)

	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Ingest(ctx, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1 || len(st.Failed) != 5 {
		t.Fatalf("files %d, failed %v", st.Files, st.Failed)
	}
	for _, fe := range st.Failed {
		msg := fe.Error()
		if !strings.HasPrefix(msg, fe.File+": ") || strings.Contains(fe.File, "a-good") {
			t.Errorf("error does not lead with the file: %s", msg)
		}
		if strings.Contains(fe.File, "c-badjson") && (fe.Record != 2 || !strings.Contains(msg, "record 2 (byte ")) {
			t.Errorf("bad JSON not placed: %s", msg)
		}
		for file, says := range map[string]string{"b-notgzip": "not a gzip file", "f-empty": "empty file", "e-notcloudtrail": "no \"Records\" array"} {
			if strings.Contains(fe.File, file) && !strings.Contains(msg, says) {
				t.Errorf("%s: %s", file, msg)
			}
		}
		t.Log(msg)
	}
	// The good file's 21 records are in (some may have come first from the
	// truncated copy of it, whose undamaged head is kept).
	if n := count(t, db, "event_name IN ('GetSecretValue', 'ListSecrets')"); n != 21 {
		t.Errorf("good file: %d rows", n)
	}
}

func TestFilesWalksTheS3Layout(t *testing.T) {
	dir := t.TempDir()
	body := []byte(`{"Records":[]}`)
	want := []string{
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/07/31/123456789012_CloudTrail_us-east-1_20240731T1235Z_abcdefghijklmnop.json.gz",
		"AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/08/01/111122223333_CloudTrail_eu-west-1_20240801T0005Z_abcdefghijklmnop.json.gz",
		"fixtures/plain.json",
	}
	skip := []string{
		"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/07/31/123456789012_CloudTrail-Digest_us-east-1_x.json.gz",
		"AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2024/07/31/x.json.gz",
		"AWSLogs/123456789012/Config/us-east-1/2024/7/31/ConfigSnapshot/x.json.gz",
		"AWSLogs/123456789012/CloudTrail/us-east-1/2024/07/31/notes.txt",
	}
	for _, n := range append(append([]string{}, want...), skip...) {
		gz(t, filepath.Join(dir, n), body)
	}
	got, err := Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, w := range want {
		if got[i] != filepath.Join(dir, w) {
			t.Errorf("file %d: %s, want %s", i, got[i], w)
		}
	}
	if _, err := Files([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path is not an error")
	}

	// a link to the trail's folder, as the path named, gives the same files
	link := filepath.Join(t.TempDir(), "trail")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	got, err = Files([]string{link})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i], _ = filepath.Rel(link, got[i])
	}
	if !slices.Equal(got, want) {
		t.Errorf("through a link: %q, want %q", got, want)
	}
}
