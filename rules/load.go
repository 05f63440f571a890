package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/BurntSushi/toml"
)

// The TOML shapes. Field names follow gitleaks so its files load unchanged;
// severity, window and the example fields are secretgate's additions.
type fileConfig struct {
	Title      string          `toml:"title"`
	MinVersion string          `toml:"minVersion"` // gitleaks' own version check; not ours
	Extend     fileExtend      `toml:"extend"`
	Rules      []fileRule      `toml:"rules"`
	Allowlist  *fileAllowlist  `toml:"allowlist"`
	Allowlists []fileAllowlist `toml:"allowlists"`
}

type fileExtend struct {
	Path          string   `toml:"path"`
	URL           string   `toml:"url"`
	UseDefault    bool     `toml:"useDefault"`
	DisabledRules []string `toml:"disabledRules"`
}

type fileRule struct {
	ID               string           `toml:"id"`
	Description      string           `toml:"description"`
	Severity         string           `toml:"severity"`
	Regex            string           `toml:"regex"`
	SecretGroup      int              `toml:"secretGroup"`
	Entropy          float64          `toml:"entropy"`
	Keywords         []string         `toml:"keywords"`
	Path             string           `toml:"path"`
	Tags             []string         `toml:"tags"`
	Allowlist        *fileAllowlist   `toml:"allowlist"`
	Allowlists       []fileAllowlist  `toml:"allowlists"`
	Window           int              `toml:"window"`
	Examples         []string         `toml:"examples"`
	NegativeExamples []string         `toml:"negativeExamples"`
	ExamplePath      string           `toml:"examplePath"`
	SkipReport       bool             `toml:"skipReport"`
	Required         []toml.Primitive `toml:"required"`
}

type fileAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	Regexes     []string `toml:"regexes"`
	RegexTarget string   `toml:"regexTarget"`
	StopWords   []string `toml:"stopwords"`
	TargetRules []string `toml:"targetRules"`
}

// ErrInvalid is wrapped by every error about the content of a rule file.
var ErrInvalid = errors.New("invalid rule file")

// fileError places a problem in a file, at a line and rule where known.
type fileError struct {
	file string
	line int
	rule string
	err  error
}

func (e *fileError) Error() string {
	var b strings.Builder
	b.WriteString(e.file)
	if e.line > 0 {
		fmt.Fprintf(&b, ":%d", e.line)
	}
	if e.rule != "" {
		fmt.Fprintf(&b, ": rule %q", e.rule)
	}
	b.WriteString(": ")
	b.WriteString(e.err.Error())
	return b.String()
}

func (e *fileError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// Load reads a rule file, following its [extend] section.
func Load(path string) (*Config, error) {
	return load(path, 0)
}

const maxExtendDepth = 8

func load(path string, depth int) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	return parse(path, data, depth)
}

// Parse reads rule-file text. name appears in error messages and anchors a
// relative [extend] path.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, 0)
}

func parse(name string, data []byte, depth int) (*Config, error) {
	var fc fileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &fileError{file: name, line: perr.Position.Line, err: errors.New(quiet(perr.Message))}
		}
		return nil, &fileError{file: name, err: err}
	}
	idx := indexLines(data)
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		for _, k := range undecoded {
			// Keys under [[rules.required]] (gitleaks composite rules) are read later.
			if len(k) >= 2 && k[0] == "rules" && k[1] == "required" {
				continue
			}
			return nil, &fileError{file: name, line: idx.keyLine(k), err: fmt.Errorf("unknown key %q", k.String())}
		}
	}

	cfg := &Config{Title: fc.Title}
	if fc.Extend.URL != "" {
		return nil, &fileError{file: name, err: errors.New("[extend] url is not supported: download the file and use path")}
	}
	if fc.Extend.UseDefault || fc.Extend.Path != "" {
		if depth >= maxExtendDepth {
			return nil, &fileError{file: name, err: errors.New("[extend] nests too deep (a cycle?)")}
		}
		var base *Config
		if fc.Extend.UseDefault {
			base, err = Default()
		} else {
			p := fc.Extend.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(name), p)
			}
			base, err = load(p, depth+1)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: [extend]: %w", name, err)
		}
		disabled := make(map[string]bool, len(fc.Extend.DisabledRules))
		for _, id := range fc.Extend.DisabledRules {
			disabled[id] = true
		}
		for _, r := range base.Rules {
			if !disabled[r.ID] {
				cfg.Rules = append(cfg.Rules, r)
			}
		}
		cfg.Allowlists = append(cfg.Allowlists, base.Allowlists...)
	}

	seen := make(map[string]int)
	for i := range fc.Rules {
		fr := &fc.Rules[i]
		line := idx.ruleLine(i)
		if fr.ID == "" {
			return nil, &fileError{file: name, line: line, err: errors.New("rule has no id")}
		}
		if prev, dup := seen[fr.ID]; dup {
			return nil, &fileError{file: name, line: line, rule: fr.ID, err: fmt.Errorf("duplicate id (first defined on line %d)", prev)}
		}
		seen[fr.ID] = line
		r, err := compileRule(fr, name, line, idx)
		if err != nil {
			return nil, err
		}
		if i := cfg.index(r.ID); i >= 0 {
			// Base rules are shared (Default is cached): replace, never modify.
			cfg.Rules[i] = mergeRule(cfg.Rules[i], r, fr)
			continue
		}
		if r.Regex == nil && r.Path == nil {
			return nil, &fileError{file: name, line: line, rule: r.ID, err: errors.New("rule needs a regex, a path, or both")}
		}
		cfg.Rules = append(cfg.Rules, r)
	}

	globals := fc.Allowlists
	if fc.Allowlist != nil {
		globals = append([]fileAllowlist{*fc.Allowlist}, globals...)
	}
	for _, fa := range globals {
		a, err := compileAllowlist(&fa)
		if err != nil {
			return nil, &fileError{file: name, line: idx.find("allowlist", 0), err: fmt.Errorf("global allowlist: %w", err)}
		}
		cfg.Allowlists = append(cfg.Allowlists, a)
	}
	return cfg, nil
}

