-- Indexes of the events table that an ingest into an empty table dropped,
-- to build them once at its end rather than row by row. A row here means
-- the index is missing: the ingest's end, or the next Open after a crash,
-- creates it from its SQL and deletes the row in one transaction.
CREATE TABLE deferred_indexes (
	name TEXT PRIMARY KEY,
	sql  TEXT NOT NULL
);
