package cloudtrail

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	// the standard library's API, inflating in a good deal less time:
	// decompression was the largest part of ingest's CPU time
	"github.com/klauspost/compress/gzip"
)

// FileError is a file that could not be read to its end: which file, and
// where in it (the record, counted from 1, and the byte offset in the
// decompressed JSON).
type FileError struct {
	File   string
	Record int   // the record being read when it failed; 0 before the Records array
	Offset int64 // byte offset in the (decompressed) JSON
	Err    error
}

func (e *FileError) Error() string {
	if e.Record > 0 {
		return fmt.Sprintf("%s: record %d (byte %d): %v", e.File, e.Record, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: byte %d: %v", e.File, e.Offset, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// reader streams the records of CloudTrail log files ({"Records":[…]},
// gzipped or not) one at a time: memory does not grow with a file. Its
// buffers and gzip state are reused from file to file.
type reader struct {
	file *bufio.Reader
	gz   *gzip.Reader
	dec  decoder
}

func newReader() *reader {
	return &reader{file: bufio.NewReaderSize(nil, 32<<10)}
}

// readFile passes each record of the named file to fn and returns how many
// it read; a file that is not gzip or JSON, or not a CloudTrail file, fails
// with a *FileError.
func (rd *reader) readFile(name string, fn func(*record) error) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, &FileError{File: name, Err: err}
	}
	defer f.Close()
	return rd.read(name, f, fn)
}

func (rd *reader) read(name string, r io.Reader, fn func(*record) error) (int, error) {
	rd.file.Reset(r)
	var in io.Reader = rd.file
	magic, _ := rd.file.Peek(2)
	if len(magic) == 0 {
		return 0, &FileError{File: name, Err: errEmpty}
	}
	if strings.HasSuffix(name, ".gz") || (len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		var err error
		if rd.gz == nil {
			rd.gz, err = gzip.NewReader(rd.file)
		} else {
			err = rd.gz.Reset(rd.file)
		}
		if err != nil {
			if errors.Is(err, gzip.ErrHeader) {
				err = errNotGzip
			}
			return 0, &FileError{File: name, Err: err}
		}
		in = rd.gz
	}
	return rd.dec.decode(name, in, fn)
}

var (
	errEmpty   = errors.New("empty file")
	errNotGzip = errors.New("not a gzip file, or its header is damaged")
)

var errNoRecords = errors.New(`not a CloudTrail log file: no "Records" array`)

// Files lists the CloudTrail log files under paths, in lexical order per
// path. A file named directly is always taken. A folder is walked for
// *.json and *.json.gz; inside an AWSLogs tree (AWSLogs/<account>/… or an
// organisation's AWSLogs/<org-id>/<account>/…) only files under a
// CloudTrail folder are taken, which leaves out CloudTrail-Digest,
// CloudTrail-Insight and other services' logs. A path may be a symbolic
// link to a folder; links within a folder are not followed.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return out, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		// A folder named through a symbolic link is walked as the folder
		// it points to (WalkDir would stop at the link); links inside it
		// are not followed, as they may loop.
		if l, err := os.Lstat(p); err == nil && l.Mode()&fs.ModeSymlink != 0 {
			p += string(filepath.Separator)
		}
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !isLogName(name) {
				return nil
			}
			if inAWSLogs(name) && !inCloudTrail(name) {
				return nil
			}
			out = append(out, name)
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func isLogName(name string) bool {
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz")
}

func components(name string) []string {
	return strings.Split(filepath.ToSlash(name), "/")
}

func inAWSLogs(name string) bool {
	for _, c := range components(name) {
		if c == "AWSLogs" {
			return true
		}
	}
	return false
}

// inCloudTrail reports whether a folder named CloudTrail follows AWSLogs in
// the path.
func inCloudTrail(name string) bool {
	seen := false
	cs := components(name)
	for _, c := range cs[:len(cs)-1] {
		switch {
		case c == "AWSLogs":
			seen = true
		case seen && c == "CloudTrail":
			return true
		}
	}
	return false
}
