-- The few events most reports are about (rotations, deletions, policy and
-- key changes, errors, break-glass sessions) by time, so that a report of
-- them reads those rows only, not a whole week of reads. The WHERE text is
-- compliance's notableSQL, word for word: SQLite uses a partial index for
-- a query whose WHERE holds the index's condition as one of its terms.
CREATE INDEX events_notable ON events (event_time) WHERE (event_name IN ('RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotationAbandoned', 'RotateSecret', 'DeleteSecret', 'RestoreSecret', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'DeleteParameter', 'DeleteParameters', 'PutResourcePolicy', 'DeleteResourcePolicy', 'DisableKey', 'PutKeyPolicy', 'DisableKeyRotation', 'RemoveRegionsFromReplication') OR error_code <> '' OR principal LIKE '%:role/%break-glass%');
