// Package store keeps the gate's record in SQLite (WAL): pushes, their
// findings (never the secret: redacted preview and fingerprint only),
// bypasses, and the alert outbox, written in one transaction so a crash
// loses nothing.
//
// Contract used by the gate (internal/gate) and alert delivery (internal/alert):
//
//	Open(ctx, path) (*Store, error)            // creates the file and folder, WAL, busy timeout, runs embedded migrations
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
// Added by the implementation:
//
//	(*Store).Path() string                     // absolute path of the file
//	SchemaVersion() int                        // newest schema this build knows
//	ErrNoAlert                                 // AlertDelivered/AlertFailed on an id that is not an undelivered alert
//
// Schema: numbered files in migrations/ (embedded), applied in order in one
// transaction and recorded in schema_migrations; a database newer than the
// build is refused. Times are stored as Unix milliseconds and read back in
// UTC. Every write is a BEGIN IMMEDIATE transaction (the DSN sets
// _txlock=immediate) so concurrent hook processes queue on the busy
// timeout instead of failing on a lock upgrade.
package store
