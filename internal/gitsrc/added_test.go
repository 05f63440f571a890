package gitsrc

import (
	"hash/maphash"
	"slices"
	"strings"
	"testing"
)

func TestAdded(t *testing.T) {
	pem := "-----BEGIN KEY-----\nAAA\nBBB\n-----END KEY-----\n"
	pem2 := "-----BEGIN KEY-----\nCCC\nDDD\n-----END KEY-----\n"
	tests := []struct {
		name      string
		parents   []string
		new       string
		wantText  string
		wantLines []int
	}{
		{"added file", nil, "a\nb\n", "a\nb", []int{1, 2}},
		{"added file without final newline", nil, "a\nb", "a\nb", []int{1, 2}},
		{"empty file", nil, "", "", nil},
		{"unchanged", []string{"a\nb\n"}, "a\nb\n", "", nil},
		{"line inserted", []string{"a\nc\n"}, "a\nb\nc\n", "b", []int{2}},
		{"lines removed", []string{"a\nb\nc\n"}, "a\n", "", nil},
		{"lines moved", []string{"a\nb\nc\n"}, "c\na\nb\n", "", nil},
		{"final newline added", []string{"a\nb"}, "a\nb\n", "", nil},
		{"two runs", []string{"a\nb\nc\n"}, "a\nx\nb\nc\ny\nz\n", "x\ny\nz", []int{2, 5, 6}},
		{"crlf line is a different line", []string{"a\r\n"}, "a\n", "a", []int{1}},
		{"duplicate of an existing line is added", []string{"k = 1\n"}, "k = 1\nk = 1\n", "k = 1", []int{2}},
		{"second key keeps its BEGIN and END lines", []string{pem}, pem + pem2,
			"-----BEGIN KEY-----\nCCC\nDDD\n-----END KEY-----", []int{5, 6, 7, 8}},
		{"second key before the first", []string{pem}, pem2 + pem,
			"-----BEGIN KEY-----\nCCC\nDDD\n-----END KEY-----", []int{1, 2, 3, 4}},
		{"new closing braces go with the new code", []string{"f {\n}\n"}, "f {\n}\ng {\n}\n", "g {\n}", []int{3, 4}},
		{"merge: line from either parent is not added", []string{"a\nx\n", "a\ny\n"}, "a\nx\ny\nz\n", "z", []int{4}},
		{"merge: copies counted per parent", []string{"a\na\n", "a\n"}, "a\na\na\n", "a", []int{3}},
	}
	seed := maphash.MakeSeed()
	d := newDiffer(seed)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parents [][]uint64
			for _, p := range tt.parents {
				parents = append(parents, hashLines(seed, []byte(p)))
			}
			text, lines := d.added([]byte(tt.new), hashLines(seed, []byte(tt.new)), parents)
			if string(text) != tt.wantText || !slices.Equal(lines, tt.wantLines) {
				t.Errorf("got %q %v, want %q %v", text, lines, tt.wantText, tt.wantLines)
			}
			if n := strings.Count(string(text), "\n") + 1; len(lines) > 0 && n != len(lines) {
				t.Errorf("%d lines of text for %d line numbers", n, len(lines))
			}
		})
	}
}

func TestAddedLines(t *testing.T) {
	text, lines := AddedLines([]byte("a\nb\nSECRET\nc\n"), []byte("a\nb\nc\n"))
	if string(text) != "SECRET" || !slices.Equal(lines, []int{3}) {
		t.Errorf("got %q %v", text, lines)
	}
	// A merge: only what neither parent holds.
	text, lines = AddedLines([]byte("x\ny\nz\n"), []byte("x\n"), []byte("y\n"))
	if string(text) != "z" || !slices.Equal(lines, []int{3}) {
		t.Errorf("merge: got %q %v", text, lines)
	}
	if text, _ := AddedLines([]byte("new\nfile\n")); string(text) != "new\nfile" {
		t.Errorf("root: got %q", text)
	}
}
