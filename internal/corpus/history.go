package corpus

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/rules"
)

// The history a GenerateHistory repository holds:
//
//   - main: an initial commit with about 40% of the background, then
//     Commits-1 commits that add files, insert code into files, delete
//     blocks and files;
//   - plants spread over main's commits, each added by one commit; every
//     fourth is removed again by a later commit (a removal must not be a
//     finding);
//   - feature/merge-only: a branch of two commits merged back into main by
//     a merge commit that also adds one plant found in neither parent;
//   - experiment/unmerged: a branch never merged, whose last commit adds one
//     plant (only `--all` reaches it).

// maxEditBytes bounds the files history commits edit, so the fast-import
// stream, which carries every version of an edited file, stays small.
const maxEditBytes = 64 << 10

type hfile struct {
	kind kind
	data []byte
	// frozen: the file hosts a plant; background commits leave it alone so
	// the plant's lines stay where the manifest says.
	frozen bool
}

// op changes one path in a commit; nil data deletes it.
type op struct {
	path string
	data []byte
	kind kind
}

type commit struct {
	ref    string
	mark   int
	from   int // mark of the first parent (0: none, or continue the ref)
	merge  int // mark of the second parent
	msg    string
	ops    []op
	plants []int // manifest plant indexes this commit adds
	remove []int // manifest plant indexes this commit removes
}

// history builds the commits in memory and writes them as a fast-import
// stream.
type history struct {
	g       *gen
	cfg     *rules.Config
	l       *layout
	m       *Manifest
	files   map[string]*hfile
	order   []string // paths of main's tree, in creation order (for determinism)
	w       *bufio.Writer
	marks   int
	when    int64
	added   int64
	commits []*commit
}

func (h *history) add(p string, f *hfile) {
	if _, ok := h.files[p]; !ok {
		h.order = append(h.order, p)
	}
	h.files[p] = f
}

// background adds about budget bytes of changes to c on main's tree.
func (h *history) background(c *commit, budget int64) {
	g := h.g
	var n int64
	for n < budget {
		switch r := g.n(100); {
		case r < 35 || len(h.order) == 0:
			k := g.kind()
			var b bytes.Buffer
			g.write(&b, k, min(g.size(k), int(max(budget-n, 512))))
			p := h.l.path(k)
			h.add(p, &hfile{kind: k, data: b.Bytes()})
			c.ops = append(c.ops, op{p, b.Bytes(), k})
			n += int64(b.Len())
		case r < 92:
			p, f := h.editable()
			if f == nil {
				continue
			}
			add := g.lineEdit(f.kind)
			f.data, _ = spliceLine(g, f.data, string(add))
			c.ops = append(c.ops, op{p, f.data, f.kind})
			n += int64(len(add))
		case r < 98:
			p, f := h.editable()
			if f == nil {
				continue
			}
			f.data = deleteLines(g, f.data)
			c.ops = append(c.ops, op{p, f.data, f.kind})
			n += 64
		default:
			p, f := h.editable()
			if f == nil {
				continue
			}
			delete(h.files, p)
			c.ops = append(c.ops, op{path: p})
			n += 64
		}
	}
	h.added += n
}

// editable picks a file of main's tree that background commits may edit.
func (h *history) editable() (string, *hfile) {
	for try := 0; try < 20; try++ {
		p := h.order[h.g.n(len(h.order))]
		f := h.files[p]
		if f != nil && !f.frozen && len(f.data) <= maxEditBytes && f.kind < numKinds {
			return p, f
		}
	}
	return "", nil
}

// deleteLines removes a run of up to 20 lines from data.
func deleteLines(g *gen, data []byte) []byte {
	lines := bytes.SplitAfter(data, []byte{'\n'})
	if len(lines) < 4 {
		return data
	}
	i := g.n(len(lines) - 2)
	j := min(len(lines)-1, i+1+g.n(20))
	return bytes.Join(append(lines[:i:i], lines[j:]...), nil)
}

