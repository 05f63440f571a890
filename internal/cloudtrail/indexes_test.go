package cloudtrail

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

func eventIndexes(t *testing.T, db *DB) map[string]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		out[name] = text
	}
	return out
}

func TestFirstIngestBuildsTheIndexesAtItsEnd(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "d.db")
	db, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	want := eventIndexes(t, db)
	if len(want) != 3 { // (time, event_id), (secret, time), notable
		t.Fatalf("indexes of a new database: %v", want)
	}
	st, err := db.Ingest(ctx, []string{"testdata"}, Options{})
	if err != nil || len(st.Failed) > 0 || st.Inserted == 0 {
		t.Fatal(st, err)
	}
	if got := eventIndexes(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after a first ingest: %v, want %v", got, want)
	}
	if n := count(t, db, "1"); n != int(st.Inserted) {
		t.Errorf("%d rows, %d inserted", n, st.Inserted)
	}

	// An ingest that stopped between the drop and the build (a crash):
	// the next Open builds them.
	tx, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`DELETE FROM events`); err != nil {
		t.Fatal(err)
	}
	if deferred, err := deferIndexes(ctx, tx); err != nil || !deferred {
		t.Fatal(deferred, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := eventIndexes(t, db); len(got) != 0 {
		t.Fatalf("indexes not dropped: %v", got)
	}
	db.Close()
	if db, err = Open(ctx, file); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := eventIndexes(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after reopening: %v, want %v", got, want)
	}
	if n := count(t, db, "1"); n != 0 {
		t.Errorf("%d rows", n)
	}
}

func TestIngestIntoAFilledTableKeepsItsIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := eventIndexes(t, db)
	if _, err := db.Ingest(ctx, []string{"testdata/kms-DisableKey.json"}, Options{}); err != nil {
		t.Fatal(err)
	}
	tx, _ := db.SQL().Begin()
	if deferred, err := deferIndexes(ctx, tx); err != nil || deferred {
		t.Fatal(deferred, err)
	}
	tx.Commit()
	if got := eventIndexes(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes of a filled table dropped: %v", got)
	}
	st, err := db.Ingest(ctx, []string{"testdata"}, Options{})
	if err != nil || st.Inserted == 0 {
		t.Fatal(st, err)
	}
	again, err := db.Ingest(ctx, []string{"testdata"}, Options{})
	if err != nil || again.Inserted != 0 {
		t.Errorf("re-ingest: %+v, %v", again, err)
	}
}

// A first ingest that meets events twice (here, a folder named twice)
// writes them twice before the unique index exists; building it removes
// the second rows, and the figures count each event once.
func TestFirstIngestMeetingEventsTwice(t *testing.T) {
	ctx := context.Background()
	once, err := Open(ctx, filepath.Join(t.TempDir(), "once.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	want, err := once.Ingest(ctx, []string{"testdata"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(t.TempDir(), "twice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Ingest(ctx, []string{"testdata", "testdata"}, Options{TxRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2*want.Records || st.Inserted != want.Inserted || st.Inserted == 0 {
		t.Errorf("twice: %d records, %d inserted; once: %d records, %d inserted", st.Records, st.Inserted, want.Records, want.Inserted)
	}
	if n := count(t, db, "1"); n != int(want.Inserted) {
		t.Errorf("%d rows, want %d", n, want.Inserted)
	}
	if got, all := eventIndexes(t, db), eventIndexes(t, once); !reflect.DeepEqual(got, all) {
		t.Errorf("indexes: %v, want %v", got, all)
	}
}

// The writer does not wait for checkpoints, but past walLimit it waits for
// one before its next transaction, so that the WAL starts again from its
// beginning: without that it grew to the size of the whole ingest. The WAL
// file keeps the largest size it reached.
func TestIngestBoundsTheWAL(t *testing.T) {
	defer func(l int64) { walLimit = l }(walLimit)
	walLimit = 1 << 20
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := gen.Write(filepath.Join(dir, "trail"), gen.Config{Seed: 2, Days: 3, Events: 60000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(dir, "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(ctx, []string{filepath.Join(dir, "trail")}, Options{TxRows: 2000}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(db.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if wal.Size() > main.Size()/3 {
		t.Errorf("the WAL reached %d bytes for a database of %d", wal.Size(), main.Size())
	}
	t.Logf("WAL at most %d bytes, database %d", wal.Size(), main.Size())
}
