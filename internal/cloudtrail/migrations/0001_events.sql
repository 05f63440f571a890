-- The dashboard's events: CloudTrail records, normalised at ingest.
-- Times are Unix milliseconds (UTC); flags are 0/1; absent text is ''.
CREATE TABLE events (
	event_id       TEXT    PRIMARY KEY, -- eventID, or eventID#n for the n-th secret/parameter of a record
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
	file           TEXT    NOT NULL
);
CREATE INDEX events_time ON events (event_time);
CREATE INDEX events_secret_time ON events (secret_id, event_time) WHERE secret_id <> '';
