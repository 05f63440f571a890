package gitsrc

import (
	"bytes"
	"context"
	"hash/maphash"
	"slices"

	"github.com/secretgate/secretgate/internal/scan"
)

// binarySniff is how much of a blob git looks at for a NUL byte to call it
// binary.
const binarySniff = 8000

// work scans tasks until there are none left.
func (r *run) work(ctx context.Context, tasks <-chan *task) error {
	d := newDiffer(r.seed)
	for t := range tasks {
		if err := r.process(ctx, d, t); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) process(ctx context.Context, d *differ, t *task) error {
	if err := t.new.wait(ctx); err != nil {
		return err
	}
	nb := t.new
	if nb.missing || nb.tooLarge {
		r.skipped.Add(1)
		r.finish(t, nil)
		return nil
	}
	frag := scan.Fragment{Origin: t.origin}
	if bytes.IndexByte(nb.data[:min(len(nb.data), binarySniff)], 0) >= 0 {
		// Binary, or text in an encoding with NULs (UTF-16): the scanner
		// decides, on the whole blob.
		frag.Text = nb.data
	} else {
		parents := d.parents[:0]
		for _, p := range t.parents {
			if err := p.wait(ctx); err != nil {
				return err
			}
			if !p.missing && !p.tooLarge {
				parents = append(parents, p.lineHashes(r.seed))
			}
		}
		d.parents = parents
		frag.Text, frag.Lines = d.added(nb.data, nb.lineHashes(r.seed), parents)
		if len(frag.Lines) == 0 {
			r.finish(t, nil)
			return nil
		}
	}
	res := r.scanner.Scan(frag)
	r.scanned.Add(1)
	if res.Binary {
		r.binary.Add(1)
	}
	if res.TooLarge {
		r.skipped.Add(1)
	}
	r.finish(t, res.Findings)
	return nil
}

// hashLines hashes each line of data, without its newline. A final newline
// does not start another line.
func hashLines(seed maphash.Seed, data []byte) []uint64 {
	hs := make([]uint64, 0, bytes.Count(data, []byte{'\n'})+1)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			hs = append(hs, maphash.Bytes(seed, data))
			break
		}
		hs = append(hs, maphash.Bytes(seed, data[:i]))
		data = data[i+1:]
	}
	return hs
}

// differ finds the lines a blob adds to its parents. One per worker: it
// keeps its buffers between calls.
type differ struct {
	seed    maphash.Seed
	index   map[uint64]int32 // line hash -> counts index
	counts  []lineCount
	idx     []int32 // counts index of each new line
	isAdded []bool
	text    []byte
	lines   []int
	parents [][]uint64
}

type lineCount struct {
	avail int32 // most copies of the line in any one parent
	cur   int32 // copies in the parent being counted
	gen   int32 // which parent cur counts (1-based)
	need  int32 // copies in the new blob
	rem   int32 // copies still to mark as added
}

func newDiffer(seed maphash.Seed) *differ {
	return &differ{seed: seed, index: make(map[uint64]int32)}
}

// added returns the lines of data (with line hashes hs) not in any parent,
// joined with "\n", and their 1-based line numbers. The results are valid
// until the next call.
//
// Lines are compared as multisets: a line the blob has more copies of than
// every parent is added, as many times as it has more. Which copies count
// as added is chosen by locality: first those next to lines no parent has,
// so a block such as a second PEM key (whose BEGIN and END lines the first
// key already has) stays whole; any left over are the last copies.
func (d *differ) added(data []byte, hs []uint64, parents [][]uint64) ([]byte, []int) {
	d.text, d.lines = d.text[:0], d.lines[:0]
	if len(parents) == 0 {
		d.text = append(d.text, bytes.TrimSuffix(data, []byte{'\n'})...)
		for i := range hs {
			d.lines = append(d.lines, i+1)
		}
		return d.text, d.lines
	}
	if len(d.index) > 1<<16 {
		d.index = make(map[uint64]int32) // clear would keep a huge table
	} else {
		clear(d.index)
	}
	d.counts = d.counts[:0]
	slot := func(h uint64) *lineCount {
		i, ok := d.index[h]
		if !ok {
			i = int32(len(d.counts))
			d.counts = append(d.counts, lineCount{})
			d.index[h] = i
		}
		return &d.counts[i]
	}
	for k, ph := range parents {
		gen := int32(k + 1)
		for _, h := range ph {
			c := slot(h)
			if c.gen != gen {
				c.gen, c.cur = gen, 0
			}
			c.cur++
			c.avail = max(c.avail, c.cur)
		}
	}

	n := len(hs)
	d.idx = d.idx[:0]
	for _, h := range hs {
		i, ok := d.index[h]
		if !ok {
			i = int32(len(d.counts))
			d.counts = append(d.counts, lineCount{})
			d.index[h] = i
		}
		d.counts[i].need++
		d.idx = append(d.idx, i)
	}
	d.isAdded = slices.Grow(d.isAdded[:0], n)[:n]
	clear(d.isAdded)
	ambiguous := false
	for j, i := range d.idx {
		c := &d.counts[i]
		switch {
		case c.avail == 0:
			d.isAdded[j] = true
		case c.need > c.avail:
			c.rem = c.need - c.avail
			ambiguous = true
		}
	}
	if ambiguous {
		take := func(j int) {
			if c := &d.counts[d.idx[j]]; !d.isAdded[j] && c.rem > 0 {
				d.isAdded[j] = true
				c.rem--
			}
		}
		// Next to a line that is surely added: after it first (the "}"
		// closing a new block), then before it (the BEGIN line of a key).
		sure := slices.Clone(d.isAdded)
		for j := 1; j < n; j++ {
			if sure[j-1] {
				take(j)
			}
		}
		for j := n - 2; j >= 0; j-- {
			if sure[j+1] {
				take(j)
			}
		}
		// Then growing the runs, and last whatever copies are left.
		for j := 1; j < n; j++ {
			if d.isAdded[j-1] {
				take(j)
			}
		}
		for j := n - 2; j >= 0; j-- {
			if d.isAdded[j+1] {
				take(j)
			}
		}
		for j := n - 1; j >= 0; j-- {
			take(j)
		}
	}

	for j := 0; len(data) > 0; j++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if d.isAdded[j] {
			if len(d.lines) > 0 {
				d.text = append(d.text, '\n')
			}
			d.text = append(d.text, line...)
			d.lines = append(d.lines, j+1)
		}
	}
	return d.text, d.lines
}

// AddedLines returns the lines of blob that none of the parents' versions
// hold, compared as line multisets exactly as history scans compare them,
// joined with "\n", with their 1-based line numbers in blob. Sources that
// read blobs some other way (an API) use it to scan the same lines.
func AddedLines(blob []byte, parents ...[]byte) ([]byte, []int) {
	d := newDiffer(maphash.MakeSeed())
	ph := make([][]uint64, len(parents))
	for i, p := range parents {
		ph[i] = hashLines(d.seed, p)
	}
	text, lines := d.added(blob, hashLines(d.seed, blob), ph)
	return bytes.Clone(text), slices.Clone(lines)
}
