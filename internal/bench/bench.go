// Package bench times secretgate's command line against the same inputs for
// `git log -p --all` and, when present, gitleaks: a generated directory
// corpus and a generated git history (internal/corpus). It also reads each
// tool's JSON report back to count planted secrets found and findings on
// the decoys. Figures are printed, never judged: benchmarks do not fail on
// time.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secretgate/secretgate/internal/corpus"
)

// Config says what to generate and which tools to time.
type Config struct {
	Gatekeeper string // path to the gatekeeper binary
	// Gitleaks is the gitleaks binary; "" looks it up on PATH, and if it
	// is not there the comparison is left out.
	Gitleaks string
	// WorkDir holds the corpora and reports; "" means a temporary
	// directory, removed afterwards.
	WorkDir string

	Seed         uint64
	DirBytes     int64 // directory corpus size
	HistoryBytes int64 // bytes added over the history's commits
	Commits      int   // main-branch commits of the history

	// Runs is how many timed runs gatekeeper and git get after one
	// untimed warm-up run; the fastest is reported (the least disturbed by
	// other work on the machine). GitleaksRuns is the same for gitleaks,
	// which is far slower and runs on inputs already in the page cache, so
	// it has no warm-up run (0 means 1).
	Runs         int
	GitleaksRuns int

	Log io.Writer // progress lines; nil means none
}

// Measurement is one tool on one input.
type Measurement struct {
	Input   string // "dir" or "history"
	Tool    string
	Seconds float64 // fastest of the runs
	Bytes   int64   // input size the rate is computed over
	// Report-derived; Findings < 0 when the tool writes no report.
	Findings int
	Plants   int // planted secrets found (any rule on the plant's lines)
	Exact    int // planted secrets found by their own rule (secretgate only)
	Decoys   int // findings off every plant
}

// MBps is the rate over Bytes, in MB (10^6 bytes) per second.
func (m Measurement) MBps() float64 {
	if m.Seconds == 0 {
		return 0
	}
	return float64(m.Bytes) / 1e6 / m.Seconds
}

// Result is a whole run.
type Result struct {
	GitleaksVersion string // "" when gitleaks was not run
	Dir, History    *corpus.Manifest
	DirBytes        int64 // bytes of the directory corpus
	LogBytes        int64 // bytes `git log -p --all` prints for the history
	Measurements    []Measurement
}

// Get returns the measurement of tool on input, or nil.
func (r *Result) Get(input, tool string) *Measurement {
	for i := range r.Measurements {
		if m := &r.Measurements[i]; m.Input == input && m.Tool == tool {
			return m
		}
	}
	return nil
}

// Tool names in measurements.
const (
	Gatekeeper = "gatekeeper"
	GitLog     = "git log -p --all"
	Gitleaks   = "gitleaks"
)

