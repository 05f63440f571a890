package compliance

// roleNameSQL is the role name (with any IAM path) of a role ARN principal.
const roleNameSQL = `lower(substr(r.principal, instr(r.principal, ':role/') + 6))`

// OutsideReaders: workloads reading a secret of another service or
// environment. Needs an imported inventory.
var OutsideReaders = &Report{
	Name:  "outside-readers",
	Title: "Readers outside the secret's service or environment",
	Meaning: "Roles that read a secret in the window although their name does not carry the secret's service or environment tag " +
		"(workload roles are named for what they run as, such as orders-prod-app). Each is either a missing tag-based " +
		"condition in a policy or a role reaching across environments. People and break-glass sessions are in their own tables.",
	Columns: []string{"secret", "principal", "reads", "service", "environment", "outside"},
	SQLite: `
WITH r AS MATERIALIZED (
  SELECT secret_id, principal, count(*) AS reads
  FROM events
  WHERE event_time >= :from AND event_time < :to AND ` + readOK + `
    AND principal LIKE 'arn:%:role/%' AND NOT ` + humanSQL + ` AND NOT ` + breakGlassSQL + `
  GROUP BY secret_id, principal),
m AS (
  SELECT r.secret_id, r.principal, r.reads, s.service, s.environment,
         s.environment <> '' AND instr(` + roleNameSQL + `, lower(s.environment)) = 0 AS other_env,
         s.service <> '' AND instr(` + roleNameSQL + `, lower(s.service)) = 0 AS other_service
  FROM r JOIN secrets s ON s.secret_id = r.secret_id)
SELECT secret_id, principal, reads, service, environment,
       CASE WHEN other_env AND other_service THEN 'service and environment'
            WHEN other_env THEN 'environment' ELSE 'service' END
FROM m
WHERE other_env OR other_service
ORDER BY secret_id, reads DESC, principal`,
}
