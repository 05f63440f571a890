package stack

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// HostedRotationTransform is the transform hosted rotation functions need.
const HostedRotationTransform = "AWS::SecretsManager-2024-09-16"

// environment fills the stack of one environment.
func environment(st awscdk.Stack, cfg *config.Config, env string, assets Assets) awscdk.Stack {
	deployed := cfg.In(env)
	keys := map[string]awskms.CfnKey{}
	for _, d := range deployed {
		if _, ok := keys[d.Team]; !ok {
			keys[d.Team] = teamKey(st, cfg, env, d.Team)
		}
	}
	var rotator awslambda.CfnFunction
	var rotatorPermission awslambda.CfnPermission
	for _, d := range deployed {
		serviceRole(st, cfg, d)
		key := keys[d.Team]
		for _, it := range d.Service.Items {
			switch it.Type.Store() {
			case config.SecretsManager:
				if it.Type.Rotation() == config.RotatorLambda && rotator == nil {
					rotator, rotatorPermission = rotatorFunction(st, cfg, env, assets.Rotator)
				}
				secretWithRotation(st, cfg, d, it, key, rotator, rotatorPermission)
			case config.ACM:
				certificate(st, d, it)
			case config.ParameterStore:
				// CloudFormation cannot create SecureString parameters:
				// infra/cmd/params writes them (POLICY.md).
			}
		}
	}
	return st
}

// teamKey is the key of a team in an environment, with a policy that
// separates who manages it from who uses it, and lets services decrypt
// only their own secrets and parameters, only through Secrets Manager
// and SSM.
func teamKey(st awscdk.Stack, cfg *config.Config, env, team string) awskms.CfnKey {
	sm := "secretsmanager." + cfg.Region + ".amazonaws.com"
	ssm := "ssm." + cfg.Region + ".amazonaws.com"
	root := cfg.ARN("iam", "", "root")
	var admins []string
	for _, a := range cfg.KeyAdmins {
		admins = append(admins, cfg.RoleARN(a))
	}
	provisioner := cfg.RoleARN(cfg.Provisioner)
	managers := append(slices.Clone(admins), provisioner)
	secretPrefix := cfg.ARN("secretsmanager", cfg.Region, "secret:"+env+"/")
	paramPrefix := cfg.ARN("ssm", cfg.Region, "parameter/"+env+"/")
	// The tags alone do not make a service: the caller must also be the
	// role serviceRole creates for the service its tag names (a tagged
	// human role or SSO session is not).
	serviceRoleOfTag := cfg.RoleARN(config.ServiceRole(env, "${aws:PrincipalTag/"+config.TagService+"}"))
	// Rotation functions are this environment's rotator and the roles
	// CloudFormation names after this environment's stack (the hosted
	// rotation functions'), but not those of an environment whose name
	// extends this one's (dev-eu for dev): their roles start with
	// secretgate-dev- too.
	rotationRoles := cond{
		"StringEquals": {"kms:ViaService": sm, "kms:CallerAccount": cfg.Account},
		"StringLike":   {"kms:EncryptionContext:SecretARN": secretPrefix + "*"},
		"ArnLike":      {"aws:PrincipalArn": strs(cfg.RoleARN(config.RotatorRole(env)), cfg.RoleARN(config.EnvStack(env)+"-*"))},
	}
	var extending []string
	for _, e := range extendingEnvironments(cfg, env) {
		extending = append(extending, cfg.RoleARN(config.EnvStack(e)+"-*"))
	}
	if len(extending) > 0 {
		rotationRoles["ArnNotLike"] = map[string]any{"aws:PrincipalArn": extending}
	}
	pol := policy(
		withPrincipal(allow("KeyAdministration", keyAdminActions, "*", nil), aws(managers...)),
		withPrincipal(deny("AdministratorsNeverUseTheKey", keyUseActions, "*", cond{
			"ArnLike": {"aws:PrincipalArn": admins},
		}), "*"),
		withPrincipal(deny("OnlyAdministratorsChangeTheKey", keyChangeActions, "*", cond{
			"ArnNotLike": {"aws:PrincipalArn": managers},
		}), "*"),
		withPrincipal(deny("UseOnlyThroughSecretsManagerOrSSM", keyUseActions, "*", cond{
			"StringNotEquals": {"kms:ViaService": strs(sm, ssm)},
		}), "*"),
		withPrincipal(allow("ServicesDecryptTheirOwnSecrets", strs("kms:Decrypt"), "*", cond{
			"StringEquals": {"kms:ViaService": sm, "kms:CallerAccount": cfg.Account,
				"aws:PrincipalTag/" + config.TagEnvironment: env, "aws:PrincipalTag/" + config.TagTeam: team},
			"StringLike": {"kms:EncryptionContext:SecretARN": secretPrefix + "${aws:PrincipalTag/" + config.TagService + "}/*"},
			"ArnEquals":  {"aws:PrincipalArn": serviceRoleOfTag},
		}), aws(root)),
		withPrincipal(allow("ServicesDecryptTheirOwnParameters", strs("kms:Decrypt"), "*", cond{
			"StringEquals": {"kms:ViaService": ssm, "kms:CallerAccount": cfg.Account,
				"aws:PrincipalTag/" + config.TagEnvironment: env, "aws:PrincipalTag/" + config.TagTeam: team},
			"StringLike": {"kms:EncryptionContext:PARAMETER_ARN": paramPrefix + "${aws:PrincipalTag/" + config.TagService + "}/*"},
			"ArnEquals":  {"aws:PrincipalArn": serviceRoleOfTag},
		}), aws(root)),
		withPrincipal(allow("ProvisionerEncryptsButNeverDecrypts", strs("kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"), "*", cond{
			"StringEquals": {"kms:ViaService": strs(sm, ssm)},
		}), aws(provisioner)),
		withPrincipal(allow("RotationFunctionsUseTheKeyForThisEnvironment", strs("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"), "*", rotationRoles), aws(root)),
		withPrincipal(allow("BreakGlassDecrypts", strs("kms:Decrypt", "kms:DescribeKey"), "*", cond{
			"StringEquals": {"kms:ViaService": strs(sm, ssm)},
		}), aws(cfg.BreakGlassARN())),
	)
	key := awskms.NewCfnKey(st, id("Key", team), &awskms.CfnKeyProps{
		Description:         jsii.String("secretgate: " + team + "'s secrets in " + env),
		KeyPolicy:           pol,
		EnableKeyRotation:   jsii.Bool(true),
		PendingWindowInDays: jsii.Number(30),
		Tags:                tags(config.TagEnvironment, env, config.TagTeam, team),
	})
	key.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	awskms.NewCfnAlias(st, id("Alias", team), &awskms.CfnAliasProps{
		AliasName:   jsii.String(config.KeyAlias(env, team)),
		TargetKeyId: key.Ref(),
	})
	return key
}

