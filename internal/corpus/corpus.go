// Package corpus generates benchmark corpora: a realistic background of
// source files, lock files, minified bundles, base64 blobs, identifiers and
// documentation placeholders, with one planted secret per rule at a place
// recorded in a Manifest. The same options give the same bytes.
//
// The background is full of decoys (documentation keys such as
// AKIAIOSFODNN7EXAMPLE, `${DB_PASSWORD}` templates, integrity hashes, UUIDs,
// commit SHAs, certificates) and must produce no finding; every plant must be
// found by its rule at its path and line.
package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secretgate/secretgate/rules"
)

// Options size and seed a corpus.
type Options struct {
	// Seed selects the corpus; the same seed and options give the same bytes.
	Seed uint64
	// Bytes is the approximate size of the background: the files of a
	// directory corpus, or the lines added over a history's commits.
	Bytes int64
	// Rules are the rules whose first example is planted; nil means
	// rules.Default().
	Rules *rules.Config
	// Commits is the number of commits on the main branch of a history
	// (GenerateHistory only; 0 means 100).
	Commits int
}

// Plant is one planted secret: the first example of a rule.
type Plant struct {
	RuleID string
	Path   string // slash-separated, relative to the corpus root
	// Line and EndLine are the 1-based lines the example occupies; a
	// finding of the rule must start within them.
	Line, EndLine int
	// History only: the commit that adds the plant, and the one that
	// removes it again ("" if it stays).
	Commit    string
	RemovedIn string
	// Note says what is special about the plant's place in history:
	// "merge" (added only by a merge commit, in neither parent) or
	// "unmerged" (on a branch never merged into main).
	Note string
}

// Contains reports whether a finding of rule id at path, line (and commit,
// for history plants) is this plant.
func (p *Plant) Contains(id, path string, line int, commit string) bool {
	return id == p.RuleID && p.Covers(path, line, commit)
}

// Covers reports whether path, line (and commit) fall on the plant's lines,
// whatever the rule.
func (p *Plant) Covers(path string, line int, commit string) bool {
	return path == p.Path && line >= p.Line && line <= p.EndLine && (p.Commit == "" || commit == p.Commit)
}

// Manifest records what was generated.
type Manifest struct {
	Seed   uint64
	Files  int   // files written (directory) or in the head tree (history)
	Bytes  int64 // bytes written (directory) or added by all commits (history)
	Kinds  map[string]int
	Plants []Plant
	// Commits lists every commit made, oldest first (history only).
	Commits []string
}

// Find returns the plant a finding belongs to, or nil.
func (m *Manifest) Find(id, path string, line int, commit string) *Plant {
	for i := range m.Plants {
		if m.Plants[i].Contains(id, path, line, commit) {
			return &m.Plants[i]
		}
	}
	return nil
}

// Covering returns the plant whose lines a finding of any rule is on, or nil.
func (m *Manifest) Covering(path string, line int, commit string) *Plant {
	for i := range m.Plants {
		if m.Plants[i].Covers(path, line, commit) {
			return &m.Plants[i]
		}
	}
	return nil
}

// seed is one rule's example and where it may go.
type seed struct {
	rule *rules.Rule
	text string // the example, newline-terminated
	// file: the example must be a file of its own at this path (the rule
	// has a path regex); "" means it is spliced into a host file.
	file string
}

