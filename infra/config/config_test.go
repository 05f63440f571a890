package config

import (
	"os"
	"strings"
	"testing"
)

func TestSampleLoads(t *testing.T) {
	c, err := Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.AlertRegions, ","); got != "eu-west-1,us-east-1" {
		t.Errorf("alert regions %s: the deploy region comes first", got)
	}
	var names []string
	for _, d := range c.In("dev") {
		names = append(names, d.Team+"/"+d.Service.Name)
	}
	if got := strings.Join(names, " "); got != "payments/checkout growth/mailer" {
		t.Errorf("dev runs %s", got)
	}
	d, it, err := c.Find("production", "ledger", "bank-webhook-token")
	if err != nil || d.Team != "payments" || it.Type != Token || it.RotateDays != 60 {
		t.Errorf("Find = %+v %+v %v", d, it, err)
	}
	if _, _, err := c.Find("dev", "ledger", "bank-webhook-token"); err == nil || !strings.Contains(err.Error(), `no service "ledger" in environment "dev"`) {
		t.Errorf("ledger does not run in dev: %v", err)
	}
	_, db, _ := c.Find("dev", "checkout", "orders-db")
	if db.Port != 5432 || db.RotateDays != 30 {
		t.Errorf("database defaults: %+v", db)
	}
	_, cert, _ := c.Find("staging", "checkout", "tls")
	if got := cert.DomainIn("staging"); got != "checkout.staging.example.com" {
		t.Errorf("domain %s", got)
	}
}

// The storage policy: each type has one store and one rotation, and
// POLICY.md names every type with its store.
func TestPolicyDocumentMatchesTheCode(t *testing.T) {
	doc, err := os.ReadFile("../POLICY.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[Type]Store{APIKey: SecretsManager, Token: SecretsManager, Database: SecretsManager, Certificate: ACM, Setting: ParameterStore}
	if len(Types()) != len(want) {
		t.Fatalf("types %v", Types())
	}
	for _, typ := range Types() {
		if typ.Store() != want[typ] {
			t.Errorf("%s stored in %s, want %s", typ, typ.Store(), want[typ])
		}
		row := "| `" + string(typ) + "` | " + string(typ.Store()) + " | " + string(typ.Rotation()) + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("POLICY.md lacks the row %s", row)
		}
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	// A frozen copy of the sample, so the lines below stay put.
	base, err := os.ReadFile("testdata/lines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"unknown type", "type: config\n          - name: tls", "type: secret\n          - name: tls", `x.yaml:46: item "fraud-threshold": type "secret" is not one of api-key, certificate, config, database, token`},
		{"unknown field", "rotateDays: 60", "rotateDay: 60", `x.yaml:58: field "rotateDay" is not one of`},
		{"database without host", "            host: orders.cluster-abc123.eu-west-1.rds.amazonaws.com\n", "", `x.yaml:39: item "orders-db": a database needs host, database and username`},
		{"duplicate service", "      - name: mailer", "      - name: checkout", `x.yaml:61: service "checkout" already declared at line 34`},
		{"unknown environment", "environments: [staging, production]", "environments: [staging, prod]", `x.yaml:52: service "ledger": environment "prod" is not in environments`},
		{"certificate shared across environments", "checkout.{env}.example.com", "checkout.example.com", `x.yaml:48: item "tls": service "checkout" runs in 3 environments: the domain needs {env}`},
		{"bad rotation", "rotateDays: 30", "rotateDays: 400", `x.yaml:36: item "stripe-api-key": rotateDays must be 1-365, got 400`},
		{"admin is provisioner", "keyAdmins: [secretgate-key-admin]", "keyAdmins: [secretgate-provisioner]", `x.yaml:14: keyAdmins must not include the provisioner`},
		{"reserved name", "      - name: mailer", "      - name: rds-master", `x.yaml:61: service "rds-master": the name is reserved`},
		{"not yaml", "teams:", "teams: [", "x.yaml:31: did not find expected node content"},
		{"gate without its store", "  storeSecret: gate/gatekeeper/store", "  storeSecret: \"\"", "x.yaml:25: gate.storeSecret is required"},
		{"rotator without its API", "  keysURL: https://keys.example.com/v1\n", "", `x.yaml:35: item "stripe-api-key": type api-key is rotated by cmd/rotator, which needs rotator.keysURL`},
		{"bad account", `account: "111122223333"`, `account: "11112222"`, `x.yaml:4: account must be 12 digits`},
		{"bad environment name", "environments: [dev, staging, production]", "environments: [dev, Staging, production]", `x.yaml:9: environment "Staging": names are`},
		{"MFA age too long", "maxMFAAge: 900", "maxMFAAge: 7200", `x.yaml:20: breakGlass.maxMFAAge must be 60-3600 seconds`},
		{"bad arch", "arch: arm64", "arch: amd64", `x.yaml:16: arch must be arm64 or x86_64`},
		{"missing region: the top of the file", "region: eu-west-1\n", "", `x.yaml:1: region is required`},
		{"wrong type", "retentionDays: 400", "retentionDays: forever", `x.yaml:23: cannot unmarshal`},
		{"rotator over plain HTTP", "https://keys.example.com", "http://keys.example.com", `x.yaml:29: rotator.keysURL must be https://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := string(base)
			if !strings.Contains(text, tc.from) {
				t.Fatalf("sample lacks %q", tc.from)
			}
			_, err := Parse("x.yaml", []byte(strings.Replace(text, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Service roles are svc-<environment>-<service>: two pairs that join to
// the same name are refused (the key policy names a service's role so).
func TestServiceRoleNamesAreUnique(t *testing.T) {
	base, err := os.ReadFile("testdata/lines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(base), "environments: [dev, staging, production]", "environments: [dev, staging, production, dev-x]", 1)
	if _, err := Parse("x.yaml", []byte(text)); err != nil {
		t.Fatalf("dev-x alone: %v", err)
	}
	text = strings.Replace(text, "      - name: checkout", "      - name: x-mailer", 1)
	_, err = Parse("x.yaml", []byte(text))
	if want := `role svc-dev-x-mailer would also be the role of`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}
