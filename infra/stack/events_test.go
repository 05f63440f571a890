package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/infra/config"
)

// EventBridge has no local engine we can run here (no Go or npm package
// of its matcher is served), so the patterns are matched with the subset
// of its rules they use: nested objects, lists of exact values (a list
// in the event matches if any element does), prefix, suffix,
// anything-but and exists.

func matchPattern(pattern, event map[string]any) bool {
	for key, want := range pattern {
		got, present := event[key]
		switch want := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok || !matchPattern(want, sub) {
				return false
			}
		case []any:
			if !matchValues(want, got, present) {
				return false
			}
		default:
			panic(fmt.Sprintf("pattern field %s: %T is not an object or a list", key, want))
		}
	}
	return true
}

func matchValues(rules []any, got any, present bool) bool {
	values := []any{got}
	if list, ok := got.([]any); ok {
		values = list
	}
	for _, rule := range rules {
		op, isOp := rule.(map[string]any)
		if isOp {
			if exists, ok := op["exists"].(bool); ok {
				if exists == (present && got != nil) {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			s, isString := v.(string)
			switch {
			case !isOp:
				if fmt.Sprint(rule) == fmt.Sprint(v) && (isString == isStringValue(rule)) {
					return true
				}
			case op["prefix"] != nil:
				if isString && strings.HasPrefix(s, op["prefix"].(string)) {
					return true
				}
			case op["suffix"] != nil:
				if isString && strings.HasSuffix(s, op["suffix"].(string)) {
					return true
				}
			case op["anything-but"] != nil:
				but := op["anything-but"]
				list, ok := but.([]any)
				if !ok {
					list = []any{but}
				}
				if !slices.ContainsFunc(list, func(b any) bool { return fmt.Sprint(b) == fmt.Sprint(v) }) {
					return true
				}
			default:
				panic(fmt.Sprintf("unsupported pattern operator %v", op))
			}
		}
	}
	return false
}

func isStringValue(v any) bool { _, ok := v.(string); return ok }

// record is one CloudTrail record from testdata with where it came from.
type record struct {
	file string
	n    int
	data map[string]any
}

func (r record) String() string {
	return fmt.Sprintf("%s#%d (%s %s)", r.file, r.n, r.data["eventSource"], r.data["eventName"])
}

// trailRecords loads every CloudTrail record in testdata/cloudtrail (see
// the README there for their sources).
func trailRecords(t *testing.T) []record {
	t.Helper()
	files, err := filepath.Glob("../testdata/cloudtrail/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no records: %v", err)
	}
	var out []record
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Records []map[string]any }
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if body.Records == nil { // a single record
			var one map[string]any
			if err := json.Unmarshal(raw, &one); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			body.Records = []map[string]any{one}
		}
		for i, r := range body.Records {
			out = append(out, record{file: filepath.Base(f), n: i, data: r})
		}
	}
	return out
}

// envelope is the event EventBridge makes of a CloudTrail record.
func envelope(r map[string]any) map[string]any {
	detailType := map[string]string{
		"AwsApiCall":       "AWS API Call via CloudTrail",
		"AwsServiceEvent":  "AWS Service Event via CloudTrail",
		"AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
	}[fmt.Sprint(r["eventType"])]
	if detailType == "" {
		detailType = "AWS API Call via CloudTrail"
	}
	source := "aws." + strings.TrimSuffix(fmt.Sprint(r["eventSource"]), ".amazonaws.com")
	return map[string]any{
		"version": "0", "detail-type": detailType, "source": source,
		"account": r["recipientAccountId"], "region": r["awsRegion"], "time": r["eventTime"],
		"resources": []any{}, "detail": r,
	}
}

// delivered reports whether a rule receives a record: its pattern
// matches, and its state lets CloudTrail read-only calls through (calls
// whose name starts with Get, List or Describe reach only rules enabled
// with all CloudTrail management events).
func delivered(rule map[string]any, r map[string]any) bool {
	p := props(rule)
	name := fmt.Sprint(r["eventName"])
	if p["State"] == "ENABLED" && hasPrefixAny(name, "Get", "List", "Describe") {
		return false
	}
	if p["State"] != "ENABLED" && p["State"] != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
		return false
	}
	raw, _ := json.Marshal(p["EventPattern"])
	var pattern map[string]any
	if err := json.Unmarshal(raw, &pattern); err != nil {
		panic(err)
	}
	return matchPattern(pattern, envelope(r))
}

