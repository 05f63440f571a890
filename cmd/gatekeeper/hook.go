package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/gate"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/hook"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
)

func runHook(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return 0, fmt.Errorf("%w: hook needs install, pre-receive, rescan, pre-commit or pre-push", errUsage)
	}
	switch args[0] {
	case "install":
		return hookInstall(args[1:], stdout, stderr)
	case "pre-receive":
		return preReceive(ctx, args[1:], stdin, stderr), nil
	case "rescan":
		return rescan(ctx, args[1:], stdout, stderr)
	case "pre-commit":
		return clientHook(ctx, "pre-commit", args[1:], stdin, stderr)
	case "pre-push":
		return clientHook(ctx, "pre-push", args[1:], stdin, stderr)
	}
	return 0, fmt.Errorf("%w: unknown hook command %q", errUsage, args[0])
}

func hookInstall(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("hook install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o hook.InstallOptions
	fs.StringVar(&o.Repo, "repo", "", "install into this repository (`PATH.git`)")
	fs.StringVar(&o.HooksDir, "hooks-dir", "", "install into a server-wide hooks directory (`DIR`, as set by core.hooksPath)")
	fs.StringVar(&o.DotD, "dot-d", "", "install into a pre-receive.d directory (`DIR`: GitLab custom_hooks/pre-receive.d, Gitea hooks/pre-receive.d)")
	fs.StringVar(&o.Policy, "config", "", "the policy file the hook reads (`FILE`; default: secretgate.toml in the git directory, or in the hooks directory); created with defaults if missing")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	o.Binary = exe
	did, err := hook.Install(o)
	if err != nil {
		return 0, err
	}
	for _, d := range did {
		fmt.Fprintln(stdout, "gatekeeper:", d)
	}
	return exitClean, nil
}

// preReceive is the server hook. It decides within the policy's budget,
// counted from process start, and never touches the network: alerts are
// handed to a detached delivery process.
func preReceive(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) int {
	start := time.Now()
	// A hook lives for a fraction of a second: collect garbage only when
	// the heap nears a bound, not all through start-up (a quarter of a
	// one-commit push's time with the default settings).
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(hookMemoryLimit)
	env := hook.Env(os.Getenv)
	out := env.ForPusher(stderr)
	refuse := func(what string, err error) int {
		fmt.Fprintf(out, "secretgate: push rejected: %s (%v). Ask the server's administrators.\n", what, err)
		return exitFindings
	}

	fs := flag.NewFlagSet("hook pre-receive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "policy file (`FILE`; default: secretgate.toml in the repository)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	gitDir := os.Getenv("GIT_DIR")
	if gitDir == "" {
		gitDir = "."
	}
	pol, err := loadPolicy(*config, gitDir)
	if err != nil {
		return refuse("the gate's policy cannot be read", err) // no policy: fail closed
	}
	failOnError := func(what string, err error) int {
		if pol.OnError == policy.FailOpen {
			fmt.Fprintf(out, "secretgate: %s (%v); push accepted unscanned by policy.\n", what, err)
			return exitClean
		}
		return refuse(what, err)
	}
	// Start-up work in parallel: compiling the rules is CPU, opening the
	// store and reading git's input mostly wait. A one-commit push should
	// cost little more than the slowest of them.
	var (
		s       *scan.Scanner
		scanErr error
		st      *store.Store
		stErr   error
		wg      sync.WaitGroup
	)
	wg.Go(func() { s, scanErr = policyScanner(pol) })
	wg.Go(func() { st, stErr = store.Open(ctx, pol.StorePath) })
	updates, err := hook.ReadUpdates(stdin)
	wg.Wait()
	if st != nil {
		defer st.Close()
	}
	switch {
	case scanErr != nil:
		return failOnError("the gate cannot start", scanErr)
	case stErr != nil:
		return failOnError("the gate's record cannot be opened", stErr)
	case err != nil:
		return failOnError("unreadable input from git", err)
	}

	g := &gate.Gate{Policy: pol, Scanner: s, Store: st}
	dctx, cancel := context.WithDeadline(ctx, start.Add(pol.Timeout))
	defer cancel()
	res := g.Check(dctx, gate.Push{
		Repo:    env.Repo(gitDir),
		Pusher:  env.Pusher(),
		Source:  "pre-receive",
		Updates: updates,
		Options: env.PushOptions(),
	})
	gate.Explain(out, res, gate.ServerAdvice(pol))
	if res.Alerts > 0 {
		startDelivery(pol, gitDir)
	}
	if res.Accepted() {
		return exitClean
	}
	return exitFindings
}

// policyScanner compiles the policy's rules under its fingerprint key, with
// its inline-allow setting: the scanner of every server-side command.
func policyScanner(pol *policy.Policy) (*scan.Scanner, error) {
	cfg, err := pol.LoadRules()
	if err != nil {
		return nil, fmt.Errorf("the rules cannot be loaded: %w", err)
	}
	key, err := readOrCreateKey(pol.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("no fingerprint key: %w", err)
	}
	return scan.New(cfg, scan.Options{FingerprintKey: key, IgnoreInlineAllow: !pol.InlineAllow})
}

// hookMemoryLimit is the soft heap bound of the pre-receive hook.
const hookMemoryLimit = 96 << 20

// loadPolicy reads the policy file named, else secretgate.toml in the git
// directory, else runs on defaults kept in the git directory.
func loadPolicy(file, gitDir string) (*policy.Policy, error) {
	if file == "" {
		file = filepath.Join(gitDir, "secretgate.toml")
		if _, err := os.Stat(file); err != nil {
			return policy.Default(gitDir)
		}
	}
	return policy.Load(file)
}

// startDelivery starts `gatekeeper alerts deliver` detached from the push:
// its own session, no inherited output, not waited for.
func startDelivery(pol *policy.Policy, gitDir string) {
	exe, err := os.Executable()
	if err != nil {
		return // the alerts wait in the outbox for the next delivery
	}
	args := []string{"alerts", "deliver"}
	if pol.File != "" {
		args = append(args, "--config", pol.File)
	} else if abs, err := filepath.Abs(gitDir); err == nil {
		args = append(args, "--git-dir", abs)
	}
	cmd := exec.Command(exe, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		cmd.Process.Release()
	}
}

// clientHook runs on a developer's machine: pre-commit scans what is
// staged, pre-push what the push sends that no remote has yet. Same engine
// and messages as the server; no record, no bypass but --no-verify.
func clientHook(ctx context.Context, which string, args []string, stdin io.Reader, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("hook "+which, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "rule file (`FILE`); default as for scan")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	root, ok := repoRoot(ctx, ".")
	if !ok {
		return 0, fmt.Errorf("hook %s: not in a git repository", which)
	}
	cfg, _, err := loadConfig(*configPath, root)
	if err != nil {
		return 0, err
	}
	key, err := fingerprintKey()
	if err != nil {
		return 0, err
	}
	s, err := scan.New(cfg, scan.Options{FingerprintKey: key})
	if err != nil {
		return 0, err
	}
	opts := gitsrc.Options{Dir: root}
	advice := gate.Advice{Refused: "commit refused", Where: "in the staged changes",
		Fix:    []string{"Take the secret out of the file (read it from the environment or a secrets manager), then git add it again."},
		Bypass: "To commit anyway: git commit --no-verify (the server may still refuse the push)."}
	if which == "pre-commit" {
		opts.Staged = true
	} else {
		revs, err := prePushRevs(stdin)
		if err != nil {
			return 0, err
		}
		if len(revs) == 0 {
			return exitClean, nil
		}
		opts.Revs = append(revs, "--not", "--remotes")
		advice.Refused, advice.Where, advice.Fix = "push stopped", "in the commits you are pushing", nil
		advice.Bypass = "To push anyway: git push --no-verify (the server may still refuse it)."
	}
	var res gate.Result
	if _, err := gitsrc.Scan(ctx, opts, s, func(f scan.Finding) { res.Findings = append(res.Findings, f) }); err != nil {
		return 0, err
	}
	if len(res.Findings) == 0 {
		return exitClean, nil
	}
	sortFindings(res.Findings)
	res.Verdict = store.VerdictRejected
	gate.Explain(stderr, res, advice)
	return exitFindings, nil
}

// prePushRevs reads pre-push input, "<local ref> <local id> <remote ref>
// <remote id>" lines, and returns the local ids being pushed.
func prePushRevs(r io.Reader) ([]string, error) {
	var revs []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("hook pre-push: unexpected input line %q", sc.Text())
		}
		if strings.Trim(f[1], "0") != "" { // a deletion pushes nothing
			revs = append(revs, f[1])
		}
	}
	return revs, sc.Err()
}

