// Package scan finds secrets in fragments of text using a rule set.
//
// A Scanner is compiled once. Scanning a fragment makes one pass over its
// bytes with a keyword automaton; only rules whose keywords occur run their
// regular expressions, and only on windows around the keyword hits. Go's RE2
// engine keeps every regex linear in the window size, so hostile input cannot
// stall a scan.
package scan

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/secretgate/secretgate/rules"
)

// Options configure a Scanner. They are fixed at construction.
type Options struct {
	// FingerprintKey keys the HMAC that fingerprints secrets. Findings of the
	// same secret under the same key and rule have the same fingerprint.
	FingerprintKey []byte
	// MaxBytes skips fragments larger than this (0 = no limit).
	MaxBytes int
	// IgnoreInlineAllow disables `secretgate:allow` / `gitleaks:allow`.
	IgnoreInlineAllow bool
}

// Result is what scanning one fragment produced.
type Result struct {
	Findings []Finding
	Binary   bool // skipped: binary content
	TooLarge bool // skipped: over MaxBytes
	Bytes    int  // bytes scanned
}

type rule struct {
	*rules.Rule
	window     int
	allowlists []*rules.Allowlist // the rule's own, then the global ones aimed at it
	generic    bool               // loses to a specific rule on the same text
	order      int                // definition order: breaks ties between rules
	// at0/at1 are set for keyword-anchored rules (see anchor.go). They are
	// worked out on the rule's first keyword hit: a gate that scans a
	// one-commit push should not pay for rules that never come up.
	prepare  sync.Once
	at0, at1 *regexp.Regexp
}

// anchored reports whether the rule runs anchored at its keyword hits,
// preparing it on first use.
func (r *rule) anchored() bool {
	r.prepare.Do(func() { r.at0, r.at1, _ = anchoredRegexes(r.Regex, r.Keywords) })
	return r.at0 != nil
}

// Scanner is compiled once from a rule set and is safe for concurrent use.
type Scanner struct {
	opts     Options
	rules    []*rule
	keywords *keywordMatcher
	byKW     [][]int32 // keyword id -> rule indexes
	always   []int32   // rules without keywords: run on every fragment their path allows
	// alwaysPaths matches any path an always-rule accepts (nil when some
	// always-rule has no path): one regex test rules most files out.
	alwaysPaths *regexp.Regexp
	// skipPaths are global allowlist paths that suppress every rule: a
	// fragment under one is not scanned at all.
	skipPaths []*regexp.Regexp
	scratch   sync.Pool
}

// New compiles a scanner for cfg.
func New(cfg *rules.Config, opts Options) (*Scanner, error) {
	s := &Scanner{opts: opts}
	kwIndex := map[string]int32{}
	var kws []string
	for _, a := range cfg.Allowlists {
		if len(a.TargetRules) == 0 && onlyPaths(a) {
			s.skipPaths = append(s.skipPaths, a.Paths...)
		}
	}
	for _, r := range cfg.Rules {
		cr := &rule{Rule: r, window: r.Window, allowlists: slices.Clone(r.Allowlists), order: len(s.rules)}
		// gitleaks' catch-all has no tag to say so, only its id.
		cr.generic = slices.Contains(r.Tags, "generic") || r.ID == "generic-api-key"
		for _, a := range cfg.Allowlists {
			if len(a.TargetRules) == 0 && onlyPaths(a) {
				continue // handled by skipPaths
			}
			if len(a.TargetRules) == 0 || slices.Contains(a.TargetRules, r.ID) {
				cr.allowlists = append(cr.allowlists, a)
			}
		}
		idx := int32(len(s.rules))
		s.rules = append(s.rules, cr)
		if len(r.Keywords) == 0 {
			s.always = append(s.always, idx)
			continue
		}
		for _, k := range r.Keywords {
			id, ok := kwIndex[k]
			if !ok {
				id = int32(len(kws))
				kwIndex[k] = id
				kws = append(kws, k)
				s.byKW = append(s.byKW, nil)
			}
			if !slices.Contains(s.byKW[id], idx) {
				s.byKW[id] = append(s.byKW[id], idx)
			}
		}
	}
	s.keywords = newKeywordMatcher(kws)
	if err := s.compileAlwaysPaths(); err != nil {
		return nil, err
	}
	s.scratch.New = func() any { return newScratch(len(s.rules)) }
	return s, nil
}

