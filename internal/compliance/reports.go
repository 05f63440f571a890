package compliance

import "strings"

// The reports read the dashboard's events table on SQLite and the
// secretgate_events view on Athena; both have the same columns. The texts
// differ where the engines do: SQLite sums booleans and formats times with
// strftime, Trino needs CASE and format_datetime, and Athena should be
// told which daily partitions to read (log_date), since it bills by the
// byte scanned.

func sprintf(format, arg string) string { return strings.Replace(format, "%s", arg, 1) }

// humanSQL tells people from workloads: IAM users, the root user, and
// sessions of IAM Identity Center (SSO) permission sets are people. The
// same text works in both dialects.
const humanSQL = `(principal_type IN ('IAMUser', 'Root') OR principal LIKE '%:role/AWSReservedSSO\_%' ESCAPE '\')`

// Times come out as 2026-11-23T09:01:00Z in both dialects.
const (
	isoTime    = `strftime('%Y-%m-%dT%H:%M:%SZ', %s / 1000, 'unixepoch')`
	isoTimeAth = `format_datetime(from_unixtime(%s / 1000), 'yyyy-MM-dd''T''HH:mm:ss''Z''')`
	day        = `strftime('%Y-%m-%d', %s / 1000, 'unixepoch')`
	dayAth     = `format_datetime(from_unixtime(%s / 1000), 'yyyy-MM-dd')`
)

// The partitions a window's events can be in, on Athena.
const (
	inWindowAth     = `log_date BETWEEN :from_date AND :to_date AND event_time >= :from AND event_time < :to`
	inTwoWindowsAth = `log_date BETWEEN :prev_from_date AND :to_date AND event_time >= :prev_from AND event_time < :to`
)

const (
	// readOK is a successful read of a secret's value.
	readOK = `is_read = 1 AND error_code = '' AND secret_id <> ''`
	// deniedSQL is a call refused by IAM or a resource policy.
	deniedSQL = `error_code IN ('AccessDenied', 'AccessDeniedException')
      AND event_source IN ('secretsmanager.amazonaws.com', 'kms.amazonaws.com', 'ssm.amazonaws.com')`
	breakGlassSQL = `principal LIKE '%:role/%break-glass%'`
	actionSQL     = `replace(event_source, '.amazonaws.com', '') || ':' || event_name`
)

// notableSQL is the condition of the events table's partial index
// events_notable (cloudtrail's migration 0004, which must hold this text
// word for word): the few events the violation and rotation reports are
// about (rotations, deletions, policy and key changes, errors, break-glass
// calls; notable in cloudtrail's event.go says which, at ingest). Their
// SQLite texts add it as a term of their WHERE, redundant with their own
// conditions, so that SQLite reads these rows through the index instead of
// every row of the window. A report may only add it when everything its
// own conditions select is notable.
const notableSQL = `notable = 1`

// OnSecret is the condition for the calls made on one secret, secret being
// the SQL for its ID and alias the events table's name in the query ("" for
// none). Its last two terms are the WHERE of the partial (secret, time)
// index, events_secret_time, which SQLite only uses for a query that
// repeats them word for word. They leave out the KMS calls Secrets Manager
// made, and KMS allowed, on the secret's behalf: half the rows that name a
// secret, each serving a call on the secret that is in. A refused one
// stays: it says why the call it served failed.
func OnSecret(alias, secret string) string {
	a := alias
	if a != "" {
		a += "."
	}
	return a + "secret_id = " + secret + " AND " + a + "secret_id <> '' AND (" + a + "via = '' OR " + a + "error_code <> '')"
}

