package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/secretgate/secretgate/internal/corpus"
)

// HookConfig says how to measure the pre-receive hook.
type HookConfig struct {
	Gatekeeper string
	WorkDir    string // "" means a temporary directory, removed afterwards
	Seed       uint64
	Commits    int // the large push (default 1000)
	Runs       int // timed runs of the one-commit push (default 21); the large push gets 3
	Log        io.Writer
}

// HookRun is the hook's cost on one push size.
type HookRun struct {
	Commits  int           // commits the push adds
	Median   time.Duration // process start to exit
	Max      time.Duration
	PeakRSS  int64 // bytes, the largest over the runs
	Verdicts []string
}

// HookResult is the hook benchmark.
type HookResult struct {
	One, Many HookRun
}

// Hook measures `gatekeeper hook pre-receive` the way git runs it: GIT_DIR
// set, the pushed commits in the object store but on no ref, the update on
// stdin; timed from process start to exit, with the record written.
func Hook(ctx context.Context, cfg HookConfig) (*HookResult, error) {
	if cfg.Commits <= 0 {
		cfg.Commits = 1000
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 21
	}
	bin, err := filepath.Abs(cfg.Gatekeeper) // the hook runs in the repository
	if err != nil {
		return nil, err
	}
	cfg.Gatekeeper = bin
	work := cfg.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "secretgate-hookbench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	src := filepath.Join(work, "hook-src")
	bare := filepath.Join(work, "hook.git")
	os.RemoveAll(src)
	os.RemoveAll(bare)
	if _, err := corpus.GenerateHistory(src, corpus.Options{Seed: cfg.Seed, Bytes: 24 << 20, Commits: cfg.Commits + 10}); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "git", "clone", "-q", "--bare", src, bare).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git clone --bare: %v: %s", err, out)
	}
	policy := filepath.Join(work, "hook-policy.toml")
	if err := os.WriteFile(policy, []byte("[budget]\ntimeout = \"60s\"\n"), 0o644); err != nil {
		return nil, err
	}
	tip, err := gitOut(ctx, bare, "rev-parse", "refs/heads/main")
	if err != nil {
		return nil, err
	}
	// Only main stays: other branches would already hold some of the
	// commits a push of main adds.
	refs, err := gitOut(ctx, bare, "for-each-ref", "--format=%(refname)")
	if err != nil {
		return nil, err
	}
	for _, ref := range strings.Fields(refs) {
		if ref != "refs/heads/main" {
			if _, err := gitOut(ctx, bare, "update-ref", "-d", ref); err != nil {
				return nil, err
			}
		}
	}
	logf("hook: %d-commit history in %s", cfg.Commits+10, bare)

	measure := func(back, runs int) (HookRun, error) {
		base, err := gitOut(ctx, bare, "rev-parse", fmt.Sprintf("%s~%d", tip, back))
		if err != nil {
			return HookRun{}, err
		}
		// The ref still points at the old tip: the pushed commits are new.
		if _, err := gitOut(ctx, bare, "update-ref", "refs/heads/main", base); err != nil {
			return HookRun{}, err
		}
		n, err := gitOut(ctx, bare, "rev-list", "--count", tip, "--not", "--all")
		if err != nil {
			return HookRun{}, err
		}
		var r HookRun
		fmt.Sscan(n, &r.Commits)
		var times []time.Duration
		for range runs {
			cmd := exec.CommandContext(ctx, cfg.Gatekeeper, "hook", "pre-receive", "--config", policy)
			cmd.Dir = bare
			cmd.Env = append(cleanEnv(), "GIT_DIR="+bare)
			cmd.Stdin = strings.NewReader(base + " " + tip + " refs/heads/main\n")
			start := time.Now()
			if err := cmd.Start(); err != nil {
				return r, err
			}
			peak := watchPeak(cmd.Process.Pid)
			err := cmd.Wait()
			d := time.Since(start)
			if err != nil && cmd.ProcessState == nil {
				return r, err
			}
			times = append(times, d)
			r.PeakRSS = max(r.PeakRSS, peak())
			verdict := "accepted"
			if cmd.ProcessState.ExitCode() != 0 {
				verdict = "rejected"
			}
			r.Verdicts = append(r.Verdicts, verdict)
		}
		slices.Sort(times)
		r.Median, r.Max = times[len(times)/2], times[len(times)-1]
		return r, nil
	}
	var res HookResult
	if res.One, err = measure(1, cfg.Runs); err != nil {
		return nil, err
	}
	if res.Many, err = measure(cfg.Commits, 3); err != nil {
		return nil, err
	}
	return &res, nil
}

// watchPeak samples the process's memory high-water mark (VmHWM) until it
// exits. rusage's maxrss would not do: Go starts children with vfork, and
// Linux carries the parent's high-water mark into the child's.
func watchPeak(pid int) (peak func() int64) {
	var hwm atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(stopped)
		for {
			if b, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var kb int64
						fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
						hwm.Store(max(hwm.Load(), kb*1024))
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 { close(done); <-stopped; return hwm.Load() }
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// PrintHook writes the hook figures against their targets.
func PrintHook(w io.Writer, r *HookResult) {
	fmt.Fprintln(w, "pre-receive hook, process start to exit (record written):")
	for _, x := range []struct {
		run    HookRun
		target string
	}{{r.One, "median < 50 ms"}, {r.Many, "< 3 s"}} {
		fmt.Fprintf(w, "  %5d-commit push: median %7.1f ms, max %7.1f ms, peak RSS %5.1f MB   (target %s, < 150 MB)\n",
			x.run.Commits, ms(x.run.Median), ms(x.run.Max), float64(x.run.PeakRSS)/1e6, x.target)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