// extendingEnvironments are the environments whose stack names start with
// env's and a dash (dev-eu and dev-eu-2 for dev): the names of their roles
// start with the prefix env's hosted rotation roles have.
func extendingEnvironments(cfg *config.Config, env string) []string {
	var out []string
	for _, e := range cfg.Environments {
		if strings.HasPrefix(config.EnvStack(e), config.EnvStack(env)+"-") {
			out = append(out, e)
		}
	}
	return out
}

// serviceRole is a service's role: tagged with its service, environment
// and team, reading only what those tags allow, bounded by the guardrail.
// The Secrets Manager, KMS and SSM permissions are separate policies, so
// that each can be shown to be necessary.
func serviceRole(st awscdk.Stack, cfg *config.Config, d config.Deployed) {
	sm := "secretsmanager." + cfg.Region + ".amazonaws.com"
	ssm := "ssm." + cfg.Region + ".amazonaws.com"
	principalTag := func(k string) string { return "${aws:PrincipalTag/" + k + "}" }
	policies := []any{
		inline("read-own-secrets", policy(
			allow("ReadSecretsTaggedForThisService", strs("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
				cfg.ARN("secretsmanager", cfg.Region, "secret:*"), cond{"StringEquals": {
					"aws:ResourceTag/" + config.TagService:     principalTag(config.TagService),
					"aws:ResourceTag/" + config.TagEnvironment: principalTag(config.TagEnvironment),
				}}),
		)),
		inline("read-own-parameters", policy(
			allow("ReadParametersUnderThisServicesPath", strs("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"),
				cfg.ARN("ssm", cfg.Region, "parameter/"+principalTag(config.TagEnvironment)+"/"+principalTag(config.TagService)+"/*"), nil),
		)),
		inline("decrypt-own-keys", policy(
			allow("DecryptWithTheTeamKeyThroughSecretsManagerOrSSM", strs("kms:Decrypt"),
				cfg.ARN("kms", cfg.Region, "key/*"), cond{"StringEquals": {
					"kms:ViaService": strs(sm, ssm),
					"aws:ResourceTag/" + config.TagEnvironment: principalTag(config.TagEnvironment),
					"aws:ResourceTag/" + config.TagTeam:        principalTag(config.TagTeam),
				}}),
		)),
	}
	awsiam.NewCfnRole(st, id("Role", d.Service.Name), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(config.ServiceRole(d.Env, d.Service.Name)),
		Description:              jsii.String("secretgate: " + d.Service.Name + " in " + d.Env),
		AssumeRolePolicyDocument: policy(withPrincipal(allow("RunsOn", strs("sts:AssumeRole"), nil, nil), service(d.Service.RunsOn))),
		PermissionsBoundary:      cfg.ARN("iam", "", "policy/"+config.Guardrail),
		Policies:                 policies,
		MaxSessionDuration:       jsii.Number(3600),
		Tags:                     tags(config.TagService, d.Service.Name, config.TagEnvironment, d.Env, config.TagTeam, d.Team),
	})
}

