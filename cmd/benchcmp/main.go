// Command benchcmp generates a benchmark corpus (a directory and a git
// history) and times `gatekeeper scan` on both, against `git log -p --all`
// on the same history and, when gitleaks is on PATH, against gitleaks on the
// same inputs; then times the pre-receive hook on a one-commit push and a
// large one. `make bench` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/secretgate/secretgate/internal/bench"
)

func main() {
	var cfg bench.Config
	var dirMB, histMB int64
	flag.StringVar(&cfg.Gatekeeper, "gatekeeper", "bin/gatekeeper", "gatekeeper binary (`PATH`)")
	flag.StringVar(&cfg.Gitleaks, "gitleaks", "", "gitleaks binary (`PATH`); default: gitleaks on PATH, if any")
	flag.StringVar(&cfg.WorkDir, "work", "", "keep the corpora and reports in `DIR` (default: a temporary directory, removed)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "corpus seed")
	flag.Int64Var(&dirMB, "dir-mb", 64, "directory corpus size in MiB")
	flag.Int64Var(&histMB, "history-mb", 64, "bytes added over the history, in MiB")
	flag.IntVar(&cfg.Commits, "commits", 300, "commits on the history's main branch")
	flag.IntVar(&cfg.Runs, "runs", 3, "timed runs of gatekeeper and git, after one warm-up; the fastest is reported")
	flag.IntVar(&cfg.GitleaksRuns, "gitleaks-runs", 1, "timed runs of gitleaks (no warm-up); the fastest is reported")
	hookCommits := flag.Int("hook-commits", 1000, "commits in the large push of the hook benchmark (0: no hook benchmark)")
	flag.Parse()
	cfg.DirBytes, cfg.HistoryBytes = dirMB<<20, histMB<<20
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(2)
	}
	bench.Print(os.Stdout, res)
	if *hookCommits <= 0 {
		return
	}
	hook, err := bench.Hook(ctx, bench.HookConfig{Gatekeeper: cfg.Gatekeeper, WorkDir: cfg.WorkDir, Seed: cfg.Seed, Commits: *hookCommits, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp: hook:", err)
		os.Exit(2)
	}
	fmt.Println()
	bench.PrintHook(os.Stdout, hook)
}
