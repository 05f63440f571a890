package compliance

// before is an inventory date (Unix ms, or NULL) when it falls before the
// window's end, else NULL.
func before(col string) string {
	return "CASE WHEN " + col + " < :to THEN " + col + " END"
}

// ninetyDays is the window of SecretsManager.3 and .4 (Security Hub's default).
const ninetyDays = "7776000000"

// Controls: Security Hub's Secrets Manager controls, per secret in the
// inventory, as of the window's end. Needs an imported inventory.
//
// The inventory is what list-secrets said when it was imported: its
// settings are taken as they are, but its last-rotated and last-read
// dates only when they fall before the window's end, as a report of a
// past week must not count what came after it.
var Controls = &Report{
	Name:    "controls",
	Title:   "Security Hub controls SecretsManager.1–4",
	Meaning: "Each secret of the inventory against AWS Foundational Security Best Practices: .1 automatic rotation on; .2 its last rotation did not fail; .3 read within 90 days; .4 rotated within 90 days, all by the window's end. Rotation settings are the inventory's as last imported; its dates count only when before the window's end. Secrets scheduled for deletion are left out.",
	Columns: []string{"control", "secret", "status", "evidence"},
	SQLite: `
WITH n AS MATERIALIZED (
  -- Rotations through the notable events' index (first, apart: grouping
  -- by secret would tempt SQLite into the (secret, time) index over all
  -- events); each secret's last read through that index, newest first.
  SELECT secret_id, event_name, event_time
  FROM events
  WHERE event_time < :to AND event_name IN ('RotationSucceeded', 'RotationFailed') AND ` + notableSQL + `),
rot AS (
  SELECT secret_id,
         max(CASE WHEN event_name = 'RotationSucceeded' THEN event_time END) AS ok_at,
         max(CASE WHEN event_name = 'RotationFailed' THEN event_time END) AS fail_at
  FROM n WHERE secret_id <> '' GROUP BY secret_id),
s AS (
  SELECT i.secret_id, i.rotation_enabled, rot.ok_at, rot.fail_at,
         nullif(max(coalesce(` + before("i.last_rotated") + `, 0), coalesce(rot.ok_at, 0)), 0) AS rotated,
         nullif(max(coalesce(` + before("i.last_accessed") + `, 0), coalesce(
           (SELECT e.event_time FROM events e
            WHERE ` + OnSecret("e", "i.secret_id") + ` AND e.event_time < :to AND e.is_read = 1 AND e.error_code = ''
            ORDER BY e.event_time DESC LIMIT 1), 0)), 0) AS accessed
  FROM secrets i LEFT JOIN rot ON rot.secret_id = i.secret_id
  WHERE i.deleted = 0)
SELECT 'SecretsManager.1', secret_id, CASE WHEN rotation_enabled = 1 THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN rotation_enabled = 1 THEN 'automatic rotation on' ELSE 'automatic rotation off' END
FROM s
UNION ALL
SELECT 'SecretsManager.2', secret_id,
       CASE WHEN fail_at > coalesce(ok_at, 0) THEN 'FAIL' ELSE 'PASS' END,
       CASE WHEN fail_at > coalesce(ok_at, 0) THEN 'last rotation failed ' || ` + sprintf(isoTime, "fail_at") + `
            WHEN ok_at IS NOT NULL THEN 'last rotation succeeded ' || ` + sprintf(isoTime, "ok_at") + `
            ELSE 'no rotation seen' END
FROM s WHERE rotation_enabled = 1
UNION ALL
SELECT 'SecretsManager.3', secret_id,
       CASE WHEN accessed >= :to - ` + ninetyDays + ` THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN accessed IS NULL THEN 'never read' ELSE 'last read ' || ` + sprintf(isoTime, "accessed") + ` END
FROM s
UNION ALL
SELECT 'SecretsManager.4', secret_id,
       CASE WHEN rotated >= :to - ` + ninetyDays + ` THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN rotated IS NULL THEN 'never rotated' ELSE 'last rotated ' || ` + sprintf(isoTime, "rotated") + ` END
FROM s
ORDER BY 1, 3, 2`,
}
