package scan

import (
	"bytes"
	"math"
	"slices"
	"strings"

	"github.com/secretgate/secretgate/rules"
)

var inlineAllow = [][]byte{[]byte("secretgate:allow"), []byte("gitleaks:allow")}

// filter drops candidates that fail entropy, are allowlisted, are marked
// inline as allowed, or duplicate a more specific rule's find.
func (s *Scanner) filter(cands []candidate, text []byte, f *Fragment) []candidate {
	kept := cands[:0]
	for _, c := range cands {
		if c.rule.Regex != nil {
			c.entropy = entropy(c.secret(text))
			if c.rule.Entropy > 0 && c.entropy < c.rule.Entropy {
				continue
			}
		}
		if !s.opts.IgnoreInlineAllow && c.rule.Regex != nil {
			ls, le := lineBounds(text, c.matchStart, c.matchEnd)
			if containsAny(text[ls:le], inlineAllow) {
				continue
			}
		}
		if allowed(c.rule.allowlists, &c, text, f) {
			continue
		}
		kept = append(kept, c)
	}
	return dedupe(kept)
}

// dedupe keeps one candidate per secret span: a specific rule beats a
// generic one that overlaps it, and of two rules on the same span the more
// severe (then the earlier defined) wins.
func dedupe(cands []candidate) []candidate {
	if len(cands) < 2 {
		return cands
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return a.end - b.end
		}
		if a.rule.Severity != b.rule.Severity {
			return int(b.rule.Severity) - int(a.rule.Severity)
		}
		return a.rule.order - b.rule.order
	})
	// Specific spans sorted by start, with the running maximum of their ends:
	// a generic candidate overlaps one iff some specific span starting before
	// its end ends after its start.
	var starts, maxEnds []int
	for _, c := range cands {
		if !c.rule.generic && c.rule.Regex != nil {
			e := c.end
			if n := len(maxEnds); n > 0 {
				e = max(e, maxEnds[n-1])
			}
			starts = append(starts, c.start)
			maxEnds = append(maxEnds, e)
		}
	}
	out := cands[:0]
	for _, c := range cands {
		if c.rule.generic && c.rule.Regex != nil {
			i, _ := slices.BinarySearch(starts, c.end)
			if i > 0 && maxEnds[i-1] > c.start {
				continue
			}
		}
		if n := len(out); n > 0 && out[n-1].rule.generic == c.rule.generic && out[n-1].start == c.start && out[n-1].end == c.end && c.rule.Regex != nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

func allowed(lists []*rules.Allowlist, c *candidate, text []byte, f *Fragment) bool {
	for _, a := range lists {
		if allowlistMatches(a, c, text, f) {
			return true
		}
	}
	return false
}

func allowlistMatches(a *rules.Allowlist, c *candidate, text []byte, f *Fragment) bool {
	type check struct {
		set bool
		hit func() bool
	}
	checks := []check{
		{len(a.Commits) > 0, func() bool { return f.Commit != "" && slices.Contains(a.Commits, f.Commit) }},
		{len(a.Paths) > 0, func() bool {
			for _, re := range a.Paths {
				if f.Path != "" && re.MatchString(f.Path) {
					return true
				}
			}
			return false
		}},
		{len(a.Regexes) > 0, func() bool {
			target := c.secret(text)
			switch a.RegexTarget {
			case "match":
				target = text[c.matchStart:c.matchEnd]
			case "line":
				ls, le := lineBounds(text, c.matchStart, c.matchEnd)
				target = text[ls:le]
			}
			for _, re := range a.Regexes {
				if re.Match(target) {
					return true
				}
			}
			return false
		}},
		{len(a.StopWords) > 0, func() bool {
			lower := strings.ToLower(string(c.secret(text)))
			for _, w := range a.StopWords {
				if strings.Contains(lower, w) {
					return true
				}
			}
			return false
		}},
	}
	any := false
	for _, ch := range checks {
		if !ch.set {
			continue
		}
		any = true
		hit := ch.hit()
		if a.Condition == rules.Or && hit {
			return true
		}
		if a.Condition == rules.And && !hit {
			return false
		}
	}
	return any && a.Condition == rules.And
}

// lineBounds widens [start, end) to whole lines.
func lineBounds(text []byte, start, end int) (int, int) {
	ls := bytes.LastIndexByte(text[:start], '\n') + 1
	le := len(text)
	if i := bytes.IndexByte(text[end:], '\n'); i >= 0 {
		le = end + i
	}
	return ls, le
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	var h float64
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
