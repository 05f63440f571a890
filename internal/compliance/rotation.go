package compliance

// RotationStatus: every secret of the inventory with where its rotation
// stands at the window's end. Needs an imported inventory.
var RotationStatus = &Report{
	Name:    "rotation-status",
	Title:   "Rotation status by secret",
	Meaning: "Every secret of the inventory as of the window's end: failing when its last rotation failed, overdue when its interval has passed since the last rotation, disabled when automatic rotation is off, otherwise ok. Rotation settings are the inventory's as last imported; rotations after the window's end are not counted.",
	Columns: []string{"secret", "status", "interval_days", "last_rotated", "next_due", "last_failure", "last_failure_reason"},
	// Rotation events are few: find them through the time index, then
	// take each secret's latest.
	SQLite: `
WITH r AS MATERIALIZED (
  SELECT secret_id, event_name, event_time, error_message
  FROM events
  WHERE event_time < :to AND event_name IN ('RotationSucceeded', 'RotationFailed') AND secret_id <> ''
    AND ` + notableSQL + `),
ev AS (
  SELECT secret_id,
         max(CASE WHEN event_name = 'RotationSucceeded' THEN event_time END) AS ok_at,
         max(CASE WHEN event_name = 'RotationFailed' THEN event_time END) AS fail_at
  FROM r GROUP BY secret_id),
s AS (
  SELECT i.secret_id, i.rotation_enabled, i.rotation_days, ev.ok_at, ev.fail_at,
         nullif(max(coalesce(` + before("i.last_rotated") + `, 0), coalesce(ev.ok_at, 0)), 0) AS rotated,
         (SELECT f.error_message FROM r f WHERE f.secret_id = i.secret_id AND f.event_name = 'RotationFailed'
          ORDER BY f.event_time DESC LIMIT 1) AS reason
  FROM secrets i LEFT JOIN ev ON ev.secret_id = i.secret_id
  WHERE i.deleted = 0)
SELECT secret_id,
       CASE WHEN rotation_enabled = 0 THEN 'disabled'
            WHEN fail_at > coalesce(ok_at, 0) THEN 'failing'
            WHEN rotation_days IS NOT NULL AND (rotated IS NULL OR rotated + rotation_days * 86400000 < :to) THEN 'overdue'
            ELSE 'ok' END,
       coalesce(rotation_days, ''),
       coalesce(` + sprintf(isoTime, "rotated") + `, ''),
       CASE WHEN rotation_enabled = 1 AND rotation_days IS NOT NULL AND rotated IS NOT NULL
            THEN ` + sprintf(isoTime, "(rotated + rotation_days * 86400000)") + ` ELSE '' END,
       coalesce(` + sprintf(isoTime, "fail_at") + `, ''),
       coalesce(reason, '')
FROM s
ORDER BY CASE WHEN rotation_enabled = 0 THEN 2
              WHEN fail_at > coalesce(ok_at, 0) THEN 0
              WHEN rotation_days IS NOT NULL AND (rotated IS NULL OR rotated + rotation_days * 86400000 < :to) THEN 1
              ELSE 3 END, secret_id`,
}
