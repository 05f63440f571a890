// Package gitsrc scans the history of a git repository: every selected
// commit, merges included, for the lines it adds. It drives the system git
// binary: one `git log --raw` process lists what each commit changed and one
// `git cat-file --batch` process streams the blobs.
package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretgate/secretgate/internal/progress"
	"github.com/secretgate/secretgate/internal/scan"
)

// Scanner scans one fragment; *scan.Scanner is one. It must be safe for
// concurrent use and must not keep the fragment's slices after Scan returns.
type Scanner interface {
	Scan(scan.Fragment) scan.Result
}

// Options say which history to scan and how.
type Options struct {
	Dir   string   // repository: a work tree or a bare repository
	Revs  []string // rev-list arguments; nil means {"--all"}
	Since string   // if set, passed to git as --since
	// Staged scans what the index adds to HEAD (a pre-commit check) instead
	// of commits; Revs and Since are then ignored and findings name no commit.
	Staged  bool
	Env     []string // added to os.Environ() for every git process (e.g. quarantine variables)
	Workers int      // scanning goroutines; 0 means runtime.NumCPU()

	// CacheBytes bounds the cache of recent blobs (a blob is often the new
	// side of one commit and the old side of the next); 0 means 64 MiB.
	CacheBytes int64

	// MaxBlobBytes: blobs larger than this are not read and count as Skipped.
	// 0 means 256 MiB.
	MaxBlobBytes int64

	// Progress, if set, is called with running totals at most about five
	// times a second (from its own goroutine), and once at the end.
	Progress func(Stats)
}

// Stats count what a scan did.
type Stats struct {
	Commits int   // commits read
	Blobs   int   // changed files scanned (identical changes seen before are not counted again)
	Binary  int   // of those, binary (the scanner said so)
	Skipped int   // files not scanned: too large, or their blob missing from the repository
	Bytes   int64 // blob bytes read from git (each blob about once)
}

const defaultMaxBlob = 256 << 20

