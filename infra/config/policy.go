package config

import (
	"sort"
	"strings"
)

// Type is what an item is; it decides where the item is stored (see
// POLICY.md, which this table must agree with).
type Type string

// The item types.
const (
	APIKey      Type = "api-key"     // a key for a third-party API
	Token       Type = "token"       // a third-party token (webhook secret, OAuth client secret)
	Database    Type = "database"    // PostgreSQL credentials
	Certificate Type = "certificate" // a TLS certificate
	Setting     Type = "config"      // a configuration value that must not be readable in clear
)

// Store is where an item lives.
type Store string

// The stores.
const (
	SecretsManager Store = "secretsmanager"
	ParameterStore Store = "ssm-securestring"
	ACM            Store = "acm"
)

// Rotation is how an item is renewed.
type Rotation string

// The rotations.
const (
	RotatorLambda   Rotation = "rotator-lambda"               // cmd/rotator
	HostedMultiUser Rotation = "hosted-postgresql-multi-user" // Secrets Manager's hosted function
	ACMRenewal      Rotation = "acm-managed-renewal"          // DNS-validated, renewed by ACM
	OperatorWrite   Rotation = "operator-writes-with-params"  // infra/cmd/params
)

type rule struct {
	store    Store
	rotation Rotation
}

var policy = map[Type]rule{
	APIKey:      {SecretsManager, RotatorLambda},
	Token:       {SecretsManager, RotatorLambda},
	Database:    {SecretsManager, HostedMultiUser},
	Certificate: {ACM, ACMRenewal},
	Setting:     {ParameterStore, OperatorWrite},
}

// Store is where items of type t are kept.
func (t Type) Store() Store { return policy[t].store }

// Rotation is how items of type t are renewed.
func (t Type) Rotation() Rotation { return policy[t].rotation }

// Types lists every type, sorted.
func Types() []Type {
	var ts []Type
	for t := range policy {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

func typeList() string {
	var s []string
	for _, t := range Types() {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}
