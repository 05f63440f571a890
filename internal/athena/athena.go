// Package athena runs SQL on Amazon Athena through aws-sdk-go-v2 and
// returns the whole result as strings, with the bytes the query scanned.
//
// A query is started with its execution parameters (the values of its ?
// placeholders, each an SQL literal as Athena takes them: strings carry
// their own quotes), polled with a doubling backoff until it ends, stopped
// when the caller's context ends first, and read back page by page. For a
// SELECT (statement type DML) Athena repeats the column names as the first
// row of the first page; that row is dropped, on the first page only.
package athena

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
)

// API is the part of the Athena SDK client that Client uses;
// *athena.Client from aws-sdk-go-v2 satisfies it.
type API interface {
	StartQueryExecution(context.Context, *sdk.StartQueryExecutionInput, ...func(*sdk.Options)) (*sdk.StartQueryExecutionOutput, error)
	GetQueryExecution(context.Context, *sdk.GetQueryExecutionInput, ...func(*sdk.Options)) (*sdk.GetQueryExecutionOutput, error)
	GetQueryResults(context.Context, *sdk.GetQueryResultsInput, ...func(*sdk.Options)) (*sdk.GetQueryResultsOutput, error)
	StopQueryExecution(context.Context, *sdk.StopQueryExecutionInput, ...func(*sdk.Options)) (*sdk.StopQueryExecutionOutput, error)
}

// Options say where queries run and how they are followed.
type Options struct {
	// WorkGroup runs the queries; "" is Athena's "primary".
	WorkGroup string
	// Database and Catalog are the query's default context; "" leaves
	// them to the workgroup (Catalog defaults to AwsDataCatalog).
	Database string
	Catalog  string
	// OutputLocation is the S3 URI for results; "" leaves it to the
	// workgroup's setting.
	OutputLocation string
	// PageSize is GetQueryResults' MaxResults (default and maximum 1000).
	PageSize int32
	// PollMin and PollMax bound the wait between GetQueryExecution calls:
	// it starts at PollMin and doubles up to PollMax (defaults 100ms, 2s).
	PollMin, PollMax time.Duration
}

// Client runs queries on Athena.
type Client struct {
	api  API
	opts Options
}

// New returns a Client over api with opts.
func New(api API, opts Options) *Client {
	if opts.PageSize <= 0 || opts.PageSize > 1000 {
		opts.PageSize = 1000
	}
	if opts.PollMin <= 0 {
		opts.PollMin = 100 * time.Millisecond
	}
	if opts.PollMax < opts.PollMin {
		opts.PollMax = max(2*time.Second, opts.PollMin)
	}
	return &Client{api: api, opts: opts}
}

// Result is a finished query's output. Every cell is Athena's text for
// the value; a NULL is "" (Athena sends no value for it).
type Result struct {
	Columns      []string
	Rows         [][]string
	BytesScanned int64
	QueryID      string
}

// QueryError is a query that ended FAILED or CANCELLED on Athena's side.
type QueryError struct {
	QueryID string
	State   string // FAILED or CANCELLED
	Reason  string // Status.StateChangeReason
	// Type and Category are AthenaError's ErrorType and ErrorCategory
	// (1 system, 2 user, 3 other), 0 when Athena gave none.
	Type, Category int32
}

func (e *QueryError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("athena: query %s %s", e.QueryID, e.State)
	}
	return fmt.Sprintf("athena: query %s %s: %s", e.QueryID, e.State, e.Reason)
}