// Scan scans the commits that `git rev-list <opts.Revs>` selects and calls
// emit for each finding, with the origin of the commit and path it was found
// in. emit is called from one goroutine at a time, in no particular order.
// A change seen before (the same path, new blob and parent blobs, as when a
// commit is cherry-picked) is not scanned again: its findings are
// re-emitted with the new origin.
func Scan(ctx context.Context, opts Options, s Scanner, emit func(scan.Finding)) (Stats, error) {
	if len(opts.Revs) == 0 {
		opts.Revs = []string{"--all"}
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.MaxBlobBytes <= 0 {
		opts.MaxBlobBytes = defaultMaxBlob
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	r := &run{
		opts:    opts,
		scanner: s,
		emit:    emit,
		seen:    make(map[string]*change),
		// A scanner whose results can depend on the commit says so.
		perCommit: func() bool {
			cs, ok := s.(interface{ CommitSensitive() bool })
			return ok && cs.CommitSensitive()
		}(),
		seed: maphash.MakeSeed(),
	}
	cache := opts.CacheBytes
	if cache <= 0 {
		cache = 64 << 20
	}
	r.blobs = newBlobCache(cache)

	logArgs := []string{"log", "--raw", "--no-abbrev", "-z", "-c", "-M", "--root",
		"--no-color", "--no-show-signature", "--no-relative", "--format=" + headerFormat}
	if opts.Since != "" {
		logArgs = append(logArgs, "--since="+opts.Since)
	}
	logArgs = append(logArgs, opts.Revs...)
	logArgs = append(logArgs, "--")
	logName := "git log " + strings.Join(opts.Revs, " ")
	if opts.Since != "" {
		logName += " --since=" + opts.Since
	}
	if opts.Staged {
		// The same raw format without commit headers: one pseudo-commit.
		logArgs = []string{"diff", "--cached", "--raw", "--no-abbrev", "-z", "-M", "--no-color", "--no-relative", "--"}
		logName = "git diff --cached"
	}

	logCmd := r.command(ctx, logName, logArgs...)
	logOut, err := logCmd.cmd.StdoutPipe()
	if err != nil {
		return Stats{}, err
	}
	catCmd := r.command(ctx, "git cat-file --batch", "cat-file", "--batch")
	catIn, err := catCmd.cmd.StdinPipe()
	if err != nil {
		return Stats{}, err
	}
	catOut, err := catCmd.cmd.StdoutPipe()
	if err != nil {
		return Stats{}, err
	}
	if err := logCmd.cmd.Start(); err != nil {
		return Stats{}, logCmd.wrap(err)
	}
	if err := catCmd.cmd.Start(); err != nil {
		cancel()
		logCmd.cmd.Wait()
		return Stats{}, catCmd.wrap(err)
	}

	var g group
	g.cancel = cancel
	tasks := make(chan *task, 64)
	fetches := make(chan *blob, 64)
	g.run(func() error {
		defer close(tasks)
		defer close(fetches)
		defer catIn.Close()
		return r.readLog(ctx, logOut, catIn, fetches, tasks)
	})
	g.run(func() error { return r.readBlobs(catOut, fetches) })
	for i := 0; i < opts.Workers; i++ {
		g.run(func() error { return r.work(ctx, tasks) })
	}
	stopProgress := r.startProgress()
	pipeErr := g.wait()
	stopProgress()
	logErr := logCmd.wait()
	catErr := catCmd.wait()

	st := r.stats()
	switch {
	case parent.Err() != nil:
		return st, parent.Err()
	case logErr != nil:
		return st, logErr
	case catErr != nil:
		return st, catErr
	case pipeErr != nil:
		return st, fmt.Errorf("gitsrc: %s: %w", logName, pipeErr)
	}
	return st, nil
}

// run is the state of one Scan.
type run struct {
	opts    Options
	scanner Scanner
	emit    func(scan.Finding)
	blobs   *blobCache
	seed    maphash.Seed
	// perCommit: results depend on the commit (an allowlist names commits),
	// so a repeated change is only shared within one commit.
	perCommit bool

	mu   sync.Mutex // guards seen and emit
	seen map[string]*change

	commits, scanned, binary, skipped atomic.Int64
	bytes                             atomic.Int64
}

func (r *run) stats() Stats {
	return Stats{
		Commits: int(r.commits.Load()),
		Blobs:   int(r.scanned.Load()),
		Binary:  int(r.binary.Load()),
		Skipped: int(r.skipped.Load()),
		Bytes:   r.bytes.Load(),
	}
}

// startProgress reports running totals until stopped, and once more then.
func (r *run) startProgress() (stop func()) {
	if r.opts.Progress == nil {
		return func() {}
	}
	return progress.Start(func() { r.opts.Progress(r.stats()) })
}

// gitCmd is a git process with its stderr kept for error messages.
type gitCmd struct {
	ctx    context.Context
	name   string
	cmd    *exec.Cmd
	stderr limitedBuffer
}

func (r *run) command(ctx context.Context, name string, args ...string) *gitCmd {
	c := &gitCmd{name: name, ctx: ctx}
	c.cmd = exec.CommandContext(ctx, "git", args...)
	c.cmd.Dir = r.opts.Dir
	env := append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0")
	c.cmd.Env = append(env, r.opts.Env...)
	c.cmd.Stderr = &c.stderr
	c.cmd.WaitDelay = 5 * time.Second
	return c
}

func (c *gitCmd) wait() error {
	err := c.cmd.Wait()
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		return c.wrap(err)
	}
	if c.cancelled() {
		return nil // we killed it; the reason is reported elsewhere
	}
	return c.wrap(err)
}

func (c *gitCmd) cancelled() bool {
	return c.ctx.Err() != nil
}

func (c *gitCmd) wrap(err error) error {
	if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
		return fmt.Errorf("gitsrc: %s: %s: %w", c.name, msg, err)
	}
	return fmt.Errorf("gitsrc: %s: %w", c.name, err)
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// group runs goroutines and keeps the first error, cancelling the rest.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	cancel func()
}

func (g *group) run(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	}()
}

func (g *group) wait() error {
	g.wg.Wait()
	return g.err
}