// compileRegex compiles a pattern. Its error says what is wrong but not
// where in the text: patterns (allowlists especially) may hold literal
// secrets, and errors end up in terminals and CI logs.
func compileRegex(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	var serr *syntax.Error
	if errors.As(err, &serr) {
		return nil, errors.New(string(serr.Code))
	}
	return re, err
}

var quoted = regexp.MustCompile(`"[^"]{3,}"|'[^']{3,}'`)

// quiet removes quoted source text from a TOML parser message, for the
// same reason.
func quiet(msg string) string {
	return quoted.ReplaceAllString(msg, `"…"`)
}

// mergeRule applies a child file's rule over a base rule of the same id, as
// gitleaks does: set fields override, keywords, tags and allowlists add up.
func mergeRule(base, child *Rule, fr *fileRule) *Rule {
	m := *base
	if fr.Description != "" {
		m.Description = child.Description
	}
	if fr.Severity != "" {
		m.Severity = child.Severity
	}
	if child.Regex != nil {
		m.Regex = child.Regex
	}
	if fr.SecretGroup != 0 {
		m.SecretGroup = child.SecretGroup
	}
	if fr.Entropy != 0 {
		m.Entropy = child.Entropy
	}
	if child.Path != nil {
		m.Path = child.Path
	}
	if fr.Window != 0 {
		m.Window = child.Window
	}
	m.Keywords = append(append([]string(nil), base.Keywords...), child.Keywords...)
	m.Tags = append(append([]string(nil), base.Tags...), child.Tags...)
	m.Allowlists = append(append([]*Allowlist(nil), base.Allowlists...), child.Allowlists...)
	m.File, m.Line = child.File, child.Line
	return &m
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

func compileRule(fr *fileRule, file string, line int, idx lineIndex) (*Rule, error) {
	fail := func(key string, err error) error {
		l := line
		if key != "" {
			l = idx.find(key, line)
		}
		return &fileError{file: file, line: l, rule: fr.ID, err: err}
	}
	if !idPattern.MatchString(fr.ID) {
		return nil, fail("id", fmt.Errorf("id must be letters, digits, '-', '_', '.' or ':'"))
	}
	sev, err := ParseSeverity(fr.Severity)
	if err != nil {
		return nil, fail("severity", err)
	}
	r := &Rule{
		ID:               fr.ID,
		Description:      fr.Description,
		Severity:         sev,
		SecretGroup:      fr.SecretGroup,
		Entropy:          fr.Entropy,
		Tags:             fr.Tags,
		Window:           fr.Window,
		Examples:         fr.Examples,
		NegativeExamples: fr.NegativeExamples,
		ExamplePath:      fr.ExamplePath,
		File:             file,
		Line:             line,
	}
	for _, k := range fr.Keywords {
		if k = strings.ToLower(k); k != "" {
			r.Keywords = append(r.Keywords, k)
		}
	}
	if fr.Regex != "" {
		if r.Regex, err = compileRegex(fr.Regex); err != nil {
			return nil, fail("regex", fmt.Errorf("invalid regex: %w", err))
		}
		if r.Regex.MatchString("") {
			return nil, fail("regex", errors.New("regex matches the empty string: every position would be a finding"))
		}
		if fr.SecretGroup < 0 || fr.SecretGroup > r.Regex.NumSubexp() {
			return nil, fail("secretGroup", fmt.Errorf("secretGroup %d but the regex has %d groups", fr.SecretGroup, r.Regex.NumSubexp()))
		}
	}
	if fr.Path != "" {
		if r.Path, err = compileRegex(fr.Path); err != nil {
			return nil, fail("path", fmt.Errorf("invalid path regex: %w", err))
		}
	}
	if fr.Entropy < 0 || fr.Entropy > 8 {
		return nil, fail("entropy", fmt.Errorf("entropy %v out of range 0-8", fr.Entropy))
	}
	if fr.Window < 0 {
		return nil, fail("window", fmt.Errorf("window %d must not be negative", fr.Window))
	}
	if len(fr.Required) > 0 {
		return nil, fail("required", errors.New("composite rules ([[rules.required]]) are not supported yet"))
	}
	lists := fr.Allowlists
	if fr.Allowlist != nil {
		lists = append([]fileAllowlist{*fr.Allowlist}, lists...)
	}
	for i := range lists {
		a, err := compileAllowlist(&lists[i])
		if err != nil {
			return nil, fail("allowlist", err)
		}
		if len(a.TargetRules) > 0 {
			return nil, fail("targetRules", errors.New("targetRules belongs in a global [[allowlists]]"))
		}
		r.Allowlists = append(r.Allowlists, a)
	}
	return r, nil
}

func compileAllowlist(fa *fileAllowlist) (*Allowlist, error) {
	a := &Allowlist{
		Description: fa.Description,
		Commits:     fa.Commits,
		TargetRules: fa.TargetRules,
	}
	switch strings.ToUpper(fa.Condition) {
	case "", "OR":
		a.Condition = Or
	case "AND":
		a.Condition = And
	default:
		return nil, fmt.Errorf("allowlist condition %q: want OR or AND", fa.Condition)
	}
	switch fa.RegexTarget {
	case "", "secret", "match", "line":
		a.RegexTarget = fa.RegexTarget
		if a.RegexTarget == "" {
			a.RegexTarget = "secret"
		}
	default:
		return nil, fmt.Errorf("allowlist regexTarget %q: want secret, match or line", fa.RegexTarget)
	}
	for i, p := range fa.Paths {
		re, err := compileRegex(p)
		if err != nil {
			return nil, fmt.Errorf("allowlist paths[%d]: %w", i, err)
		}
		a.Paths = append(a.Paths, re)
	}
	for i, p := range fa.Regexes {
		re, err := compileRegex(p)
		if err != nil {
			return nil, fmt.Errorf("allowlist regexes[%d]: %w", i, err)
		}
		a.Regexes = append(a.Regexes, re)
	}
	for _, w := range fa.StopWords {
		if w = strings.ToLower(w); w != "" {
			a.StopWords = append(a.StopWords, w)
		}
	}
	if len(a.Commits)+len(a.Paths)+len(a.Regexes)+len(a.StopWords) == 0 {
		return nil, errors.New("allowlist has no commits, paths, regexes or stopwords")
	}
	return a, nil
}

// lineIndex finds where things are in the raw file, because the TOML decoder
// does not report positions for decoded values.
type lineIndex struct {
	lines [][]byte
	rules []int // 1-based line of each [[rules]] header
}

func indexLines(data []byte) lineIndex {
	idx := lineIndex{lines: bytes.Split(data, []byte("\n"))}
	for i, l := range idx.lines {
		t := bytes.ReplaceAll(bytes.TrimSpace(l), []byte(" "), nil)
		if bytes.Equal(t, []byte("[[rules]]")) {
			idx.rules = append(idx.rules, i+1)
		}
	}
	return idx
}

func (idx lineIndex) ruleLine(i int) int {
	if i < len(idx.rules) {
		return idx.rules[i]
	}
	return 0
}

// find returns the first line at or after from (1-based) that assigns key or
// opens a table named with it, stopping at the next [[rules]]; else from.
func (idx lineIndex) find(key string, from int) int {
	start := from
	if start < 1 {
		start = 1
	}
	for i := start - 1; i < len(idx.lines); i++ {
		t := bytes.TrimSpace(idx.lines[i])
		if i+1 > start && bytes.Equal(bytes.ReplaceAll(t, []byte(" "), nil), []byte("[[rules]]")) {
			break
		}
		if bytes.HasPrefix(t, []byte(key)) {
			rest := bytes.TrimSpace(t[len(key):])
			if len(rest) > 0 && rest[0] == '=' {
				return i + 1
			}
		}
		if bytes.HasPrefix(t, []byte("[")) && bytes.Contains(t, []byte(key)) {
			return i + 1
		}
	}
	return from
}

// keyLine places an undecoded key such as rules.regx: the rule it is in, if
// it is one, then the key itself.
func (idx lineIndex) keyLine(k toml.Key) int {
	last := k[len(k)-1]
	if k[0] == "rules" {
		// Undecoded keys do not say which rule; search every rule block.
		for _, start := range idx.rules {
			if l := idx.find(last, start); l != start {
				return l
			}
		}
	}
	return idx.find(last, 0)
}