// plant adds seed s to c: as its own file, or spliced into a host file of
// main's tree (or a new file when onBranch, which must not touch main's
// files). It returns the manifest index and a function that removes the
// plant again in a later commit.
func (h *history) plant(c *commit, s seed, note string, onBranch bool) (int, func(*commit)) {
	g := h.g
	if s.file != "" {
		p := s.file
		if note != "" {
			p = note + "/" + p
			if !s.rule.Path.MatchString(p) {
				p = s.file
			}
		}
		c.ops = append(c.ops, op{p, []byte(s.text), kindPlant})
		h.m.Plants = append(h.m.Plants, Plant{RuleID: s.rule.ID, Path: p, Line: 1, EndLine: lineCount(s.text), Note: note})
		idx := len(h.m.Plants) - 1
		if !onBranch {
			h.add(p, &hfile{kind: kindPlant, data: []byte(s.text), frozen: true})
		}
		return idx, func(rc *commit) {
			delete(h.files, p)
			rc.ops = append(rc.ops, op{path: p})
		}
	}
	var p string
	var f *hfile
	if !onBranch {
		for try := 0; try < 200 && f == nil; try++ {
			q := h.order[g.n(len(h.order))]
			if cand := h.files[q]; cand != nil && !cand.frozen && cand.kind < numKinds && kindSpecs[cand.kind].host &&
				len(cand.data) <= maxEditBytes && !pathAllowed(h.cfg, s.rule, q) {
				p, f = q, cand
			}
		}
	}
	if f == nil {
		var b bytes.Buffer
		g.write(&b, kindGo, 2<<10)
		p = h.l.path(kindGo)
		if note != "" {
			p = note + "/" + p
		}
		f = &hfile{kind: kindGo, data: b.Bytes()}
		if !onBranch {
			h.add(p, f)
		}
	}
	before := f.data
	var line int
	f.data, line = spliceLine(g, f.data, s.text)
	f.frozen = true
	c.ops = append(c.ops, op{p, f.data, f.kind})
	h.m.Plants = append(h.m.Plants, Plant{RuleID: s.rule.ID, Path: p, Line: line, EndLine: line + lineCount(s.text) - 1, Note: note})
	return len(h.m.Plants) - 1, func(rc *commit) {
		f.data = before
		f.frozen = false
		rc.ops = append(rc.ops, op{p, before, f.kind})
	}
}

func (h *history) newCommit(ref string, from, merge int) *commit {
	h.marks++
	c := &commit{ref: ref, mark: h.marks, from: from, merge: merge,
		msg: fmt.Sprintf("%s: %s", h.g.pick(pkgNames), strings.TrimSuffix(h.g.sentence(), "."))}
	h.commits = append(h.commits, c)
	return c
}

var authors = []string{
	"Ada Lovelace <ada@acme.example>", "Grace Hopper <grace@acme.example>",
	"Ken Thompson <ken@acme.example>", "Barbara Liskov <barbara@acme.example>",
}

// write emits c as fast-import commands.
func (h *history) write(c *commit) error {
	h.when += 600 + int64(h.g.n(7200))
	who := authors[c.mark%len(authors)]
	fmt.Fprintf(h.w, "commit %s\nmark :%d\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n%s\n",
		c.ref, c.mark, who, h.when, who, h.when, len(c.msg), c.msg)
	if c.from > 0 {
		fmt.Fprintf(h.w, "from :%d\n", c.from)
	}
	if c.merge > 0 {
		fmt.Fprintf(h.w, "merge :%d\n", c.merge)
	}
	for _, o := range c.ops {
		if o.data == nil {
			fmt.Fprintf(h.w, "D %s\n", quotePath(o.path))
			continue
		}
		fmt.Fprintf(h.w, "M 100644 inline %s\ndata %d\n", quotePath(o.path), len(o.data))
		h.w.Write(o.data)
		h.w.WriteByte('\n')
	}
	h.w.WriteByte('\n')
	return nil
}

