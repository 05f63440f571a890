// Package athenatest is a local Amazon Athena for tests, backed by SQLite.
//
// It speaks the wire protocol that the aws-sdk-go-v2 Athena client
// (service/athena v1.68) sends, AWS JSON 1.1: every call is POST / with
// Content-Type application/x-amz-json-1.1 and X-Amz-Target
// AmazonAthena.<Operation>, a JSON body whose members are named as in the
// API reference (PascalCase: QueryString, ExecutionParameters, WorkGroup,
// QueryExecutionId, MaxResults, NextToken), signed with SigV4 for the
// athena service. Answers are JSON in the shapes the SDK deserializes,
// timestamps as epoch seconds; errors are {"__type":…,"message":…} with
// status 400, which the SDK maps to types.InvalidRequestException and
// friends.
//
// The test seeds tables with Exec. StartQueryExecution records the query
// and its execution parameters, replaces each ? outside literals with the
// next parameter as Athena does (parameters are SQL literals, so a string
// carries its own quotes: "'abc'"), and runs the result on SQLite, given
// the few Trino functions the reports use (see trino.go). The
// query then shows QUEUED and RUNNING for a few polls of GetQueryExecution
// before SUCCEEDED, or FAILED with SQLite's message as its
// StateChangeReason. GetQueryResults pages the rows (PageSize at most per
// page), the first page of a SELECT starting with the header row of column
// names, every cell a VarCharValue and NULL a cell without one.
// DataScannedInBytes is the length of the result's text.
package athenatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"
	_ "github.com/mattn/go-sqlite3" // the engine behind the queries
)

// Region is where the server answers.
const Region = "us-east-1"

const targetPrefix = "AmazonAthena."

// Call is one request the server received.
type Call struct {
	Operation string          // e.g. "GetQueryResults"
	Request   json.RawMessage // the JSON body as sent
	Status    int             // HTTP status answered
	Error     string          // error type answered, "" on success
}

// Execution is one query the server was asked to run.
type Execution struct {
	ID             string
	Query          string   // the QueryString as sent
	Params         []string // the ExecutionParameters as sent
	Ran            string   // the SQL run on SQLite, parameters in place
	WorkGroup      string
	Database       string
	OutputLocation string
	State          string // the state the last poll showed
	Reason         string // StateChangeReason once FAILED or CANCELLED
}

// Server is a local Athena endpoint.
type Server struct {
	// URL is the endpoint to give the client as its BaseEndpoint.
	URL string
	// PageSize caps the rows of a GetQueryResults page, the header row
	// included (default 2, so callers must follow NextToken).
	PageSize int
	// QueuedPolls and RunningPolls are how many GetQueryExecution calls
	// show a query QUEUED, then RUNNING, before it ends (default 1 each).
	// RunningPolls < 0 keeps queries RUNNING until they are stopped.
	// Set them before the first query.
	QueuedPolls, RunningPolls int

	t  testing.TB
	db *sql.DB

	mu    sync.Mutex
	execs map[string]*execution
	order []string
	calls []Call
}

type execution struct {
	Execution
	statementType string
	polls         int
	final         string // SUCCEEDED or FAILED once run
	finalReason   string
	columns       []column
	rows          [][]*string
	scanned       int64
	submitted     time.Time
	completed     time.Time
}

type column struct{ name, typ string }

// NewServer starts a server over an empty SQLite database, closed when
// the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	registerDriver()
	db, err := sql.Open(driverName, filepath.Join(t.TempDir(), "athena.db"))
	if err != nil {
		t.Fatalf("athenatest: open SQLite: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	s := &Server{
		PageSize:     2,
		QueuedPolls:  1,
		RunningPolls: 1,
		t:            t,
		db:           db,
		execs:        map[string]*execution{},
	}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client returns a real SDK client for the server with the SDK's standard
// retries; opts adjust it.
func (s *Server) Client(opts ...func(*sdk.Options)) *sdk.Client {
	o := sdk.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("athenatest", "athenatest-secret", ""),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return sdk.New(o)
}

// Exec runs sql on the SQLite database behind the server, to create and
// fill the tables queries read; the test fails if it does.
func (s *Server) Exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.db.Exec(sql, args...); err != nil {
		s.t.Fatalf("athenatest: %v\n%s", err, sql)
	}
}

// DB is the SQLite database behind the server.
func (s *Server) DB() *sql.DB { return s.db }

// Calls returns the requests received so far, in order, failed ones
// included.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the requests received for one operation.
func (s *Server) CallsTo(op string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

// Executions returns the queries started so far, in order.
func (s *Server) Executions() []Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Execution, 0, len(s.order))
	for _, id := range s.order {
		e := s.execs[id].Execution
		e.Params = append([]string(nil), e.Params...)
		out = append(out, e)
	}
	return out
}

// apiError is an Athena error as AWS JSON 1.1 returns it.
type apiError struct {
	status  int
	typ     string
	message string
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestException", fmt.Sprintf(format, args...)}
}

type handler func(s *Server, body []byte) (any, *apiError)

