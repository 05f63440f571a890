package gitsrc

import (
	"bufio"
	"container/list"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"sync"
)

// blob is one blob requested from `git cat-file --batch`. Its fields are
// set by the reader before ready is closed and are read-only afterwards.
type blob struct {
	id       string
	ready    chan struct{}
	data     []byte
	missing  bool // not in the repository, or not a blob
	tooLarge bool // over Options.MaxBlobBytes; not read

	hashOnce sync.Once
	hashes   []uint64 // one per line, see lineHashes

	// owned by blobCache.mu
	size   int64
	cached bool
}

func (b *blob) wait(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lineHashes hashes each line of the blob, computed once per blob.
func (b *blob) lineHashes(seed maphash.Seed) []uint64 {
	b.hashOnce.Do(func() { b.hashes = hashLines(seed, b.data) })
	return b.hashes
}

// blobCache remembers recently requested blobs, so that a blob that is the
// new side of one change and the old side of another (the usual case: a file
// changed in a commit and again in its child) is read from git once. It
// keeps about budget bytes of loaded blobs; blobs still in flight or held by
// tasks stay alive through those.
type blobCache struct {
	mu     sync.Mutex
	m      map[string]*list.Element
	lru    list.List
	bytes  int64
	budget int64
}

func newBlobCache(budget int64) *blobCache {
	return &blobCache{m: make(map[string]*list.Element), budget: budget}
}

// get returns the blob with the given id and whether it is new (and must
// be requested from git).
func (c *blobCache) get(id string) (*blob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*blob), false
	}
	b := &blob{id: id, ready: make(chan struct{}), cached: true}
	c.m[id] = c.lru.PushFront(b)
	return b, true
}

// loaded accounts for a blob's size once it is read, evicting the least
// recently requested blobs over budget.
func (c *blobCache) loaded(b *blob, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !b.cached {
		return
	}
	b.size = size
	c.bytes += size
	for c.bytes > c.budget && c.lru.Len() > 1 {
		e := c.lru.Back()
		old := e.Value.(*blob)
		c.lru.Remove(e)
		delete(c.m, old.id)
		old.cached = false
		c.bytes -= old.size
	}
}

// requester writes blob requests to cat-file and queues the blobs, in the
// same order, for the reader.
type requester struct {
	ctx     context.Context
	w       *bufio.Writer
	fetches chan<- *blob
	blobs   *blobCache
}

func (q *requester) blob(id string) (*blob, error) {
	b, isNew := q.blobs.get(id)
	if !isNew {
		return b, nil
	}
	q.w.WriteString(id)
	if err := q.w.WriteByte('\n'); err != nil {
		return nil, fmt.Errorf("writing to git cat-file: %w", err)
	}
	return b, send(q.ctx, q.w, q.fetches, b)
}

// readBlobs reads cat-file's answers, `<oid> blob <size>\n<data>\n` or
// `<oid> missing\n`, into the queued blobs.
func (r *run) readBlobs(out io.Reader, fetches <-chan *blob) error {
	br := bufio.NewReaderSize(out, 256<<10)
	for b := range fetches {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reading git cat-file: %w", err)
		}
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] != b.id {
			return fmt.Errorf("git cat-file: asked for %s, got %q", b.id, line)
		}
		if len(f) != 3 {
			// "<oid> missing" (or another one-word answer)
			b.missing = true
			r.blobs.loaded(b, 0)
			close(b.ready)
			continue
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("git cat-file: bad header %q", line)
		}
		if f[1] != "blob" || size > r.opts.MaxBlobBytes {
			b.missing = f[1] != "blob"
			b.tooLarge = !b.missing
			if _, err := br.Discard(int(size) + 1); err != nil {
				return fmt.Errorf("reading git cat-file: %w", err)
			}
			r.blobs.loaded(b, 0)
			close(b.ready)
			continue
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(br, data); err != nil {
			return fmt.Errorf("reading git cat-file: %w", err)
		}
		b.data = data[:size]
		r.bytes.Add(size)
		r.blobs.loaded(b, size)
		close(b.ready)
	}
	return nil
}
