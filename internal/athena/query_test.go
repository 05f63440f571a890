package athena_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/secretgate/secretgate/internal/athena"
	"github.com/secretgate/secretgate/internal/athena/athenatest"
)

func newClient(t *testing.T) (*athena.Client, *athenatest.Server) {
	t.Helper()
	srv := athenatest.NewServer(t)
	srv.Exec(`CREATE TABLE reads (secret TEXT, principal TEXT, n INTEGER, note TEXT)`)
	srv.Exec(`INSERT INTO reads VALUES
		('prod/db', 'arn:aws:iam::111111111111:role/api', 12, 'ok'),
		('prod/db', 'arn:aws:iam::111111111111:role/batch', 3, NULL),
		('prod/db', 'arn:aws:iam::111111111111:user/o''brien', 1, 'human'),
		('dev/db', 'arn:aws:iam::222222222222:role/api', 40, NULL),
		('prod/api-key', 'arn:aws:iam::111111111111:role/web', 7, 'ok')`)
	c := athena.New(srv.Client(), athena.Options{
		WorkGroup:      "secretgate",
		Database:       "trail",
		OutputLocation: "s3://results-bucket/athena/",
		PollMin:        time.Millisecond,
		PollMax:        4 * time.Millisecond,
	})
	return c, srv
}

