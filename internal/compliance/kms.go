package compliance

// isoDay is a Unix-millisecond time as its UTC date.
const isoDay = `strftime('%Y-%m-%d', %s / 1000, 'unixepoch')`

// KeyControls: Security Hub's KMS controls that the key inventory answers,
// per key, as the inventory found it. Needs an imported key inventory (the
// keys table of the inventory package). Changes seen in the window's
// CloudTrail events are added to the evidence.
var KeyControls = &Report{
	Name:  "key-controls",
	Title: "Security Hub controls KMS.3 and KMS.4",
	Meaning: "Each customer managed KMS key of the inventory against AWS Foundational Security Best Practices: " +
		"KMS.3 not scheduled for deletion (deleted, its data can never be decrypted again); " +
		"KMS.4 automatic rotation of the key material on, for the symmetric encryption keys whose material KMS made, " +
		"the only ones that can rotate automatically. AWS managed keys rotate every year and cannot be deleted.",
	Columns: []string{"control", "key", "status", "evidence"},
	SQLite: `
WITH ev AS (
  -- The last successful change of each kind per key in the window; SQLite
  -- takes principal from the row of max(event_time).
  SELECT key_id, event_name, max(event_time) AS at, principal
  FROM events
  WHERE event_name IN ('DisableKeyRotation', 'ScheduleKeyDeletion') AND error_code = '' AND key_id <> ''
    AND ` + notableSQL + ` AND event_time >= :from AND event_time < :to
  GROUP BY key_id, event_name),
k AS (
  SELECT k.*, d.at AS disabled_at, d.principal AS disabled_by, s.at AS scheduled_at, s.principal AS scheduled_by
  FROM keys k
  LEFT JOIN ev d ON d.key_id = k.key_id AND d.event_name = 'DisableKeyRotation'
  LEFT JOIN ev s ON s.key_id = k.key_id AND s.event_name = 'ScheduleKeyDeletion'
  WHERE k.key_manager = 'CUSTOMER')
SELECT 'KMS.3', key_id,
       CASE WHEN key_state IN ('PendingDeletion', 'PendingReplicaDeletion') THEN 'FAIL' ELSE 'PASS' END,
       CASE WHEN key_state = 'PendingDeletion'
              THEN 'deletion scheduled' || coalesce(' for ' || ` + sprintf(isoDay, "deletion_date") + `, '')
            WHEN key_state = 'PendingReplicaDeletion' THEN 'deletion scheduled once its replica keys are deleted'
            ELSE 'not scheduled for deletion' END
       || coalesce('; scheduled ' || ` + sprintf(isoTime, "scheduled_at") + ` || ' by ' || scheduled_by, '')
FROM k
UNION ALL
SELECT 'KMS.4', key_id,
       CASE WHEN rotation_enabled = 1 THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN rotation_enabled = 1
              THEN 'automatic rotation on' || coalesce(', every ' || rotation_period_days || ' days', '')
                   || coalesce(', next ' || ` + sprintf(isoDay, "next_rotation") + `, '')
            WHEN rotation_enabled = 0 THEN 'automatic rotation off'
            ELSE 'rotation status unknown' END
       || coalesce('; rotation disabled ' || ` + sprintf(isoTime, "disabled_at") + ` || ' by ' || disabled_by, '')
FROM k
WHERE key_spec = 'SYMMETRIC_DEFAULT' AND origin = 'AWS_KMS' AND key_state NOT IN ('PendingDeletion', 'PendingReplicaDeletion')
ORDER BY 1, 3, 2`,
}
