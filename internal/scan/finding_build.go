package scan

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// findings turns filtered candidates into findings with positions, previews
// and fingerprints. Candidates are in text order (dedupe sorted them).
func (s *Scanner) findings(cands []candidate, text []byte, f *Fragment) []Finding {
	if len(cands) == 0 {
		return nil
	}
	out := make([]Finding, 0, len(cands))
	// Count newlines incrementally: candidates are sorted by offset.
	line, lineStart, pos := 0, 0, 0
	advance := func(off int) {
		for {
			i := bytes.IndexByte(text[pos:off], '\n')
			if i < 0 {
				break
			}
			line++
			pos += i + 1
			lineStart = pos
		}
		pos = off
	}
	for _, c := range cands {
		r := c.rule
		fd := Finding{
			RuleID:      r.ID,
			Description: r.Description,
			Severity:    r.Severity,
			Tags:        r.Tags,
			Origin:      f.Origin,
		}
		if r.Regex == nil {
			fd.Line, fd.Column, fd.EndLine, fd.EndColumn = s.fileLine(f, 0), 1, s.fileLine(f, 0), 1
			fd.Redacted = "(file " + f.Path + ")"
			fd.Fingerprint = Fingerprint(s.opts.FingerprintKey, r.ID, f.Path)
			out = append(out, fd)
			continue
		}
		if c.start < pos {
			line, lineStart, pos = 0, 0, 0 // not sorted (should not happen): recount
		}
		advance(c.start)
		fd.Line = s.fileLine(f, line)
		fd.Column = utf8.RuneCount(text[lineStart:c.start]) + 1
		advance(c.end)
		fd.EndLine = s.fileLine(f, line)
		fd.EndColumn = utf8.RuneCount(text[lineStart:c.end]) + 1
		secret := c.secret(text)
		fd.Entropy = c.entropy
		fd.Redacted = preview(text[c.matchStart:c.start], secret, text[c.end:c.matchEnd])
		fd.Fingerprint = Fingerprint(s.opts.FingerprintKey, r.ID, string(secret))
		out = append(out, fd)
	}
	return out
}

// fileLine maps a 0-based line of the fragment text to the file's line.
func (s *Scanner) fileLine(f *Fragment, i int) int {
	if i < len(f.Lines) {
		return f.Lines[i]
	}
	if len(f.Lines) > 0 { // past the map: count on from its end
		return f.Lines[len(f.Lines)-1] + i - len(f.Lines) + 1
	}
	start := f.StartLine
	if start == 0 {
		start = 1
	}
	return start + i
}

// Fingerprint identifies a secret found by a rule without revealing it: the
// HMAC-SHA256 of the rule id and the secret under the installation's key.
func Fingerprint(key []byte, ruleID, secret string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ruleID))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

// Redact masks a secret for display. Long secrets keep their first four
// characters, which name their kind (AKIA, ghp_, sk_l…) without helping
// anyone use them; the rest becomes a fixed run of stars that hides the length.
func Redact(secret []byte) string {
	keep := 0
	if utf8.RuneCount(secret) >= 16 {
		keep = 4
	}
	var b strings.Builder
	for i, n := 0, 0; n < keep && i < len(secret); n++ {
		r, size := utf8.DecodeRune(secret[i:])
		if r == '\n' || r == '\r' {
			break
		}
		b.WriteRune(r)
		i += size
	}
	b.WriteString("********")
	return b.String()
}

const maxContext = 40

// preview shows the match with its secret redacted, on one line, with at
// most maxContext characters of context on each side.
func preview(before, secret, after []byte) string {
	b := oneLine(string(before))
	if n := utf8.RuneCountInString(b); n > maxContext {
		b = "…" + string([]rune(b)[n-maxContext:])
	}
	a := oneLine(string(after))
	if n := utf8.RuneCountInString(a); n > maxContext {
		a = string([]rune(a)[:maxContext]) + "…"
	}
	return b + Redact(secret) + a
}

// oneLine collapses whitespace runs (newlines included) to single spaces,
// keeping one at either edge where there was some, so a PEM block previews
// as "-----BEGIN … KEY----- MIIE******** -----END … KEY-----".
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	out := strings.Join(strings.Fields(s), " ")
	if out == "" {
		if s != "" {
			return " "
		}
		return ""
	}
	if strings.TrimLeftFunc(s, unicode.IsSpace) != s {
		out = " " + out
	}
	if strings.TrimRightFunc(s, unicode.IsSpace) != s {
		out += " "
	}
	return out
}