func quotePath(p string) string {
	if strings.ContainsAny(p, "\" \n\\") {
		return strconv.Quote(p)
	}
	return p
}

// GenerateHistory creates a git repository at repoDir (which must not exist
// or be empty) whose history holds about opts.Bytes of added background and
// every rule's first example, added at recorded commits, paths and lines. It
// drives `git init` and `git fast-import`, then checks out main.
func GenerateHistory(repoDir string, opts Options) (*Manifest, error) {
	cfg, err := config(opts)
	if err != nil {
		return nil, err
	}
	sds, plantErr := seeds(cfg)
	n := opts.Commits
	if n <= 0 {
		n = 100
	}
	n = max(n, 8)
	g := newGen(opts.Seed)
	h := &history{
		g: g, cfg: cfg,
		l:     &layout{g: g, cfg: cfg, used: map[string]bool{}},
		m:     &Manifest{Seed: opts.Seed, Kinds: map[string]int{}},
		files: map[string]*hfile{},
		when:  1_600_000_000,
	}
	for _, s := range sds {
		if s.file != "" {
			h.l.used[s.file] = true
		}
	}

	// Who goes where: the first seed into the merge commit, the second on
	// the unmerged branch, the rest over main's commits 2..n.
	g.r.Shuffle(len(sds), func(i, j int) { sds[i], sds[j] = sds[j], sds[i] })
	var mergeSeed, branchSeed *seed
	if len(sds) > 0 {
		mergeSeed, sds = &sds[0], sds[1:]
	}
	if len(sds) > 0 {
		branchSeed, sds = &sds[0], sds[1:]
	}
	const mainRef = "refs/heads/main"
	fork := n / 2          // main commit the branches fork from
	mergeAt := fork + 3    // main commit that merges feature/merge-only
	at := map[int][]seed{} // main commit number -> seeds it adds
	for _, s := range sds {
		c := 2 + g.n(n-1)
		if c == mergeAt {
			c++
		}
		at[c] = append(at[c], s)
	}
	removals := map[int][]func(*commit){} // main commit number -> plants it removes
	removeAt := map[int][]int{}

	// Initial commit: one file of every kind, then up to 40% of the budget.
	first := h.newCommit(mainRef, 0, 0)
	for k := kind(0); k < numKinds; k++ {
		var b bytes.Buffer
		g.write(&b, k, g.size(k))
		p := h.l.path(k)
		h.add(p, &hfile{kind: k, data: b.Bytes()})
		first.ops = append(first.ops, op{p, b.Bytes(), k})
		h.added += int64(b.Len())
	}
	if rest := opts.Bytes*4/10 - h.added; rest > 0 {
		h.background(first, rest)
	}
	marks := map[int]int{1: first.mark} // main commit number -> mark
	perCommit := max((opts.Bytes-h.added)/int64(n-1), 1024)

	var branchTip int
	for i := 2; i <= n; i++ {
		if i == mergeAt && branchTip > 0 {
			c := h.newCommit(mainRef, marks[i-1], branchTip)
			c.msg = "Merge branch 'feature/merge-only'"
			// The merge brings the branch's files, and adds a plant of its own.
			for _, bc := range h.commits {
				if bc.ref == "refs/heads/feature/merge-only" {
					for _, o := range bc.ops {
						h.add(o.path, &hfile{kind: o.kind, data: o.data})
						c.ops = append(c.ops, o)
					}
				}
			}
			if mergeSeed != nil {
				idx, _ := h.plant(c, *mergeSeed, "merge", false)
				c.plants = append(c.plants, idx)
			}
			marks[i] = c.mark
			continue
		}
		c := h.newCommit(mainRef, marks[i-1], 0)
		marks[i] = c.mark
		h.background(c, perCommit)
		for _, s := range at[i] {
			idx, undo := h.plant(c, s, "", false)
			c.plants = append(c.plants, idx)
			if len(h.m.Plants)%4 == 0 && i < n {
				r := i + 1 + g.n(n-i)
				if r == mergeAt {
					r++
				}
				if r <= n {
					removals[r] = append(removals[r], undo)
					removeAt[r] = append(removeAt[r], idx)
				}
			}
		}
		for _, undo := range removals[i] {
			undo(c)
		}
		c.remove = removeAt[i]
		if i == fork {
			// Both branches fork here.
			b1 := h.newCommit("refs/heads/feature/merge-only", c.mark, 0)
			h.branchFiles(b1, perCommit, "feature")
			b2 := h.newCommit("refs/heads/feature/merge-only", 0, 0)
			h.branchFiles(b2, perCommit, "feature")
			branchTip = b2.mark
			u1 := h.newCommit("refs/heads/experiment/unmerged", c.mark, 0)
			h.branchFiles(u1, perCommit, "experiment")
			if branchSeed != nil {
				u2 := h.newCommit("refs/heads/experiment/unmerged", 0, 0)
				idx, _ := h.plant(u2, *branchSeed, "unmerged", true)
				u2.plants = append(u2.plants, idx)
			}
		}
	}

	if err := h.run(context.Background(), repoDir); err != nil {
		return nil, err
	}
	h.m.Bytes = h.added
	for _, f := range h.files {
		h.m.Files++
		if f.kind < numKinds {
			h.m.Kinds[f.kind.String()]++
		} else {
			h.m.Kinds["plant"]++
		}
	}
	return h.m, plantErr
}

