package ghtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func lookGit() (string, error) {
	p, err := exec.LookPath("git")
	if err != nil {
		return "", fmt.Errorf("git is not installed: %w", err)
	}
	return filepath.Abs(p)
}

// AddRepo creates an empty bare repository owner/name (default branch
// main) on the App's installation for owner, served over smart HTTP at
// URL+"/owner/name.git", and returns its directory. Push to it over HTTP
// with a token, or add commits with Commit.
func (s *Server) AddRepo(owner, name string) (bareDir string) {
	s.t.Helper()
	key := owner + "/" + name
	dir := filepath.Join(s.root, owner, name+".git")
	s.mu.Lock()
	if s.repos[key] != nil {
		s.mu.Unlock()
		s.t.Fatalf("ghtest: repository %s added twice", key)
	}
	s.installationLocked(owner)
	rp := &repo{id: s.newIDLocked(), owner: owner, name: name, dir: dir}
	s.mu.Unlock()

	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		s.t.Fatalf("ghtest: %v", err)
	}
	if _, err := s.git(filepath.Dir(dir), nil, nil, "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		s.t.Fatalf("ghtest: creating %s: %v", key, err)
	}
	if _, err := s.git(dir, nil, nil, "config", "http.receivepack", "true"); err != nil {
		s.t.Fatalf("ghtest: %v", err)
	}
	s.mu.Lock()
	s.repos[key] = rp
	s.mu.Unlock()
	return dir
}

// CloneURL is the HTTPS-style URL the App uses to fetch owner/name with an
// installation token: http://x-access-token:<token>@host/owner/name.git.
// An empty token gives the URL without credentials.
func (s *Server) CloneURL(owner, name, token string) string {
	u := s.URL + "/" + owner + "/" + name + ".git"
	if token == "" {
		return u
	}
	scheme, rest, _ := strings.Cut(u, "://")
	return scheme + "://x-access-token:" + token + "@" + rest
}

// Commit adds a commit on branch of owner/name whose tree is the branch's
// tree with files (path -> content) written over it, and returns its SHA.
// A branch that does not exist yet starts at the default branch (or as a
// root commit in an empty repository).
func (s *Server) Commit(owner, name, branch, message string, files map[string]string) (sha string) {
	s.t.Helper()
	s.mu.Lock()
	rp := s.repos[owner+"/"+name]
	s.mu.Unlock()
	if rp == nil {
		s.t.Fatalf("ghtest: Commit: no repository %s/%s", owner, name)
	}
	fail := func(err error) {
		s.t.Helper()
		s.t.Fatalf("ghtest: committing to %s/%s %s: %v", owner, name, branch, err)
	}
	ref := "refs/heads/" + branch
	parent, _ := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if parent == "" {
		parent, _ = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	}
	index := filepath.Join(s.t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	if parent != "" {
		if _, err := s.git(rp.dir, env, nil, "read-tree", parent); err != nil {
			fail(err)
		}
	}
	var info bytes.Buffer
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		blob, err := s.git(rp.dir, nil, strings.NewReader(files[p]), "hash-object", "-w", "--stdin")
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(&info, "100644 %s\t%s\n", blob, p)
	}
	if _, err := s.git(rp.dir, env, &info, "update-index", "--add", "--index-info"); err != nil {
		fail(err)
	}
	tree, err := s.git(rp.dir, env, nil, "write-tree")
	if err != nil {
		fail(err)
	}
	args := []string{"commit-tree", tree, "-m", message}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	date := time.Now().UTC().Format(time.RFC3339)
	sig := []string{
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com", "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.com", "GIT_COMMITTER_DATE=" + date,
	}
	sha, err = s.git(rp.dir, sig, nil, args...)
	if err != nil {
		fail(err)
	}
	if _, err := s.git(rp.dir, nil, nil, "update-ref", ref, sha); err != nil {
		fail(err)
	}
	return sha
}

// git runs git in dir with a clean configuration and returns its trimmed
// standard output.
func (s *Server) git(dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command(s.gitPath, args...)
	cmd.Dir = dir
	cmd.Env = append(s.gitEnv(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String()), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (s *Server) gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	}
}

// serveGit serves /{owner}/{repo}.git/… through git http-backend. Like
// GitHub it wants basic auth with user x-access-token and a valid
// installation token as password: without them 401 and a Basic challenge,
// with a token that cannot see the repository 404.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	owner, name := parts[0], strings.TrimSuffix(parts[1], ".git")
	user, pass, ok := r.BasicAuth()
	tok, valid := s.validToken(pass)
	if !ok || user != "x-access-token" || !valid {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Invalid username or token. Password authentication is not supported for Git operations.", http.StatusUnauthorized)
		return
	}
	if !s.reaches(tok, owner, name) {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	h := &cgi.Handler{
		Path: s.gitPath,
		Args: []string{"http-backend"},
		Dir:  s.root,
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER="+user,
		),
	}
	h.ServeHTTP(w, r)
}
