// Package baseline suppresses findings that are already known: those in a
// previous secretgate JSON report, or listed in a gitleaks-style
// .gitleaksignore file.
package baseline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/internal/scan"
)

// ErrMalformed is wrapped by errors about entries that cannot be read.
var ErrMalformed = errors.New("malformed baseline entry")

// Baseline is a set of known findings. A nil *Baseline knows nothing.
type Baseline struct {
	// fingerprints are secretgate fingerprints: the same secret under the
	// same rule and key, wherever it occurs.
	fingerprints map[string]bool
	// locations are gitleaks fingerprints, keyed by location (see key);
	// each holds the commits it applies to, "" meaning every commit.
	locations map[string][]string
}

func newBaseline() *Baseline {
	return &Baseline{fingerprints: map[string]bool{}, locations: map[string][]string{}}
}

// Load reads a previous secretgate JSON report (an array of objects with a
// "fingerprint" field). A gitleaks JSON report also works: its
// "Fingerprint" field is commit:file:rule-id:line. An empty file is an
// empty baseline.
func Load(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b := newBaseline()
	if len(bytes.TrimSpace(data)) == 0 {
		return b, nil
	}
	var entries []struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: not a secretgate JSON report: %w", path, err)
	}
	for i, e := range entries {
		fp := strings.TrimSpace(e.Fingerprint)
		if fp == "" {
			return nil, fmt.Errorf("%s: finding %d: no fingerprint: %w", path, i+1, ErrMalformed)
		}
		if err := b.add(fp); err != nil {
			return nil, fmt.Errorf("%s: finding %d: %w", path, i+1, err)
		}
	}
	return b, nil
}

// LoadGitleaksIgnore reads a .gitleaksignore file: one entry a line, blank
// lines and lines starting with # ignored. An entry is a gitleaks
// fingerprint, commit:file:rule-id:line or file:rule-id:line (the latter
// for every commit and the working tree), or a secretgate fingerprint
// (64 hex digits).
func LoadGitleaksIgnore(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := newBaseline()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := b.add(line); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Merge returns a baseline that knows everything any of bs knows.
// Nil baselines are skipped.
func Merge(bs ...*Baseline) *Baseline {
	m := newBaseline()
	for _, b := range bs {
		if b == nil {
			continue
		}
		for fp := range b.fingerprints {
			m.fingerprints[fp] = true
		}
		for k, commits := range b.locations {
			m.locations[k] = append(m.locations[k], commits...)
		}
	}
	return m
}

// Len is the number of entries.
func (b *Baseline) Len() int {
	if b == nil {
		return 0
	}
	n := len(b.fingerprints)
	for _, commits := range b.locations {
		n += len(commits)
	}
	return n
}

// Contains reports whether f is already known.
func (b *Baseline) Contains(f scan.Finding) bool {
	if b == nil {
		return false
	}
	if f.Fingerprint != "" && b.fingerprints[strings.ToLower(f.Fingerprint)] {
		return true
	}
	for _, c := range b.locations[key(f.Path, f.RuleID, f.Line)] {
		if c == "" || (f.Commit != "" && strings.HasPrefix(strings.ToLower(f.Commit), c)) {
			return true
		}
	}
	return false
}

// Filter returns the findings not in the baseline, in their order, and how
// many were suppressed.
func (b *Baseline) Filter(findings []scan.Finding) (kept []scan.Finding, suppressed int) {
	if b == nil {
		return findings, 0
	}
	kept = make([]scan.Finding, 0, len(findings))
	for _, f := range findings {
		if b.Contains(f) {
			suppressed++
			continue
		}
		kept = append(kept, f)
	}
	return kept, suppressed
}

// add records one entry: a secretgate fingerprint or a gitleaks one.
func (b *Baseline) add(entry string) error {
	if isFingerprint(entry) {
		b.fingerprints[strings.ToLower(entry)] = true
		return nil
	}
	commit, file, rule, line, err := parseGitleaks(entry)
	if err != nil {
		return err
	}
	k := key(file, rule, line)
	b.locations[k] = append(b.locations[k], commit)
	return nil
}

// parseGitleaks reads commit:file:rule-id:line or file:rule-id:line from
// the right, since a file name may itself contain ':'. What precedes the
// file is taken as a commit only if it is 7 to 40 hex digits (gitleaks
// writes full ids up to 8.25 and 7-digit ones since); commit is then
// lower-cased and matched as a prefix.
func parseGitleaks(entry string) (commit, file, rule string, line int, err error) {
	malformed := func(why string) error {
		// The entry itself is not echoed: a mistaken line may be a secret.
		return fmt.Errorf("%w: %s (want commit:file:rule-id:line, file:rule-id:line or a 64-hex-digit fingerprint)", ErrMalformed, why)
	}
	rest, lineStr, ok := cutLast(entry, ":")
	if !ok {
		return "", "", "", 0, malformed("no ':'")
	}
	line, err = strconv.Atoi(lineStr)
	if err != nil || line < 0 {
		return "", "", "", 0, malformed("the last field is not a line number")
	}
	rest, rule, ok = cutLast(rest, ":")
	if !ok || rule == "" {
		return "", "", "", 0, malformed("no rule id")
	}
	if c, f, ok := strings.Cut(rest, ":"); ok && isHex(c) && len(c) >= 7 && len(c) <= 40 {
		commit, rest = strings.ToLower(c), f
	}
	if rest == "" {
		return "", "", "", 0, malformed("no file")
	}
	return commit, normalizePath(rest), rule, line, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func key(file, rule string, line int) string {
	return normalizePath(file) + "\x00" + rule + "\x00" + strconv.Itoa(line)
}

// normalizePath makes Windows-written entries match: gitleaks does the same.
func normalizePath(p string) string {
	return strings.TrimPrefix(strings.ReplaceAll(p, `\`, "/"), "./")
}

func isFingerprint(s string) bool { return len(s) == 64 && isHex(s) }

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
