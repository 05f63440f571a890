package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/secretgate/secretgate/internal/baseline"
	"github.com/secretgate/secretgate/internal/files"
	"github.com/secretgate/secretgate/internal/gitsrc"
	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

type scanFlags struct {
	format, reportPath, baselinePath, configPath string
	rangeSpec, since                             string
	dir, staged, progress, noProgress            bool
	noGitleaksIgnore                             bool
	maxMB                                        int
	workers                                      int
}

func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var fl scanFlags
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&fl.format, "format", "text", "output format: "+strings.Join(report.Formats, "|"))
	fs.StringVar(&fl.reportPath, "report", "", "write the report to `FILE` instead of stdout")
	fs.StringVar(&fl.baselinePath, "baseline", "", "suppress findings already in this earlier JSON report (`FILE`)")
	fs.StringVar(&fl.configPath, "config", "", "rule file (`FILE`); default: $SECRETGATE_CONFIG, $GITLEAKS_CONFIG, PATH/.secretgate.toml, PATH/.gitleaks.toml, built-in packs")
	fs.StringVar(&fl.rangeSpec, "range", "", "scan only commits in `A..B` (any git revision range)")
	fs.StringVar(&fl.since, "since", "", "scan only commits more recent than `DATE` (git's --since)")
	fs.BoolVar(&fl.dir, "dir", false, "scan PATH as plain files (the working tree), not git history")
	fs.BoolVar(&fl.staged, "staged", false, "scan what the index adds to HEAD: the check for a pre-commit hook")
	fs.BoolVar(&fl.noProgress, "no-progress", false, "no progress line on stderr")
	fs.BoolVar(&fl.progress, "progress", false, "a progress line on stderr even when it is not a terminal")
	fs.BoolVar(&fl.noGitleaksIgnore, "no-gitleaksignore", false, "do not read PATH/.gitleaksignore")
	fs.IntVar(&fl.maxMB, "max-target-megabytes", 0, "skip files larger than `N` MB (0: no limit)")
	fs.IntVar(&fl.workers, "workers", 0, "scanning goroutines (0: one per CPU)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: gatekeeper scan [flags] [PATH | -]\n\nWith no PATH, scans the current directory: its git history if it is a repository, else its files.\nExit codes: 0 clean, 1 secrets found, 2 error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitClean, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) > 1 {
		return 0, fmt.Errorf("%w: scan takes one PATH, got %d", errUsage, len(pos))
	}
	if fl.staged && (fl.dir || fl.rangeSpec != "" || fl.since != "") {
		return 0, fmt.Errorf("%w: --staged cannot be combined with --dir, --range or --since", errUsage)
	}
	if !slices.Contains(report.Formats, fl.format) {
		return 0, fmt.Errorf("%w: --format %q: want one of %s", errUsage, fl.format, strings.Join(report.Formats, ", "))
	}
	if strings.HasPrefix(fl.rangeSpec, "-") {
		return 0, fmt.Errorf("%w: --range %q: want a revision range such as main..HEAD", errUsage, fl.rangeSpec)
	}
	if fl.workers < 0 || fl.maxMB < 0 {
		return 0, fmt.Errorf("%w: --workers and --max-target-megabytes cannot be negative", errUsage)
	}
	target := "."
	if len(pos) == 1 {
		target = pos[0]
	}
	// Inside a repository, history means the whole repository's, and its
	// top is where its .secretgate.toml, .gitleaks.toml and .gitleaksignore live.
	var repo string
	if target != "-" && !fl.dir {
		if root, ok := repoRoot(ctx, target); ok {
			repo, target = root, root
		}
	}

	cfg, cfgName, err := loadConfig(fl.configPath, target)
	if err != nil {
		return 0, err
	}
	key, err := fingerprintKey()
	if err != nil {
		return 0, err
	}
	s, err := scan.New(cfg, scan.Options{FingerprintKey: key, MaxBytes: fl.maxMB << 20})
	if err != nil {
		return 0, err
	}
	known, err := loadBaselines(fl, target)
	if err != nil {
		return 0, err
	}

	findings, sum, mode, err := collect(ctx, fl, target, repo, s, stdin, stderr)
	if err != nil {
		return 0, err
	}
	if sum.Skipped > 0 {
		// Never a silent pass: say that something went unscanned, whatever the format.
		fmt.Fprintf(stderr, "gatekeeper: warning: %d %s not scanned (unreadable, over the size limit, or missing from the repository)\n", sum.Skipped, plural(sum.Skipped, "file was", "files were"))
	}
	findings, suppressed := known.Filter(findings)
	if known.Len() > 0 && suppressed == 0 && len(findings) > 0 {
		fmt.Fprintln(stderr, "gatekeeper: warning: no finding matched the baseline; fingerprints depend on the key, so a baseline made with another SECRETGATE_FINGERPRINT_KEY matches nothing")
	}
	sortFindings(findings)
	sum.Findings = len(findings)

	if err := writeReport(fl, findings, sum, stdout); err != nil {
		return 0, fmt.Errorf("writing report: %w", err)
	}
	if fl.format != "text" || fl.reportPath != "" {
		// Machine output went elsewhere: a one-line account for people.
		fmt.Fprintf(stderr, "gatekeeper: %s: %d findings (%d suppressed by baseline) in %s using %s\n", mode, len(findings), suppressed, sum.Duration.Round(time.Millisecond), cfgName)
	} else {
		if cfgName != builtinRules {
			fmt.Fprintf(stderr, "gatekeeper: rules from %s\n", cfgName)
		}
		if suppressed > 0 {
			fmt.Fprintf(stderr, "gatekeeper: %d known findings suppressed by baseline\n", suppressed)
		}
	}
	if len(findings) > 0 {
		return exitFindings, nil
	}
	return exitClean, nil
}

