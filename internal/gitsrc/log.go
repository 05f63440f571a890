package gitsrc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/scan"
)

// headerFormat starts each commit in the `git log -z` stream: a token
// beginning with \x01 and the commit id, then parents, author name, email,
// strict ISO date and raw message, each its own NUL-terminated token.
const headerFormat = "%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%B"

// MessagePath is the file name given to findings in a commit message.
const MessagePath = "(commit message)"

// withheld replaces a commit subject that holds a secret wherever the
// subject would be shown.
const withheld = "(subject withheld: the commit message contains a secret)"

const headerFields = 5 // tokens after the \x01 token

// task is one changed file of one commit: its new blob against the blobs
// of the same file in the parents (none for an added file).
type task struct {
	origin    scan.Origin
	key       string
	newID     string
	parentIDs []string
	change    *change
	new       *blob
	parents   []*blob
}

// change is the result of scanning one key, shared by every commit that
// makes the same change.
type change struct {
	done     bool
	findings []scan.Finding
	waiting  []scan.Origin // duplicates seen while the first was being scanned
}

// doneClean stands in the seen map for every key scanned without findings.
var doneClean = &change{done: true}

// tokens reads NUL-terminated tokens.
type tokens struct {
	r   *bufio.Reader
	acc []byte
}

// next returns the next token, valid until the following call.
func (t *tokens) next() ([]byte, error) {
	tok, err := t.r.ReadSlice(0)
	if err == nil {
		return tok[:len(tok)-1], nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		t.acc = append(t.acc[:0], tok...)
		for errors.Is(err, bufio.ErrBufferFull) {
			tok, err = t.r.ReadSlice(0)
			t.acc = append(t.acc, tok...)
		}
		if err == nil {
			return t.acc[:len(t.acc)-1], nil
		}
		tok = t.acc
	}
	if err == io.EOF && len(tok) > 0 {
		return tok, nil
	}
	return nil, err
}

// readLog parses the `git log --raw -z -c` stream, asks cat-file for the
// blobs each change needs and hands the changes to the workers.
func (r *run) readLog(ctx context.Context, out io.Reader, catIn io.Writer, fetches chan<- *blob, tasks chan<- *task) error {
	toks := &tokens{r: bufio.NewReaderSize(out, 64<<10)}
	req := &requester{w: bufio.NewWriterSize(catIn, 16<<10), fetches: fetches, blobs: r.blobs, ctx: ctx}
	var origin scan.Origin
	var header [headerFields]string
	for {
		tok, err := toks.next()
		if err == io.EOF {
			return req.w.Flush()
		}
		if err != nil {
			return err
		}
		tok = bytes.TrimLeft(tok, "\n")
		if len(tok) == 0 {
			continue
		}
		switch tok[0] {
		case 1:
			if err := req.w.Flush(); err != nil {
				return err
			}
			commit := string(tok[1:])
			for i := range header {
				f, err := toks.next()
				if err != nil {
					return fmt.Errorf("commit %s: truncated header: %w", commit, err)
				}
				header[i] = string(f)
			}
			date, _ := time.Parse(time.RFC3339, header[3])
			origin = scan.Origin{Commit: commit, Author: header[1], Email: header[2], Date: date}
			origin.Message = r.scanMessage(origin, header[4])
			r.commits.Add(1)
		case ':':
			t, err := r.parseRaw(toks, tok, origin)
			if err != nil {
				return fmt.Errorf("commit %s: %w", origin.Commit, err)
			}
			if t == nil {
				continue
			}
			if err := r.dispatch(ctx, req, t, tasks); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected output from git log: %q", tok)
		}
	}
}

