-- Idempotency for event-driven front doors (CodeCommit's Lambda is retried
-- with the same event), and the commits a repository has had scanned (its
-- triggers do not say where a ref was before).
ALTER TABLE pushes ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX pushes_event_id ON pushes (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE scanned_commits (
    repo      TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    push_id   INTEGER NOT NULL REFERENCES pushes (id),
    PRIMARY KEY (repo, commit_id)
);