// CommitSensitive reports whether findings can depend on the fragment's
// commit (some allowlist names commits), so sources that reuse results for
// identical changes know to keep them per commit.
func (s *Scanner) CommitSensitive() bool {
	for _, r := range s.rules {
		for _, a := range r.allowlists {
			if len(a.Commits) > 0 {
				return true
			}
		}
	}
	return false
}

func (s *Scanner) compileAlwaysPaths() error {
	var alts []string
	for _, ri := range s.always {
		p := s.rules[ri].Path
		if p == nil {
			return nil
		}
		alts = append(alts, "(?:"+p.String()+")")
	}
	if len(alts) == 0 {
		return nil
	}
	re, err := regexp.Compile(strings.Join(alts, "|"))
	if err != nil {
		return fmt.Errorf("scan: combining rule paths: %w", err)
	}
	s.alwaysPaths = re
	return nil
}

func onlyPaths(a *rules.Allowlist) bool {
	return len(a.Paths) > 0 && len(a.Commits)+len(a.Regexes)+len(a.StopWords) == 0
}

// span is a half-open byte range of the text.
type span struct{ start, end int }

// scratch is per-scan working memory, pooled.
type scratch struct {
	spans   [][]span // rule index -> windows to search
	touched []int32  // rules with windows
	pathOK  []int8   // rule index -> 0 unknown, 1 path matches, -1 not
}

func newScratch(n int) *scratch {
	return &scratch{spans: make([][]span, n), pathOK: make([]int8, n)}
}

func (sc *scratch) reset() {
	for _, i := range sc.touched {
		sc.spans[i] = sc.spans[i][:0]
	}
	sc.touched = sc.touched[:0]
	clear(sc.pathOK)
}

// Scan scans one fragment.
func (s *Scanner) Scan(f Fragment) Result {
	if s.opts.MaxBytes > 0 && len(f.Text) > s.opts.MaxBytes {
		return Result{TooLarge: true}
	}
	text, ok := decode(f.Text)
	if !ok {
		return Result{Binary: true}
	}
	res := Result{Bytes: len(f.Text)}
	for _, re := range s.skipPaths {
		if f.Path != "" && re.MatchString(f.Path) {
			return res
		}
	}

	sc := s.scratch.Get().(*scratch)
	defer func() { sc.reset(); s.scratch.Put(sc) }()

	s.keywords.find(text, func(id int32, end int) {
		kwLen := len(s.keywords.keywords[id])
		for _, ri := range s.byKW[id] {
			r := s.rules[ri]
			if !s.pathAllows(sc, ri, f.Path) {
				continue
			}
			w := span{0, len(text)} // window 0: the whole fragment
			if r.window > 0 {
				w = span{max(0, end-kwLen-r.window), min(len(text), end+r.window)}
			}
			anchored := r.anchored()
			if anchored { // keep each hit's start
				w = span{end - kwLen, w.end}
			}
			sp := sc.spans[ri]
			if n := len(sp); n > 0 && !anchored && w.start <= sp[n-1].end {
				sp[n-1].end = max(sp[n-1].end, w.end)
				continue
			}
			if len(sp) == 0 {
				sc.touched = append(sc.touched, ri)
			}
			sc.spans[ri] = append(sp, w)
		}
	})
	for _, ri := range s.always {
		if s.alwaysPaths != nil && !s.alwaysPaths.MatchString(f.Path) {
			break
		}
		if s.pathAllows(sc, ri, f.Path) {
			sc.touched = append(sc.touched, ri)
			sc.spans[ri] = append(sc.spans[ri][:0], span{0, len(text)})
		}
	}
	if len(sc.touched) == 0 {
		return res
	}

	var cands []candidate
	for _, ri := range sc.touched {
		cands = s.runRule(cands, s.rules[ri], text, sc.spans[ri])
	}
	cands = s.filter(cands, text, &f)
	res.Findings = s.findings(cands, text, &f)
	return res
}

func (s *Scanner) pathAllows(sc *scratch, ri int32, path string) bool {
	re := s.rules[ri].Path
	if re == nil {
		return true
	}
	switch sc.pathOK[ri] {
	case 1:
		return true
	case -1:
		return false
	}
	ok := path != "" && re.MatchString(path)
	sc.pathOK[ri] = -1
	if ok {
		sc.pathOK[ri] = 1
	}
	return ok
}

// candidate is a regex match before filtering. Offsets index the text.
type candidate struct {
	rule                 *rule
	start, end           int // the secret
	matchStart, matchEnd int // the whole match
	entropy              float64
}

