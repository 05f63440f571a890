-- Times are Unix milliseconds (UTC); JSON columns hold what the Go types marshal to.

CREATE TABLE pushes (
	id          INTEGER PRIMARY KEY,
	repo        TEXT    NOT NULL,
	pusher      TEXT    NOT NULL,
	source      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	updates     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(updates)),
	verdict     TEXT    NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'bypassed', 'failed_open', 'failed_closed')),
	reason      TEXT    NOT NULL DEFAULT '',
	commits     INTEGER NOT NULL DEFAULT 0,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	unscanned   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(unscanned))
);
CREATE INDEX pushes_at ON pushes (at);
CREATE INDEX pushes_repo_at ON pushes (repo, at);

-- A finding never holds the secret: a redacted preview and a keyed fingerprint only.
-- "commit" is an SQL keyword, hence commit_id.
CREATE TABLE findings (
	id          INTEGER PRIMARY KEY,
	push_id     INTEGER NOT NULL REFERENCES pushes (id) ON DELETE CASCADE,
	rule_id     TEXT    NOT NULL,
	severity    TEXT    NOT NULL,
	commit_id   TEXT    NOT NULL DEFAULT '',
	path        TEXT    NOT NULL DEFAULT '',
	line        INTEGER NOT NULL DEFAULT 0,
	col         INTEGER NOT NULL DEFAULT 0,
	redacted    TEXT    NOT NULL DEFAULT '',
	fingerprint TEXT    NOT NULL
);
CREATE INDEX findings_push ON findings (push_id);
CREATE INDEX findings_fingerprint ON findings (fingerprint);

-- The first bypass of a fingerprint in a repository is the one kept.
CREATE TABLE bypasses (
	id          INTEGER PRIMARY KEY,
	repo        TEXT    NOT NULL,
	fingerprint TEXT    NOT NULL,
	push_id     INTEGER NOT NULL REFERENCES pushes (id) ON DELETE CASCADE,
	pusher      TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	UNIQUE (repo, fingerprint)
);

-- The alert outbox: written with the push, delivered later, kept once delivered.
-- leased_until > now means a deliverer holds the row.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	push_id         INTEGER REFERENCES pushes (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL CHECK (kind <> ''),
	subject         TEXT    NOT NULL CHECK (length(subject) < 100),
	message         TEXT    NOT NULL CHECK (message <> ''),
	attributes      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	leased_until    INTEGER NOT NULL DEFAULT 0,
	delivered_at    INTEGER,
	last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