// secretResourcePolicy keeps the ABAC and rotation tags and the policy
// itself in the provisioner's hands and the secret in the account.
func secretResourcePolicy(cfg *config.Config) doc {
	provisioner := cfg.RoleARN(cfg.Provisioner)
	return policy(
		withPrincipal(deny("OnlyTheProvisionerChangesAccessAndRotationTags", strs("secretsmanager:TagResource", "secretsmanager:UntagResource"), "*", cond{
			"ForAnyValue:StringEquals": {"aws:TagKeys": config.ProvisionerTags},
			"ArnNotEquals":             {"aws:PrincipalArn": provisioner},
		}), "*"),
		withPrincipal(deny("OnlyTheProvisionerChangesThisPolicy", strs("secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"), "*", cond{
			"ArnNotEquals": {"aws:PrincipalArn": provisioner},
		}), "*"),
		withPrincipal(deny("NoOtherAccount", strs("secretsmanager:*"), "*", cond{
			"StringNotEquals": {"aws:PrincipalAccount": cfg.Account},
		}), "*"),
	)
}

// secret is one Secrets Manager secret: named, tagged, on its team key,
// its value generated by Secrets Manager (never in the template).
// owner is the service the secret is tagged and named for: the service
// itself, or config.MasterOwner for a database's master login, which no
// service reads.
func secret(st awscdk.Stack, cfg *config.Config, d config.Deployed, owner, name string, it config.Item, key awskms.CfnKey, gen *awssecretsmanager.CfnSecret_GenerateSecretStringProperty) awssecretsmanager.CfnSecret {
	s := awssecretsmanager.NewCfnSecret(st, id("Secret", owner, name), &awssecretsmanager.CfnSecretProps{
		Name:                 jsii.String(config.SecretName(d.Env, owner, name)),
		Description:          jsii.String("secretgate: " + string(it.Type) + " of " + d.Service.Name + " in " + d.Env),
		KmsKeyId:             key.AttrArn(),
		GenerateSecretString: gen,
		Tags: tags(config.TagService, owner, config.TagEnvironment, d.Env, config.TagTeam, d.Team,
			"secretgate:type", string(it.Type), config.TagRotation, string(it.Type.Rotation())),
	})
	s.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	awssecretsmanager.NewCfnResourcePolicy(st, id("Policy", owner, name), &awssecretsmanager.CfnResourcePolicyProps{
		SecretId:          s.Ref(),
		ResourcePolicy:    secretResourcePolicy(cfg),
		BlockPublicPolicy: jsii.Bool(true),
	})
	return s
}

