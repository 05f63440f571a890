// Package hook is the git server front door: it reads what git gives a
// pre-receive hook (ref updates on stdin, the pusher and push options in the
// environment of GitHub Enterprise, GitLab, Gitea or plain git) and turns it
// into a gate.Push; and it installs the hook.
package hook

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/internal/store"
)

// ReadUpdates parses pre-receive input: one "<old> <new> <ref>" line per
// ref. Object ids may be SHA-1 or SHA-256; all zeros means none.
func ReadUpdates(r io.Reader) ([]store.RefUpdate, error) {
	var ups []store.RefUpdate
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !isObjectID(f[0]) || !isObjectID(f[1]) || len(f[0]) != len(f[1]) {
			return nil, fmt.Errorf("pre-receive input line %d: want \"<old-id> <new-id> <ref>\"", n)
		}
		ups = append(ups, store.RefUpdate{Old: f[0], New: f[1], Ref: f[2]})
	}
	return ups, sc.Err()
}

func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Env is a hook's environment, as from os.Getenv.
type Env func(string) string

// Pusher names who pushed: the hosting server's authenticated user where
// there is one, else the account the hook runs as (ssh on plain git).
func (e Env) Pusher() string {
	for _, k := range []string{"GITHUB_USER_LOGIN", "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER"} { // GL_USER: gitolite
		if v := e(k); v != "" {
			return v
		}
	}
	if v := e("GL_ID"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return e("USER")
}

// Repo names the repository as its host does, else by the absolute path of
// its directory: on a plain git server, hooks installed server-wide see
// many repositories, and two called app.git must not share bypasses.
func (e Env) Repo(gitDir string) string {
	if v := e("GITHUB_REPO_NAME"); v != "" {
		return v
	}
	if v := e("GL_PROJECT_PATH"); v != "" {
		return v
	}
	if owner, name := e("GITEA_REPO_USER_NAME"), e("GITEA_REPO_NAME"); name != "" {
		if owner != "" {
			return owner + "/" + name
		}
		return name
	}
	abs, err := filepath.Abs(gitDir)
	if err != nil {
		abs = gitDir
	}
	if filepath.Base(abs) == ".git" { // a non-bare repository
		abs = filepath.Dir(abs)
	}
	return abs
}

// PushOptions returns the push options (git push -o), if the client sent any.
func (e Env) PushOptions() []string {
	n, err := strconv.Atoi(e("GIT_PUSH_OPTION_COUNT"))
	if err != nil {
		return nil
	}
	opts := make([]string, 0, n)
	for i := range n {
		opts = append(opts, e("GIT_PUSH_OPTION_"+strconv.Itoa(i)))
	}
	return opts
}

// GitLab reports whether the hook runs under GitLab, whose web UI shows
// only lines that begin with GL-HOOK-ERR:.
func (e Env) GitLab() bool { return e("GL_ID") != "" || e("GL_PROJECT_PATH") != "" }

// ForPusher wraps w so that each line the pusher sees carries GitLab's
// prefix when the hook runs under GitLab.
func (e Env) ForPusher(w io.Writer) io.Writer {
	if !e.GitLab() {
		return w
	}
	return &prefixWriter{w: w, prefix: "GL-HOOK-ERR: ", atStart: true}
}

type prefixWriter struct {
	w       io.Writer
	prefix  string
	atStart bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out []byte
	for _, c := range b {
		if p.atStart {
			out = append(out, p.prefix...)
		}
		out = append(out, c)
		p.atStart = c == '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

var errNotRepo = errors.New("not a git repository")