// collect runs the scan the flags and target call for: stdin, git history
// (or the staged changes), or files.
func collect(ctx context.Context, fl scanFlags, target, repo string, s *scan.Scanner, stdin io.Reader, stderr io.Writer) (findings []scan.Finding, sum report.Summary, mode string, err error) {
	var found atomic.Int64 // read by the progress goroutine
	emit := func(f scan.Finding) { findings = append(findings, f); found.Add(1) }
	showProgress := fl.progress || !fl.noProgress && isTerminal(stderr)
	start := time.Now()
	mode = "stdin"
	switch {
	case target == "-":
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, sum, mode, fmt.Errorf("reading stdin: %w", err)
		}
		res := s.Scan(scan.Fragment{Text: data})
		findings = res.Findings
		sum = report.Summary{Files: 1, Bytes: int64(res.Bytes)}
		if res.Binary {
			sum.Binary = 1
		}
	case fl.staged && repo == "":
		return nil, sum, mode, fmt.Errorf("%w: --staged needs a git repository, and %s is not in one", errUsage, target)
	case !fl.dir && repo != "":
		mode = "git history"
		if fl.since != "" || fl.rangeSpec != "" {
			mode += " (" + strings.TrimSpace(fl.rangeSpec+" since "+fl.since) + ")"
		}
		if fl.staged {
			mode = "staged changes"
		}
		if fl.since != "" {
			if err := checkSince(ctx, repo, fl.since); err != nil {
				return nil, sum, mode, err
			}
		}
		opts := gitsrc.Options{Dir: repo, Since: fl.since, Workers: fl.workers, Staged: fl.staged}
		if fl.rangeSpec != "" {
			opts.Revs = []string{fl.rangeSpec}
		}
		if showProgress {
			opts.Progress = func(st gitsrc.Stats) {
				progressLine(stderr, fmt.Sprintf("%d commits, %d files, %s", st.Commits, st.Blobs, mb(st.Bytes)), int(found.Load()), start)
			}
		}
		st, err := gitsrc.Scan(ctx, opts, s, emit)
		if err != nil {
			return nil, sum, mode, err
		}
		sum = report.Summary{Commits: st.Commits, Files: st.Blobs, Bytes: st.Bytes, Binary: st.Binary, Skipped: st.Skipped}
	default:
		if fl.rangeSpec != "" || fl.since != "" {
			return nil, sum, mode, fmt.Errorf("%w: --range and --since need a git repository, and %s is scanned as files", errUsage, target)
		}
		mode = "files"
		opts := files.Options{Root: target, MaxBytes: int64(fl.maxMB) << 20, Workers: fl.workers, Skip: skipReporter(stderr)}
		if showProgress {
			opts.Progress = func(st files.Stats) {
				progressLine(stderr, fmt.Sprintf("%d files, %s", st.Files, mb(st.Bytes)), int(found.Load()), start)
			}
		}
		st, err := files.Scan(ctx, opts, s, emit)
		if err != nil {
			return nil, sum, mode, err
		}
		sum = report.Summary{Files: st.Files, Bytes: st.Bytes, Binary: st.Binary, Skipped: st.Skipped}
	}
	if showProgress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	sum.Duration = time.Since(start)

	return findings, sum, mode, nil
}