// secretWithRotation declares an item's secret(s) and their rotation.
func secretWithRotation(st awscdk.Stack, cfg *config.Config, d config.Deployed, it config.Item, key awskms.CfnKey, rotator awslambda.CfnFunction, permission awslambda.CfnPermission) {
	rules := &awssecretsmanager.CfnRotationSchedule_RotationRulesProperty{AutomaticallyAfterDays: jsii.Number(float64(it.RotateDays))}
	switch it.Type.Rotation() {
	case config.RotatorLambda:
		s := secret(st, cfg, d, d.Service.Name, it.Name, it, key, &awssecretsmanager.CfnSecret_GenerateSecretStringProperty{
			// A placeholder until the first rotation asks the provider for a key.
			PasswordLength: jsii.Number(32), ExcludePunctuation: jsii.Bool(true),
		})
		r := awssecretsmanager.NewCfnRotationSchedule(st, id("Rotation", d.Service.Name, it.Name), &awssecretsmanager.CfnRotationScheduleProps{
			SecretId:          s.Ref(),
			RotationLambdaArn: rotator.AttrArn(),
			RotationRules:     rules,
		})
		r.AddResourceDependency(permission, nil)
	case config.HostedMultiUser:
		st.AddTransform(jsii.String(HostedRotationTransform))
		login := func(user string, master awssecretsmanager.CfnSecret) *awssecretsmanager.CfnSecret_GenerateSecretStringProperty {
			fields := map[string]any{"engine": "postgres", "host": it.Host, "port": it.Port, "dbname": it.Database, "username": user}
			if master != nil {
				fields["masterarn"] = master.Ref() // the hosted multi-user function reads it from the value
			}
			return &awssecretsmanager.CfnSecret_GenerateSecretStringProperty{
				SecretStringTemplate: st.ToJsonString(fields, nil),
				GenerateStringKey:    jsii.String("password"),
				PasswordLength:       jsii.Number(32),
				ExcludeCharacters:    jsii.String(`:/@"'\`),
			}
		}
		hosted := func(kind string, master awssecretsmanager.CfnSecret) *awssecretsmanager.CfnRotationSchedule_HostedRotationLambdaProperty {
			h := &awssecretsmanager.CfnRotationSchedule_HostedRotationLambdaProperty{
				RotationType:      jsii.String(kind),
				KmsKeyArn:         key.AttrArn(),
				ExcludeCharacters: jsii.String(`:/@"'\`),
			}
			if master != nil {
				h.MasterSecretArn = master.Ref()
				h.MasterSecretKmsKeyArn = key.AttrArn()
			}
			if len(it.SubnetIDs) > 0 {
				h.VpcSubnetIds = jsii.String(strings.Join(it.SubnetIDs, ","))
				h.VpcSecurityGroupIds = jsii.String(strings.Join(it.SecurityGroupIDs, ","))
			}
			return h
		}
		master := secret(st, cfg, d, config.MasterOwner, d.Service.Name+"-"+it.Name, it, key, login("postgres", nil))
		awssecretsmanager.NewCfnRotationSchedule(st, id("Rotation", d.Service.Name, it.Name, "master"), &awssecretsmanager.CfnRotationScheduleProps{
			SecretId:             master.Ref(),
			HostedRotationLambda: hosted("PostgreSQLSingleUser", nil),
			RotationRules:        rules,
		})
		app := secret(st, cfg, d, d.Service.Name, it.Name, it, key, login(it.Username, master))
		awssecretsmanager.NewCfnRotationSchedule(st, id("Rotation", d.Service.Name, it.Name), &awssecretsmanager.CfnRotationScheduleProps{
			SecretId:             app.Ref(),
			HostedRotationLambda: hosted("PostgreSQLMultiUser", master),
			RotationRules:        rules,
		})
	}
}

// rotatorFunction is cmd/rotator deployed for one environment, with the
// permission for Secrets Manager to invoke it.
func rotatorFunction(st awscdk.Stack, cfg *config.Config, env, asset string) (awslambda.CfnFunction, awslambda.CfnPermission) {
	secrets := cfg.ARN("secretsmanager", cfg.Region, "secret:"+env+"/*")
	role := awsiam.NewCfnRole(st, jsii.String("RotatorRole"), &awsiam.CfnRoleProps{
		RoleName:                 jsii.String(config.RotatorRole(env)),
		Description:              jsii.String("secretgate: rotates API keys and tokens in " + env),
		AssumeRolePolicyDocument: policy(withPrincipal(allow("Lambda", strs("sts:AssumeRole"), nil, nil), service("lambda.amazonaws.com"))),
		PermissionsBoundary:      cfg.ARN("iam", "", "policy/"+config.Guardrail),
		ManagedPolicyArns:        &[]any{"arn:" + cfg.Partition() + ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
		Policies: []any{inline("rotate", policy(
			allow("RotateThisEnvironmentsRotatorSecrets", strs("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
				"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"), secrets, cond{"StringEquals": {
				"aws:ResourceTag/" + config.TagEnvironment: env,
				"aws:ResourceTag/" + config.TagRotation:    string(config.RotatorLambda),
			}}),
			allow("ReadTheKeyAPIAdminToken", strs("secretsmanager:GetSecretValue"),
				cfg.ARN("secretsmanager", cfg.Region, "secret:"+cfg.Rotator.AdminSecretIn(env)+"-??????"), nil),
			allow("RandomValues", strs("secretsmanager:GetRandomPassword"), "*", nil),
			allow("UseTheKeysThroughSecretsManager", strs("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"),
				cfg.ARN("kms", cfg.Region, "key/*"), cond{"StringEquals": {
					"kms:ViaService": "secretsmanager." + cfg.Region + ".amazonaws.com",
					"aws:ResourceTag/" + config.TagEnvironment: env,
				}}),
		))},
		Tags: tags(config.TagEnvironment, env),
	})
	fn := goFunction(st, "Rotator", cfg, asset, &awslambda.CfnFunctionProps{
		FunctionName: jsii.String(config.RotatorRole(env)),
		Description:  jsii.String("secretgate: cmd/rotator for " + env),
		Role:         role.AttrArn(),
		Timeout:      jsii.Number(60),
		Environment: &awslambda.CfnFunction_EnvironmentProperty{Variables: map[string]any{
			"SECRETGATE_KEYS_URL":          cfg.Rotator.KeysURL,
			"SECRETGATE_KEYS_ADMIN_SECRET": cfg.Rotator.AdminSecretIn(env),
		}},
		Tags: tags(config.TagEnvironment, env),
	})
	perm := awslambda.NewCfnPermission(st, jsii.String("RotatorInvokedBySecretsManager"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  fn.AttrArn(),
		Principal:     jsii.String("secretsmanager.amazonaws.com"),
		SourceAccount: jsii.String(cfg.Account),
	})
	return fn, perm
}

// goFunction is a Go binary from a `make lambda` zip (or folder) on the
// provided.al2023 runtime; props gives the rest.
func goFunction(st awscdk.Stack, name string, cfg *config.Config, asset string, props *awslambda.CfnFunctionProps) awslambda.CfnFunction {
	code := awss3assets.NewAsset(st, jsii.String(name+"Code"), &awss3assets.AssetProps{Path: jsii.String(asset)})
	props.Runtime = jsii.String("provided.al2023")
	props.Handler = jsii.String("bootstrap")
	props.Architectures = &[]*string{jsii.String(cfg.Arch)}
	props.Code = &awslambda.CfnFunction_CodeProperty{S3Bucket: code.S3BucketName(), S3Key: code.S3ObjectKey()}
	return awslambda.NewCfnFunction(st, jsii.String(name), props)
}

// certificate is an ACM certificate validated through Route 53 and
// renewed by ACM for as long as the validation record stays.
func certificate(st awscdk.Stack, d config.Deployed, it config.Item) {
	domain := it.DomainIn(d.Env)
	awscertificatemanager.NewCfnCertificate(st, id("Certificate", d.Service.Name, it.Name), &awscertificatemanager.CfnCertificateProps{
		DomainName:       jsii.String(domain),
		ValidationMethod: jsii.String("DNS"),
		DomainValidationOptions: []any{&awscertificatemanager.CfnCertificate_DomainValidationOptionProperty{
			DomainName: jsii.String(domain), HostedZoneId: jsii.String(it.HostedZoneID),
		}},
		KeyAlgorithm: jsii.String("EC_prime256v1"),
		Tags:         tags(config.TagService, d.Service.Name, config.TagEnvironment, d.Env, config.TagTeam, d.Team, "secretgate:type", string(it.Type)),
	})
}