// Query runs sql with params as its execution parameters and returns the
// whole result. A query that fails returns a *QueryError naming its id
// and Athena's reason. When ctx ends before the query does, the query is
// stopped (StopQueryExecution) and the error wraps ctx.Err().
func (c *Client) Query(ctx context.Context, sql string, params []string) (*Result, error) {
	in := &sdk.StartQueryExecutionInput{
		QueryString: aws.String(sql),
	}
	if len(params) > 0 {
		in.ExecutionParameters = params
	}
	if c.opts.WorkGroup != "" {
		in.WorkGroup = aws.String(c.opts.WorkGroup)
	}
	if c.opts.Database != "" || c.opts.Catalog != "" {
		in.QueryExecutionContext = &types.QueryExecutionContext{}
		if c.opts.Database != "" {
			in.QueryExecutionContext.Database = aws.String(c.opts.Database)
		}
		if c.opts.Catalog != "" {
			in.QueryExecutionContext.Catalog = aws.String(c.opts.Catalog)
		}
	}
	if c.opts.OutputLocation != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(c.opts.OutputLocation)}
	}
	started, err := c.api.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("athena: start query: %w", err)
	}
	id := aws.ToString(started.QueryExecutionId)
	qe, err := c.wait(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &Result{QueryID: id}
	if qe.Statistics != nil {
		res.BytesScanned = aws.ToInt64(qe.Statistics.DataScannedInBytes)
	}
	if err := c.read(ctx, id, qe.StatementType == types.StatementTypeDml, res); err != nil {
		return nil, err
	}
	return res, nil
}

// wait polls the query until it ends and returns its last description.
func (c *Client) wait(ctx context.Context, id string) (*types.QueryExecution, error) {
	delay := c.opts.PollMin
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, c.stop(ctx, id)
		case <-timer.C:
		}
		out, err := c.api.GetQueryExecution(ctx, &sdk.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, c.stop(ctx, id)
			}
			return nil, fmt.Errorf("athena: query %s: get state: %w", id, err)
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return nil, fmt.Errorf("athena: query %s: GetQueryExecution answered without a status", id)
		}
		switch qe.Status.State {
		case types.QueryExecutionStateSucceeded:
			return qe, nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			qerr := &QueryError{QueryID: id, State: string(qe.Status.State), Reason: aws.ToString(qe.Status.StateChangeReason)}
			if ae := qe.Status.AthenaError; ae != nil {
				qerr.Type, qerr.Category = aws.ToInt32(ae.ErrorType), aws.ToInt32(ae.ErrorCategory)
				if qerr.Reason == "" {
					qerr.Reason = aws.ToString(ae.ErrorMessage)
				}
			}
			return nil, qerr
		}
		delay = min(2*delay, c.opts.PollMax)
		timer.Reset(delay)
	}
}

// stop asks Athena to stop the query after ctx ended, with a context of
// its own so that the request still goes out.
func (c *Client) stop(ctx context.Context, id string) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := c.api.StopQueryExecution(sctx, &sdk.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("athena: query %s stopped waiting: %w (and StopQueryExecution failed: %v)", id, ctx.Err(), err)
	}
	return fmt.Errorf("athena: query %s stopped: %w", id, ctx.Err())
}

// read pages through the query's results into res.
func (c *Client) read(ctx context.Context, id string, header bool, res *Result) error {
	in := &sdk.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(c.opts.PageSize)}
	for page := 0; ; page++ {
		out, err := c.api.GetQueryResults(ctx, in)
		if err != nil {
			return fmt.Errorf("athena: query %s: results page %d: %w", id, page+1, err)
		}
		rs := out.ResultSet
		if rs == nil {
			return fmt.Errorf("athena: query %s: results page %d has no result set", id, page+1)
		}
		if page == 0 && rs.ResultSetMetadata != nil {
			for _, ci := range rs.ResultSetMetadata.ColumnInfo {
				res.Columns = append(res.Columns, aws.ToString(ci.Name))
			}
		}
		rows := rs.Rows
		if page == 0 && header && len(rows) > 0 {
			rows = rows[1:]
		}
		for _, r := range rows {
			cells := make([]string, len(r.Data))
			for i, d := range r.Data {
				cells[i] = aws.ToString(d.VarCharValue)
			}
			res.Rows = append(res.Rows, cells)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return nil
		}
		if next == aws.ToString(in.NextToken) {
			return errors.New("athena: query " + id + ": GetQueryResults repeated its NextToken")
		}
		in.NextToken = aws.String(next)
	}
}