// Headline: the figures on the first page, with the previous window's.
var Headline = &Report{
	Name:    "headline",
	Title:   "Headline figures",
	Meaning: "The week at a glance, against the week before.",
	Columns: []string{"figure", "this_window", "previous_window"},
	// The reads in one pass over both windows, the rest through the
	// notable events' index, then one row per figure.
	SQLite: `
WITH k(n, figure) AS (VALUES (1, 'secret reads'), (2, 'secrets read'), (3, 'readers'),
                             (4, 'denied attempts'), (5, 'break-glass sessions'), (6, 'rotation failures')),
f AS (
  SELECT
    sum(event_time >= :from) AS reads, sum(event_time < :from) AS reads_p,
    count(DISTINCT CASE WHEN event_time >= :from THEN secret_id END) AS secrets,
    count(DISTINCT CASE WHEN event_time < :from THEN secret_id END) AS secrets_p,
    count(DISTINCT CASE WHEN event_time >= :from THEN principal END) AS readers,
    count(DISTINCT CASE WHEN event_time < :from THEN principal END) AS readers_p
  FROM events
  WHERE event_time >= :prev_from AND event_time < :to AND ` + readOK + `),
v AS (
  SELECT
    sum(event_time >= :from AND ` + deniedSQL + `) AS denied, sum(event_time < :from AND ` + deniedSQL + `) AS denied_p,
    count(DISTINCT CASE WHEN event_time >= :from AND ` + breakGlassSQL + ` THEN principal || '/' || session_name END) AS bg,
    count(DISTINCT CASE WHEN event_time < :from AND ` + breakGlassSQL + ` THEN principal || '/' || session_name END) AS bg_p,
    sum(event_time >= :from AND event_name = 'RotationFailed') AS failed, sum(event_time < :from AND event_name = 'RotationFailed') AS failed_p
  FROM events
  WHERE event_time >= :prev_from AND event_time < :to AND ` + notableSQL + `)
SELECT k.figure,
       coalesce(CASE k.n WHEN 1 THEN reads WHEN 2 THEN secrets WHEN 3 THEN readers WHEN 4 THEN denied WHEN 5 THEN bg ELSE failed END, 0),
       coalesce(CASE k.n WHEN 1 THEN reads_p WHEN 2 THEN secrets_p WHEN 3 THEN readers_p WHEN 4 THEN denied_p WHEN 5 THEN bg_p ELSE failed_p END, 0)
FROM k CROSS JOIN f CROSS JOIN v
ORDER BY k.n`,
	Athena: `
WITH k (n, figure) AS (VALUES (1, 'secret reads'), (2, 'secrets read'), (3, 'readers'),
                              (4, 'denied attempts'), (5, 'break-glass sessions'), (6, 'rotation failures')),
f AS (
  SELECT
    sum(CASE WHEN event_time >= :from AND ` + readOK + ` THEN 1 ELSE 0 END) AS reads,
    sum(CASE WHEN event_time < :from AND ` + readOK + ` THEN 1 ELSE 0 END) AS reads_p,
    count(DISTINCT CASE WHEN event_time >= :from AND ` + readOK + ` THEN secret_id END) AS secrets,
    count(DISTINCT CASE WHEN event_time < :from AND ` + readOK + ` THEN secret_id END) AS secrets_p,
    count(DISTINCT CASE WHEN event_time >= :from AND ` + readOK + ` THEN principal END) AS readers,
    count(DISTINCT CASE WHEN event_time < :from AND ` + readOK + ` THEN principal END) AS readers_p,
    sum(CASE WHEN event_time >= :from AND ` + deniedSQL + ` THEN 1 ELSE 0 END) AS denied,
    sum(CASE WHEN event_time < :from AND ` + deniedSQL + ` THEN 1 ELSE 0 END) AS denied_p,
    count(DISTINCT CASE WHEN event_time >= :from AND ` + breakGlassSQL + ` THEN principal || '/' || session_name END) AS bg,
    count(DISTINCT CASE WHEN event_time < :from AND ` + breakGlassSQL + ` THEN principal || '/' || session_name END) AS bg_p,
    sum(CASE WHEN event_time >= :from AND event_name = 'RotationFailed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN event_time < :from AND event_name = 'RotationFailed' THEN 1 ELSE 0 END) AS failed_p
  FROM secretgate_events
  WHERE ` + inTwoWindowsAth + `)
SELECT k.figure,
       coalesce(CASE k.n WHEN 1 THEN reads WHEN 2 THEN secrets WHEN 3 THEN readers WHEN 4 THEN denied WHEN 5 THEN bg ELSE failed END, 0),
       coalesce(CASE k.n WHEN 1 THEN reads_p WHEN 2 THEN secrets_p WHEN 3 THEN readers_p WHEN 4 THEN denied_p WHEN 5 THEN bg_p ELSE failed_p END, 0)
FROM k CROSS JOIN f
ORDER BY k.n`,
}

