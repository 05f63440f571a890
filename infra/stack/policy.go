package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// Policies are built as plain JSON values with literal ARNs: the account,
// region and partition come from the config, so the synthesised
// documents can be read (and simulated) as written, without resolving
// intrinsics.

type (
	doc  = map[string]any
	cond = map[string]map[string]any
)

// policy is a policy document of statements.
func policy(statements ...doc) doc {
	return doc{"Version": "2012-10-17", "Statement": statements}
}

// allow is an Allow statement.
func allow(sid string, actions []string, resources any, c cond) doc {
	return statement("Allow", sid, actions, resources, c)
}

// deny is a Deny statement.
func deny(sid string, actions []string, resources any, c cond) doc {
	return statement("Deny", sid, actions, resources, c)
}

func statement(effect, sid string, actions []string, resources any, c cond) doc {
	s := doc{"Sid": sid, "Effect": effect, "Action": actions, "Resource": resources}
	if len(c) > 0 {
		s["Condition"] = c
	}
	return s
}

// withPrincipal sets a statement's principal (resource policies).
func withPrincipal(s doc, p any) doc {
	s["Principal"] = p
	return s
}

// aws is an AWS principal.
func aws(arns ...string) doc {
	if len(arns) == 1 {
		return doc{"AWS": arns[0]}
	}
	return doc{"AWS": arns}
}

// service is a service principal.
func service(name string) doc { return doc{"Service": name} }

// strs is a list of strings as a JSON value.
func strs(s ...string) []string { return s }

// The actions of a key administrator: managing, never using. Not
// kms:Create*, which holds kms:CreateGrant: a grant would let whoever
// the administrator names use the key.
var keyAdminActions = strs(
	"kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
	"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
)

// The actions that use a key's material.
var keyUseActions = strs("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")

// The actions that change a key or its policy.
var keyChangeActions = strs(
	"kms:Put*", "kms:Update*", "kms:Delete*", "kms:Disable*", "kms:Enable*", "kms:Create*",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:TagResource", "kms:UntagResource",
	"kms:RevokeGrant", "kms:RetireGrant", "kms:ImportKeyMaterial", "kms:ReplicateKey",
)

// inline is a role's inline policy.
func inline(name string, document doc) *awsiam.CfnRole_PolicyProperty {
	return &awsiam.CfnRole_PolicyProperty{PolicyName: jsii.String(name), PolicyDocument: document}
}