var handlers = map[string]handler{
	"StartQueryExecution": (*Server).startQueryExecution,
	"GetQueryExecution":   (*Server).getQueryExecution,
	"GetQueryResults":     (*Server).getQueryResults,
	"StopQueryExecution":  (*Server).stopQueryExecution,
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	out, aerr := s.handle(r, op, body)
	call := Call{Operation: op, Request: json.RawMessage(bytes.Clone(body)), Status: http.StatusOK}
	if aerr != nil {
		call.Status, call.Error = aerr.status, aerr.typ
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if aerr != nil {
		w.Header().Set("X-Amzn-ErrorType", aerr.typ)
		writeJSON(w, aerr.status, map[string]string{"__type": aerr.typ, "message": aerr.message})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handle(r *http.Request, op string, body []byte) (any, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{http.StatusNotFound, "UnknownOperationException", r.Method + " " + r.URL.Path}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", "Content-Type " + ct + " is not application/x-amz-json-1.1"}
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") ||
		!strings.Contains(auth, "/"+Region+"/athena/aws4_request") {
		return nil, &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	h := handlers[op]
	if h == nil {
		return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", "athenatest does not implement " + r.Header.Get("X-Amz-Target")}
	}
	if !json.Valid(body) {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", "body is not JSON"}
	}
	return h(s, body)
}

func (s *Server) startQueryExecution(body []byte) (any, *apiError) {
	var in struct {
		QueryString           string
		ExecutionParameters   []string
		WorkGroup             string
		QueryExecutionContext struct{ Database, Catalog string }
		ResultConfiguration   struct{ OutputLocation string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	if in.QueryString == "" {
		return nil, invalid("QueryString is required")
	}
	e := &execution{
		Execution: Execution{
			ID:             newID(),
			Query:          in.QueryString,
			Params:         in.ExecutionParameters,
			WorkGroup:      in.WorkGroup,
			Database:       in.QueryExecutionContext.Database,
			OutputLocation: in.ResultConfiguration.OutputLocation,
			State:          "QUEUED",
		},
		statementType: statementType(in.QueryString),
		submitted:     time.Now(),
	}
	if e.WorkGroup == "" {
		e.WorkGroup = "primary"
	}
	s.run(e)
	s.mu.Lock()
	s.execs[e.ID] = e
	s.order = append(s.order, e.ID)
	s.mu.Unlock()
	return map[string]string{"QueryExecutionId": e.ID}, nil
}

// run substitutes the parameters, runs the query on SQLite and keeps its
// outcome for the polls to reveal.
func (s *Server) run(e *execution) {
	ran, err := substitute(e.Query, e.Params)
	e.Ran = ran
	if err == nil {
		err = s.query(e)
	}
	e.completed = time.Now()
	if err != nil {
		e.final, e.finalReason = "FAILED", err.Error()
		e.columns, e.rows, e.scanned = nil, nil, 0
		return
	}
	e.final = "SUCCEEDED"
}

func (s *Server) query(e *execution) error {
	rows, err := s.db.QueryContext(context.Background(), e.Ran)
	if err != nil {
		return err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	for _, ct := range types {
		e.columns = append(e.columns, column{ct.Name(), athenaType(ct.DatabaseTypeName())})
	}
	for rows.Next() {
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]*string, len(vals))
		for i, v := range vals {
			row[i] = text(v)
			if row[i] != nil {
				e.scanned += int64(len(*row[i]))
			}
		}
		e.rows = append(e.rows, row)
	}
	return rows.Err()
}

// text is Athena's VarCharValue for a SQLite value, nil for NULL.
func text(v any) *string {
	var s string
	switch v := v.(type) {
	case nil:
		return nil
	case []byte:
		s = string(v)
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(v)
	case time.Time:
		s = v.UTC().Format("2006-01-02 15:04:05.000")
	default:
		s = fmt.Sprint(v)
	}
	return &s
}

func athenaType(sqlite string) string {
	switch strings.ToUpper(sqlite) {
	case "INTEGER", "INT", "BIGINT":
		return "bigint"
	case "REAL", "DOUBLE", "FLOAT":
		return "double"
	case "BOOLEAN":
		return "boolean"
	}
	return "varchar"
}

// statementType is Athena's StatementType for a query: DML for queries
// and changes of rows, DDL for changes of tables, UTILITY for the rest.
func statementType(q string) string {
	f := strings.Fields(strings.TrimLeft(q, " \t\r\n("))
	if len(f) == 0 {
		return "UTILITY"
	}
	switch strings.ToUpper(f[0]) {
	case "SELECT", "WITH", "VALUES", "INSERT", "UPDATE", "DELETE", "MERGE", "UNLOAD":
		return "DML"
	case "CREATE", "DROP", "ALTER", "MSCK":
		return "DDL"
	}
	return "UTILITY"
}

// substitute puts params in place of the ? placeholders of q that stand
// outside string literals, quoted identifiers and comments, in order; the
// count must match, as Athena requires.
func substitute(q string, params []string) (string, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i - 1
			}
			b.WriteString(q[i : i+j+1])
			i += j
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '?':
			if n < len(params) {
				b.WriteString(params[n])
			}
			n++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(params) {
		return b.String(), fmt.Errorf("Incorrect number of parameters: expected %d but found %d", n, len(params))
	}
	return b.String(), nil
}

func (s *Server) lookup(body []byte) (*execution, *apiError) {
	var in struct{ QueryExecutionId string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	e := s.execs[in.QueryExecutionId]
	if e == nil {
		return nil, invalid("QueryExecution %s was not found", in.QueryExecutionId)
	}
	return e, nil
}

func (s *Server) getQueryExecution(body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	if e.State == "QUEUED" || e.State == "RUNNING" {
		e.polls++
		switch {
		case e.polls <= s.QueuedPolls:
			e.State = "QUEUED"
		case s.RunningPolls < 0 || e.polls <= s.QueuedPolls+s.RunningPolls:
			e.State = "RUNNING"
		default:
			e.State, e.Reason = e.final, e.finalReason
		}
	}
	status := map[string]any{
		"State":              e.State,
		"SubmissionDateTime": epoch(e.submitted),
	}
	if e.State != "QUEUED" && e.State != "RUNNING" {
		status["CompletionDateTime"] = epoch(e.completed)
	}
	if e.Reason != "" {
		status["StateChangeReason"] = e.Reason
	}
	if e.State == "FAILED" {
		status["AthenaError"] = map[string]any{
			"ErrorCategory": 2, // USER
			"ErrorType":     1006,
			"Retryable":     false,
			"ErrorMessage":  e.Reason,
		}
	}
	scanned := int64(0)
	if e.State == "SUCCEEDED" {
		scanned = e.scanned
	}
	qe := map[string]any{
		"QueryExecutionId": e.ID,
		"Query":            e.Query,
		"StatementType":    e.statementType,
		"WorkGroup":        e.WorkGroup,
		"Status":           status,
		"Statistics": map[string]any{
			"DataScannedInBytes":          scanned,
			"EngineExecutionTimeInMillis": 1,
			"TotalExecutionTimeInMillis":  1,
		},
	}
	if len(e.Params) > 0 {
		qe["ExecutionParameters"] = e.Params
	}
	if e.Database != "" {
		qe["QueryExecutionContext"] = map[string]string{"Database": e.Database}
	}
	if e.OutputLocation != "" {
		qe["ResultConfiguration"] = map[string]string{"OutputLocation": e.OutputLocation}
	}
	return map[string]any{"QueryExecution": qe}, nil
}

func (s *Server) getQueryResults(body []byte) (any, *apiError) {
	var in struct {
		QueryExecutionId string
		MaxResults       int
		NextToken        string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	switch e.State {
	case "SUCCEEDED":
	case "QUEUED", "RUNNING":
		return nil, invalid("Query has not yet finished. Current state: %s", e.State)
	default:
		return nil, invalid("Query did not finish successfully. Final query state: %s", e.State)
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return nil, invalid("MaxResults must be between 1 and 1000")
	}
	// All rows: the header first for DML, then the data.
	var all [][]*string
	if e.statementType == "DML" {
		h := make([]*string, len(e.columns))
		for i, c := range e.columns {
			h[i] = aws.String(c.name)
		}
		all = append(all, h)
	}
	all = append(all, e.rows...)
	start := 0
	if in.NextToken != "" {
		id, off, ok := strings.Cut(in.NextToken, ":")
		n, err := strconv.Atoi(off)
		if !ok || id != e.ID || err != nil || n <= 0 || n > len(all) {
			return nil, invalid("NextToken %q is not valid", in.NextToken)
		}
		start = n
	}
	size := s.PageSize
	if in.MaxResults > 0 && in.MaxResults < size {
		size = in.MaxResults
	}
	end := min(start+size, len(all))
	rows := make([]map[string]any, 0, end-start)
	for _, r := range all[start:end] {
		data := make([]map[string]string, len(r))
		for i, v := range r {
			data[i] = map[string]string{}
			if v != nil {
				data[i]["VarCharValue"] = *v
			}
		}
		rows = append(rows, map[string]any{"Data": data})
	}
	info := make([]map[string]any, len(e.columns))
	for i, c := range e.columns {
		info[i] = map[string]any{
			"CatalogName": "hive", "Name": c.name, "Label": c.name, "Type": c.typ,
			"Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": c.typ == "varchar",
		}
	}
	out := map[string]any{
		"ResultSet": map[string]any{
			"Rows":              rows,
			"ResultSetMetadata": map[string]any{"ColumnInfo": info},
		},
		"UpdateCount": 0,
	}
	if end < len(all) {
		out["NextToken"] = e.ID + ":" + strconv.Itoa(end)
	}
	return out, nil
}

func (s *Server) stopQueryExecution(body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, aerr := s.lookup(body)
	if aerr != nil {
		return nil, aerr
	}
	if e.State == "QUEUED" || e.State == "RUNNING" {
		e.State, e.Reason = "CANCELLED", "Query cancelled by user"
		e.completed = time.Now()
	}
	return map[string]any{}, nil
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newID())
	w.WriteHeader(status)
	w.Write(b)
}

// newID returns a random id shaped like Athena's query execution ids.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