// Run generates the corpora and times the tools on them.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Runs <= 0 {
		cfg.Runs = 3
	}
	if cfg.GitleaksRuns <= 0 {
		cfg.GitleaksRuns = 1
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	gk, err := filepath.Abs(cfg.Gatekeeper)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(gk); err != nil {
		return nil, fmt.Errorf("gatekeeper binary: %w (run `make build`)", err)
	}
	gl := cfg.Gitleaks
	if gl == "" {
		gl, _ = exec.LookPath("gitleaks")
	}

	work := cfg.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "secretgate-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	dir := filepath.Join(work, "dir")
	repo := filepath.Join(work, "repo")
	reports := filepath.Join(work, "reports")
	for _, p := range []string{dir, repo} {
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return nil, err
	}

	res := &Result{}
	start := time.Now()
	if res.Dir, err = corpus.Generate(dir, corpus.Options{Seed: cfg.Seed, Bytes: cfg.DirBytes}); err != nil {
		return nil, fmt.Errorf("generating the directory corpus: %w", err)
	}
	res.DirBytes = res.Dir.Bytes
	logf("generated %s: %d files, %.1f MB in %.1fs", dir, res.Dir.Files, float64(res.Dir.Bytes)/1e6, time.Since(start).Seconds())
	start = time.Now()
	if res.History, err = corpus.GenerateHistory(repo, corpus.Options{Seed: cfg.Seed + 1, Bytes: cfg.HistoryBytes, Commits: cfg.Commits}); err != nil {
		return nil, fmt.Errorf("generating the history: %w", err)
	}
	if res.LogBytes, err = countOutput(ctx, repo, "git", "log", "-p", "--all"); err != nil {
		return nil, err
	}
	logf("generated %s: %d commits, %.1f MB of `git log -p --all` in %.1fs", repo, len(res.History.Commits), float64(res.LogBytes)/1e6, time.Since(start).Seconds())

	type job struct {
		input, tool string
		bytes       int64
		m           *corpus.Manifest
		prefix      string // stripped from report paths
		report      string
		exact       bool
		ok          []int // exit codes that mean success
		args        []string
		gitleaks    bool
	}
	gkReport := func(name string) string { return filepath.Join(reports, name) }
	jobs := []job{
		{"dir", Gatekeeper, res.DirBytes, res.Dir, "", gkReport("gatekeeper-dir.json"), true, []int{0, 1},
			[]string{gk, "scan", "--dir", "--no-progress", "--format", "json", "--report", gkReport("gatekeeper-dir.json"), dir}, false},
		{"history", GitLog, res.LogBytes, nil, "", "", false, []int{0},
			[]string{"git", "-C", repo, "log", "-p", "--all"}, false},
		{"history", Gatekeeper, res.LogBytes, res.History, "", gkReport("gatekeeper-history.json"), true, []int{0, 1},
			[]string{gk, "scan", "--no-progress", "--format", "json", "--report", gkReport("gatekeeper-history.json"), repo}, false},
	}
	if gl != "" {
		out, err := exec.CommandContext(ctx, gl, "version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s version: %w", gl, err)
		}
		res.GitleaksVersion = strings.TrimSpace(string(out))
		common := []string{"--no-banner", "--log-level", "error", "--exit-code", "0", "--report-format", "json"}
		jobs = append(jobs,
			job{"dir", Gitleaks, res.DirBytes, res.Dir, dir + "/", gkReport("gitleaks-dir.json"), false, []int{0},
				append([]string{gl, "dir"}, append(common, "--report-path", gkReport("gitleaks-dir.json"), dir)...), true},
			job{"history", Gitleaks, res.LogBytes, res.History, "", gkReport("gitleaks-history.json"), false, []int{0},
				append([]string{gl, "git"}, append(common, "--report-path", gkReport("gitleaks-history.json"), repo)...), true},
		)
	}

	for _, j := range jobs {
		best := time.Duration(0)
		first, runs := 0, cfg.Runs // run 0 warms caches and is not counted
		if j.gitleaks {
			first, runs = 1, cfg.GitleaksRuns
		}
		for i := first; i <= runs; i++ {
			d, err := timeCommand(ctx, j.ok, j.args)
			if err != nil {
				return nil, err
			}
			if i > 0 && (best == 0 || d < best) {
				best = d
			}
		}
		m := Measurement{Input: j.input, Tool: j.tool, Seconds: best.Seconds(), Bytes: j.bytes, Findings: -1}
		if j.report != "" {
			fs, err := readReport(j.report, j.prefix)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", j.tool, j.input, err)
			}
			m.Findings = len(fs)
			m.Plants, m.Exact, m.Decoys = score(j.m, fs, j.exact)
		}
		logf("%-8s %-18s %7.2fs", j.input, j.tool, m.Seconds)
		res.Measurements = append(res.Measurements, m)
	}
	return res, nil
}

