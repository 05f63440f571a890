package athena

import (
	"strings"
)

// Table is the name DDL gives the CloudTrail table.
const Table = "cloudtrail_logs_pp"

// ProjectionStart is the first day the date partition projects.
const ProjectionStart = "2020/01/01"

// DDL returns the CREATE EXTERNAL TABLE statement for a CloudTrail trail
// delivered to bucket under prefix, with partition projection on
// account, region and date (the trail's yyyy/MM/dd delivery folders), so
// no partition is ever added by hand. The columns, SerDe and input format
// are AWS's documented CloudTrail table.
//
// prefix is the trail's S3 key prefix ("" for none); the AWSLogs folder is
// added unless prefix already ends in it or in an organisation folder
// (AWSLogs/o-…), as organisation trails deliver. accounts and regions
// become the enum values of their partitions; an empty list makes that
// partition injected, so that every query must name it in its WHERE
// clause. Queries should filter on date as well, a day either side of the
// window, since a file's folder is its delivery date, not its events'.
func DDL(bucket, prefix string, accounts, regions []string) string {
	root := "s3://" + strings.Trim(bucket, "/") + "/" + logsPrefix(prefix)
	var b strings.Builder
	b.WriteString("CREATE EXTERNAL TABLE IF NOT EXISTS " + Table + " (\n")
	b.WriteString(columns)
	b.WriteString(")\n")
	b.WriteString("PARTITIONED BY (`account` string, `region` string, `date` string)\n")
	b.WriteString("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n")
	b.WriteString("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n")
	b.WriteString("OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n")
	b.WriteString("LOCATION " + literal(root) + "\n")
	props := [][2]string{{"projection.enabled", "true"}}
	props = append(props, enum("account", accounts)...)
	props = append(props, enum("region", regions)...)
	props = append(props,
		[2]string{"projection.date.type", "date"},
		[2]string{"projection.date.format", "yyyy/MM/dd"},
		[2]string{"projection.date.range", ProjectionStart + ",NOW"},
		[2]string{"projection.date.interval", "1"},
		[2]string{"projection.date.interval.unit", "DAYS"},
		[2]string{"storage.location.template", root + "${account}/CloudTrail/${region}/${date}"},
	)
	b.WriteString("TBLPROPERTIES (\n")
	for i, p := range props {
		b.WriteString("  " + literal(p[0]) + "=" + literal(p[1]))
		if i < len(props)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(");\n")
	return b.String()
}

// logsPrefix is the key prefix under which account folders start, ending
// in "/".
func logsPrefix(prefix string) string {
	p := strings.Trim(prefix, "/")
	last := p[strings.LastIndex(p, "/")+1:]
	parent := strings.TrimSuffix(p, "/"+last)
	switch {
	case p == "":
		p = "AWSLogs"
	case last == "AWSLogs":
	case strings.HasPrefix(last, "o-") && (parent == "AWSLogs" || strings.HasSuffix(parent, "/AWSLogs")):
	default:
		p += "/AWSLogs"
	}
	return p + "/"
}

// enum is the projection of one partition over values, or an injected
// projection when there are none.
func enum(key string, values []string) [][2]string {
	var vs []string
	seen := map[string]bool{}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v != "" && !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return [][2]string{{"projection." + key + ".type", "injected"}}
	}
	return [][2]string{
		{"projection." + key + ".type", "enum"},
		{"projection." + key + ".values", strings.Join(vs, ",")},
	}
}

// literal quotes s as an SQL string.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// columns are the CloudTrail record fields as AWS documents the table.
const columns = `    eventversion STRING,
    useridentity STRUCT<
        type: STRING, principalid: STRING, arn: STRING, accountid: STRING,
        invokedby: STRING, accesskeyid: STRING, username: STRING,
        onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
            sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<federatedprovider: STRING, attributes: map<string,string>>
        >
    >,
    eventtime STRING, eventsource STRING, eventname STRING, awsregion STRING,
    sourceipaddress STRING, useragent STRING, errorcode STRING, errormessage STRING,
    requestparameters STRING, responseelements STRING, additionaleventdata STRING,
    requestid STRING, eventid STRING, readonly STRING,
    resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
    eventtype STRING, apiversion STRING, recipientaccountid STRING,
    serviceeventdetails STRING, sharedeventid STRING,
    vpcendpointid STRING, vpcendpointaccountid STRING, eventcategory STRING,
    addendum STRUCT<reason: STRING, updatedfields: STRING, originalrequestid: STRING, originaleventid: STRING>,
    sessioncredentialfromconsole STRING, edgedevicedetails STRING,
    tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
`
