-- The GitHub App's durable delivery queue: one row per webhook delivery,
-- worked by leasing. state: queued (due at run_after), running (leased to a
-- worker until leased_until; past it, another worker may take it again),
-- done, failed (for good). attempts counts the times a worker took it.
CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY,
	kind         TEXT    NOT NULL CHECK (kind <> ''),
	delivery_id  TEXT    NOT NULL UNIQUE CHECK (delivery_id <> ''),
	payload      BLOB    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	run_after    INTEGER NOT NULL,
	leased_until INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	done_at      INTEGER
);
CREATE INDEX jobs_due ON jobs (run_after, id) WHERE state IN ('queued', 'running');
