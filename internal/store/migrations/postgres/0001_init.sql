-- The PostgreSQL twin of migrations/sqlite/0001_init.sql: the same tables,
-- columns, constraints and indexes. Times are Unix milliseconds (UTC) in
-- BIGINT; JSON columns are TEXT checked by a cast, so they keep exactly the
-- text the Go types marshal to.

CREATE TABLE pushes (
	id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repo        TEXT    NOT NULL,
	pusher      TEXT    NOT NULL,
	source      TEXT    NOT NULL,
	at          BIGINT  NOT NULL,
	updates     TEXT    NOT NULL DEFAULT '[]' CHECK (updates::json IS NOT NULL),
	verdict     TEXT    NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'bypassed', 'failed_open', 'failed_closed')),
	reason      TEXT    NOT NULL DEFAULT '',
	commits     INTEGER NOT NULL DEFAULT 0,
	duration_ms BIGINT  NOT NULL DEFAULT 0,
	unscanned   TEXT    NOT NULL DEFAULT '[]' CHECK (unscanned::json IS NOT NULL)
);
CREATE INDEX pushes_at ON pushes (at);
CREATE INDEX pushes_repo_at ON pushes (repo, at);

-- A finding never holds the secret: a redacted preview and a keyed fingerprint only.
-- "commit" is an SQL keyword, hence commit_id.
CREATE TABLE findings (
	id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	push_id     BIGINT  NOT NULL REFERENCES pushes (id) ON DELETE CASCADE,
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
	id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repo        TEXT    NOT NULL,
	fingerprint TEXT    NOT NULL,
	push_id     BIGINT  NOT NULL REFERENCES pushes (id) ON DELETE CASCADE,
	pusher      TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	at          BIGINT  NOT NULL,
	UNIQUE (repo, fingerprint)
);

-- The alert outbox: written with the push, delivered later, kept once delivered.
-- leased_until > now means a deliverer holds the row.
CREATE TABLE outbox (
	id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	push_id         BIGINT  REFERENCES pushes (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL CHECK (kind <> ''),
	subject         TEXT    NOT NULL CHECK (length(subject) < 100),
	message         TEXT    NOT NULL CHECK (message <> ''),
	attributes      TEXT    NOT NULL DEFAULT '{}' CHECK (attributes::json IS NOT NULL),
	created_at      BIGINT  NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT  NOT NULL,
	leased_until    BIGINT  NOT NULL DEFAULT 0,
	delivered_at    BIGINT,
	last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
