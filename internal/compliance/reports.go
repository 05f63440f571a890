package compliance

import "strings"

func sprintf(format, arg string) string { return strings.Replace(format, "%s", arg, 1) }

// humanSQL tells people from workloads: IAM users, the root user, and
// sessions of IAM Identity Center (SSO) permission sets are people.
const humanSQL = `(principal_type IN ('IAMUser', 'Root') OR principal LIKE '%:role/AWSReservedSSO\_%' ESCAPE '\')`

const isoTime = `strftime('%Y-%m-%dT%H:%M:%SZ', %s / 1000, 'unixepoch')`

// Access: who read which secret in the window.
var Access = &Report{
	Name:    "access",
	Title:   "Secret reads by principal",
	Meaning: "Every successful read of a secret in the window, by the principal behind it. A new reader did not read that secret in the previous window; a human reader is a person, not a workload.",
	Columns: []string{"secret", "principal", "reads", "first_read", "last_read", "new_reader", "human"},
	SQLite: `
SELECT e.secret_id, e.principal, count(*),
       ` + sprintf(isoTime, "min(e.event_time)") + `, ` + sprintf(isoTime, "max(e.event_time)") + `,
       CASE WHEN EXISTS (SELECT 1 FROM events p
                         WHERE p.secret_id = e.secret_id AND p.secret_id <> '' -- lets SQLite use the partial (secret, time) index
                           AND p.principal = e.principal AND p.is_read = 1 AND p.error_code = ''
                           AND p.event_time >= :prev_from AND p.event_time < :from) THEN 'no' ELSE 'yes' END,
       CASE WHEN max(` + humanSQL + `) = 1 THEN 'yes' ELSE 'no' END
FROM events e
WHERE e.is_read = 1 AND e.error_code = '' AND e.secret_id <> '' AND e.event_time >= :from AND e.event_time < :to
GROUP BY e.secret_id, e.principal
ORDER BY e.secret_id, count(*) DESC, e.principal`,
}

// Denied: attempts refused by IAM or a resource policy.
var Denied = &Report{
	Name:    "denied",
	Title:   "Denied attempts on secrets, keys and parameters",
	Meaning: "Calls to Secrets Manager, KMS or Parameter Store that were refused. Repeated denials from one principal suggest probing or a broken deployment.",
	Columns: []string{"time", "principal", "action", "target", "error"},
	SQLite: `
SELECT ` + sprintf(isoTime, "event_time") + `, principal, replace(event_source, '.amazonaws.com', '') || ':' || event_name,
       CASE WHEN secret_id <> '' THEN secret_id WHEN key_id <> '' THEN key_id ELSE parameter_name END,
       error_code
FROM events
WHERE error_code IN ('AccessDenied', 'AccessDeniedException')
  AND event_source IN ('secretsmanager.amazonaws.com', 'kms.amazonaws.com', 'ssm.amazonaws.com')
  AND event_time >= :from AND event_time < :to
ORDER BY event_time, event_id`,
}

// BreakGlass: sessions of a break-glass role and what they read.
var BreakGlass = &Report{
	Name:    "break-glass",
	Title:   "Break-glass sessions",
	Meaning: "Every session of a role named break-glass: who (the session name), whether MFA was used, when, and how many secrets it read.",
	Columns: []string{"role", "session", "mfa", "first_seen", "last_seen", "calls", "secrets_read"},
	SQLite: `
SELECT principal, session_name, CASE WHEN max(mfa) = 1 THEN 'yes' ELSE 'NO' END,
       ` + sprintf(isoTime, "min(event_time)") + `, ` + sprintf(isoTime, "max(event_time)") + `,
       count(*), count(DISTINCT CASE WHEN is_read = 1 AND error_code = '' THEN secret_id END)
FROM events
WHERE principal LIKE '%:role/%break-glass%' AND event_time >= :from AND event_time < :to
GROUP BY principal, session_name
ORDER BY min(event_time)`,
}

// UnsafeChanges: destructive or policy changes made without MFA.
var UnsafeChanges = &Report{
	Name:    "unsafe-changes",
	Title:   "Deletes, policy changes and key disables without MFA",
	Meaning: "Changes that can lose or expose a secret, made by a session without multi-factor authentication.",
	Columns: []string{"time", "principal", "action", "target"},
	SQLite: `
SELECT ` + sprintf(isoTime, "event_time") + `, principal, replace(event_source, '.amazonaws.com', '') || ':' || event_name,
       CASE WHEN secret_id <> '' THEN secret_id ELSE key_id END
FROM events
WHERE event_name IN ('DeleteSecret', 'PutResourcePolicy', 'DeleteResourcePolicy', 'ScheduleKeyDeletion',
                     'DisableKey', 'PutKeyPolicy', 'DisableKeyRotation', 'RemoveRegionsFromReplication')
  AND mfa = 0 AND error_code = '' AND principal_type NOT IN ('AWSService')
  AND event_time >= :from AND event_time < :to
ORDER BY event_time, event_id`,
}

// Rotations: how each secret's rotation went in the window.
var Rotations = &Report{
	Name:    "rotations",
	Title:   "Rotation results by secret",
	Meaning: "Rotations Secrets Manager ran in the window, by secret: successes, failures, and the last of each.",
	Columns: []string{"secret", "succeeded", "failed", "last_success", "last_failure"},
	SQLite: `
SELECT secret_id,
       sum(event_name = 'RotationSucceeded'), sum(event_name = 'RotationFailed'),
       ` + sprintf(isoTime, "max(CASE WHEN event_name = 'RotationSucceeded' THEN event_time END)") + `,
       ` + sprintf(isoTime, "max(CASE WHEN event_name = 'RotationFailed' THEN event_time END)") + `
FROM events
WHERE event_name IN ('RotationSucceeded', 'RotationFailed') AND secret_id <> ''
  AND event_time >= :from AND event_time < :to
GROUP BY secret_id
ORDER BY sum(event_name = 'RotationFailed') DESC, secret_id`,
}

