package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// The break-glass rules' names.
const (
	RuleBreakGlassAssumed = "secretgate-break-glass-assumed"
	RuleBreakGlassRead    = "secretgate-break-glass-read"
)

// alerts fills the alert stack of one region: the alerts topic on a key
// EventBridge may use, and the rule on the break-glass role's AssumeRole
// (STS records it in the region of the endpoint used). The primary region
// also watches reads made with the role, where the secrets are.
func alerts(st awscdk.Stack, cfg *config.Config, region string) awscdk.Stack {
	var managers []string
	for _, a := range append(cfg.KeyAdmins, cfg.Provisioner) {
		managers = append(managers, cfg.RoleARN(a))
	}
	key := awskms.NewCfnKey(st, jsii.String("AlertsKey"), &awskms.CfnKeyProps{
		Description:         jsii.String("secretgate: the alerts topic in " + region),
		EnableKeyRotation:   jsii.Bool(true),
		PendingWindowInDays: jsii.Number(30),
		KeyPolicy: policy(
			withPrincipal(allow("KeyAdministration", keyAdminActions, "*", nil), aws(managers...)),
			withPrincipal(allow("EventBridgePublishes", strs("kms:GenerateDataKey*", "kms:Decrypt"), "*", cond{
				"StringEquals": {"aws:SourceAccount": cfg.Account},
			}), service("events.amazonaws.com")),
			withPrincipal(allow("AccountPublishesThroughSNS", strs("kms:GenerateDataKey*", "kms:Decrypt"), "*", cond{
				"StringEquals": {"kms:ViaService": "sns." + region + ".amazonaws.com", "kms:CallerAccount": cfg.Account},
			}), aws(cfg.ARN("iam", "", "root"))),
		),
	})
	topic := awssns.NewCfnTopic(st, jsii.String("Alerts"), &awssns.CfnTopicProps{
		TopicName:      jsii.String(config.AlertTopic),
		DisplayName:    jsii.String("secretgate alerts"),
		KmsMasterKeyId: key.AttrArn(),
	})
	awssns.NewCfnTopicPolicy(st, jsii.String("AlertsPolicy"), &awssns.CfnTopicPolicyProps{
		Topics: &[]*string{topic.Ref()},
		PolicyDocument: policy(withPrincipal(allow("SecretgateRulesPublish", strs("sns:Publish"), topic.Ref(), cond{
			"ArnLike": {"aws:SourceArn": cfg.ARN("events", region, "rule/secretgate-*")},
		}), service("events.amazonaws.com"))),
	})
	role := cfg.BreakGlassARN()
	rule(st, RuleBreakGlassAssumed, "the break-glass role was assumed", "ENABLED", doc{
		"source":      strs("aws.sts"),
		"detail-type": strs("AWS API Call via CloudTrail"),
		"detail": doc{
			"eventSource":       strs("sts.amazonaws.com"),
			"eventName":         strs("AssumeRole"),
			"requestParameters": doc{"roleArn": strs(role)},
		},
	}, topic.Ref())
	if region == cfg.Region {
		// Reads start with Get: EventBridge delivers them only to rules
		// enabled with all CloudTrail management events.
		rule(st, RuleBreakGlassRead, "a secret or parameter was read with the break-glass role", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", doc{
			"source":      strs("aws.secretsmanager", "aws.ssm"),
			"detail-type": strs("AWS API Call via CloudTrail"),
			"detail": doc{
				"eventName":    strs("GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath"),
				"userIdentity": doc{"sessionContext": doc{"sessionIssuer": doc{"arn": strs(role)}}},
			},
		}, topic.Ref())
	}
	return st
}

// rule is an EventBridge rule on the default bus sending to target.
func rule(st awscdk.Stack, name, description, state string, pattern doc, target *string) awsevents.CfnRule {
	return awsevents.NewCfnRule(st, id(name), &awsevents.CfnRuleProps{
		Name:         jsii.String(name),
		Description:  jsii.String("secretgate: " + description),
		State:        jsii.String(state),
		EventPattern: pattern,
		Targets:      []any{&awsevents.CfnRule_TargetProperty{Id: jsii.String("alerts"), Arn: target}},
	})
}