func (c *candidate) secret(text []byte) []byte { return text[c.start:c.end] }

// runRule runs one rule's regex over its windows.
func (s *Scanner) runRule(cands []candidate, r *rule, text []byte, spans []span) []candidate {
	if r.Regex == nil { // path-only rule: the file itself is the finding
		return append(cands, candidate{rule: r, start: 0, end: 0})
	}
	if r.anchored() {
		return s.runAnchored(cands, r, text, spans)
	}
	for i := 0; i < len(spans); i++ {
		start, end := widen(text, spans[i].start, spans[i].end)
		// Merge windows that widened into the next ones, so no match is cut.
		for i+1 < len(spans) {
			ns, ne := widen(text, spans[i+1].start, spans[i+1].end)
			if ns > end {
				break
			}
			end = max(end, ne)
			i++
		}
		for _, m := range r.Regex.FindAllSubmatchIndex(text[start:end], -1) {
			ss, se := secretBounds(m, r.SecretGroup)
			if ss < 0 || ss == se {
				continue
			}
			cands = append(cands, candidate{
				rule:       r,
				start:      start + ss,
				end:        start + se,
				matchStart: start + m[0],
				matchEnd:   start + m[1],
			})
		}
	}
	return cands
}

// runAnchored runs a keyword-anchored rule at each keyword hit. Hits are
// sorted by start; a hit inside the previous match is skipped, as an
// unanchored search would resume after that match.
func (s *Scanner) runAnchored(cands []candidate, r *rule, text []byte, hits []span) []candidate {
	slices.SortFunc(hits, func(a, b span) int { return a.start - b.start })
	matchEnd := 0
	for i, h := range hits {
		if h.start < matchEnd || i > 0 && h.start == hits[i-1].start {
			continue
		}
		// No need to seek a token boundary: an anchored match ends where it
		// ends, and the bound only stops a runaway.
		end := min(len(text), h.end+maxWiden)
		var m []int
		base := h.start
		if h.start == 0 {
			m = r.at0.FindSubmatchIndex(text[:end])
		} else {
			base = h.start - 1 // at1 consumes the preceding character first
			if m = r.at1.FindSubmatchIndex(text[base:end]); m != nil {
				m[0]++
			}
		}
		if m == nil {
			continue
		}
		ss, se := secretBounds(m, r.SecretGroup)
		if ss < 0 || ss == se {
			continue
		}
		matchEnd = base + m[1]
		cands = append(cands, candidate{
			rule:       r,
			start:      base + ss,
			end:        base + se,
			matchStart: base + m[0],
			matchEnd:   matchEnd,
		})
	}
	return cands
}

// secretBounds picks the secret out of a match: the configured group, else
// the first group that matched, else the whole match.
func secretBounds(m []int, group int) (int, int) {
	if group > 0 {
		return m[2*group], m[2*group+1]
	}
	for g := 1; 2*g+1 < len(m); g++ {
		if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
			return m[2*g], m[2*g+1]
		}
	}
	return m[0], m[1]
}

// maxWiden is how far a window may grow to reach a line boundary; past it,
// in minified files, the window stops at the nearest token delimiter.
const maxWiden = 1024

// widen moves a window's edges to line boundaries, or on very long lines to
// a delimiter, so a regex never sees half a token at an edge.
func widen(text []byte, start, end int) (int, int) {
	if start > 0 {
		lo := max(0, start-maxWiden)
		if i := bytes.LastIndexByte(text[lo:start], '\n'); i >= 0 {
			start = lo + i + 1
		} else if lo == 0 {
			start = 0
		} else if i := lastDelimiter(text[lo:start]); i >= 0 {
			start = lo + i + 1
		}
	}
	return start, widenEnd(text, end)
}

func widenEnd(text []byte, end int) int {
	if end < len(text) {
		hi := min(len(text), end+maxWiden)
		if i := bytes.IndexByte(text[end:hi], '\n'); i >= 0 {
			end += i
		} else if hi == len(text) {
			end = hi
		} else if i := firstDelimiter(text[end:hi]); i >= 0 {
			end += i
		}
	}
	return end
}

func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '"', '\'', '`', ',', ';', '<', '>', '(', ')', '[', ']', '{', '}':
		return true
	}
	return false
}

func lastDelimiter(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if isDelimiter(b[i]) {
			return i
		}
	}
	return -1
}

func firstDelimiter(b []byte) int {
	for i, c := range b {
		if isDelimiter(c) {
			return i
		}
	}
	return -1
}