// Daily: reads and denials per day, for the trend chart.
var Daily = &Report{
	Name:    "daily",
	Title:   "Secret reads and denied attempts per day",
	Meaning: "Successful secret reads and denied attempts on each day of the window. A day at zero while others are busy usually means missing log files, not a quiet day.",
	Columns: []string{"day", "reads", "denied"},
	Chart:   "bar",
	Missing: []string{"0", "0"},
	SQLite: `
SELECT ` + sprintf(day, "min(event_time)") + `, sum(` + readOK + `), sum(` + deniedSQL + `)
FROM events
WHERE event_time >= :from AND event_time < :to
GROUP BY event_time / 86400000 -- whole UTC days: the date is formatted once a day, not once a row
ORDER BY 1`,
	Athena: `
SELECT ` + sprintf(dayAth, "event_time") + `,
       sum(CASE WHEN ` + readOK + ` THEN 1 ELSE 0 END), sum(CASE WHEN ` + deniedSQL + ` THEN 1 ELSE 0 END)
FROM secretgate_events
WHERE ` + inWindowAth + `
GROUP BY 1
ORDER BY 1`,
}

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
                         WHERE ` + OnSecret("p", "e.secret_id") + `
                           AND p.principal = e.principal AND p.is_read = 1 AND p.error_code = ''
                           AND p.event_time >= :prev_from AND p.event_time < :from) THEN 'no' ELSE 'yes' END,
       CASE WHEN max(` + humanSQL + `) = 1 THEN 'yes' ELSE 'no' END
FROM events e
WHERE e.is_read = 1 AND e.error_code = '' AND e.secret_id <> '' AND e.event_time >= :from AND e.event_time < :to
GROUP BY e.secret_id, e.principal
ORDER BY e.secret_id, count(*) DESC, e.principal`,
	Athena: `
WITH cur AS (
  SELECT secret_id, principal, count(*) AS reads, min(event_time) AS first_at, max(event_time) AS last_at,
         max(CASE WHEN ` + humanSQL + ` THEN 1 ELSE 0 END) AS human
  FROM secretgate_events
  WHERE ` + inWindowAth + ` AND ` + readOK + `
  GROUP BY secret_id, principal),
prev AS (
  SELECT DISTINCT secret_id, principal
  FROM secretgate_events
  WHERE log_date BETWEEN :prev_from_date AND :to_date AND event_time >= :prev_from AND event_time < :from AND ` + readOK + `)
SELECT c.secret_id, c.principal, c.reads, ` + sprintf(isoTimeAth, "c.first_at") + `, ` + sprintf(isoTimeAth, "c.last_at") + `,
       CASE WHEN p.secret_id IS NULL THEN 'yes' ELSE 'no' END, CASE WHEN c.human = 1 THEN 'yes' ELSE 'no' END
FROM cur c LEFT JOIN prev p ON p.secret_id = c.secret_id AND p.principal = c.principal
ORDER BY c.secret_id, c.reads DESC, c.principal`,
}

// Rotations: how each secret's rotation went in the window.
var Rotations = &Report{
	Name:    "rotations",
	Title:   "Rotation results by secret",
	Meaning: "Rotations Secrets Manager ran in the window, by secret: successes, failures (with the reason Secrets Manager logged for the last one), and rotations abandoned because the secret changed while rotating.",
	Columns: []string{"secret", "succeeded", "failed", "abandoned", "last_success", "last_failure", "last_failure_reason"},
	// The window's rotation events first: grouping by secret straight from
	// events would tempt SQLite into the (secret, time) index over all time.
	SQLite: `
WITH r AS MATERIALIZED (
  SELECT secret_id, event_name, event_time, error_message
  FROM events
  WHERE event_time >= :from AND event_time < :to AND event_name IN ('RotationSucceeded', 'RotationFailed', 'RotationAbandoned')
    AND ` + notableSQL + `)
