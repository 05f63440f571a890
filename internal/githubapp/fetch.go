package githubapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Fetcher keeps a bare mirror of each repository under Dir and fetches
// into it exactly the commits a target needs, with the system git.
type Fetcher struct {
	Dir string
}

// Fetched is a target made ready to scan: a repository and the rev-list
// arguments that select the commits to scan.
type Fetched struct {
	GitDir string
	Revs   []string
}

// Fetch brings the target's head (and what it is compared with) into the
// mirror. token authenticates as the installation; it is handed to git in
// its environment, never in a URL or argument a process list would show.
func (f *Fetcher) Fetch(ctx context.Context, t Target, token string) (Fetched, error) {
	dir := filepath.Join(f.Dir, safeName(t.Owner), safeName(t.Repo)+".git")
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Fetched{}, err
		}
		if err := run(ctx, dir, nil, "init", "--bare", "--quiet"); err != nil {
			return Fetched{}, err
		}
	}
	// One fetch at a time per mirror, across workers and processes.
	unlock, err := lock(filepath.Join(dir, "secretgate.lock"))
	if err != nil {
		return Fetched{}, err
	}
	defer unlock()

	env := []string{"GIT_TERMINAL_PROMPT=0"}
	if token != "" {
		auth := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic "+auth)
	}
	fetch := func(specs ...string) error {
		args := append([]string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", t.CloneURL}, specs...)
		return run(ctx, dir, env, args...)
	}
	head := "refs/secretgate/head/" + t.Head
	if err := fetch("+" + t.Head + ":" + head); err != nil {
		return Fetched{}, fmt.Errorf("fetching %s of %s: %w", short(t.Head), t.FullName(), err)
	}
	revs := []string{head, "--not"}
	for _, ex := range t.Exclude {
		ref := "refs/secretgate/base/" + ex
		// The old tip of a force push may be gone. Then the default
		// branch stands in, unless it is what was pushed: then nothing can
		// bound the scan, and all of the head's history is scanned rather
		// than too little.
		if err := fetch("+" + ex + ":" + ref); err != nil {
			t.ExcludeDefault = true
			continue
		}
		revs = append(revs, ref)
	}
	if t.ExcludeDefault && t.DefaultBranch != "" {
		ref := "refs/secretgate/default"
		if err := fetch("+refs/heads/" + t.DefaultBranch + ":" + ref); err == nil {
			if tip, err := output(ctx, dir, "rev-parse", ref); err == nil && tip != t.Head {
				revs = append(revs, ref)
			}
		}
	}
	return Fetched{GitDir: dir, Revs: revs}, nil
}

func run(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func output(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// lock takes an exclusive flock on path.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// safeName keeps an owner or repository name to one path element.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_" + s
	}
	return s
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