// timeCommand runs args with output discarded and returns how long it took.
func timeCommand(ctx context.Context, ok []int, args []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// No user configuration leaks into the measurement.
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return 0, fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
		code = exit.ExitCode()
	}
	if !slices.Contains(ok, code) {
		return 0, fmt.Errorf("%s: exit status %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "SECRETGATE_CONFIG", "GITLEAKS_CONFIG", "GITLEAKS_CONFIG_TOML":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_PAGER=cat")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func countOutput(ctx context.Context, dir string, args ...string) (int64, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var w countWriter
	cmd.Stdout = &w
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return w.n, nil
}

// finding is a report entry, from either tool's JSON.
type finding struct {
	RuleID string
	Path   string
	Line   int
	Commit string
}

// readReport reads secretgate's JSON report (rule_id, file, line, commit)
// or gitleaks' (RuleID, File, StartLine, Commit).
func readReport(name, prefix string) ([]finding, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var recs []struct {
		RuleID    string `json:"rule_id"`
		File      string `json:"file"`
		Line      int    `json:"line"`
		Commit    string `json:"commit"`
		GLRuleID  string `json:"RuleID"`
		GLFile    string `json:"File"`
		StartLine int    `json:"StartLine"`
		GLCommit  string `json:"Commit"`
	}
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	out := make([]finding, 0, len(recs))
	for _, r := range recs {
		f := finding{RuleID: r.RuleID, Path: r.File, Line: r.Line, Commit: r.Commit}
		if f.RuleID == "" {
			f = finding{RuleID: r.GLRuleID, Path: r.GLFile, Line: r.StartLine, Commit: r.GLCommit}
		}
		f.Path = strings.TrimPrefix(filepath.ToSlash(f.Path), filepath.ToSlash(prefix))
		out = append(out, f)
	}
	return out, nil
}

// score counts the plants found (by any rule, and by their own rule when
// exact) and the findings off every plant.
func score(m *corpus.Manifest, fs []finding, exact bool) (plants, byRule, decoys int) {
	covered := map[*corpus.Plant]bool{}
	own := map[*corpus.Plant]bool{}
	for _, f := range fs {
		p := m.Covering(f.Path, f.Line, f.Commit)
		if p == nil {
			decoys++
			continue
		}
		covered[p] = true
		if exact {
			if q := m.Find(f.RuleID, f.Path, f.Line, f.Commit); q != nil {
				own[q] = true
			}
		}
	}
	return len(covered), len(own), decoys
}

// Print writes the table of measurements and the ratios the targets are
// stated in.
func Print(w io.Writer, r *Result) {
	fmt.Fprintf(w, "directory corpus: %d files, %.1f MB, %d plants\n", r.Dir.Files, float64(r.DirBytes)/1e6, len(r.Dir.Plants))
	fmt.Fprintf(w, "history: %d commits, %.1f MB of `git log -p --all`, %d plants\n", len(r.History.Commits), float64(r.LogBytes)/1e6, len(r.History.Plants))
	if r.GitleaksVersion != "" {
		fmt.Fprintf(w, "gitleaks %s (default config and flags)\n", r.GitleaksVersion)
	} else {
		fmt.Fprintln(w, "gitleaks not on PATH: comparison left out")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "input\ttool\tseconds\tMB/s\tfindings\tplants found\tdecoy findings\t")
	for _, m := range r.Measurements {
		found, decoys, n := "-", "-", "-"
		if m.Findings >= 0 {
			n = fmt.Sprint(m.Findings)
			plants := len(r.Dir.Plants)
			if m.Input == "history" {
				plants = len(r.History.Plants)
			}
			found = fmt.Sprintf("%d/%d", m.Plants, plants)
			if m.Tool == Gatekeeper {
				found = fmt.Sprintf("%d/%d (%d by own rule)", m.Plants, plants, m.Exact)
			}
			decoys = fmt.Sprint(m.Decoys)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.1f\t%s\t%s\t%s\t\n", m.Input, m.Tool, m.Seconds, m.MBps(), n, found, decoys)
	}
	tw.Flush()
	fmt.Fprintln(w)

	ratio := func(label string, a, b *Measurement, target string) {
		if a == nil || b == nil || b.Seconds == 0 {
			return
		}
		fmt.Fprintf(w, "%-46s %6.2fx   (target %s)\n", label, a.Seconds/b.Seconds, target)
	}
	ratio("history: gatekeeper / git log -p --all", r.Get("history", Gatekeeper), r.Get("history", GitLog), "<= 1.2x")
	ratio("dir: gitleaks / gatekeeper (speed-up)", r.Get("dir", Gitleaks), r.Get("dir", Gatekeeper), ">= 3x")
	ratio("history: gitleaks / gatekeeper (speed-up)", r.Get("history", Gitleaks), r.Get("history", Gatekeeper), ">= 3x")
	if m := r.Get("dir", Gatekeeper); m != nil {
		fmt.Fprintf(w, "%-46s %6.1f MB/s (target >= 100 MB/s)\n", "dir: gatekeeper scan --dir", m.MBps())
	}
}
