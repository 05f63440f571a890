package scan

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/secretgate/secretgate/internal/corpus"
	"github.com/secretgate/secretgate/rules"
)

// Fake secrets, assembled so this file does not itself trip a scanner.
var (
	awsKey    = "AKIA" + "QYLPMN5HZ3WBXK7T"
	acmeToken = "acme_" + "Zq8Lm2Xv9Rt4Wp6Ks1Nd3Fg7Hj5Cb0"
	pemBody   = strings.Repeat("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n", 4)
	pemKey    = "-----BEGIN RSA PRIVATE KEY-----\n" + pemBody + "-----END RSA PRIVATE KEY-----"
)

func testScanner(t testing.TB) *Scanner {
	t.Helper()
	cfg, err := rules.Load("testdata/rules.toml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{FingerprintKey: []byte("test-key")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type want struct {
	rule      string
	line, col int
	redacted  string
}

func TestScan(t *testing.T) {
	s := testScanner(t)
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	tests := []struct {
		name string
		path string
		text []byte
		want []want
	}{
		{"aws key", "config.py", []byte("x = 1\naws_key = '" + awsKey + "'\n"),
			[]want{{"aws-access-key-id", 2, 12, "AKIA********"}}},
		{"aws docs placeholder", "README.md", []byte("key: AKIAIOSFODNN7EXAMPLE\n"), nil},
		{"CRLF", "a.txt", []byte("one\r\ntwo\r\nk=" + awsKey + "\r\n"),
			[]want{{"aws-access-key-id", 3, 3, "AKIA********"}}},
		{"UTF-16 with BOM", "win.ini", utf16le("[x]\r\nkey=" + awsKey + "\r\n"),
			[]want{{"aws-access-key-id", 2, 5, "AKIA********"}}},
		{"binary skipped", "a.bin", []byte("\x00\x01" + awsKey), nil},
		{"inline allow", "a.go", []byte("k := \"" + awsKey + "\" // secretgate:allow\n"), nil},
		{"gitleaks inline allow", "a.go", []byte("k := \"" + awsKey + "\" // gitleaks:allow\n"), nil},
		{"column counts characters", "a.txt", []byte("héllo wörld " + awsKey), []want{{"aws-access-key-id", 1, 13, "AKIA********"}}},
		{"minified long line", "app.min.js", []byte(strings.Repeat("var a=function(){return 1};", 40000) + "k=\"" + acmeToken + "\";" + strings.Repeat("x=2;", 40000)),
			[]want{{"token-prefixed", 1, 1080004, "acme********"}}},
		{"PEM block", "id_rsa", []byte("\n" + pemKey + "\n"),
			[]want{{"private-key", 2, 1, "----********"}}},
		{"PEM escaped in JSON", "sa.json", []byte(`{"private_key": "` + strings.ReplaceAll(pemKey, "\n", `\n`) + `"}`),
			[]want{{"private-key", 1, 18, "----********"}}},
		{"PEM placeholder body", "doc.md", []byte("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n"), nil},
		{"low entropy dropped", "a.txt", []byte("acme_" + strings.Repeat("a", 30)), nil},
		{"path rule", "home/.pgpass", []byte("db.internal:5432:app:app_user:Xk29dLq0pZ\n"),
			[]want{{"pgpass", 1, 31, "db.internal:5432:app:app_user:********"}}},
		{"path rule elsewhere", "notes.txt", []byte("db.internal:5432:app:app_user:Xk29dLq0pZ\n"), nil},
		{"global path allowlist", "web/package-lock.json", []byte(awsKey), nil},
		{"generic loses to specific", "a.env", []byte("secret_token = " + acmeToken + "\n"),
			[]want{{"token-prefixed", 1, 16, "acme********"}}},
		{"generic alone", "a.env", []byte("api_secret = 'Q2x9vLm4PzR8tW1nK7sD'\n"),
			[]want{{"generic-secret", 1, 15, "secret = 'Q2x9********"}}},
		{"targeted stopword", "a.env", []byte("api_secret = 'placeholderQ2x9vLm4PzR'\n"), nil},
		{"two findings in order", "a.txt", []byte(awsKey + "\n\n" + acmeToken),
			[]want{{"aws-access-key-id", 1, 1, "AKIA********"}, {"token-prefixed", 3, 1, "acme********"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Scan(Fragment{Origin: Origin{Path: tt.path}, Text: tt.text})
			var got []want
			for _, f := range res.Findings {
				got = append(got, want{f.RuleID, f.Line, f.Column, f.Redacted})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
			assertNoSecret(t, res.Findings, awsKey, acmeToken, pemBody[:40], "Xk29dLq0pZ", "Q2x9vLm4PzR8tW1nK7sD")
		})
	}
}

func TestScanBinaryCounted(t *testing.T) {
	res := testScanner(t).Scan(Fragment{Text: []byte("GIF89a\x00\x00")})
	if !res.Binary || res.Bytes != 0 {
		t.Errorf("got %+v, want Binary", res)
	}
}

func TestScanLineMap(t *testing.T) {
	s := testScanner(t)
	// Added lines 10 and 11..12 of a file, scanned as one fragment.
	res := s.Scan(Fragment{Text: []byte("a\n" + pemKey), Lines: []int{10, 20, 21, 22, 23, 24, 25}})
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings, want 1", len(res.Findings))
	}
	if f := res.Findings[0]; f.Line != 20 || f.EndLine != 25 {
		t.Errorf("got lines %d-%d, want 20-25", f.Line, f.EndLine)
	}
	res = s.Scan(Fragment{Text: []byte("\n\n" + awsKey), StartLine: 100})
	if res.Findings[0].Line != 102 {
		t.Errorf("StartLine: got line %d, want 102", res.Findings[0].Line)
	}
}

func TestFingerprint(t *testing.T) {
	s := testScanner(t)
	a := s.Scan(Fragment{Origin: Origin{Path: "a"}, Text: []byte(awsKey)}).Findings[0]
	b := s.Scan(Fragment{Origin: Origin{Path: "b", Commit: "c1"}, Text: []byte("\n\nx " + awsKey)}).Findings[0]
	if a.Fingerprint != b.Fingerprint {
		t.Error("same secret, different places: fingerprints differ")
	}
	if a.Fingerprint != Fingerprint([]byte("test-key"), "aws-access-key-id", awsKey) {
		t.Error("fingerprint is not HMAC(rule, secret)")
	}
	if Fingerprint([]byte("other-key"), "aws-access-key-id", awsKey) == a.Fingerprint {
		t.Error("fingerprint does not depend on the key")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"short":                "********",
		"AKIAQYLPMN5HZ3WBXK7T": "AKIA********",
		"pässwörd-long-enough": "päss********",
	} {
		if got := Redact([]byte(in)); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// assertNoSecret fails if any field of any finding holds a planted secret.
func assertNoSecret(t *testing.T, fs []Finding, secrets ...string) {
	t.Helper()
	dump := fmt.Sprintf("%+v", fs)
	for _, s := range secrets {
		if strings.Contains(dump, s) {
			t.Errorf("finding leaks secret %q: %s", s[:6]+"…", dump)
		}
	}
}

func TestScanConcurrent(t *testing.T) {
	s := testScanner(t)
	text := []byte(strings.Repeat("filler line with token words\n", 100) + awsKey + "\n")
	done := make(chan int)
	for range 8 {
		go func() {
			n := 0
			for range 50 {
				n += len(s.Scan(Fragment{Text: text}).Findings)
			}
			done <- n
		}()
	}
	for range 8 {
		if n := <-done; n != 50 {
			t.Errorf("got %d findings over 50 scans, want 50", n)
		}
	}
}

// BenchmarkEngine is the engine alone (no I/O, one goroutine) with the
// default packs over the benchmark corpus: source, lock files, minified JS,
// base64 blobs, placeholders, and one planted secret per rule.
func BenchmarkEngine(b *testing.B) {
	cfg, err := rules.Default()
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(cfg, Options{FingerprintKey: []byte("bench")})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if _, err := corpus.Generate(dir, corpus.Options{Seed: 1, Bytes: 16 << 20}); err != nil {
		b.Fatal(err)
	}
	var frags []Fragment
	var total int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		frags = append(frags, Fragment{Origin: Origin{Path: filepath.ToSlash(rel)}, Text: data})
		total += int64(len(data))
		return err
	})
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		for _, f := range frags {
			s.Scan(f)
		}
	}
}

func TestPreview(t *testing.T) {
	tests := []struct{ before, secret, after, want string }{
		{"", "AKIAQYLPMN5HZ3WBXK7T", "", "AKIA********"},
		{"password = '", "hunter2hunter2", "'", "password = '********'"},
		{"-----BEGIN RSA PRIVATE KEY-----\n", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "\n-----END RSA PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY----- MIIE******** -----END RSA PRIVATE KEY-----"},
		{strings.Repeat("x", 60) + "=", "Q2x9vLm4PzR8tW1nK7sD", ";" + strings.Repeat("y", 60), "…" + strings.Repeat("x", 39) + "=Q2x9********;" + strings.Repeat("y", 39) + "…"},
		{"k=\"\xff", "Q2x9vLm4PzR8tW1nK7sD", "\"", "k=\"\uFFFDQ2x9********\""},
	}
	for _, tt := range tests {
		if got := preview([]byte(tt.before), []byte(tt.secret), []byte(tt.after)); got != tt.want {
			t.Errorf("preview(%q, …, %q) = %q, want %q", tt.before, tt.after, got, tt.want)
		}
	}
}
