package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// fakeSecretsManager serves ListSecrets in AWS JSON 1.1 as Secrets Manager
// does: three pages chained by NextToken, dates as epoch seconds.
type fakeSecretsManager struct {
	t        *testing.T
	failPage string // a NextToken whose page answers AccessDenied
	mu       sync.Mutex
	tokens   []string
}

var pages = map[string]struct{ next, body string }{
	"": {"page-2", `{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/payments/db-AbCdEf","Name":"prod/payments/db",
		"KmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"RotationEnabled":true,"RotationRules":{"AutomaticallyAfterDays":30},
		"LastRotatedDate":1.768032000123E9,"LastAccessedDate":1.7681760E9,"NextRotationDate":1770624000,
		"Tags":[{"Key":"service","Value":"payments"},{"Key":"environment","Value":"prod"}]},
		{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:staging/search/api-key-x1Y2z3","Name":"staging/search/api-key",
		"RotationEnabled":true,"RotationRules":{"ScheduleExpression":"rate(10 days)"},"Tags":[{"Key":"Team","Value":"search"}]}`},
	"page-2": {"page-3", `{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/orders/signing-key-QwErTy","Name":"dev/orders/signing-key",
		"RotationEnabled":true,"RotationRules":{"ScheduleExpression":"cron(0 16 1,15 * ? *)","Duration":"2h"}}`},
	"page-3": {"", `{"ARN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/auth/old-token-PlMnOk","Name":"prod/auth/old-token",
		"KmsKeyId":"alias/aws/secretsmanager","DeletedDate":1768176000.25,"Tags":[{"Key":"Env","Value":"prod"}]}`},
}

func (f *fakeSecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.ListSecrets" ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.t.Errorf("unexpected request %s %s %v", r.Method, r.URL, r.Header)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var in struct {
		IncludePlannedDeletion bool
		NextToken              string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !in.IncludePlannedDeletion {
		f.t.Errorf("request body: %+v, %v: want IncludePlannedDeletion", in, err)
	}
	f.mu.Lock()
	f.tokens = append(f.tokens, in.NextToken)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if in.NextToken != "" && in.NextToken == f.failPage {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"not authorized to perform: secretsmanager:ListSecrets"}`)
		return
	}
	p, ok := pages[in.NextToken]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"InvalidNextTokenException","message":"bad token"}`)
		return
	}
	next := ""
	if p.next != "" {
		next = fmt.Sprintf(`,"NextToken":%q`, p.next)
	}
	fmt.Fprintf(w, `{"SecretList":[%s]%s}`, p.body, next)
}

func client(t *testing.T, f *fakeSecretsManager) *secretsmanager.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestLive(t *testing.T) {
	f := &fakeSecretsManager{t: t}
	db := open(t)
	n, err := Live(context.Background(), client(t, f), db)
	if err != nil || n != 4 {
		t.Fatalf("Live: %d, %v", n, err)
	}
	if want := []string{"", "page-2", "page-3"}; strings.Join(f.tokens, ",") != strings.Join(want, ",") {
		t.Errorf("pages asked for %q, want %q", f.tokens, want)
	}
	got := byID(t, db)
	const acct = "arn:aws:secretsmanager:us-east-1:111122223333:secret:"
	tests := []struct {
		id    string
		check func(Secret) bool
	}{
		{acct + "prod/payments/db", func(s Secret) bool {
			return s.RotationEnabled && s.RotationDays == 30 && s.LastRotated.Equal(at("2026-01-10T08:00:00.123Z")) &&
				s.LastAccessed.Equal(at("2026-01-12T00:00:00Z")) && s.NextRotation.Equal(at("2026-02-09T08:00:00Z")) &&
				strings.HasSuffix(s.KMSKeyID, ":key/1234abcd-12ab-34cd-56ef-1234567890ab") && s.Service == "payments" && s.Environment == "prod"
		}},
		{acct + "staging/search/api-key", func(s Secret) bool {
			return s.RotationDays == 10 && s.KMSKeyID == "" && s.Service == "search" && s.LastRotated.IsZero()
		}},
		{acct + "dev/orders/signing-key", func(s Secret) bool {
			return s.RotationEnabled && s.RotationDays == 0 && s.RotationSchedule == "cron(0 16 1,15 * ? *)"
		}},
		{acct + "prod/auth/old-token", func(s Secret) bool {
			return s.Deleted && s.DeletedDate.Equal(at("2026-01-12T00:00:00.25Z")) && s.KMSKeyID == "" && s.Environment == "prod" && !s.RotationEnabled
		}},
	}
	for _, tt := range tests {
		if s, ok := got[tt.id]; !ok || !tt.check(s) {
			t.Errorf("%s: %+v", tt.id, s)
		}
	}
	// The same as the CLI's JSON of the same secrets says.
	importFile(t, db, fixture)
	if again := byID(t, db); !reflectEqualSecret(again[acct+"prod/payments/db"], got[acct+"prod/payments/db"]) {
		t.Errorf("Live and Import disagree:\n%+v\n%+v", got[acct+"prod/payments/db"], again[acct+"prod/payments/db"])
	}
}

// reflectEqualSecret compares what both the fixture and the fake server
// say of a secret (the fixture has one more tag).
func reflectEqualSecret(a, b Secret) bool {
	a.Tags, b.Tags = nil, nil
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestLiveFailsWhole(t *testing.T) {
	f := &fakeSecretsManager{t: t, failPage: "page-3"}
	db := open(t)
	n, err := Live(context.Background(), client(t, f), db)
	if err == nil || !strings.Contains(err.Error(), "page 3") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Live: %d, %v: want an AccessDenied error on page 3", n, err)
	}
	if list, err := Secrets(context.Background(), db); err != nil || len(list) != 0 {
		t.Errorf("%d secrets kept after a failed listing (%v)", len(list), err)
	}
}
