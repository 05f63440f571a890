// Package store keeps the gate's record: pushes, their findings (never the
// secret: redacted preview and fingerprint only), bypasses, and the alert
// outbox, written in one transaction so a crash loses nothing; and the
// GitHub App's durable queue of webhook deliveries (jobs). It runs on
// SQLite (WAL; the embedded default, one machine) or on PostgreSQL (several
// server replicas sharing one store), with the same methods on both.
//
// Contract used by the gate (internal/gate) and alert delivery (internal/alert):
//
//	Open(ctx, dsn) (*Store, error)             // a postgres:// or postgresql:// URL: PostgreSQL; anything else:
//	                                           // a SQLite file (created with its folder, WAL, busy timeout); runs migrations
//	(*Store).Close() error
//	(*Store).RecordPush(ctx, Push, []scan.Finding, []Alert) (pushID int64, err error)
//	    // one transaction: the push, its findings, a bypass row per finding
//	    // fingerprint when Push.Verdict == VerdictBypassed, and the alerts into the outbox
//	(*Store).Bypassed(ctx, repo string, fingerprints []string) (map[string]bool, error)
//	    // which fingerprints were already accepted by a bypass in that repository
//	(*Store).ClaimAlerts(ctx, now time.Time, limit int, lease time.Duration) ([]Alert, error)
//	    // due, undelivered alerts, leased to this caller so concurrent deliverers never send one twice
//	(*Store).AlertDelivered(ctx, id int64, at time.Time) error
//	(*Store).AlertFailed(ctx, id int64, reason string, retryAt time.Time) error
//	(*Store).Pushes(ctx, limit int) ([]Push, error)   // newest first, for `gatekeeper pushes` and tests
//	(*Store).Findings(ctx, pushID int64) ([]Finding, error)
//	(*Store).PendingAlerts(ctx) (int, error)
//
// Used by the GitHub App (internal/githubapp), one job per webhook delivery:
//
//	(*Store).EnqueueJob(ctx, kind, deliveryID string, payload []byte) (id int64, dup bool, err error)
//	    // queued, due at once; a delivery id seen before is not queued again (its job's id, dup=true)
//	(*Store).ClaimJobs(ctx, now time.Time, limit int, lease time.Duration) ([]Job, error)
//	    // due jobs (queued and due, or running with their lease run out: the worker died),
//	    // leased to this caller, attempt counted; concurrent workers on any replica never get one twice
//	(*Store).JobDone(ctx, id int64, at time.Time) error
//	(*Store).JobFailed(ctx, id int64, reason string, retryAt time.Time, final bool) error
//	    // queued again at retryAt, or failed for good (retryAt then stored as done_at)
//	(*Store).JobCounts(ctx) (map[string]int, error)   // per state: queued, running, done, failed
//	ErrNoJob                                   // JobDone/JobFailed on an id that is not a running job
//
// A lease bounds how long a worker may hold a job: past it another worker
// takes the job again, so a job runs at least once and, if a worker stalls
// beyond its lease, possibly twice; handlers are written to be repeatable.
//
// Added by the implementation:
//
//	(*Store).Path() string                     // absolute path of the SQLite file; "" on PostgreSQL
//	(*Store).Backend() string                  // "sqlite" or "postgres"
//	(*Store).String() string                   // the file, or the URL without its password, for messages
//	SchemaVersion() int                        // newest schema this build knows
//	ErrNoAlert                                 // AlertDelivered/AlertFailed on an id that is not an undelivered alert
//
// Backends: the methods write their SQL once, with '?' placeholders and
// syntax both engines accept; what differs (placeholders, row claiming,
// migration locking) is the dialect in dialect.go. Schema: one set of
// numbered files per dialect, migrations/sqlite/ and migrations/postgres/
// (embedded, the same numbers on both), applied in order in one
// transaction and recorded in schema_migrations; a database newer than the
// build is refused. On PostgreSQL the migration transaction first takes an
// advisory lock, so replicas starting at once migrate one at a time.
//
// Times are stored as Unix milliseconds and read back in UTC. Text that
// PostgreSQL cannot hold (invalid UTF-8, NUL) is stored as U+FFFD on both
// backends. On SQLite every write is a BEGIN IMMEDIATE transaction (the
// DSN sets _txlock=immediate) so concurrent hook processes queue on the
// busy timeout instead of failing on a lock upgrade; on PostgreSQL writes
// run at read committed and ClaimAlerts picks its rows with FOR UPDATE
// SKIP LOCKED, so two replicas never claim the same alert.
//
// Tests run every case on SQLite, and on PostgreSQL too when
// SECRETGATE_TEST_POSTGRES holds a postgres:// URL (each test in a schema
// of its own); .ci/run starts a throwaway server and sets it.
package store
