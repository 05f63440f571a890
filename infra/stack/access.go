package stack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// breakGlassReads are the only actions the break-glass role has.
var breakGlassReads = strs(
	"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecrets",
	"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:DescribeParameters",
	"kms:Decrypt", "kms:DescribeKey",
)

// access fills the access stack: the guardrail every service role has as
// its permissions boundary, and the break-glass role.
func access(st awscdk.Stack, cfg *config.Config) awscdk.Stack {
	awsiam.NewCfnManagedPolicy(st, jsii.String("Guardrail"), &awsiam.CfnManagedPolicyProps{
		ManagedPolicyName: jsii.String(config.Guardrail),
		Description:       jsii.String("secretgate: permissions boundary of service roles: no tag tampering, no untagged secrets, no policy changes"),
		PolicyDocument:    guardrail(),
	})
	sm := "secretsmanager." + cfg.Region + ".amazonaws.com"
	ssm := "ssm." + cfg.Region + ".amazonaws.com"
	var people []string
	for _, p := range cfg.BreakGlass.People {
		people = append(people, cfg.UserARN(p))
	}
	// STS records an AssumeRole in the region of the endpoint used, and
	// only that region's rules see it: the role is assumed only through
	// the endpoints of the regions that have an alert rule.
	trust := policy(withPrincipal(allow("NamedPeopleWithFreshMFA", strs("sts:AssumeRole", "sts:SetSourceIdentity"), nil, cond{
		"Bool":            {"aws:MultiFactorAuthPresent": "true"},
		"NumericLessThan": {"aws:MultiFactorAuthAge": strconv.Itoa(cfg.BreakGlass.MaxMFAAge)},
		"ArnEquals":       {"aws:PrincipalArn": people},
		"StringEquals":    {"aws:RequestedRegion": cfg.AlertRegions},
	}), aws(cfg.ARN("iam", "", "root"))))
	awsiam.NewCfnRole(st, jsii.String("BreakGlass"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(cfg.BreakGlass.Role),
		Path:                     jsii.String(cfg.BreakGlass.Path),
		Description:              jsii.String("secretgate: break-glass read of any secret; every use alerts"),
		AssumeRolePolicyDocument: trust,
		MaxSessionDuration:       jsii.Number(3600),
		Policies: []any{inline("read-any-secret", policy(
			allow("ReadAnySecret", strs("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
				"secretsmanager:DescribeSecret", "secretsmanager:ListSecrets"), "*", nil),
			allow("ReadAnyParameter", strs("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:DescribeParameters"), "*", nil),
			allow("DecryptThroughSecretsManagerOrSSM", strs("kms:Decrypt", "kms:DescribeKey"), cfg.ARN("kms", cfg.Region, "key/*"), cond{
				"StringEquals": {"kms:ViaService": strs(sm, ssm)},
			}),
			doc{"Sid": "NothingElse", "Effect": "Deny", "NotAction": breakGlassReads, "Resource": "*"},
			deny("NeverWithoutMFA", strs("*"), "*", cond{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
			// Reads are watched only in the deploy region, where the secrets are.
			deny("OnlyWhereReadsAlert", strs("*"), "*", cond{"StringNotEquals": {"aws:RequestedRegion": cfg.Region}}),
		))},
		Tags: tags("secretgate:role", "break-glass"),
	})
	return st
}

// guardrail is the boundary of service and rotation roles: everything an
// identity policy grants, except changing the access and rotation tags,
// creating untagged secrets, tagging sessions and changing resource or
// key policies.
func guardrail() doc {
	tagged := cond{"ForAnyValue:StringEquals": {"aws:TagKeys": config.ProvisionerTags}}
	statements := []doc{
		allow("CeilingIsTheIdentityPolicy", strs("*"), "*", nil),
		deny("NoAccessTagChanges", strs(
			"secretsmanager:TagResource", "secretsmanager:UntagResource",
			"ssm:AddTagsToResource", "ssm:RemoveTagsFromResource",
			"kms:TagResource", "kms:UntagResource",
			"iam:TagRole", "iam:UntagRole", "iam:TagUser", "iam:UntagUser",
		), "*", tagged),
		deny("NoSessionTags", strs("sts:TagSession"), "*", nil),
		deny("NoPolicyChanges", strs("secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
			"kms:PutKeyPolicy", "kms:CreateGrant", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"), "*", nil),
	}
	for _, k := range config.ABACTags {
		statements = append(statements, deny("NoSecretWithout"+*id(k)+"Tag", strs("secretsmanager:CreateSecret"), "*", cond{
			"Null": {"aws:RequestTag/" + k: "true"},
		}))
	}
	return policy(statements...)
}
