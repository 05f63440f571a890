package scan

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// sniffLen is how much of a file decides whether it is binary, as in git.
const sniffLen = 8000

// decode returns the text to scan: UTF-16 with a byte-order mark is
// converted to UTF-8; other text is returned as is; binary content (a NUL
// byte early on) reports ok=false.
func decode(b []byte) (text []byte, ok bool) {
	if len(b) >= 2 {
		switch {
		case b[0] == 0xFF && b[1] == 0xFE:
			return utf16ToUTF8(b[2:], false), true
		case b[0] == 0xFE && b[1] == 0xFF:
			return utf16ToUTF8(b[2:], true), true
		}
	}
	if bytes.IndexByte(b[:min(len(b), sniffLen)], 0) >= 0 {
		return nil, false
	}
	return b, true
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// Text is the text the engine would scan in b: UTF-16 with a byte-order
// mark decoded to UTF-8; ok is false for binary content. Sources that cut a
// file into its added lines decode first, or the cut loses the mark.
func Text(b []byte) (text []byte, ok bool) { return decode(b) }
