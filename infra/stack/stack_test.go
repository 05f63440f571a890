package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

func TestEveryStackIsSynthesised(t *testing.T) {
	s := sampleSynth(t)
	want := []string{"secretgate-access", "secretgate-audit", "secretgate-gate", "secretgate-alerts-eu-west-1", "secretgate-alerts-us-east-1",
		"secretgate-dev", "secretgate-staging", "secretgate-production"}
	var got []string
	for name := range s.templates {
		got = append(got, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("stacks = %v, want %v", got, want)
	}
}

// Stacks that name another stack's resources deploy after it, also when
// deployed one by one (cdk deploy STACK deploys its dependencies first).
func TestStacksDeployAfterWhatTheyName(t *testing.T) {
	s := sampleSynth(t)
	deps := func(st interface{ Dependencies() *[]awscdk.Stack }) []string {
		var out []string
		for _, d := range *st.Dependencies() {
			out = append(out, *d.StackName())
		}
		return out
	}
	for env, st := range s.stacks.Envs {
		if got := deps(st); !slices.Contains(got, "secretgate-access") {
			t.Errorf("%s depends on %v, want secretgate-access (guardrail, break-glass role)", env, got)
		}
	}
	if got := deps(s.stacks.Gate); !slices.Contains(got, "secretgate-alerts-"+s.cfg.Region) {
		t.Errorf("gate depends on %v, want the alerts stack of %s", got, s.cfg.Region)
	}
}

func TestKeyPoliciesSeparateDuties(t *testing.T) {
	s := sampleSynth(t)
	cfg := s.cfg
	admins := []string{cfg.RoleARN("secretgate-key-admin")}
	managers := append(slices.Clone(admins), cfg.RoleARN("secretgate-provisioner"))
	for env, tpl := range envTemplates(s) {
		teams := map[string]bool{}
		for _, d := range cfg.In(env) {
			teams[d.Team] = true
		}
		ids, keys := resources(tpl, "AWS::KMS::Key")
		if len(ids) != len(teams) {
			t.Errorf("%s: %d keys, want one per team (%d)", env, len(ids), len(teams))
		}
		check(t, env+": every key rotates and waits before deletion", func() {
			assertions.Template_FromJSON(&tpl, nil).AllResourcesProperties(jsii.String("AWS::KMS::Key"), map[string]any{
				"EnableKeyRotation": true, "PendingWindowInDays": 30,
			})
		})
		for _, id := range ids {
			p := props(keys[id])
			tg := tagMap(p["Tags"])
			if tg[config.TagEnvironment] != env || !teams[tg[config.TagTeam]] {
				t.Errorf("%s/%s: tags %v", env, id, tg)
			}
			sid := map[string]map[string]any{}
			for _, st := range statements(p["KeyPolicy"]) {
				sid[st["Sid"].(string)] = st
				acts := list(st["Action"])
				principal, _ := json.Marshal(st["Principal"])
				if st["Effect"] == "Allow" && strings.Contains(string(principal), ":root") && slices.Contains(acts, "kms:Decrypt") {
					c, _ := json.Marshal(st["Condition"])
					if !strings.Contains(string(c), "kms:ViaService") || !strings.Contains(string(c), "kms:EncryptionContext:") {
						t.Errorf("%s/%s: %s lets the account decrypt without a service and encryption context: %s", env, id, st["Sid"], c)
					}
				}
			}
			admin := sid["KeyAdministration"]
			if got := list(admin["Principal"].(map[string]any)["AWS"]); !slices.Equal(got, managers) {
				t.Errorf("%s/%s: administrators %v, want %v", env, id, got, managers)
			}
			for _, a := range list(admin["Action"]) {
				if slices.Contains(keyUseActions, a) || strings.HasPrefix(a, "kms:GenerateDataKey") || a == "kms:*" ||
					a == "kms:Create*" || a == "kms:CreateGrant" {
					t.Errorf("%s/%s: administrators may %s", env, id, a)
				}
			}
			noUse := sid["AdministratorsNeverUseTheKey"]
			if noUse["Effect"] != "Deny" || !slices.Contains(list(noUse["Action"]), "kms:Decrypt") ||
				!slices.Equal(list(noUse["Condition"].(map[string]any)["ArnLike"].(map[string]any)["aws:PrincipalArn"]), admins) {
				t.Errorf("%s/%s: no deny of use to administrators: %v", env, id, noUse)
			}
			noChange := sid["OnlyAdministratorsChangeTheKey"]
			if noChange["Effect"] != "Deny" || !slices.Contains(list(noChange["Action"]), "kms:Put*") ||
				!slices.Equal(list(noChange["Condition"].(map[string]any)["ArnNotLike"].(map[string]any)["aws:PrincipalArn"]), managers) {
				t.Errorf("%s/%s: no deny of key changes to others: %v", env, id, noChange)
			}
			svc := sid["ServicesDecryptTheirOwnSecrets"]
			ctx := svc["Condition"].(map[string]any)["StringLike"].(map[string]any)["kms:EncryptionContext:SecretARN"]
			if want := cfg.ARN("secretsmanager", cfg.Region, "secret:"+env+"/${aws:PrincipalTag/service}/*"); ctx != want {
				t.Errorf("%s/%s: services decrypt secrets %v, want %s", env, id, ctx, want)
			}
			for _, name := range []string{"ServicesDecryptTheirOwnSecrets", "ServicesDecryptTheirOwnParameters"} {
				arn, _ := sid[name]["Condition"].(map[string]any)["ArnEquals"].(map[string]any)["aws:PrincipalArn"]
				if want := cfg.RoleARN(config.ServiceRole(env, "${aws:PrincipalTag/service}")); arn != want {
					t.Errorf("%s/%s: %s is granted to %v, want only the service's role %s", env, id, name, arn, want)
				}
			}
		}
	}
}

// expectedSecrets are the Secrets Manager names config declares in env,
// with the rotation each must have.
func expectedSecrets(cfg *config.Config, env string) map[string]string {
	out := map[string]string{}
	for _, d := range cfg.In(env) {
		for _, it := range d.Service.Items {
			switch it.Type.Rotation() {
			case config.RotatorLambda:
				out[config.SecretName(env, d.Service.Name, it.Name)] = "lambda"
			case config.HostedMultiUser:
				out[config.SecretName(env, d.Service.Name, it.Name)] = "PostgreSQLMultiUser"
				out[config.SecretName(env, config.MasterOwner, d.Service.Name+"-"+it.Name)] = "PostgreSQLSingleUser"
			}
		}
	}
	return out
}

// rotateDays is the configured interval of each secret in env.
func rotateDays(cfg *config.Config, env string) map[string]int {
	out := map[string]int{}
	for _, d := range cfg.In(env) {
		for _, it := range d.Service.Items {
			out[config.SecretName(env, d.Service.Name, it.Name)] = it.RotateDays
			if it.Type == config.Database {
				out[config.SecretName(env, config.MasterOwner, d.Service.Name+"-"+it.Name)] = it.RotateDays
			}
		}
	}
	return out
}

func TestEverySecretIsOnItsTeamKeyWithARotation(t *testing.T) {
	s := sampleSynth(t)
	for env, tpl := range envTemplates(s) {
		want := expectedSecrets(s.cfg, env)
		_, keys := resources(tpl, "AWS::KMS::Key")
		ids, secrets := resources(tpl, "AWS::SecretsManager::Secret")
		_, schedules := resources(tpl, "AWS::SecretsManager::RotationSchedule")
		_, policies := resources(tpl, "AWS::SecretsManager::ResourcePolicy")
		if len(ids) != len(want) {
			t.Errorf("%s: %d secrets, want %d (%v)", env, len(ids), len(want), want)
		}
		names := map[string]string{} // logical id -> name
		for _, id := range ids {
			p := props(secrets[id])
			name := p["Name"].(string)
			names[id] = name
			rotation, ok := want[name]
			if !ok {
				t.Errorf("%s: unexpected secret %s", env, name)
				continue
			}
			tg := tagMap(p["Tags"])
			parts := strings.Split(name, "/")
			if tg[config.TagEnvironment] != env || tg[config.TagService] != parts[1] || tg[config.TagTeam] == "" {
				t.Errorf("%s: %s tagged %v", env, name, tg)
			}
			keyRef, _ := p["KmsKeyId"].(map[string]any)["Fn::GetAtt"].([]any)
			if len(keyRef) != 2 || keyRef[1] != "Arn" {
				t.Errorf("%s: %s key %v", env, name, p["KmsKeyId"])
			} else if kt := tagMap(props(keys[keyRef[0].(string)])["Tags"]); kt[config.TagTeam] != tg[config.TagTeam] || kt[config.TagEnvironment] != env {
				t.Errorf("%s: %s (team %s) is on the key of %v", env, name, tg[config.TagTeam], kt)
			}
			if p["GenerateSecretString"] == nil {
				t.Errorf("%s: %s has no generated value", env, name)
			}
			var found []map[string]any
			for _, r := range schedules {
				if ref, _ := props(r)["SecretId"].(map[string]any); ref["Ref"] == id {
					found = append(found, props(r))
				}
			}
			if len(found) != 1 {
				t.Errorf("%s: %s has %d rotation schedules, want 1", env, name, len(found))
				continue
			}
			r := found[0]
			if got, want := r["RotationRules"].(map[string]any)["AutomaticallyAfterDays"], rotateDays(s.cfg, env)[name]; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s rotates after %v days, want the configured %d", env, name, got, want)
			}
			switch rotation {
			case "lambda":
				if arn, _ := r["RotationLambdaARN"].(map[string]any); fmt.Sprint(arn["Fn::GetAtt"]) != "[Rotator Arn]" {
					t.Errorf("%s: %s rotated by %v, want the rotator", env, name, r["RotationLambdaARN"])
				}
			default:
				h, _ := r["HostedRotationLambda"].(map[string]any)
				if h["RotationType"] != rotation || !reflectEqual(h["KmsKeyArn"], p["KmsKeyId"]) {
					t.Errorf("%s: %s hosted rotation %v, want %s on its key", env, name, h, rotation)
				}
				if rotation == "PostgreSQLMultiUser" && h["MasterSecretArn"] == nil {
					t.Errorf("%s: %s multi-user rotation without its master secret", env, name)
				}
			}
			blocked := false
			for _, r := range policies {
				if ref, _ := props(r)["SecretId"].(map[string]any); ref["Ref"] == id && props(r)["BlockPublicPolicy"] == true {
					blocked = true
				}
			}
			if !blocked {
				t.Errorf("%s: %s has no resource policy blocking public policies", env, name)
			}
		}
		hasDB := false
		for _, r := range want {
			hasDB = hasDB || r == "PostgreSQLMultiUser"
		}
		if got := fmt.Sprint(tpl["Transform"]); hasDB != strings.Contains(got, HostedRotationTransform) {
			t.Errorf("%s: transform %s with databases=%v", env, got, hasDB)
		}
	}
}

func reflectEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestCertificatesValidateByDNS(t *testing.T) {
	s := sampleSynth(t)
	for env, tpl := range envTemplates(s) {
		for _, d := range s.cfg.In(env) {
			for _, it := range d.Service.Items {
				if it.Type != config.Certificate {
					continue
				}
				domain := strings.ReplaceAll(it.Domain, "{env}", env)
				check(t, env+": certificate "+domain, func() {
					assertions.Template_FromJSON(&tpl, nil).HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
						"DomainName": domain, "ValidationMethod": "DNS",
						"DomainValidationOptions": []any{map[string]any{"DomainName": domain, "HostedZoneId": it.HostedZoneID}},
					})
				})
			}
		}
	}
}

func TestServiceRolesReadByTags(t *testing.T) {
	s := sampleSynth(t)
	for env, tpl := range envTemplates(s) {
		for _, d := range s.cfg.In(env) {
			check(t, env+": role of "+d.Service.Name, func() {
				assertions.Template_FromJSON(&tpl, nil).HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
					"RoleName":            config.ServiceRole(env, d.Service.Name),
					"PermissionsBoundary": s.cfg.ARN("iam", "", "policy/"+config.Guardrail),
					"Tags": assertions.Match_ArrayWith(&[]any{
						map[string]any{"Key": "environment", "Value": env},
						map[string]any{"Key": "service", "Value": d.Service.Name},
						map[string]any{"Key": "team", "Value": d.Team},
					}),
					"Policies": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectLike(&map[string]any{"PolicyName": "read-own-secrets"}),
						assertions.Match_ObjectLike(&map[string]any{"PolicyName": "decrypt-own-keys"}),
					}),
				})
			})
		}
	}
}

