package files

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/secretgate/secretgate/internal/scan"
)

// finder reports one finding per occurrence of "SECRET" and calls NUL-led
// text binary, standing in for the engine.
type finder struct{ calls atomic.Int64 }

func (f *finder) Scan(fr scan.Fragment) scan.Result {
	f.calls.Add(1)
	if bytes.HasPrefix(fr.Text, []byte{0}) {
		return scan.Result{Binary: true}
	}
	var out []scan.Finding
	if bytes.Contains(fr.Text, []byte("SECRET")) {
		out = append(out, scan.Finding{RuleID: "x", Origin: fr.Origin, Line: 1})
	}
	return scan.Result{Findings: out, Bytes: len(fr.Text)}
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "SECRET")
	write("sub/dir/b.txt", "nothing")
	write("sub/c.env", "SECRET")
	write(".git/config", "SECRET") // never scanned
	write("img.bin", "\x00\x01\x02")
	write("big.log", string(bytes.Repeat([]byte("x"), 2048)))
	os.Symlink(filepath.Join(root, "a.txt"), filepath.Join(root, "link.txt"))

	var paths []string
	var skipped []string
	var mu sync.Mutex
	f := &finder{}
	skip := func(p string, err error) {
		mu.Lock()
		defer mu.Unlock()
		skipped = append(skipped, filepath.Base(p)+": "+err.Error())
	}
	st, err := Scan(context.Background(), Options{Root: root, MaxBytes: 1024, Workers: 3, Skip: skip}, f, func(fd scan.Finding) {
		paths = append(paths, fd.Path)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"a.txt", "sub/c.env"}) {
		t.Errorf("findings in %v", paths)
	}
	want := Stats{Files: 4, Binary: 1, Skipped: 1, Bytes: 6 + 7 + 6}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if !slices.Equal(skipped, []string{"big.log: larger than the size limit"}) {
		t.Errorf("skips reported: %v", skipped)
	}

	// A single file as root is scanned under its own name.
	paths = nil
	if _, err := Scan(context.Background(), Options{Root: filepath.Join(root, "sub/c.env")}, f, func(fd scan.Finding) { paths = append(paths, fd.Path) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{"c.env"}) {
		t.Errorf("single file: %v", paths)
	}
}

func TestScanMissingRoot(t *testing.T) {
	_, err := Scan(context.Background(), Options{Root: "/nonexistent/x"}, &finder{}, func(scan.Finding) {})
	if err == nil || !os.IsNotExist(err) && !bytes.Contains([]byte(err.Error()), []byte("no such file")) {
		t.Errorf("err = %v", err)
	}
}
