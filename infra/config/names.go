package config

import "fmt"

// The tag keys the access model is built on. Services carry them as
// principal tags, secrets, parameters and keys as resource tags.
const (
	TagService     = "service"
	TagEnvironment = "environment"
	TagTeam        = "team"
)

// ABACTags are the access tags: every secret, key and service role has
// all three.
var ABACTags = []string{TagService, TagEnvironment, TagTeam}

// TagRotation is a secret's rotation (config.Rotation): the rotator may
// rotate only the secrets it marks rotator-lambda.
const TagRotation = "secretgate:rotation"

// ProvisionerTags are the tags only the provisioner may set or change:
// the access tags, and the rotation tag, which decides what the rotator
// may touch.
var ProvisionerTags = []string{TagService, TagEnvironment, TagTeam, TagRotation}

// MasterOwner is the owner a database's master login is named and tagged
// for: not a service, so no service role reads it.
const MasterOwner = "rds-master"

// SecretName is the Secrets Manager name of a service's item.
func SecretName(env, service, item string) string { return env + "/" + service + "/" + item }

// ParameterName is the Parameter Store name of a service's item.
func ParameterName(env, service, item string) string { return "/" + SecretName(env, service, item) }

// KeyAlias is the alias of a team's key in an environment.
func KeyAlias(env, team string) string { return "alias/secretgate/" + env + "/" + team }

// ServiceRole is the name of a service's role in an environment. It does
// not start with the environment stack's name, which the hosted rotation
// functions' generated role names do (see POLICY.md).
func ServiceRole(env, service string) string { return "svc-" + env + "-" + service }

// RotatorRole is the name of the API-key rotation function's role.
func RotatorRole(env string) string { return EnvStack(env) + "-rotator" }

// EnvStack is the name of an environment's stack.
func EnvStack(env string) string { return "secretgate-" + env }

// Guardrail is the name of the managed policy every service role has as
// its permissions boundary.
const Guardrail = "secretgate-guardrail"

// AlertTopic is the name of the alerts topic in every alert region.
const AlertTopic = "secretgate-alerts"

// ARN builds an ARN in the config's account.
func (c *Config) ARN(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", c.Partition(), service, region, c.Account, resource)
}

// RoleARN is the ARN of a role of the account.
func (c *Config) RoleARN(name string) string { return c.ARN("iam", "", "role/"+name) }

// UserARN is the ARN of a user of the account.
func (c *Config) UserARN(name string) string { return c.ARN("iam", "", "user/"+name) }

// Partition is the account's partition.
func (c *Config) Partition() string {
	switch {
	case len(c.Region) > 3 && c.Region[:3] == "cn-":
		return "aws-cn"
	case len(c.Region) > 7 && c.Region[:7] == "us-gov-":
		return "aws-us-gov"
	}
	return "aws"
}

// BreakGlassARN is the ARN of the break-glass role.
func (c *Config) BreakGlassARN() string {
	return c.ARN("iam", "", "role"+c.BreakGlass.Path+c.BreakGlass.Role)
}