// parseRaw reads one raw diff entry, `:mode… oid… status` followed by its
// path(s), one colon per parent. It returns nil for entries with nothing to
// scan: deletions and submodules.
func (r *run) parseRaw(toks *tokens, meta []byte, origin scan.Origin) (*task, error) {
	n := 0
	for n < len(meta) && meta[n] == ':' {
		n++
	}
	fields := strings.Fields(string(meta[n:]))
	if len(fields) != 2*(n+1)+1 {
		return nil, fmt.Errorf("unexpected raw diff line %q", meta)
	}
	status := fields[2*(n+1)]
	npaths := 1
	if n == 1 && (status[0] == 'R' || status[0] == 'C') {
		npaths = 2
	}
	var path string
	for range npaths {
		p, err := toks.next()
		if err != nil {
			return nil, fmt.Errorf("raw diff line %q: missing path: %w", meta, err)
		}
		path = string(p)
	}
	newMode, newOID := fields[n], fields[2*n+1]
	if newMode == "160000" || isZero(newOID) {
		return nil, nil
	}
	t := &task{origin: origin}
	t.origin.Path = path
	var parents []string
	for i := range n {
		mode, oid := fields[i], fields[n+1+i]
		if mode == "160000" || isZero(oid) {
			continue
		}
		parents = append(parents, oid)
	}
	slices.Sort(parents)
	parents = slices.Compact(parents)
	t.key = changeKey(path, newOID, parents)
	if r.perCommit {
		t.key += "\x00" + origin.Commit
	}
	t.parentIDs = parents
	t.newID = newOID
	return t, nil
}

// scanMessage scans a commit's message, reports what it finds there, and
// returns the subject to show with the commit's findings: the first line,
// or a notice in its place when the message holds a secret.
func (r *run) scanMessage(o scan.Origin, msg string) string {
	subject, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	o.Path = MessagePath
	res := r.scanner.Scan(scan.Fragment{Origin: o, Text: []byte(msg)})
	if len(res.Findings) == 0 {
		return subject
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range res.Findings {
		f.Message = withheld
		r.emit(f)
	}
	return withheld
}

// changeKey identifies a change: the path (rules and allowlists look at
// it), the new blob and the sorted parent blobs.
func changeKey(path, newOID string, parents []string) string {
	b := make([]byte, 0, len(path)+1+(1+len(parents))*len(newOID)/2)
	b = append(b, path...)
	b = append(b, 0)
	b = appendOID(b, newOID)
	for _, p := range parents {
		b = appendOID(b, p)
	}
	return string(b)
}

func appendOID(b []byte, oid string) []byte {
	dec, err := hex.AppendDecode(b, []byte(oid))
	if err != nil {
		return append(b, oid...)
	}
	return dec
}

func isZero(oid string) bool {
	return strings.Trim(oid, "0") == ""
}

// dispatch sends a task to the workers, or, if the same change was seen
// before, re-emits its findings (now or when its scan finishes).
func (r *run) dispatch(ctx context.Context, req *requester, t *task, tasks chan<- *task) error {
	r.mu.Lock()
	if c, ok := r.seen[t.key]; ok {
		if c.done {
			r.emitAs(c.findings, t.origin)
		} else {
			c.waiting = append(c.waiting, t.origin)
		}
		r.mu.Unlock()
		return nil
	}
	t.change = &change{}
	r.seen[t.key] = t.change
	r.mu.Unlock()

	var err error
	if t.new, err = req.blob(t.newID); err != nil {
		return err
	}
	for _, p := range t.parentIDs {
		b, err := req.blob(p)
		if err != nil {
			return err
		}
		t.parents = append(t.parents, b)
	}
	return send(ctx, req.w, tasks, t)
}

// finish records the findings of a scanned change and emits them for every
// commit that made it.
func (r *run) finish(t *task, findings []scan.Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitAs(findings, t.origin)
	for _, o := range t.change.waiting {
		r.emitAs(findings, o)
	}
	if len(findings) == 0 {
		r.seen[t.key] = doneClean
		return
	}
	t.change.done = true
	t.change.waiting = nil
	t.change.findings = findings
}

// emitAs emits findings with origin o. r.mu must be held.
func (r *run) emitAs(findings []scan.Finding, o scan.Origin) {
	for _, f := range findings {
		f.Origin = o
		r.emit(f)
	}
}

// send sends v on ch; if that would block, it first flushes w so that the
// goroutines it waits for get the requests they wait on.
func send[T any](ctx context.Context, w *bufio.Writer, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	default:
	}
	if err := w.Flush(); err != nil {
		return err
	}
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
