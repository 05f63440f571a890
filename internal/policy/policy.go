// Package policy reads the server-side secretgate.toml: which rules the gate
// runs, who may bypass it, where it keeps its record, where alerts go, and
// what happens when a push cannot be scanned in time.
package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/secretgate/secretgate/rules"
)

// FailMode says what the gate does with a push it could not scan.
type FailMode string

const (
	FailOpen   FailMode = "open"   // let it through, alert, and record it for a later scan
	FailClosed FailMode = "closed" // refuse it
)

// Bypass reasons, as GitHub push protection names them.
var Reasons = []string{"false_positive", "used_in_tests", "will_fix_later"}

// Defaults. The timeout leaves a second of GitHub Enterprise's 5 s, shared by
// every pre-receive hook, for process start and other hooks. A push that
// cannot be scanned in time is let through and alerted (blocking every large
// push stops work); one that fails for any other reason is refused (a broken
// gate should be noticed, not quietly open).
const (
	DefaultTimeout   = 4 * time.Second
	DefaultOnTimeout = FailOpen
	DefaultOnError   = FailClosed
)

// Policy is a loaded secretgate.toml.
type Policy struct {
	File      string // where it was read from ("" for defaults)
	RulesFile string // a rule file; "" means the built-in packs (see LoadRules)
	// BypassUsers may bypass with a reason; "*" is anyone. Every bypass is
	// recorded and alerted whoever makes it.
	BypassUsers []string
	// InlineAllow honours secretgate:allow / gitleaks:allow comments. Such a
	// comment is an unrecorded bypass anyone can write; a server may refuse it.
	InlineAllow bool
	StorePath   string
	KeyFile     string // fingerprint key
	SNSTopic    string // empty: alerts go to AlertLog
	SNSRegion   string
	SNSEndpoint string // override, for LocalStack and tests
	AlertLog    string
	Timeout     time.Duration
	OnTimeout   FailMode
	OnError     FailMode
	GitHub      GitHub
}

// GitHub configures `gatekeeper serve`, the GitHub App.
type GitHub struct {
	AppID             int64
	PrivateKeyFile    string
	WebhookSecretFile string // or $SECRETGATE_WEBHOOK_SECRET
	APIURL            string // "" for github.com; GitHub Enterprise: https://HOST/api/v3
	Listen            string
	Workers           int
	CacheDir          string        // mirrors of the repositories scanned
	JobLease          time.Duration // how long a delivery may run before another worker takes it
	CommitStatus      bool          // also post a commit status named secretgate
}

type file struct {
	Rules struct {
		File string `toml:"file"`
	} `toml:"rules"`
	Bypass struct {
		Users       *[]string `toml:"users"`
		InlineAllow *bool     `toml:"inline_allow"`
	} `toml:"bypass"`
	Store struct {
		Path string `toml:"path"`
	} `toml:"store"`
	Fingerprint struct {
		KeyFile string `toml:"key_file"`
	} `toml:"fingerprint"`
	Alerts struct {
		SNSTopic    string `toml:"sns_topic"`
		SNSRegion   string `toml:"sns_region"`
		SNSEndpoint string `toml:"sns_endpoint"`
		Log         string `toml:"log"`
	} `toml:"alerts"`
	Budget struct {
		Timeout   string `toml:"timeout"`
		OnTimeout string `toml:"on_timeout"`
		OnError   string `toml:"on_error"`
	} `toml:"budget"`
	GitHub struct {
		AppID             int64  `toml:"app_id"`
		PrivateKeyFile    string `toml:"private_key_file"`
		WebhookSecretFile string `toml:"webhook_secret_file"`
		APIURL            string `toml:"api_url"`
		Listen            string `toml:"listen"`
		Workers           int    `toml:"workers"`
		CacheDir          string `toml:"cache_dir"`
		JobLease          string `toml:"job_lease"`
		CommitStatus      bool   `toml:"commit_status"`
	} `toml:"github"`
}

// Default is the policy with nothing configured, keeping its files in dir.
func Default(dir string) (*Policy, error) {
	return &Policy{
		BypassUsers: []string{"*"},
		InlineAllow: true,
		StorePath:   filepath.Join(dir, "secretgate.db"),
		KeyFile:     filepath.Join(dir, "fingerprint.key"),
		AlertLog:    filepath.Join(dir, "alerts.log"),
		Timeout:     DefaultTimeout,
		OnTimeout:   DefaultOnTimeout,
		OnError:     DefaultOnError,
		GitHub:      GitHub{Listen: ":8080", Workers: 4, CacheDir: filepath.Join(dir, "github-cache"), JobLease: 10 * time.Minute},
	}, nil
}

