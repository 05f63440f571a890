-- The events table rebuilt to be cheaper to write, with the same rows:
--   * file_id names the log file in the files table: the path, the row's
--     largest value, was written out again for every event.
--   * notable is worked out at ingest (notable in event.go) instead of
--     from each row when events_notable is built; the SQL below gives the
--     rows already in the same value.
--   * event_id has a unique index of its own in place of the PRIMARY KEY,
--     so that a first ingest can defer it with the other indexes and build
--     it once at its end (see indexes.go).
CREATE TABLE files (
	id   INTEGER PRIMARY KEY,
	path TEXT    NOT NULL UNIQUE
);

CREATE TABLE events_lean (
	event_id       TEXT    NOT NULL,    -- eventID, or eventID#n for the n-th secret/parameter of a record
	event_time     INTEGER NOT NULL,
	event_source   TEXT    NOT NULL,
	event_name     TEXT    NOT NULL,
	region         TEXT    NOT NULL,
	account_id     TEXT    NOT NULL,    -- recipientAccountId, else the caller's account
	principal      TEXT    NOT NULL,    -- role ARN behind a session, user ARN, or the service
	principal_type TEXT    NOT NULL,
	session_name   TEXT    NOT NULL,
	mfa            INTEGER NOT NULL CHECK (mfa IN (0, 1)),
	source_ip      TEXT    NOT NULL,
	user_agent     TEXT    NOT NULL,
	secret_id      TEXT    NOT NULL,    -- arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME, no random suffix
	key_id         TEXT    NOT NULL,    -- KMS key ARN
	parameter_name TEXT    NOT NULL,    -- SSM parameter name
	error_code     TEXT    NOT NULL,
	error_message  TEXT    NOT NULL,
	is_read        INTEGER NOT NULL CHECK (is_read IN (0, 1)),
	via            TEXT    NOT NULL CHECK (via IN ('', 'secretsmanager')),
	notable        INTEGER NOT NULL CHECK (notable IN (0, 1)), -- what most reports are about: see notable in event.go
	file_id        INTEGER NOT NULL REFERENCES files (id)
);

INSERT INTO files (path) SELECT DISTINCT file FROM events ORDER BY file;

INSERT INTO events_lean
SELECT e.event_id, e.event_time, e.event_source, e.event_name, e.region, e.account_id, e.principal,
       e.principal_type, e.session_name, e.mfa, e.source_ip, e.user_agent, e.secret_id, e.key_id,
       e.parameter_name, e.error_code, e.error_message, e.is_read, e.via,
       (e.event_name IN ('RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotationAbandoned', 'RotateSecret',
                         'DeleteSecret', 'RestoreSecret', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'DeleteParameter',
                         'DeleteParameters', 'PutResourcePolicy', 'DeleteResourcePolicy', 'DisableKey', 'PutKeyPolicy',
                         'DisableKeyRotation', 'RemoveRegionsFromReplication')
        OR e.error_code <> '' OR e.principal LIKE '%:role/%break-glass%'),
       f.id
FROM events e JOIN files f ON f.path = e.file
ORDER BY e.rowid;

DROP TABLE events;
ALTER TABLE events_lean RENAME TO events;

-- the indexes, all of them: any an interrupted ingest left deferred too
DELETE FROM deferred_indexes;
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE INDEX events_time ON events (event_time);
CREATE INDEX events_secret_time ON events (secret_id, event_time) WHERE secret_id <> '';
CREATE INDEX events_notable ON events (event_time) WHERE notable = 1;