func TestMatcherOnThePublishedAssumeRolePattern(t *testing.T) {
	// The pattern AWS publishes for AssumeRole alerts (testdata/payloads
	// of the shared research), run over every record.
	pattern := map[string]any{
		"source": []any{"aws.sts"}, "detail-type": []any{"AWS API Call via CloudTrail"},
		"detail": map[string]any{"eventSource": []any{"sts.amazonaws.com"}, "eventName": []any{"AssumeRole"},
			"requestParameters": map[string]any{"roleArn": []any{map[string]any{"suffix": ":role/EC2-dev"}}}},
	}
	var fired []string
	for _, r := range trailRecords(t) {
		if matchPattern(pattern, envelope(r.data)) {
			fired = append(fired, r.file)
		}
	}
	want := []string{"cloudtrail-sts-AssumeRole-event.json", "sts-AssumeRole-with-MFA-crossaccount.json", "sts-AssumeRole-with-MFA-crossaccount.json"}
	if !slices.Equal(fired, want) {
		t.Errorf("fired on %v, want %v", fired, want)
	}
}

// The break-glass rules fire on the records of the break-glass role and
// on no other. Each case names the role after one in the real records.
// EventBridge gives a rule only the events of its own region, so a
// record reaches the rules of the alert stack of its awsRegion alone.
func TestBreakGlassRulesFireOnlyOnTheRole(t *testing.T) {
	records := trailRecords(t)
	base, err := config.Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The regions of the records: us-east-1, us-east-2 and us-west-2.
	all := []string{"us-east-1", "us-east-2", "us-west-2"}
	for _, tc := range []struct {
		name, region, path, role string
		alertRegions             []string
		assumed, read            []string // records the rules must fire on, file#n
	}{
		{name: "the sample role appears in no record", region: "us-east-1", alertRegions: all, path: "/", role: "secretgate-break-glass"},
		{name: "AssumeRole, seen from both accounts", region: "us-east-1", alertRegions: all, path: "/", role: "EC2-dev",
			assumed: []string{"sts-AssumeRole-with-MFA-crossaccount.json#0", "sts-AssumeRole-with-MFA-crossaccount.json#1"}},
		{name: "AssumeRole in a region without a rule (the trust policy refuses it there)", region: "us-east-1", alertRegions: []string{"us-east-1"},
			path: "/", role: "EC2-dev"},
		{name: "a denied secret read by an SSO role", region: "us-west-2", alertRegions: all, path: "/aws-reserved/sso.amazonaws.com/us-west-2/", role: "AWSReservedSSO_ExampleAdmin_0123456789abcdef",
			read: []string{"secretsmanager-GetSecretValue-AccessDenied.json#0"}},
		{name: "a parameter read by an SSO role", region: "us-west-2", alertRegions: all, path: "/aws-reserved/sso.amazonaws.com/us-west-2/", role: "SampleRole",
			read: []string{"ssm-GetParameter-WithDecryption.json#0"}},
		{name: "a read outside the deploy region reaches no read rule (the role may not read there)", region: "us-east-1", alertRegions: all,
			path: "/aws-reserved/sso.amazonaws.com/us-west-2/", role: "SampleRole"},
		{name: "secret reads, not the KMS call behind them (synthetic records)", region: "us-east-1", alertRegions: all, path: "/", role: "example-app-role",
			read: []string{"derived-secretsmanager-rotation-lifecycle.json#6", "derived-secretsmanager-rotation-lifecycle.json#14"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := *base
			cfg.Account, cfg.Region, cfg.AlertRegions = "123456789012", tc.region, tc.alertRegions
			cfg.BreakGlass.Path, cfg.BreakGlass.Role = tc.path, tc.role
			s, err := synthesise(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			fired := map[string][]string{}
			for _, region := range cfg.AlertRegions {
				_, rules := resources(s.templates["secretgate-alerts-"+region], "AWS::Events::Rule")
				if len(rules) == 0 {
					t.Fatalf("%s: no rules", region)
				}
				for _, rule := range rules {
					name := fmt.Sprint(props(rule)["Name"])
					if name != RuleBreakGlassAssumed && name != RuleBreakGlassRead {
						t.Fatalf("unexpected rule %s", name)
					}
					for _, r := range records {
						if r.data["awsRegion"] == region && delivered(rule, r.data) {
							fired[name] = append(fired[name], fmt.Sprintf("%s#%d", r.file, r.n))
						}
					}
				}
			}
			for name, want := range map[string][]string{RuleBreakGlassAssumed: tc.assumed, RuleBreakGlassRead: tc.read} {
				want = slices.Sorted(slices.Values(want))
				slices.Sort(fired[name])
				if !slices.Equal(fired[name], want) {
					t.Errorf("%s fired on %v, want %v", name, fired[name], want)
				}
			}
		})
	}
}
