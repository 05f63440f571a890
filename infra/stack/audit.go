package stack

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// Names in the audit stack.
const (
	TrailName     = "secretgate"
	GlueDatabase  = "secretgate"
	TrailTable    = "cloudtrail_logs_pp" // the table `dashboard athena ddl` creates
	WorkGroup     = "secretgate"
	projectionDay = "2020/01/01" // the first day the date partition projects
)

// queries.json is generated from the root module (make infra-athena): the
// reports' view and each weekly report's Athena text, so that the named
// queries are the ones the dashboard runs.
//
//go:embed queries.json
var queriesJSON []byte

// Queries are the generated Athena texts.
type Queries struct {
	View    string   `json:"view"`
	Reports []Report `json:"reports"`
}

// Report is one weekly report's Athena text with positional parameters.
type Report struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Meaning string   `json:"meaning"`
	SQL     string   `json:"sql"`
	Params  []string `json:"params"`
}

// LoadQueries reads the embedded queries.
func LoadQueries() (*Queries, error) {
	var q Queries
	if err := json.Unmarshal(queriesJSON, &q); err != nil {
		return nil, fmt.Errorf("stack/queries.json: %w (regenerate with make infra-athena)", err)
	}
	return &q, nil
}

// TrailBucket is the name of the bucket the trail writes to.
func TrailBucket(cfg *config.Config) string {
	return "secretgate-trail-" + cfg.Account + "-" + cfg.Region
}

