// Package files scans a directory tree (a working tree, not history).
package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/secretgate/secretgate/internal/progress"
	"github.com/secretgate/secretgate/internal/scan"
)

// Scanner is what the walk needs from the engine.
type Scanner interface {
	Scan(scan.Fragment) scan.Result
}

// Options configure a walk.
type Options struct {
	Root     string
	MaxBytes int64 // files larger than this are skipped and counted (0 = no limit)
	Workers  int   // default: number of CPUs
	// Progress, if set, is called about five times a second and once at the end.
	Progress func(Stats)
	// Skip, if set, is told about every file or directory that was not
	// scanned (unreadable, too large) with the reason, so nothing is missed
	// in silence. It may be called from several goroutines at once.
	Skip func(path string, reason error)
}

// Stats count what a walk saw.
type Stats struct {
	Files, Binary, Skipped int
	Bytes                  int64
}

var errTooLarge = errors.New("larger than the size limit")

// skipDirs are never descended into: version control metadata.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// Scan walks opts.Root and scans every regular file, reporting each finding
// to emit (called from one goroutine at a time). Paths in findings are
// relative to Root, with forward slashes. A root that is a single file is
// scanned as that file.
func Scan(ctx context.Context, opts Options, s Scanner, emit func(scan.Finding)) (Stats, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	info, err := os.Stat(opts.Root)
	if err != nil {
		return Stats{}, fmt.Errorf("scanning %s: %w", opts.Root, err)
	}

	skip := func(path string, reason error) {
		if opts.Skip != nil {
			opts.Skip(path, reason)
		}
	}
	var (
		files, binary, skipped atomic.Int64
		bytes                  atomic.Int64
		mu                     sync.Mutex
	)
	stats := func() Stats {
		return Stats{Files: int(files.Load()), Binary: int(binary.Load()), Skipped: int(skipped.Load()), Bytes: bytes.Load()}
	}
	var report func()
	if opts.Progress != nil {
		report = func() { opts.Progress(stats()) }
	}
	defer progress.Start(report)()

	paths := make(chan string, 256)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				data, err := os.ReadFile(p)
				if err != nil {
					skipped.Add(1) // vanished or unreadable mid-walk
					skip(p, err)
					continue
				}
				rel := relPath(opts.Root, p, info.IsDir())
				res := s.Scan(scan.Fragment{Origin: scan.Origin{Path: rel}, Text: data})
				files.Add(1)
				bytes.Add(int64(res.Bytes))
				switch {
				case res.Binary:
					binary.Add(1)
				case res.TooLarge:
					skipped.Add(1)
					skip(p, errTooLarge)
				}
				if len(res.Findings) > 0 {
					mu.Lock()
					for _, f := range res.Findings {
						emit(f)
					}
					mu.Unlock()
				}
			}
		}()
	}

	walkErr := filepath.WalkDir(opts.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == opts.Root {
				return err
			}
			skipped.Add(1) // unreadable directory: counted, not fatal
			skip(p, err)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if skipDirs[d.Name()] && p != opts.Root {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks, sockets, devices
		}
		if opts.MaxBytes > 0 {
			if fi, err := d.Info(); err == nil && fi.Size() > opts.MaxBytes {
				skipped.Add(1)
				skip(p, errTooLarge)
				return nil
			}
		}
		paths <- p
		return nil
	})
	close(paths)
	wg.Wait()
	if walkErr != nil {
		return stats(), fmt.Errorf("scanning %s: %w", opts.Root, walkErr)
	}
	return stats(), ctx.Err()
}

func relPath(root, p string, rootIsDir bool) string {
	if !rootIsDir {
		return filepath.ToSlash(filepath.Base(p))
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}
