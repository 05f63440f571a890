package cloudtrail

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretgate/secretgate/internal/progress"
)

// Options tune an ingest; the zero value is sensible.
type Options struct {
	// Workers is how many files are decoded at once (default: GOMAXPROCS).
	Workers int
	// TxRows is how many rows go in one transaction (default 50,000:
	// larger transactions write each index page to the WAL fewer times).
	TxRows int
	// Progress, when set, is called every progress.Interval while the
	// ingest runs, and once at the end.
	Progress func(Stats)
}

// Stats are an ingest's figures.
type Stats struct {
	Files    int           // files read to their end
	Records  int64         // CloudTrail records read (including from failed files, up to the failure)
	Events   int64         // rows those records made
	Inserted int64         // rows new to the database (re-ingested ones are not)
	Failed   []*FileError  // files that could not be read to their end
	Elapsed  time.Duration //
	Indexing bool          // all is read and written: the indexes deferred by a first ingest are being built
}

// PerSecond is the ingest rate in records per second.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

const batchRows = 512 // rows handed from a decoder to the writer at once

type batch struct{ rows []Event }

// Ingest reads the CloudTrail files under paths (see Files) into the events
// table. Files are decoded in parallel and written by one writer, in
// transactions of Options.TxRows rows, with INSERT OR IGNORE on the
// (eventTime, eventID) key: re-ingesting a file adds nothing.
//
// A file that cannot be read to its end (bad gzip, bad JSON, not a
// CloudTrail file) is listed in Stats.Failed and the ingest goes on; the
// records before the damage are kept, as they are genuine. The error is
// for what stops the whole ingest: a path that does not exist, the
// database, or ctx.
func (d *DB) Ingest(ctx context.Context, paths []string, opt Options) (Stats, error) {
	start := time.Now()
	files, err := Files(paths)
	if err != nil {
		return Stats{}, fmt.Errorf("cloudtrail: %w", err)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.TxRows <= 0 {
		opt.TxRows = 50000
	}

	var (
		nFiles, nRecords, nEvents, nInserted atomic.Int64
		indexing                             atomic.Bool
		mu                                   sync.Mutex
		failed                               []*FileError
	)
	snapshot := func() Stats {
		mu.Lock()
		f := append([]*FileError(nil), failed...)
		mu.Unlock()
		return Stats{
			Files:    int(nFiles.Load()),
			Records:  nRecords.Load(),
			Events:   nEvents.Load(),
			Inserted: nInserted.Load(),
			Failed:   f,
			Elapsed:  time.Since(start),
			Indexing: indexing.Load(),
		}
	}
	var stopProgress func() = func() {}
	if opt.Progress != nil {
		stopProgress = progress.Start(func() { opt.Progress(snapshot()) })
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan string)
	batches := make(chan *batch, 2*opt.Workers)
	free := sync.Pool{New: func() any { return &batch{rows: make([]Event, 0, batchRows)} }}

	var decoders sync.WaitGroup
	for range opt.Workers {
		decoders.Go(func() {
			rd := newReader()
			// A batch goes on from file to file: files of a few dozen
			// records would otherwise make batches of a few dozen rows.
			b := free.Get().(*batch)
			defer func() {
				if len(b.rows) > 0 {
					select {
					case batches <- b:
					case <-ctx.Done():
					}
				}
			}()
			for name := range work {
				var nerr error
				n, err := rd.readFile(name, func(r *record) error {
					b.rows, nerr = normalise(b.rows, r, name)
					if nerr != nil {
						return nerr
					}
					if len(b.rows) >= batchRows {
						select {
						case batches <- b:
						case <-ctx.Done():
							return ctx.Err()
						}
						b = free.Get().(*batch)
					}
					return nil
				})
				nRecords.Add(int64(n))
				if err != nil {
					if ctx.Err() != nil {
						continue
					}
					var fe *FileError
					if !errors.As(err, &fe) {
						fe = &FileError{File: name, Err: err}
					}
					mu.Lock()
					failed = append(failed, fe)
					mu.Unlock()
					continue
				}
				nFiles.Add(1)
			}
		})
	}
	go func() {
		defer close(work)
		for _, f := range files {
			select {
			case work <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		decoders.Wait()
		close(batches)
	}()

	deferred, werr := d.write(ctx, batches, opt.TxRows, func(b *batch, inserted int64) {
		nEvents.Add(int64(len(b.rows)))
		nInserted.Add(inserted)
		clear(b.rows) // drop the strings, keep the capacity
		b.rows = b.rows[:0]
		free.Put(b)
	})
	if werr != nil {
		cancel()
		for range batches { // let the decoders finish
		}
	}
	// The indexes a first ingest deferred are built even when it stopped
	// early: the rows it committed are in and need them.
	indexing.Store(deferred)
	inserted, err := d.finish(context.WithoutCancel(ctx), deferred, nInserted.Load())
	indexing.Store(false)
	if err != nil && werr == nil {
		werr = err
	}
	nInserted.Store(inserted)
	stopProgress()
	st := snapshot()
	if werr != nil {
		return st, fmt.Errorf("cloudtrail: %s: %w", d.path, werr)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, nil
}

// Add writes events made elsewhere (tests, other sources) as Ingest writes
// decoded ones: notable worked out, the file recorded, and an event whose
// ID is in already left out, as is one that breaks the table's checks (a
// Via other than "" or ViaSecretsManager). It returns how many were new.
func (d *DB) Add(ctx context.Context, events []Event) (int64, error) {
	batches := make(chan *batch, 1)
	batches <- &batch{rows: events}
	close(batches)
	var counted int64
	deferred, err := d.write(ctx, batches, len(events), func(_ *batch, n int64) { counted = n })
	inserted, ierr := d.finish(context.WithoutCancel(ctx), deferred, counted)
	if err == nil {
		err = ierr
	}
	if err != nil {
		return 0, fmt.Errorf("cloudtrail: %s: %w", d.path, err)
	}
	return inserted, nil
}

// finish builds the indexes a write deferred and says how many rows it
// inserted. When it deferred them, the table was empty and the writer's
// count includes the events it met twice, which building uniqueIndex
// removes (here, or in an Open by another process that came first): the
// rows are then counted in the table.
func (d *DB) finish(ctx context.Context, deferred bool, counted int64) (int64, error) {
	if err := buildDeferredIndexes(ctx, d.db); err != nil {
		return counted, fmt.Errorf("building indexes: %w", err)
	}
	if !deferred {
		return counted, nil
	}
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return counted, fmt.Errorf("counting events: %w", err)
	}
	return n, nil
}

// walLimit is how large the WAL may grow during an ingest before the
// writer waits for a checkpoint (see checkpointer.bound); a variable for
// the tests.
var walLimit int64 = 128 << 20

// checkpointer copies what the writer commits from the WAL into the
// database on a connection of its own, so that the writer does not wait
// for those copies and their fsyncs (see write).
type checkpointer struct {
	kicks  chan chan struct{} // nil: a checkpoint after a commit; else closed once done
	done   chan struct{}
	frames atomic.Int64 // in the WAL at the last checkpoint
	limit  int64        // walLimit in frames
}

func (d *DB) checkpointer(ctx context.Context) (*checkpointer, error) {
	var page int64
	if err := d.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&page); err != nil {
		return nil, err
	}
	c := &checkpointer{kicks: make(chan chan struct{}, 1), done: make(chan struct{}), limit: walLimit / max(page, 512)}
	go func() {
		defer close(c.done)
		for reply := range c.kicks {
			// A passive checkpoint copies what is committed without
			// blocking the writer. An error here (the database busy,
			// ctx ended) only leaves the copy to the next one.
			var busy, frames, copied int64
			if err := d.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err == nil {
				c.frames.Store(frames)
			}
			if reply != nil {
				close(reply)
			}
		}
	}()
	return c, nil
}

// kick asks for a checkpoint after a commit; kicks that come while one is
// waiting are one.
func (c *checkpointer) kick() {
	select {
	case c.kicks <- nil:
	default:
	}
}

// bound keeps the WAL from growing to the size of the whole ingest: the WAL
// starts again from its beginning only when a write transaction begins
// after a checkpoint has copied all of it, which a writer that never waits
// does not let happen. Past walLimit, bound waits for a checkpoint made
// after the last commit, before the writer's next transaction. (The size
// of the WAL file would not do to tell: it stays at the most it reached.)
func (c *checkpointer) bound() {
	if c.frames.Load() < c.limit {
		return
	}
	reply := make(chan struct{})
	c.kicks <- reply
	<-reply
	c.frames.Store(0) // the next transaction starts the WAL again
}

// stop waits for the checkpoint under way, if any.
func (c *checkpointer) stop() {
	close(c.kicks)
	<-c.done
}

// rowsPerInsert is how many rows one INSERT statement carries: fewer
// statements, fewer trips into SQLite.
//
// INSERT OR IGNORE rather than ON CONFLICT (event_id) DO NOTHING: with
// DO NOTHING a CHECK or NOT NULL constraint could still abort a statement midway, so
// SQLite kept a statement journal, writing the old content of every page
// a statement touched to a temporary file; with OR IGNORE nothing can
// abort it and there is no such journal. A row breaking a CHECK would be
// dropped rather than fail the ingest, but normalise makes only rows that
// pass them (flags are bools, via is "" or ViaSecretsManager).
const rowsPerInsert = 32

const insertHead = `INSERT OR IGNORE INTO events (
	event_id, event_time, event_source, event_name, region, account_id,
	principal, principal_type, session_name, mfa, source_ip, user_agent,
	secret_id, key_id, parameter_name, error_code, error_message, is_read, via, notable, file_id
) VALUES `

const insertRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const columns = 21

// fileSQL gives a log file's id in the files table, adding it if new.
const fileSQL = `INSERT INTO files (path) VALUES (?) ON CONFLICT (path) DO UPDATE SET path = excluded.path RETURNING id`

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(insertHead)
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(insertRow)
	}
	return b.String()
}