// rescan scans what fail-open pushes let in unscanned, now that their
// commits are in the repository: each such push gets a record of its own
// (once: keyed by the original push) and an alert when secrets are found.
func rescan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("hook rescan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "policy file (`FILE`; default: secretgate.toml in the repository)")
	gitDir := fs.String("git-dir", ".", "the repository (`DIR`)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	pol, err := loadPolicy(*config, *gitDir)
	if err != nil {
		return 0, err
	}
	s, err := policyScanner(pol)
	if err != nil {
		return 0, err
	}
	st, err := store.Open(ctx, pol.StorePath)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	repo := hook.Env(os.Getenv).Repo(*gitDir)
	pushes, err := st.Pushes(ctx, 0)
	if err != nil {
		return 0, err
	}
	found := 0
	for _, p := range pushes {
		if p.Verdict != store.VerdictFailedOpen || len(p.Unscanned) == 0 || p.Repo != repo {
			continue
		}
		var findings []scan.Finding
		commits := 0
		for _, u := range p.Unscanned {
			if strings.Trim(u.New, "0") == "" {
				continue
			}
			revs := []string{u.New}
			if strings.Trim(u.Old, "0") != "" {
				revs = append(revs, "--not", u.Old)
			}
			stats, err := gitsrc.Scan(ctx, gitsrc.Options{Dir: *gitDir, Revs: revs}, s, func(f scan.Finding) { findings = append(findings, f) })
			if err != nil {
				return 0, fmt.Errorf("push %d, %s: %w", p.ID, u.Ref, err)
			}
			commits += stats.Commits
		}
		known, err := st.Bypassed(ctx, repo, fingerprints(findings))
		if err != nil {
			return 0, err
		}
		var unknown []scan.Finding
		for _, f := range findings {
			if !known[f.Fingerprint] {
				unknown = append(unknown, f)
			}
		}
		r := store.Push{Repo: repo, Pusher: p.Pusher, Source: "rescan", Updates: p.Unscanned, Commits: commits,
			EventID: fmt.Sprintf("rescan:%d", p.ID), Verdict: store.VerdictAccepted, Reason: fmt.Sprintf("later scan of push %d", p.ID)}
		if len(unknown) > 0 {
			r.Verdict = store.VerdictRejected
		}
		if _, err := st.RecordPush(ctx, r, unknown, alert.ForPush(r, unknown)); errors.Is(err, store.ErrDuplicateEvent) {
			continue
		} else if err != nil {
			return 0, err
		}
		found += len(unknown)
		fmt.Fprintf(stdout, "gatekeeper: push %d (%s): %d commits scanned, %d secrets\n", p.ID, p.Pusher, commits, len(unknown))
	}
	startDelivery(pol, *gitDir)
	if found > 0 {
		return exitFindings, nil
	}
	return exitClean, nil
}

func fingerprints(fs []scan.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Fingerprint
	}
	return out
}