SELECT r.secret_id,
       sum(r.event_name = 'RotationSucceeded'), sum(r.event_name = 'RotationFailed'), sum(r.event_name = 'RotationAbandoned'),
       ` + sprintf(isoTime, "max(CASE WHEN r.event_name = 'RotationSucceeded' THEN r.event_time END)") + `,
       ` + sprintf(isoTime, "max(CASE WHEN r.event_name = 'RotationFailed' THEN r.event_time END)") + `,
       coalesce((SELECT f.error_message FROM r f WHERE f.secret_id = r.secret_id AND f.event_name = 'RotationFailed'
                 ORDER BY f.event_time DESC LIMIT 1), '')
FROM r
WHERE r.secret_id <> ''
GROUP BY r.secret_id
ORDER BY sum(r.event_name = 'RotationFailed') DESC, r.secret_id`,
	Athena: `
SELECT secret_id,
       sum(CASE WHEN event_name = 'RotationSucceeded' THEN 1 ELSE 0 END),
       sum(CASE WHEN event_name = 'RotationFailed' THEN 1 ELSE 0 END),
       sum(CASE WHEN event_name = 'RotationAbandoned' THEN 1 ELSE 0 END),
       ` + sprintf(isoTimeAth, "max(CASE WHEN event_name = 'RotationSucceeded' THEN event_time END)") + `,
       ` + sprintf(isoTimeAth, "max(CASE WHEN event_name = 'RotationFailed' THEN event_time END)") + `,
       coalesce(max_by(CASE WHEN event_name = 'RotationFailed' THEN error_message END,
                       CASE WHEN event_name = 'RotationFailed' THEN event_time END), '')
FROM secretgate_events
WHERE ` + inWindowAth + `
  AND event_name IN ('RotationSucceeded', 'RotationFailed', 'RotationAbandoned') AND secret_id <> ''
GROUP BY secret_id
ORDER BY sum(CASE WHEN event_name = 'RotationFailed' THEN 1 ELSE 0 END) DESC, secret_id`,
}

// Denied: attempts refused by IAM or a resource policy.
var Denied = &Report{
	Name:    "denied",
	Title:   "Denied attempts on secrets, keys and parameters",
	Meaning: "Calls to Secrets Manager, KMS or Parameter Store that were refused. Repeated denials from one principal suggest probing or a broken deployment.",
	Columns: []string{"time", "principal", "action", "target", "error"},
	SQLite: `