// setArgs sets the columns of e in args, which holds the ordinals.
func setArgs(args []driver.NamedValue, e *Event, fileID int64) {
	for i, v := range [columns]any{e.ID, e.Time, e.Source, e.Name, e.Region, e.Account,
		e.Principal, e.PrincipalType, e.SessionName, e.MFA, e.SourceIP, e.UserAgent,
		e.SecretID, e.KeyID, e.Parameter, e.ErrorCode, e.ErrorMessage, e.Read, e.Via, notable(e), fileID} {
		args[i].Value = v
	}
}

// inserter writes rows through the SQLite driver itself, within
// sql.Conn.Raw and the transaction begun on that connection: database/sql
// would copy every argument of every statement, which was half of what
// ingest allocated.
type inserter struct {
	many, one, file driver.Stmt
	args            []driver.NamedValue // for many, reused
	fileIDs         map[string]int64    // of the paths this ingest met (kept by write across transactions)
	lastPath        string              // rows come in runs from one file
	lastID          int64
}

func newInserter(ctx context.Context, dc any, fileIDs map[string]int64) (*inserter, error) {
	c, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("the database driver %T cannot prepare statements", dc)
	}
	in := &inserter{fileIDs: fileIDs, args: make([]driver.NamedValue, rowsPerInsert*columns)}
	for i := range in.args {
		in.args[i].Ordinal = i + 1
	}
	var err error
	for _, p := range []struct {
		stmt *driver.Stmt
		sql  string
	}{{&in.many, insertSQL(rowsPerInsert)}, {&in.one, insertSQL(1)}, {&in.file, fileSQL}} {
		if *p.stmt, err = c.PrepareContext(ctx, p.sql); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (in *inserter) close() {
	for _, s := range []driver.Stmt{in.many, in.one, in.file} {
		if s != nil {
			s.Close()
		}
	}
}

// insert writes rows and returns how many were new. The statements run
// without ctx: with one, the driver runs each on a goroutine of its own
// to watch ctx; the caller checks ctx between batches.
func (in *inserter) insert(rows []Event) (int64, error) {
	var n int64
	for len(rows) > 0 {
		stmt, k := in.many, rowsPerInsert
		if len(rows) < rowsPerInsert {
			stmt, k = in.one, 1
		}
		args := in.args[:k*columns]
		for i := range k {
			id, err := in.fileID(rows[i].File)
			if err != nil {
				return n, err
			}
			setArgs(args[i*columns:], &rows[i], id)
		}
		res, err := stmt.(driver.StmtExecContext).ExecContext(context.Background(), args)
		if err != nil {
			return n, err
		}
		added, _ := res.RowsAffected()
		n += added
		rows = rows[k:]
	}
	return n, nil
}

// fileID is a log file's id in the files table, added if new.
func (in *inserter) fileID(path string) (int64, error) {
	if path == in.lastPath && in.lastID != 0 {
		return in.lastID, nil
	}
	id, ok := in.fileIDs[path]
	if !ok {
		rows, err := in.file.(driver.StmtQueryContext).QueryContext(context.Background(), []driver.NamedValue{{Ordinal: 1, Value: path}})
		if err != nil {
			return 0, fmt.Errorf("adding the file %s: %w", path, err)
		}
		dest := make([]driver.Value, 1)
		err = rows.Next(dest)
		rows.Close()
		if err != nil {
			return 0, fmt.Errorf("adding the file %s: %w", path, err)
		}
		if id, ok = dest[0].(int64); !ok {
			return 0, fmt.Errorf("adding the file %s: id %v", path, dest[0])
		}
		in.fileIDs[path] = id
	}
	in.lastPath, in.lastID = path, id
	return id, nil
}

// write inserts the batches in transactions of about txRows rows, calling
// done for each batch once it is inserted. Into an empty table, the first
// transaction defers the secondary indexes (see deferIndexes).
//
// Checkpoints, which copy the WAL into the database file and wait for the
// disk, are made by a second connection beside the writer (see
// checkpointer) instead of by the writer at the end of its commits.
func (d *DB) write(ctx context.Context, batches <-chan *batch, txRows int, done func(*batch, int64)) (deferred bool, err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var auto int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		return false, err
	}
	defer func() {
		// the connection goes back to the pool: it checkpoints again
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, auto)); rerr != nil && err == nil {
			err = rerr
		}
	}()
	ck, err := d.checkpointer(ctx)
	if err != nil {
		return false, err
	}
	defer ck.stop()
	fileIDs := make(map[string]int64)
	first := true
	for {
		b, ok := <-batches
		if !ok {
			return deferred, nil
		}
		ck.bound()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return deferred, err
		}
		if first {
			first = false
			if deferred, err = deferIndexes(ctx, tx); err != nil {
				tx.Rollback()
				return false, err
			}
		}
		// The rows go in through the driver, on the connection that holds tx.
		err = conn.Raw(func(dc any) error {
			in, err := newInserter(ctx, dc, fileIDs)
			if err != nil {
				return err
			}
			defer in.close()
			rows := 0
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				inserted, err := in.insert(b.rows)
				if err != nil {
					return err
				}
				rows += len(b.rows)
				done(b, inserted)
				if rows >= txRows {
					return nil
				}
				if b, ok = <-batches; !ok {
					return nil
				}
			}
		})
		if err != nil {
			tx.Rollback()
			return deferred, err
		}
		if err := tx.Commit(); err != nil {
			return deferred, err
		}
		ck.kick()
		if !ok {
			return deferred, nil
		}
	}
}