func TestQueryWithParameters(t *testing.T) {
	c, srv := newClient(t)
	q := `SELECT principal, n, note FROM reads WHERE secret = ? AND n >= ? AND principal <> '?' ORDER BY principal`
	res, err := c.Query(context.Background(), q, []string{"'prod/db'", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Columns, ","); got != "principal,n,note" {
		t.Errorf("Columns = %s", got)
	}
	want := [][]string{
		{"arn:aws:iam::111111111111:role/api", "12", "ok"},
		{"arn:aws:iam::111111111111:role/batch", "3", ""},
	}
	if !equal(res.Rows, want) {
		t.Errorf("Rows = %q, want %q", res.Rows, want)
	}
	// The server counts the result's text as scanned.
	if res.BytesScanned != int64(len(want[0][0])+2+2+len(want[1][0])+1) {
		t.Errorf("BytesScanned = %d", res.BytesScanned)
	}
	ex := srv.Executions()
	if len(ex) != 1 || ex[0].ID != res.QueryID {
		t.Fatalf("executions %+v, result id %s", ex, res.QueryID)
	}
	if ex[0].Query != q || strings.Join(ex[0].Params, "|") != "'prod/db'|3" || ex[0].WorkGroup != "secretgate" ||
		ex[0].Database != "trail" || ex[0].OutputLocation != "s3://results-bucket/athena/" || ex[0].State != "SUCCEEDED" {
		t.Errorf("execution %+v", ex[0])
	}
	if !strings.Contains(ex[0].Ran, "secret = 'prod/db' AND n >= 3 AND principal <> '?'") {
		t.Errorf("ran %s", ex[0].Ran)
	}
	var start struct {
		QueryString         string
		ExecutionParameters []string
		WorkGroup           string
	}
	calls := srv.CallsTo("StartQueryExecution")
	if len(calls) != 1 {
		t.Fatalf("%d StartQueryExecution calls", len(calls))
	}
	if err := json.Unmarshal(calls[0].Request, &start); err != nil {
		t.Fatal(err)
	}
	if start.QueryString != q || len(start.ExecutionParameters) != 2 || start.WorkGroup != "secretgate" {
		t.Errorf("StartQueryExecution sent %s", calls[0].Request)
	}
	// QUEUED, RUNNING, then SUCCEEDED: three polls.
	if n := len(srv.CallsTo("GetQueryExecution")); n != 3 {
		t.Errorf("%d GetQueryExecution calls, want 3", n)
	}
}

func TestQueryPagesWithOneHeader(t *testing.T) {
	c, srv := newClient(t)
	res, err := c.Query(context.Background(), `SELECT secret, n FROM reads ORDER BY n`, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Header + 5 rows at 2 a page is 3 pages.
	calls := srv.CallsTo("GetQueryResults")
	if len(calls) != 3 {
		t.Errorf("%d GetQueryResults calls, want 3", len(calls))
	}
	for i, call := range calls {
		var in struct {
			MaxResults int
			NextToken  string
		}
		json.Unmarshal(call.Request, &in)
		if in.MaxResults != 1000 || (i == 0) != (in.NextToken == "") {
			t.Errorf("page %d request %s", i+1, call.Request)
		}
	}
	want := [][]string{{"dev/db", "40"}, {"prod/db", "12"}, {"prod/api-key", "7"}, {"prod/db", "3"}, {"prod/db", "1"}}
	want = [][]string{want[4], want[3], want[2], want[1], want[0]}
	if !equal(res.Rows, want) {
		t.Errorf("Rows = %q, want %q", res.Rows, want)
	}
	for _, r := range res.Rows {
		if r[0] == "secret" {
			t.Errorf("header row among the rows: %q", res.Rows)
		}
	}
}

func TestQueryEmptyResult(t *testing.T) {
	c, _ := newClient(t)
	res, err := c.Query(context.Background(), `SELECT secret FROM reads WHERE n > ?`, []string{"1000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 0 || strings.Join(res.Columns, ",") != "secret" || res.BytesScanned != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestQueryFailure(t *testing.T) {
	tests := []struct {
		name, sql string
		params    []string
		reason    string
	}{
		{"bad SQL", `SELECT nope FROM missing_table`, nil, "no such table: missing_table"},
		{"parameter count", `SELECT secret FROM reads WHERE n > ?`, nil, "Incorrect number of parameters: expected 1 but found 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newClient(t)
			res, err := c.Query(context.Background(), tc.sql, tc.params)
			if res != nil {
				t.Errorf("result %+v", res)
			}
			var qe *athena.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("error %v is not a *QueryError", err)
			}
			ex := srv.Executions()
			if qe.State != "FAILED" || !strings.Contains(qe.Reason, tc.reason) || qe.QueryID != ex[0].ID || qe.Category != 2 {
				t.Errorf("QueryError %+v", qe)
			}
			if msg := err.Error(); !strings.Contains(msg, ex[0].ID) || !strings.Contains(msg, tc.reason) {
				t.Errorf("error %q lacks the id or the reason", msg)
			}
			if n := len(srv.CallsTo("GetQueryResults")); n != 0 {
				t.Errorf("%d GetQueryResults calls after a failure", n)
			}
		})
	}
}

func TestQueryCancelledStopsTheQuery(t *testing.T) {
	c, srv := newClient(t)
	srv.RunningPolls = -1
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Query(ctx, `SELECT secret FROM reads`, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	ex := srv.Executions()
	stops := srv.CallsTo("StopQueryExecution")
	if len(stops) != 1 || !strings.Contains(string(stops[0].Request), ex[0].ID) || stops[0].Status != 200 {
		t.Errorf("StopQueryExecution calls %+v", stops)
	}
	if ex[0].State != "CANCELLED" {
		t.Errorf("state %s after the stop", ex[0].State)
	}
	if !strings.Contains(err.Error(), ex[0].ID) {
		t.Errorf("error %q lacks the query id", err)
	}
}

func TestQueryCancelledByTheServer(t *testing.T) {
	c, srv := newClient(t)
	srv.RunningPolls = -1
	done := make(chan error, 1)
	go func() {
		_, err := c.Query(context.Background(), `SELECT secret FROM reads`, nil)
		done <- err
	}()
	var id string
	for id == "" {
		if ex := srv.Executions(); len(ex) > 0 && ex[0].State == "RUNNING" {
			id = ex[0].ID
		}
		time.Sleep(time.Millisecond)
	}
	stop := &sdk.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}
	if _, err := srv.Client().StopQueryExecution(context.Background(), stop); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var qe *athena.QueryError
	if !errors.As(err, &qe) || qe.State != "CANCELLED" || qe.QueryID != id {
		t.Errorf("error %v", err)
	}
}

func equal(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}
