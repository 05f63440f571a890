package scan

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/rules"
)

func TestKeywordMatcher(t *testing.T) {
	tests := []struct {
		name     string
		keywords []string
		text     string
		want     []string // "keyword@end"
	}{
		{"none", []string{"akia"}, "nothing here", nil},
		{"case folded", []string{"akia"}, "x=AKIA1234", []string{"akia@6"}},
		{"overlapping", []string{"he", "she", "hers"}, "ushers", []string{"she@4", "he@4", "hers@6"}},
		{"repeated", []string{"ab"}, "ababab", []string{"ab@2", "ab@4", "ab@6"}},
		{"prefix of other", []string{"sk_live", "sk_"}, "sk_live_", []string{"sk_@3", "sk_live@7"}},
		{"non-ascii around", []string{"token"}, "é token ü", []string{"token@8"}},
		{"punctuation keyword", []string{"-----begin"}, "--- -----BEGIN RSA", []string{"-----begin@14"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newKeywordMatcher(tt.keywords)
			var got []string
			m.find([]byte(tt.text), func(id int32, end int) {
				got = append(got, tt.keywords[id]+"@"+strconv.Itoa(end))
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzKeywordMatcher checks the automaton against strings.Index.
func FuzzKeywordMatcher(f *testing.F) {
	f.Add("the password is secret", "pass")
	f.Fuzz(func(t *testing.T, text, kw string) {
		kw = strings.ToLower(kw)
		if kw == "" || strings.ContainsFunc(kw, func(r rune) bool { return r >= 0x80 }) {
			return
		}
		m := newKeywordMatcher([]string{kw})
		var ends []int
		m.find([]byte(text), func(_ int32, end int) { ends = append(ends, end) })
		var want []int
		lower := asciiLower(text)
		for i := 0; i+len(kw) <= len(lower); i++ {
			if lower[i:i+len(kw)] == kw {
				want = append(want, i+len(kw))
			}
		}
		if !slices.Equal(ends, want) {
			t.Fatalf("text %q kw %q: got %v want %v", text, kw, ends, want)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// BenchmarkKeywords is the automaton alone, with the default packs'
// keywords, over source-like text.
func BenchmarkKeywords(b *testing.B) {
	cfg, err := rules.Default()
	if err != nil {
		b.Fatal(err)
	}
	s, _ := New(cfg, Options{})
	text, err := os.ReadFile(runtime.GOROOT() + "/src/net/http/server.go")
	if err != nil {
		b.Skip(err)
	}
	hits := 0
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		s.keywords.find(text, func(int32, int) { hits++ })
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
}
