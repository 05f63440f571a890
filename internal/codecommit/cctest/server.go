// Package cctest is a local AWS CodeCommit for tests, backed by real git
// repositories.
//
// It speaks the wire protocol that the aws-sdk-go-v2 CodeCommit client
// (service/codecommit v1.44) sends, AWS JSON 1.1: every call is
// POST / with Content-Type application/x-amz-json-1.1 and
// X-Amz-Target CodeCommit_20150413.<Operation>, a JSON body whose members
// are named as in the API reference (lowerCamelCase, except GetDifferences'
// MaxResults and NextToken), signed with SigV4 for the codecommit service.
// Answers are JSON in the shapes the SDK deserializes: timestamps as epoch
// seconds, blobs base64, commit dates as git's raw "<seconds> <zone>".
// Errors are {"__type":"<Name>Exception","message":…} with status 400, the
// type the SDK maps to its types.<Name>Exception.
//
// The server records every request (Calls), comments and approval changes,
// and can fail the next requests with throttling or an outage (FailNext).
package cctest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
)

// Region and Account are where the server's repositories live.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// The identities a Server knows from the start. Client signs as Scanner;
// OpenPullRequest makes Author the pull request's author.
const (
	ScannerKey = "cctest-scanner"
	Scanner    = "arn:aws:sts::" + Account + ":assumed-role/secretgate-scanner/secretgate"
	AuthorKey  = "cctest-author"
	Author     = "arn:aws:iam::" + Account + ":user/example-user"
)

const targetPrefix = "CodeCommit_20150413."

// Call is one request the server received.
type Call struct {
	Operation string          // e.g. "GetDifferences"
	Request   json.RawMessage // the JSON body as sent
	Caller    string          // ARN of the signing access key
	Status    int             // HTTP status answered
	Error     string          // error type answered, "" on success
}

// Failure is the kind of failure FailNext injects.
type Failure int

const (
	// Throttling answers 400 {"__type":"ThrottlingException"}, which the
	// SDK's standard retryer retries as a throttle.
	Throttling Failure = iota
	// Unavailable answers 503 {"__type":"ServiceUnavailable"}, which the
	// SDK retries for its status.
	Unavailable
)

// Server is a local CodeCommit endpoint.
type Server struct {
	// URL is the endpoint to give the client as its BaseEndpoint.
	URL string
	// PageSize caps the differences GetDifferences returns per page
	// (default 2, so callers must follow NextToken).
	PageSize int
	// BlobLimit is the largest blob GetBlob returns; larger ones answer
	// FileTooLargeException (default 6 MiB, CodeCommit's API file limit).
	// Set both before the first request.
	BlobLimit int64

	t       testing.TB
	root    string
	home    string
	gitPath string

	mu         sync.Mutex
	repos      map[string]*repo
	identities map[string]string // access key id -> ARN
	prs        map[string]*pullRequest
	nextPR     int
	clock      int64 // seconds of the next commit date
	calls      []Call
	failures   []failure
}

type failure struct {
	op   string
	n    int
	kind Failure
}

// NewServer starts a server without repositories, closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("cctest: git is not installed: %v", err)
	}
	s := &Server{
		PageSize:   2,
		BlobLimit:  6 << 20,
		t:          t,
		root:       t.TempDir(),
		home:       t.TempDir(),
		gitPath:    gitPath,
		repos:      map[string]*repo{},
		identities: map[string]string{ScannerKey: Scanner, AuthorKey: Author},
		prs:        map[string]*pullRequest{},
		nextPR:     1,
		clock:      1700000000,
	}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client returns a real SDK client for the server that signs as Scanner,
// with the SDK's standard retries; opts adjust it.
func (s *Server) Client(opts ...func(*codecommit.Options)) *codecommit.Client {
	return s.ClientAs(ScannerKey, opts...)
}

// ClientAs is Client signing with the access key id of another identity
// (see AddIdentity).
func (s *Server) ClientAs(accessKeyID string, opts ...func(*codecommit.Options)) *codecommit.Client {
	o := codecommit.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, "cctest-secret", ""),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return codecommit.New(o)
}

// AddIdentity makes requests signed with accessKeyID come from arn.
func (s *Server) AddIdentity(accessKeyID, arn string) {
	s.mu.Lock()
	s.identities[accessKeyID] = arn
	s.mu.Unlock()
}

// Calls returns the requests received so far, in order, failed ones
// included.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
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

// FailNext makes the next n requests for op (any operation if op is "")
// fail with f. Calls add up: FailNext("GetBlob", 2, Throttling) followed by
// FailNext("", 1, Unavailable) fails two GetBlob calls and one more call.
func (s *Server) FailNext(op string, n int, f Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, failure{op: op, n: n, kind: f})
	s.mu.Unlock()
}

// takeFailure consumes one injected failure matching op, if any.
func (s *Server) takeFailure(op string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.failures {
		f := &s.failures[i]
		if f.n > 0 && (f.op == "" || f.op == op) {
			f.n--
			return f.kind, true
		}
	}
	return 0, false
}

// apiError is a CodeCommit error as AWS JSON 1.1 returns it.
type apiError struct {
	status  int
	typ     string
	message string
}

func errorf(typ, message string) *apiError {
	return &apiError{http.StatusBadRequest, typ, message}
}

type handler func(s *Server, caller string, body []byte) (any, *apiError)

var handlers = map[string]handler{
	"GetCommit":                        (*Server).getCommit,
	"GetDifferences":                   (*Server).getDifferences,
	"GetBlob":                          (*Server).getBlob,
	"GetBranch":                        (*Server).getBranch,
	"GetPullRequest":                   (*Server).getPullRequest,
	"PostCommentForPullRequest":        (*Server).postCommentForPullRequest,
	"UpdatePullRequestApprovalState":   (*Server).updatePullRequestApprovalState,
	"GetPullRequestApprovalStates":     (*Server).getPullRequestApprovalStates,
	"EvaluatePullRequestApprovalRules": (*Server).evaluatePullRequestApprovalRules,
	"GetPullRequestOverrideState":      (*Server).getPullRequestOverrideState,
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	caller := s.caller(r)
	out, aerr := s.handle(r, op, caller, body)
	call := Call{Operation: op, Request: json.RawMessage(bytes.Clone(body)), Caller: caller, Status: http.StatusOK}
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

func (s *Server) handle(r *http.Request, op, caller string, body []byte) (any, *apiError) {
	if f, ok := s.takeFailure(op); ok {
		if f == Unavailable {
			return nil, &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable"}
		}
		return nil, errorf("ThrottlingException", "Rate exceeded")
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{http.StatusNotFound, "UnknownOperationException", r.Method + " " + r.URL.Path}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, errorf("SerializationException", "Content-Type "+ct+" is not application/x-amz-json-1.1")
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") ||
		!strings.Contains(auth, "/"+Region+"/codecommit/aws4_request") {
		return nil, &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	if caller == "" {
		return nil, &apiError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	h := handlers[op]
	if h == nil {
		return nil, errorf("UnknownOperationException", "cctest does not implement "+r.Header.Get("X-Amz-Target"))
	}
	if !json.Valid(body) {
		return nil, errorf("SerializationException", "body is not JSON")
	}
	return h(s, caller, body)
}

// caller is the ARN of the access key that signed r, "" if unknown.
func (s *Server) caller(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identities[key]
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

// decode reads a request body into v.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf("SerializationException", err.Error())
	}
	return nil
}

// newID returns a random id shaped like AWS request ids.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
