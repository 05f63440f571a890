package cctest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Delete as a file's content in Commit removes the file.
const Delete = "\x00cctest:delete\x00"

// Committer is the author and committer of every commit Commit writes.
const (
	CommitterName  = "Example User"
	CommitterEmail = "user@example.com"
)

type repo struct {
	name string
	dir  string
}

// repoNameRE is what CodeCommit accepts as a repository name.
var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// AddRepo creates an empty bare repository (default branch main) and
// returns its directory.
func (s *Server) AddRepo(name string) (bareDir string) {
	s.t.Helper()
	if !repoNameRE.MatchString(name) || strings.HasSuffix(name, ".git") {
		s.t.Fatalf("cctest: %q is not a valid CodeCommit repository name", name)
	}
	dir := filepath.Join(s.root, name+".git")
	s.mu.Lock()
	if s.repos[name] != nil {
		s.mu.Unlock()
		s.t.Fatalf("cctest: repository %s added twice", name)
	}
	s.mu.Unlock()
	if _, err := s.git(s.root, nil, nil, "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		s.t.Fatalf("cctest: creating %s: %v", name, err)
	}
	s.mu.Lock()
	s.repos[name] = &repo{name: name, dir: dir}
	s.mu.Unlock()
	return dir
}

// Commit adds a commit on branch of repo whose tree is the branch's tree
// with files (path -> content) written over it, a content of Delete
// removing the path, and returns its id. A branch that does not exist yet
// starts at main (or as a root commit in an empty repository). Commit dates
// are a minute apart, in zone -0800. Open pull requests from or to branch
// follow it, as CodeCommit's do.
func (s *Server) Commit(repo, branch, message string, files map[string]string) (commitID string) {
	s.t.Helper()
	rp := s.repo(repo)
	if rp == nil {
		s.t.Fatalf("cctest: Commit: no repository %s", repo)
	}
	fail := func(err error) {
		s.t.Helper()
		s.t.Fatalf("cctest: committing to %s %s: %v", repo, branch, err)
	}
	ref := "refs/heads/" + branch
	parent, _ := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if parent == "" {
		parent, _ = s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/main^{commit}")
	}
	index := filepath.Join(s.t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	if parent != "" {
		if _, err := s.git(rp.dir, env, nil, "read-tree", parent); err != nil {
			fail(err)
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var info bytes.Buffer
	for _, p := range paths {
		if files[p] == Delete {
			fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), p)
			continue
		}
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
	var parents []string
	if parent != "" {
		parents = []string{parent}
	}
	commitID, err = s.commitTree(rp, tree, message, parents)
	if err != nil {
		fail(err)
	}
	if _, err := s.git(rp.dir, nil, nil, "update-ref", ref, commitID); err != nil {
		fail(err)
	}
	s.branchMoved(repo, branch)
	return commitID
}

// Merge adds a merge commit on branch whose parents are branch's tip and
// other's tip and whose tree is git's merge of the two (conflicts are a
// test failure), and returns its id.
func (s *Server) Merge(repo, branch, other, message string) (commitID string) {
	s.t.Helper()
	rp := s.repo(repo)
	if rp == nil {
		s.t.Fatalf("cctest: Merge: no repository %s", repo)
	}
	ours, err := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		s.t.Fatalf("cctest: Merge: %v", err)
	}
	theirs, err := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "refs/heads/"+other+"^{commit}")
	if err != nil {
		s.t.Fatalf("cctest: Merge: %v", err)
	}
	out, err := s.git(rp.dir, nil, nil, "merge-tree", "--write-tree", ours, theirs)
	if err != nil {
		s.t.Fatalf("cctest: merging %s into %s: %v\n%s", other, branch, err, out)
	}
	tree, _, _ := strings.Cut(out, "\n")
	commitID, err = s.commitTree(rp, tree, message, []string{ours, theirs})
	if err != nil {
		s.t.Fatalf("cctest: Merge: %v", err)
	}
	if _, err := s.git(rp.dir, nil, nil, "update-ref", "refs/heads/"+branch, commitID, ours); err != nil {
		s.t.Fatalf("cctest: Merge: %v", err)
	}
	s.branchMoved(repo, branch)
	return commitID
}

func (s *Server) commitTree(rp *repo, tree, message string, parents []string) (string, error) {
	s.mu.Lock()
	date := "@" + strconv.FormatInt(s.clock, 10) + " -0800"
	s.clock += 60
	s.mu.Unlock()
	args := []string{"commit-tree", tree, "-m", message}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	sig := []string{
		"GIT_AUTHOR_NAME=" + CommitterName, "GIT_AUTHOR_EMAIL=" + CommitterEmail, "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=" + CommitterName, "GIT_COMMITTER_EMAIL=" + CommitterEmail, "GIT_COMMITTER_DATE=" + date,
	}
	return s.git(rp.dir, sig, nil, args...)
}

