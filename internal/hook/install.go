package hook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// marker identifies a hook script secretgate wrote.
const marker = "secretgate pre-receive hook"

// previousSuffix names a hook that was in place before secretgate's; the
// installed script runs it first.
const previousSuffix = ".secretgate-previous"

// InstallOptions say where to install. Exactly one of Repo, HooksDir and
// DotD is set.
type InstallOptions struct {
	Repo     string // a repository: Repo/hooks/pre-receive (bare or not)
	HooksDir string // a server-wide hooks directory (core.hooksPath): HooksDir/pre-receive
	DotD     string // a pre-receive.d directory (GitLab custom_hooks, Gitea): DotD/secretgate
	Binary   string // the gatekeeper binary the hook runs
	Policy   string // the secretgate.toml the hook reads; created with defaults if missing
}

// Install writes the hook (keeping any hook already there, which then runs
// first), creates the policy file if needed, and for a repository turns on
// push options so that bypasses can be asked for. It returns what it did,
// for the admin to read.
func Install(o InstallOptions) ([]string, error) {
	var target, home string // home: where the policy goes by default
	switch {
	case o.Repo != "" && o.HooksDir == "" && o.DotD == "":
		dir, err := gitDir(o.Repo)
		if err != nil {
			return nil, err
		}
		// The git directory, never a work tree, where git add -A would
		// stage the fingerprint key.
		target, home = filepath.Join(dir, "hooks", "pre-receive"), dir
	case o.HooksDir != "" && o.Repo == "" && o.DotD == "":
		target, home = filepath.Join(o.HooksDir, "pre-receive"), o.HooksDir
	case o.DotD != "" && o.Repo == "" && o.HooksDir == "":
		target, home = filepath.Join(o.DotD, "secretgate"), o.DotD
	default:
		return nil, errors.New("install: give exactly one of --repo, --hooks-dir and --dot-d")
	}
	if o.Policy == "" {
		o.Policy = filepath.Join(home, "secretgate.toml")
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return nil, err
	}
	pol, err := filepath.Abs(o.Policy)
	if err != nil {
		return nil, err
	}
	var did []string
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}

	chained := false
	if old, err := os.ReadFile(target); err == nil {
		if bytes.Contains(old, []byte(marker)) {
			_, err := os.Stat(target + previousSuffix)
			chained = err == nil // reinstall: keep the chain as it was
		} else {
			if err := os.Rename(target, target+previousSuffix); err != nil {
				return nil, fmt.Errorf("install: keeping the existing hook: %w", err)
			}
			chained = true
			did = append(did, fmt.Sprintf("kept the existing hook as %s; it runs first", target+previousSuffix))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("install: %w", err)
	}
	if err := os.WriteFile(target, []byte(script(bin, pol, chained)), 0o755); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	did = append(did, "wrote "+target)

	if _, err := os.Stat(pol); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(pol), 0o755); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
		if err := os.WriteFile(pol, []byte(DefaultPolicy), 0o644); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
		did = append(did, "wrote the default policy "+pol)
	}

	if o.Repo != "" {
		cmd := exec.Command("git", "-C", o.Repo, "config", "receive.advertisePushOptions", "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("install: enabling push options: %v: %s", err, bytes.TrimSpace(out))
		}
		did = append(did, "enabled push options (receive.advertisePushOptions) for bypass requests")
	} else {
		did = append(did, "enable push options where the hook runs, for bypass requests: git config --system receive.advertisePushOptions true")
	}
	return did, nil
}

func gitDir(repo string) (string, error) {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--absolute-git-dir").Output()
	if err != nil {
		return "", fmt.Errorf("install: %s: %w", repo, errNotRepo)
	}
	return strings.TrimSpace(string(out)), nil
}

func script(bin, policy string, chained bool) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "# %s, installed by `gatekeeper hook install`.\n", marker)
	b.WriteString("# It refuses pushes that add secrets; the policy file says how.\n")
	run := fmt.Sprintf("%s hook pre-receive --config %s", quote(bin), quote(policy))
	if !chained {
		b.WriteString("exec " + run + "\n")
		return b.String()
	}
	b.WriteString("# The hook that was here before runs first, on the same input,\n")
	b.WriteString("# if it is executable (git would not have run it otherwise).\n")
	b.WriteString("input=$(cat)\n")
	fmt.Fprintf(&b, "if [ -x \"$0%s\" ]; then\n", previousSuffix)
	fmt.Fprintf(&b, "  printf '%%s\\n' \"$input\" | \"$0%s\" \"$@\" || exit $?\n", previousSuffix)
	b.WriteString("fi\n")
	fmt.Fprintf(&b, "printf '%%s\\n' \"$input\" | exec %s\n", run)
	return b.String()
}

// quote makes s one shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DefaultPolicy is the secretgate.toml written at install: every setting at
// its default, explained.
const DefaultPolicy = `# secretgate server policy, read by the pre-receive hook on every push.
# Every setting is shown at its default. Paths are relative to this file.

[rules]
# A rule file in gitleaks' format. Without one, the built-in packs run.
# To add rules to the built-in packs, start the file with
#   [extend]
#   useDefault = true
# file = "rules.toml"

[bypass]
# Who may push a secret anyway with: git push -o secretgate.bypass=<reason>
# (false_positive, used_in_tests or will_fix_later). "*" is anyone. Every
# bypass is recorded and alerted, and the same secret does not block again.
users = ["*"]
# A secretgate:allow (or gitleaks:allow) comment on a line lets a finding
# through without a record: convenient, and a bypass anyone can write.
# Set to false to make the push option the only way past the gate.
inline_allow = true

[store]
# The record of pushes, findings, bypasses and the alert outbox (SQLite).
path = "secretgate.db"

[fingerprint]
# The key of the fingerprints that identify secrets without storing them.
key_file = "fingerprint.key"

[alerts]
# An SNS topic for alerts; without one they are written to the log file.
# sns_topic = "arn:aws:sns:eu-west-1:123456789012:secretgate-alerts"
log = "alerts.log"

[budget]
# GitHub Enterprise gives all pre-receive hooks 5 s together.
timeout = "4s"
# A push not scanned in time: "open" lets it in, alerts, and records it for
# a later scan; "closed" refuses it.
on_timeout = "open"
# Any other failure (unreadable objects, a broken store): refuse by default.
on_error = "closed"
`