// writeReport writes the findings in the chosen format to stdout or --report.
func writeReport(fl scanFlags, findings []scan.Finding, sum report.Summary, stdout io.Writer) error {
	if fl.reportPath == "" {
		if fl.format == "text" {
			return report.WriteText(stdout, findings, sum, report.TextOptions{Color: isTerminal(stdout)})
		}
		return report.Write(stdout, fl.format, findings, sum)
	}
	f, err := os.Create(fl.reportPath)
	if err != nil {
		return err
	}
	if err := report.Write(f, fl.format, findings, sum); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseInterspersed lets flags come before or after the PATH argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig finds the rule file the way gitleaks users expect.
func loadConfig(flagPath, target string) (*rules.Config, string, error) {
	candidates := []string{flagPath, os.Getenv("SECRETGATE_CONFIG"), os.Getenv("GITLEAKS_CONFIG")}
	if target != "-" {
		dir := target
		if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
			dir = filepath.Dir(target)
		}
		candidates = append(candidates, filepath.Join(dir, ".secretgate.toml"), filepath.Join(dir, ".gitleaks.toml"))
	}
	for i, p := range candidates {
		if p == "" {
			continue
		}
		if i >= 3 { // discovered files are optional
			if _, err := os.Stat(p); err != nil {
				continue
			}
		}
		cfg, err := rules.Load(p)
		return cfg, p, err
	}
	cfg, err := rules.Default()
	return cfg, builtinRules, err
}

const builtinRules = "built-in rules"

func loadBaselines(fl scanFlags, target string) (*baseline.Baseline, error) {
	var bs []*baseline.Baseline
	if fl.baselinePath != "" {
		b, err := baseline.Load(fl.baselinePath)
		if err != nil {
			return nil, err
		}
		bs = append(bs, b)
	}
	if !fl.noGitleaksIgnore && target != "-" {
		p := filepath.Join(target, ".gitleaksignore")
		if _, err := os.Stat(p); err == nil {
			b, err := baseline.LoadGitleaksIgnore(p)
			if err != nil {
				return nil, err
			}
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		return nil, nil
	}
	return baseline.Merge(bs...), nil
}

// sortFindings orders findings newest commit first (as git log does), then
// by path and position, so reports are stable whatever the worker timing.
func sortFindings(fs []scan.Finding) {
	slices.SortStableFunc(fs, func(a, b scan.Finding) int {
		return cmp.Or(
			b.Date.Compare(a.Date),
			cmp.Compare(a.Commit, b.Commit),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.RuleID, b.RuleID),
		)
	})
}

// repoRoot returns the repository that dir is in: the top of its work tree,
// or dir itself when it is a bare repository. A folder inside a repository
// means that repository, as it does to git.
func repoRoot(ctx context.Context, dir string) (string, bool) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false
	}
	git := func(arg string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", arg).Output()
		return strings.TrimSpace(string(out)), err
	}
	bare, err := git("--is-bare-repository")
	if err != nil {
		return "", false
	}
	if bare == "true" {
		return dir, true
	}
	top, err := git("--show-toplevel")
	if err != nil || top == "" {
		return "", false // inside a .git directory, say
	}
	return top, true
}

// checkSince rejects a date git cannot read: git takes it as "now" and the
// scan would silently cover nothing.
func checkSince(ctx context.Context, dir, since string) error {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--since="+since).Output()
	if err != nil {
		return fmt.Errorf("--since %q: %w", since, err)
	}
	age, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(string(out)), "--max-age="), 10, 64)
	if err == nil && age > time.Now().Unix()-60 && !strings.EqualFold(strings.TrimSpace(since), "now") {
		return fmt.Errorf("%w: --since %q: git reads that as now or later, so no commit would be scanned", errUsage, since)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func progressLine(w io.Writer, what string, found int, start time.Time) {
	fmt.Fprintf(w, "\r\033[Kscanning: %s, %d findings, %s", what, found, time.Since(start).Round(time.Second))
}

// skipReporter names the first files that could not be scanned on w.
func skipReporter(w io.Writer) func(string, error) {
	const most = 20
	var (
		mu sync.Mutex
		n  int
	)
	return func(path string, reason error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch {
		case n <= most:
			fmt.Fprintf(w, "\r\033[Kgatekeeper: not scanned: %s: %v\n", path, unwrapPath(reason))
		case n == most+1:
			fmt.Fprintln(w, "gatekeeper: not scanned: more files (counted in the summary)")
		}
	}
}

// unwrapPath drops the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