func TestBreakGlassNeedsFreshMFAForAnHour(t *testing.T) {
	s := sampleSynth(t)
	tpl := s.templates["secretgate-access"]
	check(t, "break-glass role", func() {
		assertions.Template_FromJSON(&tpl, nil).HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"RoleName":           "secretgate-break-glass",
			"MaxSessionDuration": 3600,
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Sid": "NamedPeopleWithFreshMFA", "Effect": "Allow",
				"Action":    []any{"sts:AssumeRole", "sts:SetSourceIdentity"},
				"Principal": map[string]any{"AWS": "arn:aws:iam::111122223333:root"},
				"Condition": map[string]any{
					"Bool":            map[string]any{"aws:MultiFactorAuthPresent": "true"},
					"NumericLessThan": map[string]any{"aws:MultiFactorAuthAge": "900"},
					"ArnEquals":       map[string]any{"aws:PrincipalArn": []any{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"}},
					"StringEquals":    map[string]any{"aws:RequestedRegion": []any{"eu-west-1", "us-east-1"}},
				},
			}}},
		})
	})
	check(t, "guardrail", func() {
		assertions.Template_FromJSON(&tpl, nil).HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), map[string]any{
			"ManagedPolicyName": config.Guardrail,
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Sid": "NoAccessTagChanges", "Effect": "Deny",
					"Condition": map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": []any{"service", "environment", "team", "secretgate:rotation"}}}}),
				assertions.Match_ObjectLike(&map[string]any{"Sid": "NoSecretWithoutServiceTag", "Effect": "Deny"}),
			})}),
		})
	})
}