SELECT ` + sprintf(isoTime, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id WHEN key_id <> '' THEN key_id ELSE parameter_name END,
       error_code
FROM events
WHERE ` + deniedSQL + ` AND ` + notableSQL + `
  AND event_time >= :from AND event_time < :to
ORDER BY event_time, event_id`,
	Athena: `
SELECT ` + sprintf(isoTimeAth, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id WHEN key_id <> '' THEN key_id ELSE parameter_name END,
       error_code
FROM secretgate_events
WHERE ` + inWindowAth + ` AND ` + deniedSQL + `
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
       count(*), count(DISTINCT CASE WHEN ` + readOK + ` THEN secret_id END)
FROM events
WHERE ` + breakGlassSQL + ` AND ` + notableSQL + ` AND event_time >= :from AND event_time < :to
GROUP BY principal, session_name
ORDER BY min(event_time), principal, session_name`,
	Athena: `
SELECT principal, session_name, CASE WHEN max(mfa) = 1 THEN 'yes' ELSE 'NO' END,
       ` + sprintf(isoTimeAth, "min(event_time)") + `, ` + sprintf(isoTimeAth, "max(event_time)") + `,
       count(*), count(DISTINCT CASE WHEN ` + readOK + ` THEN secret_id END)
FROM secretgate_events
WHERE ` + inWindowAth + ` AND ` + breakGlassSQL + `
GROUP BY principal, session_name
ORDER BY min(event_time), principal, session_name`,
}

// sensitiveSQL are the calls that can lose or expose a secret or a key.
const sensitiveSQL = `event_name IN ('DeleteSecret', 'PutResourcePolicy', 'DeleteResourcePolicy', 'ScheduleKeyDeletion',
                     'DisableKey', 'PutKeyPolicy', 'DisableKeyRotation', 'RemoveRegionsFromReplication')`

// UnsafeChanges: destructive or policy changes made without MFA.
var UnsafeChanges = &Report{
	Name:    "unsafe-changes",
	Title:   "Deletes, policy changes and key disables without MFA",
	Meaning: "Changes that can lose or expose a secret, made by a session without multi-factor authentication.",
	Columns: []string{"time", "principal", "action", "target"},
	SQLite: `
SELECT ` + sprintf(isoTime, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id ELSE key_id END
FROM events
WHERE ` + sensitiveSQL + ` AND ` + notableSQL + `
  AND mfa = 0 AND error_code = '' AND principal_type NOT IN ('AWSService')
  AND event_time >= :from AND event_time < :to
ORDER BY event_time, event_id`,
	Athena: `
SELECT ` + sprintf(isoTimeAth, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id ELSE key_id END
FROM secretgate_events
WHERE ` + inWindowAth + ` AND ` + sensitiveSQL + `
  AND mfa = 0 AND error_code = '' AND principal_type NOT IN ('AWSService')
ORDER BY event_time, event_id`,
}

const deletionSQL = `event_name IN ('DeleteSecret', 'RestoreSecret', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'DeleteParameter', 'DeleteParameters')
  AND error_code = ''`

// Deletions: secrets, keys and parameters scheduled for deletion, and
// the deletions called off.
var Deletions = &Report{
	Name:    "deletions",
	Title:   "Secrets, keys and parameters scheduled for deletion",
	Meaning: "Every deletion in the window, and every one called off (RestoreSecret, CancelKeyDeletion). A key scheduled for deletion makes every secret encrypted with it unreadable once the waiting period ends.",
	Columns: []string{"time", "principal", "action", "target", "mfa"},
	SQLite: `
SELECT ` + sprintf(isoTime, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id WHEN key_id <> '' THEN key_id ELSE parameter_name END,
       CASE WHEN mfa = 1 THEN 'yes' ELSE 'no' END
FROM events
WHERE ` + deletionSQL + ` AND ` + notableSQL + ` AND event_time >= :from AND event_time < :to
ORDER BY event_time, event_id`,
	Athena: `
SELECT ` + sprintf(isoTimeAth, "event_time") + `, principal, ` + actionSQL + `,
       CASE WHEN secret_id <> '' THEN secret_id WHEN key_id <> '' THEN key_id ELSE parameter_name END,
       CASE WHEN mfa = 1 THEN 'yes' ELSE 'no' END
FROM secretgate_events
WHERE ` + inWindowAth + ` AND ` + deletionSQL + `
ORDER BY event_time, event_id`,
}

// recoveryWindow is the longest a deleted secret can wait before it goes
// (30 days), in milliseconds: a deletion older than that cannot still be
// pending.
const recoveryWindow = "2592000000"

// DeletedReads: reads of secrets marked for deletion.
var DeletedReads = &Report{
	Name:    "deleted-reads",
	Title:   "Reads of secrets marked for deletion",
	Meaning: "Attempts to read a secret after its DeleteSecret and before any RestoreSecret. Secrets Manager refuses them, so each is an application about to break, or someone testing whether a secret is really gone.",
	Columns: []string{"time", "principal", "secret", "deleted_at", "result"},
	// Deletions are few: find them, then each secret's reads through the
	// (secret, time) index.
	SQLite: `
WITH d AS MATERIALIZED (
  SELECT secret_id, event_time AS at
  FROM events
  WHERE event_time >= :from - ` + recoveryWindow + ` AND event_time < :to AND event_name = 'DeleteSecret' AND error_code = ''
    AND ` + notableSQL + `),
x AS MATERIALIZED (
  SELECT secret_id, event_time AS at
  FROM events
  WHERE event_time >= :from - ` + recoveryWindow + ` AND event_time < :to AND event_name = 'RestoreSecret' AND error_code = ''
    AND ` + notableSQL + `),
dr AS MATERIALIZED (
  SELECT d.secret_id, d.at, (SELECT min(x.at) FROM x WHERE x.secret_id = d.secret_id AND x.at > d.at) AS restored
  FROM d WHERE d.secret_id <> '')
SELECT ` + sprintf(isoTime, "r.event_time") + `, r.principal, r.secret_id, ` + sprintf(isoTime, "max(dr.at)") + `,
       CASE WHEN r.error_code = '' THEN 'read' ELSE r.error_code END
FROM dr CROSS JOIN events r -- which SQLite keeps in this order
WHERE ` + OnSecret("r", "dr.secret_id") + ` AND r.event_time >= dr.at AND r.event_time >= :from AND r.event_time < :to
  AND (dr.restored IS NULL OR r.event_time < dr.restored) AND r.is_read = 1
GROUP BY r.event_time, r.event_id
ORDER BY r.event_time, r.event_id`,
	Athena: `
WITH d AS (
  SELECT secret_id, event_time AS at
  FROM secretgate_events
  WHERE log_date BETWEEN :recovery_from_date AND :to_date AND event_time >= :from - ` + recoveryWindow + ` AND event_time < :to
    AND event_name = 'DeleteSecret' AND error_code = '' AND secret_id <> ''),
x AS (
  SELECT secret_id, event_time AS at
  FROM secretgate_events
  WHERE log_date BETWEEN :recovery_from_date AND :to_date AND event_time >= :from - ` + recoveryWindow + ` AND event_time < :to
    AND event_name = 'RestoreSecret' AND error_code = '' AND secret_id <> ''),
dr AS (
  SELECT d.secret_id, d.at, min(x.at) AS restored
  FROM d LEFT JOIN x ON x.secret_id = d.secret_id AND x.at > d.at
  GROUP BY d.secret_id, d.at)
SELECT ` + sprintf(isoTimeAth, "r.event_time") + `, r.principal, r.secret_id, ` + sprintf(isoTimeAth, "max(dr.at)") + `,
       CASE WHEN r.error_code = '' THEN 'read' ELSE r.error_code END
FROM dr JOIN secretgate_events r ON r.secret_id = dr.secret_id
WHERE r.log_date BETWEEN :from_date AND :to_date AND r.event_time >= :from AND r.event_time < :to
  AND r.is_read = 1 AND r.event_time >= dr.at AND (dr.restored IS NULL OR r.event_time < dr.restored)
GROUP BY r.event_id, r.event_time, r.principal, r.secret_id, r.error_code
ORDER BY r.event_time, r.event_id`,
}

// Coverage: whether the trail delivered every day, and logged reads.
var Coverage = &Report{
	Name:    "coverage",
	Title:   "Data completeness",
	Meaning: "Log files and events per day. A day without files means the evidence for that day is missing; events without a single secret read mean the trail is not logging read events, and every read figure of this report is then zero for that reason alone.",
	Columns: []string{"day", "files", "events", "secret_reads", "status"},
	Missing: []string{"0", "0", "0", "NO LOG FILES"},
	SQLite: `
SELECT ` + sprintf(day, "min(event_time)") + `, count(DISTINCT file_id), count(*), sum(` + readOK + `),
       CASE WHEN sum(is_read = 1) = 0 THEN 'no read events logged' ELSE 'ok' END
FROM events
WHERE event_time >= :from AND event_time < :to
GROUP BY event_time / 86400000
ORDER BY 1`,
	Athena: `
SELECT ` + sprintf(dayAth, "event_time") + `, count(DISTINCT file), count(*), sum(CASE WHEN ` + readOK + ` THEN 1 ELSE 0 END),
       CASE WHEN sum(CASE WHEN is_read = 1 THEN 1 ELSE 0 END) = 0 THEN 'no read events logged' ELSE 'ok' END
FROM secretgate_events
WHERE ` + inWindowAth + `
GROUP BY 1
ORDER BY 1`,
}

// All are the weekly report's tables over CloudTrail, in order.
var All = []*Report{Headline, Daily, Access, Rotations, Denied, BreakGlass, UnsafeChanges, Deletions, DeletedReads, Coverage}

// Kinds are the SQLite conditions on the events table behind the reports'
// counts, by name, so that a drill-down lists exactly the events a number
// counted.
var Kinds = map[string]string{
	"read":        readOK,
	"denied":      deniedSQL,
	"rotation":    `event_name IN ('RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotationAbandoned', 'RotateSecret')`,
	"deleted":     `is_read = 1 AND error_code = 'InvalidRequestException'`,
	"break-glass": breakGlassSQL,
}
