package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// GateFunction is the name of the gate's function and role.
const GateFunction = "secretgate-gatekeeper"

// gate fills the gate stack: the CodeCommit function (cmd/gatekeeper's
// Lambda mode) and the rules that send it pushes and pull requests. Its
// store URL and fingerprint key are dynamic references resolved at
// deploy time, so the template holds only their names.
func gate(st awscdk.Stack, cfg *config.Config, assets Assets) awscdk.Stack {
	topic := cfg.ARN("sns", cfg.Region, config.AlertTopic)
	// The repositories the function reads: those named, or all.
	var repoARNs []string
	for _, r := range cfg.Gate.Repositories {
		repoARNs = append(repoARNs, cfg.ARN("codecommit", cfg.Region, r))
	}
	var resources any = cfg.ARN("codecommit", cfg.Region, "*")
	if len(repoARNs) > 0 {
		resources = repoARNs
	}
	role := awsiam.NewCfnRole(st, jsii.String("GateRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(GateFunction),
		Description:              jsii.String("secretgate: the CodeCommit gate"),
		AssumeRolePolicyDocument: policy(withPrincipal(allow("Lambda", strs("sts:AssumeRole"), nil, nil), service("lambda.amazonaws.com"))),
		ManagedPolicyArns:        &[]any{"arn:" + cfg.Partition() + ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
		Policies: []any{inline("gate", policy(
			allow("ReadPushesAndAnswerPullRequests", strs("codecommit:GetCommit", "codecommit:GetDifferences", "codecommit:GetBlob",
				"codecommit:GetPullRequest", "codecommit:PostCommentForPullRequest", "codecommit:UpdatePullRequestApprovalState"), resources, nil),
			allow("Alert", strs("sns:Publish"), topic, nil),
			allow("AlertOnTheEncryptedTopic", strs("kms:GenerateDataKey*", "kms:Decrypt"), cfg.ARN("kms", cfg.Region, "key/*"), cond{
				"StringEquals": {"kms:ViaService": "sns." + cfg.Region + ".amazonaws.com"},
			}),
		))},
	})
	resolve := func(secret, key string) *string {
		return awscdk.SecretValue_SecretsManager(jsii.String(secret), &awscdk.SecretsManagerSecretOptions{JsonField: jsiiOrNil(key)}).UnsafeUnwrap()
	}
	fn := goFunction(st, "Gate", cfg, assets.Gate, &awslambda.CfnFunctionProps{
		FunctionName: jsii.String(GateFunction),
		Description:  jsii.String("secretgate: scans CodeCommit pushes and pull requests"),
		Role:         role.AttrArn(),
		Timeout:      jsii.Number(300),
		MemorySize:   jsii.Number(1024),
		Environment: &awslambda.CfnFunction_EnvironmentProperty{Variables: map[string]any{
			"SECRETGATE_STORE":           resolve(cfg.Gate.StoreSecret, "dsn"),
			"SECRETGATE_FINGERPRINT_KEY": resolve(cfg.Gate.FingerprintSecret, ""),
			"SECRETGATE_SNS_TOPIC":       topic,
		}},
	})
	filter := doc{}
	if len(repoARNs) > 0 {
		filter["resources"] = repoARNs
	}
	patterns := map[string]doc{
		"secretgate-gate-pushes": {
			"source": strs("aws.codecommit"), "detail-type": strs("CodeCommit Repository State Change"),
			"detail": doc{"event": strs("referenceCreated", "referenceUpdated")},
		},
		"secretgate-gate-pull-requests": {
			"source": strs("aws.codecommit"), "detail-type": strs("CodeCommit Pull Request State Change"),
			"detail": doc{"event": strs("pullRequestCreated", "pullRequestSourceBranchUpdated", "pullRequestApprovalRuleOverridden")},
		},
	}
	for _, name := range []string{"secretgate-gate-pushes", "secretgate-gate-pull-requests"} {
		p := patterns[name]
		for k, v := range filter {
			p[k] = v
		}
		r := awsevents.NewCfnRule(st, id(name), &awsevents.CfnRuleProps{
			Name: jsii.String(name), State: jsii.String("ENABLED"), EventPattern: p,
			Description: jsii.String("secretgate: CodeCommit events the gate answers"),
			Targets:     []any{&awsevents.CfnRule_TargetProperty{Id: jsii.String("gate"), Arn: fn.AttrArn()}},
		})
		awslambda.NewCfnPermission(st, id(name, "invoke"), &awslambda.CfnPermissionProps{
			Action: jsii.String("lambda:InvokeFunction"), FunctionName: fn.Ref(),
			Principal: jsii.String("events.amazonaws.com"), SourceArn: r.AttrArn(),
		})
	}
	return st
}

func jsiiOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