// audit fills the audit stack: the trail on its own key into a locked
// bucket, the Glue table over it, the Athena workgroup and its queries.
func audit(st awscdk.Stack, cfg *config.Config) awscdk.Stack {
	var managers []string
	for _, a := range append(cfg.KeyAdmins, cfg.Provisioner) {
		managers = append(managers, cfg.RoleARN(a))
	}
	trailARN := cfg.ARN("cloudtrail", cfg.Region, "trail/"+TrailName)
	key := awskms.NewCfnKey(st, jsii.String("AuditKey"), &awskms.CfnKeyProps{
		Description:         jsii.String("secretgate: the CloudTrail trail and Athena results"),
		EnableKeyRotation:   jsii.Bool(true),
		PendingWindowInDays: jsii.Number(30),
		KeyPolicy: policy(
			withPrincipal(allow("KeyAdministration", keyAdminActions, "*", nil), aws(managers...)),
			withPrincipal(allow("CloudTrailEncryptsLogs", strs("kms:GenerateDataKey*"), "*", cond{
				"StringEquals": {"aws:SourceArn": trailARN},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": cfg.ARN("cloudtrail", "*", "trail/*")},
			}), service("cloudtrail.amazonaws.com")),
			withPrincipal(allow("CloudTrailDescribesKey", strs("kms:DescribeKey"), "*", nil), service("cloudtrail.amazonaws.com")),
			withPrincipal(allow("AuditorsReadThroughS3AndAthena", strs("kms:Decrypt", "kms:GenerateDataKey*"), "*", cond{
				"StringEquals": {"kms:CallerAccount": cfg.Account, "kms:ViaService": strs("s3."+cfg.Region+".amazonaws.com", "athena."+cfg.Region+".amazonaws.com")},
			}), aws(cfg.ARN("iam", "", "root"))),
		),
	})
	bucketName := TrailBucket(cfg)
	bucket := awss3.NewCfnBucket(st, jsii.String("TrailBucket"), &awss3.CfnBucketProps{
		BucketName: jsii.String(bucketName),
		BucketEncryption: &awss3.CfnBucket_BucketEncryptionProperty{ServerSideEncryptionConfiguration: []any{
			&awss3.CfnBucket_ServerSideEncryptionRuleProperty{
				BucketKeyEnabled: jsii.Bool(true),
				ServerSideEncryptionByDefault: &awss3.CfnBucket_ServerSideEncryptionByDefaultProperty{
					SseAlgorithm: jsii.String("aws:kms"), KmsMasterKeyId: key.AttrArn(),
				},
			},
		}},
		PublicAccessBlockConfiguration: &awss3.CfnBucket_PublicAccessBlockConfigurationProperty{
			BlockPublicAcls: jsii.Bool(true), BlockPublicPolicy: jsii.Bool(true), IgnorePublicAcls: jsii.Bool(true), RestrictPublicBuckets: jsii.Bool(true),
		},
		OwnershipControls: &awss3.CfnBucket_OwnershipControlsProperty{Rules: []any{
			&awss3.CfnBucket_OwnershipControlsRuleProperty{ObjectOwnership: jsii.String("BucketOwnerEnforced")},
		}},
		VersioningConfiguration: &awss3.CfnBucket_VersioningConfigurationProperty{Status: jsii.String("Enabled")},
		LifecycleConfiguration: &awss3.CfnBucket_LifecycleConfigurationProperty{Rules: []any{
			&awss3.CfnBucket_RuleProperty{Id: jsii.String("retention"), Status: jsii.String("Enabled"), ExpirationInDays: jsii.Number(float64(cfg.Audit.RetentionDays))},
			&awss3.CfnBucket_RuleProperty{Id: jsii.String("athena-results"), Status: jsii.String("Enabled"), Prefix: jsii.String("athena-results/"), ExpirationInDays: jsii.Number(30)},
		}},
	})
	bucket.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	bucketARN := "arn:" + cfg.Partition() + ":s3:::" + bucketName
	bucketPolicy := awss3.NewCfnBucketPolicy(st, jsii.String("TrailBucketPolicy"), &awss3.CfnBucketPolicyProps{
		Bucket: bucket.Ref(),
		PolicyDocument: policy(
			withPrincipal(allow("CloudTrailChecksAcl", strs("s3:GetBucketAcl"), bucketARN, cond{
				"StringEquals": {"aws:SourceArn": trailARN},
			}), service("cloudtrail.amazonaws.com")),
			withPrincipal(allow("CloudTrailWrites", strs("s3:PutObject"), bucketARN+"/AWSLogs/"+cfg.Account+"/*", cond{
				"StringEquals": {"aws:SourceArn": trailARN, "s3:x-amz-acl": "bucket-owner-full-control"},
			}), service("cloudtrail.amazonaws.com")),
			withPrincipal(deny("TLSOnly", strs("s3:*"), strs(bucketARN, bucketARN+"/*"), cond{
				"Bool": {"aws:SecureTransport": "false"},
			}), "*"),
			withPrincipal(deny("LogsAreNeverRewritten", strs("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"), bucketARN+"/AWSLogs/*", cond{
				"StringNotEquals": {"aws:PrincipalServiceName": "cloudtrail.amazonaws.com"},
			}), "*"),
		),
	})
	trail := awscloudtrail.NewCfnTrail(st, jsii.String("Trail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(TrailName),
		IsLogging:                  jsii.Bool(true),
		IsMultiRegionTrail:         jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		EnableLogFileValidation:    jsii.Bool(true),
		S3BucketName:               bucket.Ref(),
		KmsKeyId:                   key.AttrArn(),
		EventSelectors: []any{&awscloudtrail.CfnTrail_EventSelectorProperty{
			ReadWriteType: jsii.String("All"), IncludeManagementEvents: jsii.Bool(true),
		}},
	})
	trail.AddResourceDependency(bucketPolicy, nil)

	// The Glue table `dashboard athena ddl` prints, with the account and
	// the alert regions as enum projections so the reports' view works.
	root := "s3://" + bucketName + "/AWSLogs/"
	db := awsglue.NewCfnDatabase(st, jsii.String("Glue"), &awsglue.CfnDatabaseProps{
		CatalogId:     jsii.String(cfg.Account),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{Name: jsii.String(GlueDatabase), Description: jsii.String("secretgate: the CloudTrail trail")},
	})
	var columns []any
	for _, c := range TrailColumns {
		columns = append(columns, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c[0]), Type: jsii.String(c[1])})
	}
	table := awsglue.NewCfnTable(st, jsii.String("TrailTable"), &awsglue.CfnTableProps{
		CatalogId:    jsii.String(cfg.Account),
		DatabaseName: jsii.String(GlueDatabase),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:      jsii.String(TrailTable),
			TableType: jsii.String("EXTERNAL_TABLE"),
			PartitionKeys: []any{
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("account"), Type: jsii.String("string")},
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("region"), Type: jsii.String("string")},
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("date"), Type: jsii.String("string")},
			},
			Parameters: map[string]any{
				"EXTERNAL":                      "TRUE",
				"classification":                "cloudtrail",
				"projection.enabled":            "true",
				"projection.account.type":       "enum",
				"projection.account.values":     cfg.Account,
				"projection.region.type":        "enum",
				"projection.region.values":      strings.Join(cfg.AlertRegions, ","),
				"projection.date.type":          "date",
				"projection.date.format":        "yyyy/MM/dd",
				"projection.date.range":         projectionDay + ",NOW",
				"projection.date.interval":      "1",
				"projection.date.interval.unit": "DAYS",
				"storage.location.template":     root + "${account}/CloudTrail/${region}/${date}",
			},
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      columns,
				Location:     jsii.String(root),
				InputFormat:  jsii.String("com.amazon.emr.cloudtrail.CloudTrailInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
				SerdeInfo:    &awsglue.CfnTable_SerdeInfoProperty{SerializationLibrary: jsii.String("org.apache.hive.hcatalog.data.JsonSerDe")},
			},
		},
	})
	table.AddResourceDependency(db, nil)

	wg := awsathena.NewCfnWorkGroup(st, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:                  jsii.String(WorkGroup),
		Description:           jsii.String("secretgate: the weekly reports over the trail"),
		RecursiveDeleteOption: jsii.Bool(false),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			BytesScannedCutoffPerQuery:      jsii.Number(float64(cfg.Audit.BytesScannedCutoff)),
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation:          jsii.String("s3://" + bucketName + "/athena-results/"),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{EncryptionOption: jsii.String("SSE_KMS"), KmsKey: key.AttrArn()},
			},
		},
	})
	q, err := LoadQueries()
	if err != nil {
		panic(err) // embedded at build time: a broken file is a build defect
	}
	named := func(name, description, sql string) {
		nq := awsathena.NewCfnNamedQuery(st, id("Query", name), &awsathena.CfnNamedQueryProps{
			Name: jsii.String("secretgate " + name), Description: jsii.String(description),
			Database: jsii.String(GlueDatabase), WorkGroup: wg.Ref(), QueryString: jsii.String(sql),
		})
		nq.AddResourceDependency(wg, nil)
		nq.AddResourceDependency(table, nil)
	}
	named("view", "Run once: creates the secretgate_events view the reports read", q.View)
	for _, r := range q.Reports {
		named(r.Name, trim(r.Title+": "+r.Meaning+" Parameters in order: "+strings.Join(r.Params, ", ")+".", 1024), r.SQL)
	}
	return st
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// TrailColumns are the columns of the trail's table, in Glue's type
// syntax; they must equal the DDL `dashboard athena ddl` prints (a test
// compares them with testdata/athena-ddl.sql).
var TrailColumns = [][2]string{
	{"eventversion", "string"},
	{"useridentity", "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string," +
		"onbehalfof:struct<userid:string,identitystorearn:string>," +
		"sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>," +
		"sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>," +
		"ec2roledelivery:string,webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>"},
	{"eventtime", "string"}, {"eventsource", "string"}, {"eventname", "string"}, {"awsregion", "string"},
	{"sourceipaddress", "string"}, {"useragent", "string"}, {"errorcode", "string"}, {"errormessage", "string"},
	{"requestparameters", "string"}, {"responseelements", "string"}, {"additionaleventdata", "string"},
	{"requestid", "string"}, {"eventid", "string"}, {"readonly", "string"},
	{"resources", "array<struct<arn:string,accountid:string,type:string>>"},
	{"eventtype", "string"}, {"apiversion", "string"}, {"recipientaccountid", "string"},
	{"serviceeventdetails", "string"}, {"sharedeventid", "string"},
	{"vpcendpointid", "string"}, {"vpcendpointaccountid", "string"}, {"eventcategory", "string"},
	{"addendum", "struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>"},
	{"sessioncredentialfromconsole", "string"}, {"edgedevicedetails", "string"},
	{"tlsdetails", "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>"},
}
