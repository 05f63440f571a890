// Command gatekeeper is secretgate's gate: it scans git history, directories
// and pushes for secrets.
//
// Exit codes: 0 no findings, 1 findings, 2 usage, configuration or scan error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/secretgate/secretgate/internal/report"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, documented in the README.
const (
	exitClean    = 0
	exitFindings = 1
	exitError    = 2
)

// errUsage marks errors caused by how the command was called.
var errUsage = errors.New("usage")

const usage = `gatekeeper: keep secrets out of git

Usage:
  gatekeeper scan [flags] [PATH | -]   scan git history, a directory, a file or stdin
  gatekeeper rules list [--config FILE]
  gatekeeper rules validate FILE...
  gatekeeper rules test [--config FILE]
  gatekeeper hook install --repo PATH.git | --hooks-dir DIR | --dot-d DIR [--config FILE]
  gatekeeper hook pre-receive [--config FILE]   (run by git on the server)
  gatekeeper hook pre-commit | pre-push          (run by git on a developer's machine)
  gatekeeper alerts deliver [--config FILE] [--watch]
  gatekeeper pushes [--config FILE] [-n N]      the gate's record of recent pushes
  gatekeeper serve [--config FILE]              the GitHub App: webhooks in, check runs out
  gatekeeper version

Exit codes: 0 clean, 1 secrets found, 2 usage, configuration or scan error.
Run 'gatekeeper scan -h' for the scan flags.
`

func main() {
	if onLambda() && len(os.Args) == 1 {
		runLambda() // the CodeCommit front door
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SECRETGATE_CPUPROFILE=FILE writes a CPU profile, for `go tool pprof`.
	if p := os.Getenv("SECRETGATE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program minus the process: testable end to end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	report.Version = version
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var (
		code int
		err  error
	)
	switch args[0] {
	case "scan":
		code, err = runScan(ctx, args[1:], stdin, stdout, stderr)
	case "rules":
		code, err = runRules(args[1:], stdout, stderr)
	case "hook":
		code, err = runHook(ctx, args[1:], stdin, stdout, stderr)
	case "alerts":
		code, err = runAlerts(ctx, args[1:], stdout, stderr)
	case "pushes":
		code, err = runPushes(ctx, args[1:], stdout, stderr)
	case "serve":
		code, err = runServe(ctx, args[1:], stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "gatekeeper", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "gatekeeper: %v\n\n%s", err, usage)
		} else {
			fmt.Fprintf(stderr, "gatekeeper: %v\n", err)
		}
		return exitError
	}
	return code
}