func (s *Server) repo(name string) *repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[name]
}

// git runs git in dir with a clean configuration and returns its trimmed
// standard output.
func (s *Server) git(dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	out, err := s.gitRaw(dir, env, stdin, args...)
	return strings.TrimSpace(string(out)), err
}

// gitRaw is git with the output as it is.
func (s *Server) gitRaw(dir string, env []string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command(s.gitPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	}, env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// objectType is git's type of id in rp ("commit", "tree", "blob", "tag"),
// "" if it does not exist.
func (s *Server) objectType(rp *repo, id string) string {
	t, err := s.git(rp.dir, nil, nil, "cat-file", "-t", id)
	if err != nil {
		return ""
	}
	return t
}

var fullID = regexp.MustCompile(`^[0-9a-f]{40}$`)
var hexID = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// resolve turns a commit specifier (full commit id, branch, tag, full
// reference or HEAD) into a commit id.
func (s *Server) resolve(rp *repo, spec string) (string, *apiError) {
	for _, ref := range []string{spec, "refs/heads/" + spec, "refs/tags/" + spec} {
		if spec == "HEAD" || strings.HasPrefix(ref, "refs/") {
			if id, err := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}"); err == nil && id != "" {
				return id, nil
			}
		}
	}
	switch {
	case fullID.MatchString(spec):
		switch s.objectType(rp, spec) {
		case "commit":
			return spec, nil
		case "":
			return "", errorf("CommitDoesNotExistException", "Could not find commit "+spec+" in repository "+rp.name)
		default:
			return "", errorf("InvalidCommitException", "The specified commit "+spec+" is not a commit")
		}
	case hexID.MatchString(spec) && len(spec) >= 7:
		return "", errorf("InvalidCommitIdException", "The commit ID "+spec+" is not valid: commit IDs are the full 40-character SHA")
	}
	return "", errorf("CommitDoesNotExistException", "Could not find commit specifier "+spec+" in repository "+rp.name)
}

// rawCommit is a commit object as git stores it.
type rawCommit struct {
	tree      string
	parents   []string
	author    userInfo
	committer userInfo
	message   string
}

func (s *Server) readCommit(rp *repo, id string) (rawCommit, error) {
	out, err := s.gitRaw(rp.dir, nil, nil, "cat-file", "commit", id)
	if err != nil {
		return rawCommit{}, err
	}
	header, message, _ := strings.Cut(string(out), "\n\n")
	c := rawCommit{message: message}
	for _, line := range strings.Split(header, "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			c.tree = val
		case "parent":
			c.parents = append(c.parents, val)
		case "author":
			c.author = parseSignature(val)
		case "committer":
			c.committer = parseSignature(val)
		}
	}
	return c, nil
}

// parseSignature reads "Name <email> 1484167798 -0800".
func parseSignature(v string) userInfo {
	name, rest, _ := strings.Cut(v, " <")
	email, date, _ := strings.Cut(rest, "> ")
	return userInfo{Name: name, Email: email, Date: date}
}

// change is one entry of git diff-tree --raw.
type change struct {
	oldMode, newMode, oldID, newID, status, path string
}

// diff lists the files that differ between two commits, before "" meaning
// the empty tree.
func (s *Server) diff(rp *repo, before, after string) ([]change, error) {
	if before == "" {
		empty, err := s.git(rp.dir, nil, strings.NewReader(""), "hash-object", "-t", "tree", "--stdin")
		if err != nil {
			return nil, err
		}
		before = empty
	}
	out, err := s.gitRaw(rp.dir, nil, nil, "diff-tree", "-r", "-z", "--raw", "--no-abbrev", "--no-renames", before, after)
	if err != nil {
		return nil, err
	}
	// Each entry is ":oldmode newmode oldid newid status\0path\0".
	fields := strings.Split(string(out), "\x00")
	var changes []change
	for i := 0; i+1 < len(fields); i += 2 {
		meta := strings.Fields(strings.TrimPrefix(fields[i], ":"))
		if len(meta) != 5 {
			return nil, fmt.Errorf("git diff-tree: unexpected entry %q", fields[i])
		}
		changes = append(changes, change{meta[0], meta[1], meta[2], meta[3], meta[4], fields[i+1]})
	}
	return changes, nil
}