// branchFiles adds new background files under dir (files of a branch never
// collide with main's).
func (h *history) branchFiles(c *commit, budget int64, dir string) {
	g := h.g
	var n int64
	for n < budget {
		k := kind(g.n(int(kindJava) + 1))
		var b bytes.Buffer
		g.write(&b, k, g.size(k))
		p := dir + "/" + h.l.path(k)
		c.ops = append(c.ops, op{p, b.Bytes(), k})
		n += int64(b.Len())
	}
	h.added += n
}

// run makes the repository and imports the commits.
func (h *history) run(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := git(ctx, dir, nil, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	marksFile := filepath.Join(dir, ".git", "corpus-marks")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- git(ctx, dir, pr, "fast-import", "--quiet", "--export-marks="+marksFile)
		pr.Close()
	}()
	h.w = bufio.NewWriterSize(pw, 1<<20)
	var werr error
	for _, c := range h.commits {
		if werr = h.write(c); werr != nil {
			break
		}
	}
	if werr == nil {
		werr = h.w.Flush()
	}
	pw.CloseWithError(werr)
	if err := <-done; err != nil {
		return err
	}
	if werr != nil {
		return werr
	}

	shas, err := readMarks(marksFile)
	if err != nil {
		return err
	}
	os.Remove(marksFile)
	for _, c := range h.commits {
		sha := shas[c.mark]
		if sha == "" {
			return fmt.Errorf("corpus: fast-import gave no commit for mark :%d", c.mark)
		}
		h.m.Commits = append(h.m.Commits, sha)
		for _, i := range c.plants {
			h.m.Plants[i].Commit = sha
		}
		for _, i := range c.remove {
			h.m.Plants[i].RemovedIn = sha
		}
	}
	return git(ctx, dir, nil, "reset", "-q", "--hard", "main")
}

func readMarks(name string) (map[int]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		mark, sha, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(mark, ":") {
			return nil, fmt.Errorf("corpus: bad marks line %q", line)
		}
		n, err := strconv.Atoi(mark[1:])
		if err != nil {
			return nil, fmt.Errorf("corpus: bad marks line %q", line)
		}
		out[n] = sha
	}
	return out, nil
}

// git runs git in dir with a fixed identity and no user or system config.
func git(ctx context.Context, dir string, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=corpus", "GIT_AUTHOR_EMAIL=corpus@example.com",
		"GIT_COMMITTER_NAME=corpus", "GIT_COMMITTER_EMAIL=corpus@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