// Headline: the figures on the first page, with the previous window's.
var Headline = &Report{
	Name:    "headline",
	Title:   "Headline figures",
	Meaning: "The week at a glance, against the week before.",
	Columns: []string{"figure", "this_window", "previous_window"},
	SQLite: `
WITH f AS (
  -- One pass over each window: conditional aggregates, not a scan per figure.
  SELECT CASE WHEN event_time >= :from THEN 'this' ELSE 'prev' END AS name,
    sum(is_read = 1 AND error_code = '' AND secret_id <> '') AS reads,
    count(DISTINCT CASE WHEN is_read = 1 AND error_code = '' AND secret_id <> '' THEN secret_id END) AS secrets,
    count(DISTINCT CASE WHEN is_read = 1 AND error_code = '' AND secret_id <> '' THEN principal END) AS readers,
    sum(error_code IN ('AccessDenied', 'AccessDeniedException')) AS denied,
    count(DISTINCT CASE WHEN principal LIKE '%:role/%break-glass%' THEN session_name END) AS break_glass,
    sum(event_name = 'RotationFailed') AS rotation_failures
  FROM events
  WHERE event_time >= :prev_from AND event_time < :to
  GROUP BY 1)
SELECT 'secret reads', coalesce((SELECT reads FROM f WHERE name = 'this'), 0), coalesce((SELECT reads FROM f WHERE name = 'prev'), 0)
UNION ALL SELECT 'secrets read', coalesce((SELECT secrets FROM f WHERE name = 'this'), 0), coalesce((SELECT secrets FROM f WHERE name = 'prev'), 0)
UNION ALL SELECT 'readers', coalesce((SELECT readers FROM f WHERE name = 'this'), 0), coalesce((SELECT readers FROM f WHERE name = 'prev'), 0)
UNION ALL SELECT 'denied attempts', coalesce((SELECT denied FROM f WHERE name = 'this'), 0), coalesce((SELECT denied FROM f WHERE name = 'prev'), 0)
UNION ALL SELECT 'break-glass sessions', coalesce((SELECT break_glass FROM f WHERE name = 'this'), 0), coalesce((SELECT break_glass FROM f WHERE name = 'prev'), 0)
UNION ALL SELECT 'rotation failures', coalesce((SELECT rotation_failures FROM f WHERE name = 'this'), 0), coalesce((SELECT rotation_failures FROM f WHERE name = 'prev'), 0)`,
}

// Daily: reads and denials per day, for the trend chart.
var Daily = &Report{
	Name:    "daily",
	Title:   "Secret reads and denied attempts per day",
	Meaning: "Successful secret reads and denied attempts on each day of the window. A day at zero while others are busy usually means missing log files, not a quiet day.",
	Columns: []string{"day", "reads", "denied"},
	Chart:   "bar",
	SQLite: `
WITH RECURSIVE days(d) AS (SELECT :from UNION ALL SELECT d + 86400000 FROM days WHERE d + 86400000 < :to)
SELECT strftime('%Y-%m-%d', days.d / 1000, 'unixepoch'),
       coalesce(sum(e.is_read = 1 AND e.error_code = '' AND e.secret_id <> ''), 0),
       coalesce(sum(e.error_code IN ('AccessDenied', 'AccessDeniedException')
                    AND e.event_source IN ('secretsmanager.amazonaws.com', 'kms.amazonaws.com', 'ssm.amazonaws.com')), 0)
FROM days LEFT JOIN events e ON e.event_time >= days.d AND e.event_time < days.d + 86400000
GROUP BY days.d
ORDER BY days.d`,
}

// All are the weekly report's tables, in order.
var All = []*Report{Headline, Daily, Access, Rotations, Denied, BreakGlass, UnsafeChanges}

// ninetyDays is the window of SecretsManager.3 and .4 (Security Hub's default).
const ninetyDays = "7776000000"

// Controls: Security Hub's Secrets Manager controls, per secret in the
// inventory, as of the window's end. Needs an imported inventory.
var Controls = &Report{
	Name:    "controls",
	Title:   "Security Hub controls SecretsManager.1–4",
	Meaning: "Each secret of the inventory against AWS Foundational Security Best Practices: .1 automatic rotation on; .2 its last rotation did not fail; .3 read within 90 days; .4 rotated within 90 days. Secrets scheduled for deletion are left out.",
	Columns: []string{"control", "secret", "status", "evidence"},
	SQLite: `
WITH ev AS (
  SELECT secret_id,
         max(CASE WHEN event_name = 'RotationSucceeded' THEN event_time END) AS ok_at,
         max(CASE WHEN event_name = 'RotationFailed' THEN event_time END) AS fail_at,
         max(CASE WHEN is_read = 1 AND error_code = '' THEN event_time END) AS read_at
  FROM events WHERE secret_id <> '' AND event_time < :to GROUP BY secret_id),
s AS (
  SELECT i.secret_id, i.rotation_enabled, ev.ok_at, ev.fail_at,
         nullif(max(coalesce(i.last_rotated, 0), coalesce(ev.ok_at, 0)), 0) AS rotated,
         nullif(max(coalesce(i.last_accessed, 0), coalesce(ev.read_at, 0)), 0) AS accessed
  FROM secrets i LEFT JOIN ev ON ev.secret_id = i.secret_id
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