func TestAlertsReachAnEncryptedTopic(t *testing.T) {
	s := sampleSynth(t)
	for _, region := range s.cfg.AlertRegions {
		tpl := s.templates["secretgate-alerts-"+region]
		ids, _ := resources(tpl, "AWS::Events::Rule")
		want := 1
		if region == s.cfg.Region {
			want = 2
		}
		if len(ids) != want {
			t.Errorf("%s: %d rules, want %d", region, len(ids), want)
		}
		check(t, region+": topic on its key", func() {
			tp := assertions.Template_FromJSON(&tpl, nil)
			tp.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
				"TopicName": config.AlertTopic, "KmsMasterKeyId": map[string]any{"Fn::GetAtt": []any{"AlertsKey", "Arn"}},
			})
			tp.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
				"KeyPolicy": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{"Principal": map[string]any{"Service": "events.amazonaws.com"},
						"Action": []any{"kms:GenerateDataKey*", "kms:Decrypt"}}),
				})}),
			})
			tp.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
				"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": []any{
					assertions.Match_ObjectLike(&map[string]any{"Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": []any{"sns:Publish"}}),
				}}),
			})
			tp.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"Name": RuleBreakGlassAssumed, "State": "ENABLED",
				"Targets": []any{map[string]any{"Id": "alerts", "Arn": map[string]any{"Ref": "Alerts"}}},
			})
		})
	}
	tpl := s.templates["secretgate-alerts-"+s.cfg.Region]
	check(t, "reads are delivered to the read rule", func() {
		assertions.Template_FromJSON(&tpl, nil).HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"Name": RuleBreakGlassRead, "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
		})
	})
}

