package stack

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ddlGolden is `dashboard athena ddl` for the sample config, generated in
// the root module (see TestGoldenFilesAreCurrent).
const ddlGolden = "../testdata/athena-ddl.sql"

var ddlArgs = []string{"run", "./cmd/dashboard", "athena", "ddl",
	"--bucket", "secretgate-trail-111122223333-eu-west-1", "--accounts", "111122223333", "--regions", "eu-west-1,us-east-1"}

// ddlTable splits the CREATE EXTERNAL TABLE of the golden DDL into its
// columns (name, type in Glue's lower-case syntax without spaces), its
// partition keys and its table properties.
func ddlTable(t *testing.T) (columns [][2]string, partitions []string, location string, properties map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(ddlGolden)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "(\n")
	end := strings.Index(text, "\n)\nPARTITIONED BY")
	if start < 0 || end < 0 {
		t.Fatalf("%s: no column list", ddlGolden)
	}
	body := strings.ToLower(regexp.MustCompile(`\s+`).ReplaceAllString(text[start+1:end], ""))
	depth, from := 0, 0
	for i := 0; i <= len(body); i++ {
		if i < len(body) {
			switch body[i] {
			case '<':
				depth++
				continue
			case '>':
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		col := body[from:i]
		from = i + 1
		if col == "" {
			continue
		}
		// The DDL writes "name STRING" and "field: TYPE"; with spaces gone
		// the column name runs into its type.
		k := len(col)
		for _, typ := range []string{"string", "struct<", "array<", "map<"} {
			if i := strings.Index(col, typ); i > 0 && i < k {
				k = i
			}
		}
		columns = append(columns, [2]string{col[:k], col[k:]})
	}
	for _, m := range regexp.MustCompile("`([a-z]+)` string").FindAllStringSubmatch(text[end:], -1) {
		partitions = append(partitions, m[1])
	}
	if m := regexp.MustCompile(`LOCATION '([^']*)'`).FindStringSubmatch(text); m != nil {
		location = m[1]
	}
	properties = map[string]string{}
	for _, m := range regexp.MustCompile(`'([a-z.]+)'='([^']*)'`).FindAllStringSubmatch(text, -1) {
		properties[m[1]] = m[2]
	}
	return columns, partitions, location, properties
}

func TestGlueTableIsTheDashboardsDDL(t *testing.T) {
	s := sampleSynth(t)
	columns, partitions, location, properties := ddlTable(t)
	if len(columns) < 25 {
		t.Fatalf("parsed only %d columns from %s", len(columns), ddlGolden)
	}
	_, tables := resources(s.templates["secretgate-audit"], "AWS::Glue::Table")
	if len(tables) != 1 {
		t.Fatalf("%d Glue tables, want 1", len(tables))
	}
	var input map[string]any
	for _, tb := range tables {
		input = props(tb)["TableInput"].(map[string]any)
	}
	if input["Name"] != TrailTable {
		t.Errorf("table %v, want %s", input["Name"], TrailTable)
	}
	sd := input["StorageDescriptor"].(map[string]any)
	var got [][2]string
	for _, c := range sd["Columns"].([]any) {
		c := c.(map[string]any)
		got = append(got, [2]string{c["Name"].(string), c["Type"].(string)})
	}
	if !slices.Equal(got, columns) {
		for i := range max(len(got), len(columns)) {
			var g, w [2]string
			if i < len(got) {
				g = got[i]
			}
			if i < len(columns) {
				w = columns[i]
			}
			if g != w {
				t.Errorf("column %d: template %v, DDL %v", i, g, w)
			}
		}
	}
	var keys []string
	for _, k := range input["PartitionKeys"].([]any) {
		keys = append(keys, k.(map[string]any)["Name"].(string))
	}
	if !slices.Equal(keys, partitions) {
		t.Errorf("partitions %v, DDL %v", keys, partitions)
	}
	if sd["Location"] != location {
		t.Errorf("location %v, DDL %s", sd["Location"], location)
	}
	params := input["Parameters"].(map[string]any)
	for k, v := range properties {
		if params[k] != v {
			t.Errorf("property %s = %v, DDL %q", k, params[k], v)
		}
	}
	if sd["InputFormat"] != "com.amazon.emr.cloudtrail.CloudTrailInputFormat" ||
		sd["SerdeInfo"].(map[string]any)["SerializationLibrary"] != "org.apache.hive.hcatalog.data.JsonSerDe" {
		t.Errorf("formats %v %v", sd["InputFormat"], sd["SerdeInfo"])
	}
}

// The generated files are what the root module prints today. Skipped
// outside the repository (no root module) and with -short.
func TestGoldenFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the root module's commands")
	}
	if _, err := os.Stat("../../go.mod"); err != nil {
		t.Skip("no root module")
	}
	for file, args := range map[string][]string{
		ddlGolden:      ddlArgs,
		"queries.json": {"run", "./scripts/athenaqueries"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		have, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, have) {
			t.Errorf("%s is stale: run make infra-athena", file)
		}
	}
}
