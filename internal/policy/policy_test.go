package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secretgate.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	p := write(t, `# server policy
[bypass]
users = ["dana", "sec-bot"]
inline_allow = false

[store]
path = "db/gate.db"

[alerts]
sns_topic = "arn:aws:sns:eu-west-1:123456789012:secret-alerts"

[budget]
timeout = "2500ms"
on_timeout = "closed"
on_error = "open"

[github]
app_id = 4242
private_key_file = "app.pem"
webhook_secret_file = "/etc/secretgate/webhook-secret"
workers = 8
`)
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if got.StorePath != filepath.Join(dir, "db/gate.db") || got.KeyFile != filepath.Join(dir, "fingerprint.key") {
		t.Errorf("paths: %q %q", got.StorePath, got.KeyFile)
	}
	if got.SNSRegion != "eu-west-1" || got.Timeout != 2500*time.Millisecond || got.OnTimeout != FailClosed || got.OnError != FailOpen {
		t.Errorf("got %+v", got)
	}
	if gh := got.GitHub; gh.AppID != 4242 || gh.PrivateKeyFile != filepath.Join(dir, "app.pem") || gh.WebhookSecretFile != "/etc/secretgate/webhook-secret" || gh.Workers != 8 || gh.Listen != ":8080" {
		t.Errorf("github: %+v", gh)
	}
	if got.InlineAllow {
		t.Error("inline_allow = false not read")
	}
	if !got.MayBypass("dana") || got.MayBypass("mallory") || got.MayBypass("") {
		t.Error("MayBypass wrong")
	}
	cfg, err := got.LoadRules()
	if err != nil || len(cfg.Rules) < 100 {
		t.Errorf("LoadRules: %v, want the built-in packs", err)
	}
}

func TestRulesFile(t *testing.T) {
	p, err := Load(write(t, "[rules]\nfile = \"missing.toml\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.LoadRules(); err == nil || !strings.Contains(err.Error(), "secretgate.toml: rules.file: reading rules: open") {
		t.Errorf("LoadRules: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	p, err := Default("/srv/git")
	if err != nil {
		t.Fatal(err)
	}
	if !p.InlineAllow || p.Timeout != 4*time.Second || p.OnTimeout != FailOpen || p.OnError != FailClosed || !p.MayBypass("anyone") || p.SNSTopic != "" {
		t.Errorf("defaults: %+v", p)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"[budget]\ntimeout = \"soon\"\n", `:2: budget.timeout: want a duration`},
		{"[budget]\non_timeout = \"maybe\"\n", `:2: budget.on_timeout: want "open" or "closed", got "maybe"`},
		{"[alerts]\n\nsns_topic = \"secret-alerts\"\n", `:3: alerts.sns_topic: want a topic ARN`},
		{"[budget]\ntimout = \"4s\"\n", `:2: unknown setting "budget.timout"`},
		{"[store\n", `:2: expected`},
	}
	for _, tt := range tests {
		_, err := Load(write(t, tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "secretgate.toml") {
			t.Errorf("%q: err = %v, want it to name the file and contain %q", tt.body, err, tt.want)
		}
	}
}