func TestAuditTrail(t *testing.T) {
	s := sampleSynth(t)
	tpl := s.templates["secretgate-audit"]
	check(t, "trail", func() {
		tp := assertions.Template_FromJSON(&tpl, nil)
		tp.HasResourceProperties(jsii.String("AWS::CloudTrail::Trail"), map[string]any{
			"IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true, "EnableLogFileValidation": true, "IsLogging": true,
			"KMSKeyId":       map[string]any{"Fn::GetAtt": []any{"AuditKey", "Arn"}},
			"EventSelectors": []any{map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true}},
		})
		tp.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"VersioningConfiguration":        map[string]any{"Status": "Enabled"},
		})
		tp.HasResourceProperties(jsii.String("AWS::Athena::WorkGroup"), map[string]any{
			"WorkGroupConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"BytesScannedCutoffPerQuery": 10737418240, "EnforceWorkGroupConfiguration": true,
			}),
		})
	})
	q, err := LoadQueries()
	if err != nil {
		t.Fatal(err)
	}
	_, named := resources(tpl, "AWS::Athena::NamedQuery")
	if len(named) != len(q.Reports)+1 {
		t.Errorf("%d named queries, want the view and %d reports", len(named), len(q.Reports))
	}
	bySQL := map[string]bool{}
	for _, r := range named {
		bySQL[props(r)["QueryString"].(string)] = true
	}
	for _, r := range q.Reports {
		if !bySQL[r.SQL] {
			t.Errorf("report %s has no named query", r.Name)
		}
	}
	if !bySQL[q.View] {
		t.Error("the view has no named query")
	}
}

func TestGateFunctionAndRules(t *testing.T) {
	s := sampleSynth(t)
	tpl := s.templates["secretgate-gate"]
	check(t, "gate", func() {
		tp := assertions.Template_FromJSON(&tpl, nil)
		tp.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": []any{"arm64"},
			"Environment": map[string]any{"Variables": map[string]any{
				"SECRETGATE_STORE":           "{{resolve:secretsmanager:gate/gatekeeper/store:SecretString:dsn::}}",
				"SECRETGATE_FINGERPRINT_KEY": "{{resolve:secretsmanager:gate/gatekeeper/fingerprint-key:SecretString:::}}",
				"SECRETGATE_SNS_TOPIC":       "arn:aws:sns:eu-west-1:111122223333:secretgate-alerts",
			}},
		})
		tp.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"Name": "secretgate-gate-pushes",
			"EventPattern": map[string]any{
				"source": []any{"aws.codecommit"}, "detail-type": []any{"CodeCommit Repository State Change"},
				"detail":    map[string]any{"event": []any{"referenceCreated", "referenceUpdated"}},
				"resources": []any{"arn:aws:codecommit:eu-west-1:111122223333:payments-api", "arn:aws:codecommit:eu-west-1:111122223333:orders-api"},
			},
		})
		tp.ResourceCountIs(jsii.String("AWS::Lambda::Permission"), jsii.Number(2))
	})
}

func TestRotatorFunctionPerEnvironment(t *testing.T) {
	s := sampleSynth(t)
	for env, tpl := range envTemplates(s) {
		check(t, env+": rotator", func() {
			tp := assertions.Template_FromJSON(&tpl, nil)
			tp.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"FunctionName": config.RotatorRole(env), "Runtime": "provided.al2023", "Handler": "bootstrap",
				"Environment": map[string]any{"Variables": map[string]any{
					"SECRETGATE_KEYS_URL":          "https://keys.example.com/v1",
					"SECRETGATE_KEYS_ADMIN_SECRET": env + "/rotator/keys-admin-token",
				}},
			})
			tp.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
				"Principal": "secretsmanager.amazonaws.com", "SourceAccount": "111122223333",
			})
			tp.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
				"RoleName": config.RotatorRole(env),
				"Policies": []any{assertions.Match_ObjectLike(&map[string]any{"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{
					"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"Sid": "ReadTheKeyAPIAdminToken", "Resource": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:" + env + "/rotator/keys-admin-token-??????",
					})}),
				})})},
			})
		})
	}
}

// No template carries a value: secrets are generated by Secrets Manager,
// SecureStrings are written by cmd/params, and the gate's settings are
// dynamic references resolved at deploy time.
func TestNoSecretValueInAnyTemplate(t *testing.T) {
	s := sampleSynth(t)
	for name, tpl := range s.templates {
		raw, _ := json.Marshal(tpl)
		text := string(raw)
		for _, bad := range []string{`"SecretString"`, `"SecureString"`, `"Password"`, `"password":"`} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %s", name, bad)
			}
		}
		if ids, _ := resources(tpl, "AWS::SSM::Parameter"); len(ids) > 0 {
			t.Errorf("%s declares parameters %v", name, ids)
		}
		if name != "secretgate-gate" && strings.Contains(text, "{{resolve:") {
			t.Errorf("%s resolves a secret", name)
		}
	}
}