// seeds picks the plant of every rule that has an example.
func seeds(cfg *rules.Config) ([]seed, error) {
	var out []seed
	used := map[string]bool{}
	var errs []error
	for _, r := range cfg.Rules {
		if len(r.Examples) == 0 {
			errs = append(errs, fmt.Errorf("rule %q: no example to plant", r.ID))
			continue
		}
		s := seed{rule: r, text: r.Examples[0]}
		if !strings.HasSuffix(s.text, "\n") {
			s.text += "\n"
		}
		if r.Path != nil {
			p, err := plantPath(r, used)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.file = p
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// plantPath finds a unique path for a path-limited rule's plant that its path
// regex matches: the example path under a directory of the rule's own, or
// the example path itself.
func plantPath(r *rules.Rule, used map[string]bool) (string, error) {
	ep := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(r.ExamplePath)), "/")
	if r.ExamplePath == "" {
		return "", fmt.Errorf("rule %q: has a path regex but no examplePath to plant under", r.ID)
	}
	for _, p := range []string{"plants/" + r.ID + "/" + ep, r.ID + "/" + ep, ep} {
		if !used[p] && r.Path.MatchString(p) && !pathAllowed(nil, r, p) {
			used[p] = true
			return p, nil
		}
	}
	return "", fmt.Errorf("rule %q: no unique plant path matches its path regex %q (examplePath %q)", r.ID, r.Path, r.ExamplePath)
}

// pathAllowed reports whether a path allowlist (the rule's own, or a global
// one aimed at it) may suppress findings of r at p. Plants avoid such paths.
func pathAllowed(cfg *rules.Config, r *rules.Rule, p string) bool {
	check := func(a *rules.Allowlist) bool {
		for _, re := range a.Paths {
			if re.MatchString(p) {
				return true
			}
		}
		return false
	}
	for _, a := range r.Allowlists {
		if check(a) {
			return true
		}
	}
	if cfg != nil {
		for _, a := range cfg.Allowlists {
			if (len(a.TargetRules) == 0 || slices.Contains(a.TargetRules, r.ID)) && check(a) {
				return true
			}
		}
	}
	return false
}

// pathOnly reports whether a background file at p would be a finding by name
// alone (a rule with a path and no regex), or matches a path-limited rule
// whose plant path it could collide with.
func nameFinding(cfg *rules.Config, p string) bool {
	for _, r := range cfg.Rules {
		if r.Path != nil && r.Regex == nil && r.Path.MatchString(p) {
			return true
		}
	}
	return false
}

// layout names background files.
type layout struct {
	g    *gen
	cfg  *rules.Config
	used map[string]bool
}

var serviceNames = strings.Fields(`api web worker billing orders catalog inventory shipping
auth users notify search analytics gateway ledger payments reports media`)

func (l *layout) path(k kind) string {
	g := l.g
	svc := g.pick(serviceNames)
	for try := 0; ; try++ {
		var p string
		switch k {
		case kindGo:
			p = fmt.Sprintf("services/%s/internal/%s/%s.go", svc, g.pick(pkgNames), g.snake())
		case kindPython:
			p = fmt.Sprintf("tools/%s/%s/%s.py", svc, g.word(), g.snake())
		case kindJS:
			p = fmt.Sprintf("web/%s/src/%s/%s.%s", svc, g.word(), g.camel(), g.pick([]string{"js", "ts", "jsx", "tsx"}))
		case kindJava:
			p = fmt.Sprintf("android/%s/src/main/java/com/acme/%s/%s.java", svc, g.word(), g.pascal())
		case kindYAML:
			p = fmt.Sprintf("deploy/%s/%s/%s.yaml", svc, g.pick([]string{"base", "staging", "production"}), g.word())
		case kindSQL:
			p = fmt.Sprintf("services/%s/migrations/%04d_%s.sql", svc, g.n(10000), g.snake())
		case kindLog:
			p = fmt.Sprintf("ops/logs/%s-%s.log", svc, g.date()[:10])
		case kindDoc:
			p = fmt.Sprintf("docs/%s/%s.md", g.word(), g.snake())
			if g.chance(0.2) {
				p = fmt.Sprintf("services/%s/README.md", svc)
			}
		case kindChangelog:
			p = fmt.Sprintf("services/%s/CHANGELOG.md", svc)
		case kindEnvExample:
			p = fmt.Sprintf("services/%s/.env.example", svc)
		case kindData:
			p = fmt.Sprintf("fixtures/%s/%s.json", svc, g.snake())
		case kindBlob:
			p = fmt.Sprintf("assets/%s/%s.%s", svc, g.snake(), g.pick([]string{"json", "b64", "txt"}))
		case kindCert:
			p = fmt.Sprintf("deploy/%s/certs/%s.crt", svc, g.word())
		case kindHTML:
			p = fmt.Sprintf("web/%s/public/%s.html", svc, g.word())
		case kindMinJS:
			p = fmt.Sprintf("web/%s/dist/assets/%s-%s.min.js", svc, g.word(), g.hex(8))
		case kindNpmLock:
			p = fmt.Sprintf("web/%s/package-lock.json", svc)
		case kindYarnLock:
			p = fmt.Sprintf("web/%s/yarn.lock", svc)
		case kindGoSum:
			p = fmt.Sprintf("services/%s/go.sum", svc)
		}
		if try > 0 {
			// Another file of that name exists: move to a sibling dir.
			dir, file := path.Split(p)
			p = fmt.Sprintf("%sv%d/%s", dir, try+1, file)
		}
		if !l.used[p] && !nameFinding(l.cfg, p) {
			l.used[p] = true
			return p
		}
	}
}

// file is one generated background file.
type file struct {
	path string
	kind kind
	data []byte
	// plant: the file holds a plant (and takes no other).
	plant bool
}

// spliceLine inserts text (newline-terminated lines) at a line boundary of
// data chosen by g, surrounded by blank lines, and returns the new data and
// the 1-based line the text starts on.
func spliceLine(g *gen, data []byte, text string) ([]byte, int) {
	nl := bytes.Count(data, []byte{'\n'})
	at := 0 // insert before line at+1
	if nl > 0 {
		at = g.n(nl + 1)
	}
	off := 0
	for i := 0; i < at; i++ {
		off += bytes.IndexByte(data[off:], '\n') + 1
	}
	var b bytes.Buffer
	b.Grow(len(data) + len(text) + 2)
	b.Write(data[:off])
	if off > 0 && data[off-1] != '\n' {
		b.WriteByte('\n')
		at++
	}
	b.WriteString("\n")
	b.WriteString(text)
	b.WriteString("\n")
	b.Write(data[off:])
	return b.Bytes(), at + 2
}

func lineCount(text string) int { return strings.Count(strings.TrimSuffix(text, "\n"), "\n") + 1 }

func config(opts Options) (*rules.Config, error) {
	if opts.Rules != nil {
		return opts.Rules, nil
	}
	return rules.Default()
}

// Generate writes a directory corpus of about opts.Bytes bytes under dir
// (which is created if needed) and plants the first example of every rule.
// It returns the manifest of what it wrote. If a rule cannot be planted the
// rest are still written and the error names the rule.
func Generate(dir string, opts Options) (*Manifest, error) {
	cfg, err := config(opts)
	if err != nil {
		return nil, err
	}
	sds, plantErr := seeds(cfg)
	g := newGen(opts.Seed)
	l := &layout{g: g, cfg: cfg, used: map[string]bool{}}
	for _, s := range sds {
		if s.file != "" {
			l.used[s.file] = true
		}
	}
	m := &Manifest{Seed: opts.Seed, Kinds: map[string]int{}}

	// Background: decide every file first so plants can choose hosts.
	var files []*file
	var total int64
	var buf bytes.Buffer
	// One of every kind first, so even a small corpus has every decoy.
	for total < opts.Bytes || len(files) < int(numKinds) {
		k := g.kind()
		if len(files) < int(numKinds) {
			k = kind(len(files))
		}
		buf.Reset()
		g.write(&buf, k, g.size(k))
		f := &file{path: l.path(k), kind: k, data: slices.Clone(buf.Bytes())}
		files = append(files, f)
		total += int64(len(f.data))
	}

	// Plants: each into its own file, or into a host file of its own.
	hosts := g.r.Perm(len(files))
	next := 0
	for _, s := range sds {
		if s.file != "" {
			files = append(files, &file{path: s.file, kind: kindPlant, data: []byte(s.text), plant: true})
			m.Plants = append(m.Plants, Plant{RuleID: s.rule.ID, Path: s.file, Line: 1, EndLine: lineCount(s.text)})
			continue
		}
		var host *file
		for ; next < len(hosts); next++ {
			f := files[hosts[next]]
			if kindSpecs[f.kind].host && !f.plant && (s.rule.Path == nil || s.rule.Path.MatchString(f.path)) && !pathAllowed(cfg, s.rule, f.path) {
				host = f
				next++
				break
			}
		}
		if host == nil {
			// Not enough hosts in a small corpus: make one.
			buf.Reset()
			g.write(&buf, kindGo, 2<<10)
			host = &file{path: l.path(kindGo), kind: kindGo, data: slices.Clone(buf.Bytes())}
			files = append(files, host)
		}
		var line int
		host.data, line = spliceLine(g, host.data, s.text)
		host.plant = true
		m.Plants = append(m.Plants, Plant{RuleID: s.rule.ID, Path: host.path, Line: line, EndLine: line + lineCount(s.text) - 1})
	}

	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return nil, err
		}
		m.Files++
		m.Bytes += int64(len(f.data))
		m.Kinds[f.kind.String()]++
	}
	return m, plantErr
}
