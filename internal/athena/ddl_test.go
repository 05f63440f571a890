package athena

import (
	"strings"
	"testing"
)

func TestDDL(t *testing.T) {
	tests := []struct {
		name              string
		bucket, prefix    string
		accounts, regions []string
		want, notWant     []string
	}{
		{
			name:     "accounts and regions",
			bucket:   "trail-bucket",
			accounts: []string{"111111111111", "222222222222", "111111111111"},
			regions:  []string{"us-east-1", "eu-west-1"},
			want: []string{
				"CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_logs_pp (",
				"PARTITIONED BY (`account` string, `region` string, `date` string)",
				"ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
				"STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
				"OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
				"LOCATION 's3://trail-bucket/AWSLogs/'",
				"'projection.enabled'='true'",
				"'projection.account.type'='enum'",
				"'projection.account.values'='111111111111,222222222222'",
				"'projection.region.type'='enum'",
				"'projection.region.values'='us-east-1,eu-west-1'",
				"'projection.date.type'='date'",
				"'projection.date.format'='yyyy/MM/dd'",
				"'projection.date.range'='2020/01/01,NOW'",
				"'projection.date.interval'='1'",
				"'projection.date.interval.unit'='DAYS'",
				"'storage.location.template'='s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${date}'",
				"requestparameters STRING",
				"additionaleventdata STRING",
				"sessionissuer: STRUCT<",
			},
		},
		{
			name:   "prefix and no lists",
			bucket: "b", prefix: "/logs/trail/",
			want: []string{
				"LOCATION 's3://b/logs/trail/AWSLogs/'",
				"'projection.account.type'='injected'",
				"'projection.region.type'='injected'",
				"'storage.location.template'='s3://b/logs/trail/AWSLogs/${account}/CloudTrail/${region}/${date}'",
			},
			notWant: []string{"projection.account.values", "projection.region.values"},
		},
		{
			name:   "organisation trail",
			bucket: "org", prefix: "p/AWSLogs/o-abc123",
			accounts: []string{"333333333333"}, regions: []string{"us-west-2"},
			want: []string{
				"'storage.location.template'='s3://org/p/AWSLogs/o-abc123/${account}/CloudTrail/${region}/${date}'",
			},
		},
		{
			name:   "prefix already at AWSLogs",
			bucket: "b", prefix: "AWSLogs",
			want:    []string{"LOCATION 's3://b/AWSLogs/'"},
			notWant: []string{"AWSLogs/AWSLogs"},
		},
		{
			name:   "quotes are escaped",
			bucket: "b", regions: []string{"x'y"},
			want: []string{"'projection.region.values'='x''y'"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ddl := DDL(tc.bucket, tc.prefix, tc.accounts, tc.regions)
			for _, w := range tc.want {
				if !strings.Contains(ddl, w) {
					t.Errorf("DDL lacks %q:\n%s", w, ddl)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(ddl, w) {
					t.Errorf("DDL has %q:\n%s", w, ddl)
				}
			}
			if !strings.HasSuffix(ddl, ");\n") {
				t.Errorf("DDL does not end the statement:\n%s", ddl)
			}
		})
	}
}

// The view gives the reports the dashboard's events columns, in order,
// plus the partition to prune on.
func TestViewColumns(t *testing.T) {
	ddl := ViewDDL()
	if !strings.HasPrefix(ddl, "CREATE OR REPLACE VIEW secretgate_events AS") || !strings.Contains(ddl, "FROM "+Table+"\n") {
		t.Fatalf("view header or source table wrong:\n%.300s", ddl)
	}
	final := ddl[strings.LastIndex(ddl, "\nSELECT\n"):]
	var got []string
	for _, line := range strings.Split(final, "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		switch {
		case strings.Contains(line, " AS "):
			if i := strings.LastIndex(line, " AS "); !strings.Contains(line[i:], "(") {
				got = append(got, line[i+4:])
			}
		case line != "" && !strings.ContainsAny(line, " ()'") && line != "SELECT":
			got = append(got, line)
		}
	}
	want := "event_id event_time event_source event_name region account_id principal principal_type session_name mfa " +
		"source_ip user_agent secret_id key_id parameter_name error_code error_message is_read via file log_date"
	if strings.Join(got, " ") != want {
		t.Errorf("view columns\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}
