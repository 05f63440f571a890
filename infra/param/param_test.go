package param

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/infra/config"
	"github.com/secretgate/secretgate/infra/ssmtest"
)

const planted = "s3cr3t-PLANTED-value-7f9c"

func sample(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPutWritesASecureStringOnTheTeamKey(t *testing.T) {
	srv := ssmtest.NewServer(t)
	cfg := sample(t)
	w, err := Put(context.Background(), srv.Client(), cfg, Item{Env: "production", Service: "mailer", Name: "unsubscribe-salt"}, []byte(planted+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "/production/mailer/unsubscribe-salt" || w.KeyID != "alias/secretgate/production/growth" || w.Version != 1 || w.Tier != "Standard" {
		t.Errorf("written %+v", w)
	}
	p := srv.Parameter("/production/mailer/unsubscribe-salt")
	if p == nil || p.Type != "SecureString" || p.Value != planted || p.KeyID != "alias/secretgate/production/growth" {
		t.Fatalf("stored %+v", p)
	}
	want := map[string]string{"service": "mailer", "environment": "production", "team": "growth", "secretgate:type": "config"}
	for k, v := range want {
		if p.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, p.Tags[k], v)
		}
	}

	// A second write needs Overwrite, and then keeps the first tags.
	_, err = Put(context.Background(), srv.Client(), cfg, Item{Env: "production", Service: "mailer", Name: "unsubscribe-salt"}, []byte("other"))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second write: %v, want ErrExists", err)
	}
	w, err = Put(context.Background(), srv.Client(), cfg, Item{Env: "production", Service: "mailer", Name: "unsubscribe-salt", Overwrite: true}, []byte("other"))
	if err != nil || w.Version != 2 {
		t.Fatalf("overwrite: %+v %v", w, err)
	}
	if p := srv.Parameter("/production/mailer/unsubscribe-salt"); p.Value != "other" || p.Tags["team"] != "growth" {
		t.Errorf("after overwrite %+v", p)
	}
}

func TestPutRefuses(t *testing.T) {
	cfg := sample(t)
	for _, tc := range []struct {
		name  string
		item  Item
		value string
		want  string
	}{
		{"a secret's item", Item{Env: "dev", Service: "checkout", Name: "stripe-api-key"}, planted, `checkout/stripe-api-key is a api-key, kept in secretsmanager, not Parameter Store`},
		{"an undeclared item", Item{Env: "dev", Service: "checkout", Name: "nope"}, planted, `service "checkout" declares no item "nope"`},
		{"a service not in the environment", Item{Env: "dev", Service: "ledger", Name: "x"}, planted, `no service "ledger" in environment "dev"`},
		{"an empty value", Item{Env: "dev", Service: "checkout", Name: "fraud-threshold"}, "\n", "the value is empty"},
		{"a value too large", Item{Env: "dev", Service: "checkout", Name: "fraud-threshold"}, strings.Repeat("x", MaxValue+1), "at most 8192"},
		{"binary", Item{Env: "dev", Service: "checkout", Name: "fraud-threshold"}, "\xff\xfe" + planted, "not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ssmtest.NewServer(t)
			_, err := Put(context.Background(), srv.Client(), cfg, tc.item, []byte(tc.value))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), planted) {
				t.Errorf("the error shows the value: %v", err)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestPutLargeValueUsesTheAdvancedTierAndOutagesFail(t *testing.T) {
	srv := ssmtest.NewServer(t)
	cfg := sample(t)
	item := Item{Env: "staging", Service: "checkout", Name: "fraud-threshold"}
	w, err := Put(context.Background(), srv.Client(), cfg, item, []byte(strings.Repeat("y", 5000)))
	if err != nil || w.Tier != "Advanced" {
		t.Fatalf("%+v %v", w, err)
	}
	srv.FailNext(1)
	item.Overwrite = true
	_, err = Put(context.Background(), srv.Client(), cfg, item, []byte(planted))
	if err == nil || !strings.Contains(err.Error(), "put /staging/checkout/fraud-threshold") || strings.Contains(err.Error(), planted) {
		t.Fatalf("outage: %v", err)
	}
	if p := srv.Parameter("/staging/checkout/fraud-threshold"); p.Version != 1 {
		t.Errorf("version %d after a failed write", p.Version)
	}
}
