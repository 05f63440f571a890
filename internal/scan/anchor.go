package scan

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// A rule is keyword-anchored when every match of its regex must begin with
// one of its keywords. Then the regex need not search a window: it is run
// anchored at each keyword occurrence, which stops within a few bytes where
// nothing matches. On the generic assignment rules this is hundreds of times
// faster than an unanchored search, and it finds exactly the same matches.

// maxPrefixes bounds the expansion of a regex's possible leading strings.
const maxPrefixes = 256

// anchoredRegexes returns the regex compiled to match only at the start of
// its input (at0), and a variant that first consumes one character (at1),
// run from the byte before a hit so that a leading \b or (?m)^ sees the
// real preceding character. ok is false when the rule is not anchorable.
func anchoredRegexes(re *regexp.Regexp, keywords []string) (at0, at1 *regexp.Regexp, ok bool) {
	if re == nil || len(keywords) == 0 {
		return nil, nil, false
	}
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, nil, false
	}
	l := prefixes(parsed.Simplify())
	if len(l.strs) == 0 {
		return nil, nil, false
	}
	for _, p := range l.strs {
		if !slices.ContainsFunc(keywords, func(k string) bool { return strings.HasPrefix(p, k) }) {
			return nil, nil, false
		}
	}
	at0, err0 := regexp.Compile(`^(?:` + re.String() + `)`)
	at1, err1 := regexp.Compile(`^(?s:.)(?:` + re.String() + `)`)
	if err0 != nil || err1 != nil {
		return nil, nil, false
	}
	return at0, at1, true
}

// lang is a finite set of lower-cased strings that every match of a regex
// starts with. complete means the strings are the whole matches, so what
// follows in a concatenation can be appended.
type lang struct {
	strs     []string
	complete bool
}

var unknown = lang{strs: []string{""}}

func prefixes(re *syntax.Regexp) lang {
	switch re.Op {
	case syntax.OpLiteral:
		// Lower-cased whatever the regex's case flag: keywords are matched
		// without regard to case, so a hit occurs either way.
		return lang{strs: []string{strings.ToLower(string(re.Rune))}, complete: true}
	case syntax.OpCharClass:
		var strs []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(strs) >= 16 {
					return unknown
				}
				strs = append(strs, strings.ToLower(string(r)))
			}
		}
		slices.Sort(strs)
		return lang{strs: slices.Compact(strs), complete: true}
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		// Zero-width: the at1 form gives them their real context.
		return lang{strs: []string{""}, complete: true}
	case syntax.OpQuest:
		l := prefixes(re.Sub[0])
		return lang{strs: append(slices.Clone(l.strs), ""), complete: l.complete}
	case syntax.OpAlternate:
		var out lang
		out.complete = true
		for _, sub := range re.Sub {
			l := prefixes(sub)
			out.strs = append(out.strs, l.strs...)
			out.complete = out.complete && l.complete
			if len(out.strs) > maxPrefixes {
				return unknown
			}
		}
		return out
	case syntax.OpConcat:
		acc := lang{strs: []string{""}, complete: true}
		for _, sub := range re.Sub {
			if !acc.complete {
				break
			}
			l := prefixes(sub)
			if len(acc.strs)*len(l.strs) > maxPrefixes {
				acc.complete = false // keep what we know: still true prefixes
				break
			}
			var next []string
			for _, a := range acc.strs {
				for _, b := range l.strs {
					next = append(next, a+b)
				}
			}
			acc = lang{strs: next, complete: l.complete}
		}
		return acc
	}
	return unknown
}
