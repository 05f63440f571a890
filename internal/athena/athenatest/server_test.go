package athenatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
)

func TestSubstitute(t *testing.T) {
	tests := []struct {
		q      string
		params []string
		want   string
		err    string
	}{
		{"SELECT ? , ?", []string{"'a'", "2"}, "SELECT 'a' , 2", ""},
		{"SELECT '?', \"?\", ? -- ?\n, ? /* ? */", []string{"1", "2"}, "SELECT '?', \"?\", 1 -- ?\n, 2 /* ? */", ""},
		{"SELECT 'it''s ?', ?", []string{"'x'"}, "SELECT 'it''s ?', 'x'", ""},
		{"SELECT ?", nil, "SELECT ", "expected 1 but found 0"},
		{"SELECT 1", []string{"1"}, "SELECT 1", "expected 0 but found 1"},
	}
	for _, tc := range tests {
		got, err := substitute(tc.q, tc.params)
		if got != tc.want {
			t.Errorf("substitute(%q) = %q, want %q", tc.q, got, tc.want)
		}
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("substitute(%q) error %v, want %q", tc.q, err, tc.err)
		}
	}
}

// TestWire checks the JSON on the wire: the header row, and a NULL as a
// cell without VarCharValue.
func TestWire(t *testing.T) {
	s := NewServer(t)
	s.QueuedPolls, s.RunningPolls = 0, 0
	s.Exec(`CREATE TABLE t (a TEXT, b INTEGER)`)
	s.Exec(`INSERT INTO t VALUES ('x', NULL)`)
	c := s.Client()
	ctx := context.Background()
	start, err := c.StartQueryExecution(ctx, &sdk.StartQueryExecutionInput{QueryString: aws.String("SELECT a, b FROM t")})
	if err != nil {
		t.Fatal(err)
	}
	qe, err := c.GetQueryExecution(ctx, &sdk.GetQueryExecutionInput{QueryExecutionId: start.QueryExecutionId})
	if err != nil {
		t.Fatal(err)
	}
	if st := qe.QueryExecution.Status; st.State != types.QueryExecutionStateSucceeded || st.CompletionDateTime == nil ||
		qe.QueryExecution.StatementType != types.StatementTypeDml || aws.ToInt64(qe.QueryExecution.Statistics.DataScannedInBytes) != 1 {
		t.Errorf("query execution %+v %+v", qe.QueryExecution, st)
	}
	body := `{"QueryExecutionId":"` + *start.QueryExecutionId + `"}`
	req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonAthena.GetQueryResults")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=k/20260101/"+Region+"/athena/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var out struct {
		ResultSet struct {
			Rows []struct{ Data []map[string]string }
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	rows := out.ResultSet.Rows
	if len(rows) != 2 || rows[0].Data[0]["VarCharValue"] != "a" || rows[0].Data[1]["VarCharValue"] != "b" ||
		rows[1].Data[0]["VarCharValue"] != "x" || len(rows[1].Data[1]) != 0 {
		t.Errorf("GetQueryResults answered %s", buf.String())
	}
}

func TestErrors(t *testing.T) {
	s := NewServer(t)
	c := s.Client()
	ctx := context.Background()
	start, err := c.StartQueryExecution(ctx, &sdk.StartQueryExecutionInput{QueryString: aws.String("SELECT 1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetQueryResults(ctx, &sdk.GetQueryResultsInput{QueryExecutionId: start.QueryExecutionId})
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) || !strings.Contains(ire.ErrorMessage(), "not yet finished") {
		t.Errorf("results of a queued query: %v", err)
	}
	_, err = c.GetQueryExecution(ctx, &sdk.GetQueryExecutionInput{QueryExecutionId: aws.String("nope")})
	if !errors.As(err, &ire) {
		t.Errorf("unknown id: %v", err)
	}
	_, err = c.ListQueryExecutions(ctx, &sdk.ListQueryExecutionsInput{})
	if err == nil || !strings.Contains(err.Error(), "UnknownOperationException") {
		t.Errorf("unimplemented operation: %v", err)
	}
}