// Load reads a policy file. Relative paths in it are relative to the file.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	dir := filepath.Dir(path)
	p, err := Default(dir)
	if err != nil {
		return nil, err
	}
	p.File = path

	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("%s:%d: unknown setting %q", path, lineOf(data, un[0]), un[0].String())
	}
	bad := func(key toml.Key, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s: %s", path, lineOf(data, key), key.String(), fmt.Sprintf(format, args...))
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}

	if f.Rules.File != "" {
		p.RulesFile = abs(f.Rules.File)
	}
	if f.Bypass.Users != nil {
		p.BypassUsers = *f.Bypass.Users
	}
	if f.Bypass.InlineAllow != nil {
		p.InlineAllow = *f.Bypass.InlineAllow
	}
	if f.Store.Path != "" {
		p.StorePath = abs(f.Store.Path)
	}
	if f.Fingerprint.KeyFile != "" {
		p.KeyFile = abs(f.Fingerprint.KeyFile)
	}
	p.SNSTopic, p.SNSRegion, p.SNSEndpoint = f.Alerts.SNSTopic, f.Alerts.SNSRegion, f.Alerts.SNSEndpoint
	if p.SNSTopic != "" && !strings.HasPrefix(p.SNSTopic, "arn:") {
		return nil, bad(toml.Key{"alerts", "sns_topic"}, "want a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
	}
	if p.SNSTopic != "" && p.SNSRegion == "" {
		// arn:aws:sns:REGION:…
		if parts := strings.Split(p.SNSTopic, ":"); len(parts) > 3 {
			p.SNSRegion = parts[3]
		}
	}
	if f.Alerts.Log != "" {
		p.AlertLog = abs(f.Alerts.Log)
	}
	if f.Budget.Timeout != "" {
		d, err := time.ParseDuration(f.Budget.Timeout)
		if err != nil || d <= 0 {
			return nil, bad(toml.Key{"budget", "timeout"}, "want a duration such as \"4s\" or \"1500ms\"")
		}
		p.Timeout = d
	}
	for _, m := range []struct {
		key  string
		val  string
		dest *FailMode
	}{{"on_timeout", f.Budget.OnTimeout, &p.OnTimeout}, {"on_error", f.Budget.OnError, &p.OnError}} {
		switch FailMode(m.val) {
		case "":
		case FailOpen, FailClosed:
			*m.dest = FailMode(m.val)
		default:
			return nil, bad(toml.Key{"budget", m.key}, "want \"open\" or \"closed\", got %q", m.val)
		}
	}
	g := f.GitHub
	if g.AppID != 0 {
		p.GitHub.AppID = g.AppID
	}
	p.GitHub.PrivateKeyFile, p.GitHub.WebhookSecretFile = abs(g.PrivateKeyFile), abs(g.WebhookSecretFile)
	p.GitHub.APIURL, p.GitHub.CommitStatus = g.APIURL, g.CommitStatus
	if g.Listen != "" {
		p.GitHub.Listen = g.Listen
	}
	if g.Workers < 0 {
		return nil, bad(toml.Key{"github", "workers"}, "cannot be negative")
	} else if g.Workers > 0 {
		p.GitHub.Workers = g.Workers
	}
	if g.CacheDir != "" {
		p.GitHub.CacheDir = abs(g.CacheDir)
	}
	if g.JobLease != "" {
		d, err := time.ParseDuration(g.JobLease)
		if err != nil || d < time.Second {
			return nil, bad(toml.Key{"github", "job_lease"}, "want a duration of at least 1s, such as \"10m\"")
		}
		p.GitHub.JobLease = d
	}
	return p, nil
}

// LoadRules loads the rules the policy names: its rule file, or the
// built-in packs. It is separate from Load so that a hook can compile rules
// while it does its other start-up work.
func (p *Policy) LoadRules() (*rules.Config, error) {
	if p.RulesFile == "" {
		return rules.Default()
	}
	cfg, err := rules.Load(p.RulesFile)
	if err != nil {
		return nil, fmt.Errorf("%s: rules.file: %w", p.File, err)
	}
	return cfg, nil
}

// MayBypass reports whether pusher may bypass the gate.
func (p *Policy) MayBypass(pusher string) bool {
	return slices.Contains(p.BypassUsers, "*") || pusher != "" && slices.Contains(p.BypassUsers, pusher)
}

// lineOf finds the line that sets key (its last part) in a TOML file,
// after the table it belongs to; 0 if not found.
func lineOf(data []byte, key toml.Key) int {
	lines := strings.Split(string(data), "\n")
	table := ""
	if len(key) > 1 {
		table = "[" + strings.Join(key[:len(key)-1], ".") + "]"
	}
	inTable := table == ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			inTable = strings.ReplaceAll(t, " ", "") == table
			continue
		}
		if inTable {
			if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == key[len(key)-1] {
				return i + 1
			}
		}
	}
	return 0
}
