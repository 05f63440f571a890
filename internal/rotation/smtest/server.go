// Package smtest is a local AWS Secrets Manager for tests, with the staging
// label rules rotation depends on.
//
// It speaks the wire protocol that the aws-sdk-go-v2 Secrets Manager client
// (service/secretsmanager v1.51) sends, AWS JSON 1.1: every call is POST /
// with Content-Type application/x-amz-json-1.1 and X-Amz-Target
// secretsmanager.<Operation>, a JSON body with the members named as in the
// API reference (SecretId, VersionId, VersionStage, ClientRequestToken, …),
// signed with SigV4 for the secretsmanager service. Answers are JSON with
// timestamps as epoch seconds; errors are {"__type":"<Name>",
// "message":…} with status 400 (500 for InternalServiceError), which the
// SDK maps to its types.<Name>.
//
// Implemented: GetSecretValue, PutSecretValue, DescribeSecret,
// UpdateSecretVersionStage. The rules kept (from the API reference):
//   - a staging label is on at most one version; attaching it elsewhere
//     moves it;
//   - moving AWSCURRENT puts AWSPREVIOUS on the version that had it;
//   - UpdateSecretVersionStage must name in RemoveFromVersionId the version
//     a moved label is on, and AWSCURRENT can only be moved, never removed;
//   - PutSecretValue with a ClientRequestToken that is already a version is
//     a no-op for the same value and ResourceExistsException for another;
//   - GetSecretValue with both VersionId and VersionStage needs the label on
//     that version; a version without a value is not found;
//   - versions without labels are deprecated and dropped beyond 100.
//
// StartRotation does what RotateSecret does before invoking the rotation
// function: it refuses while a previous rotation is unfinished and puts
// AWSPENDING on a new version without a value. FailNext injects outages.
package smtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Region and Account are where the server's secrets live.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// The staging labels Secrets Manager gives meaning to.
const (
	Current  = "AWSCURRENT"
	Pending  = "AWSPENDING"
	Previous = "AWSPREVIOUS"
)

const (
	targetPrefix = "secretsmanager."
	keepVersions = 100 // deprecated versions beyond this are dropped
)

// Call is one request the server received.
type Call struct {
	Operation string          // e.g. "PutSecretValue"
	Request   json.RawMessage // the JSON body as sent
	Error     string          // error type answered, "" on success
}

// Server is a local Secrets Manager endpoint.
type Server struct {
	// URL is the endpoint to give the client as its BaseEndpoint.
	URL string

	mu       sync.Mutex
	secrets  map[string]*secret // by ARN
	calls    []Call
	failures []failure
	clock    time.Time
}

type failure struct {
	op string
	n  int
}

type secret struct {
	arn, name string
	rotation  bool
	versions  map[string]*version
	order     []string          // version ids, oldest first
	labels    map[string]string // label -> version id
	rotated   time.Time
}

type version struct {
	id      string
	value   *string // nil: a placeholder without a value
	binary  []byte
	created time.Time
}

// NewServer starts a server without secrets, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{secrets: map[string]*secret{}, clock: time.Unix(1767225600, 0)}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client returns a real SDK client for the server with static test
// credentials and the SDK's standard retries; opts adjust it.
func (s *Server) Client(opts ...func(*secretsmanager.Options)) *secretsmanager.Client {
	o := secretsmanager.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("smtest", "smtest", ""),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return secretsmanager.New(o)
}

// CreateSecret adds a secret whose first version, labelled AWSCURRENT,
// holds value, with rotation enabled; it returns the secret's ARN.
func (s *Server) CreateSecret(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := "arn:aws:secretsmanager:" + Region + ":" + Account + ":secret:" + name + "-" + newID()[:6]
	sec := &secret{arn: arn, name: name, rotation: true, versions: map[string]*version{}, labels: map[string]string{}}
	s.secrets[arn] = sec
	s.addVersion(sec, newID(), &value, nil)
	sec.move(Current, sec.order[0])
	return arn
}

// SetRotationEnabled turns the secret's rotation on or off, as
// RotateSecret and CancelRotateSecret do.
func (s *Server) SetRotationEnabled(id string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.find(id); sec != nil {
		sec.rotation = on
	}
}

// StartRotation begins a rotation as RotateSecret does before it invokes
// the rotation function: it fails while AWSPENDING is on a version other
// than AWSCURRENT's, then labels a new version without a value AWSPENDING
// and returns its id, the ClientRequestToken of the four steps.
func (s *Server) StartRotation(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(id)
	if sec == nil {
		return "", fmt.Errorf("smtest: no secret %q", id)
	}
	if p, ok := sec.labels[Pending]; ok && p != sec.labels[Current] {
		return "", fmt.Errorf("smtest: InvalidRequestException: A previous rotation isn't complete. That rotation will be reattempted.")
	}
	token := newID()
	s.addVersion(sec, token, nil, nil)
	sec.move(Pending, token)
	return token, nil
}

// Stages returns the labels of every version of a secret, as
// DescribeSecret's VersionIdsToStages.
func (s *Server) Stages(id string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.find(id); sec != nil {
		return sec.stages()
	}
	return nil
}

// Value returns the value of the version that carries label ("" if none).
func (s *Server) Value(id, label string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(id)
	if sec == nil {
		return ""
	}
	v := sec.versions[sec.labels[label]]
	if v == nil || v.value == nil {
		return ""
	}
	return *v.value
}

// VersionOf returns the id of the version that carries label ("" if none).
func (s *Server) VersionOf(id, label string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.find(id); sec != nil {
		return sec.labels[label]
	}
	return ""
}

// Calls returns the requests received so far, in order, failed ones included.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// FailNext makes the next n requests for op (any operation if op is "")
// fail with 500 InternalServiceError.
func (s *Server) FailNext(op string, n int) {
	s.mu.Lock()
	s.failures = append(s.failures, failure{op: op, n: n})
	s.mu.Unlock()
}

func (s *Server) takeFailure(op string) bool {
	for i := range s.failures {
		if f := &s.failures[i]; f.n > 0 && (f.op == "" || f.op == op) {
			f.n--
			return true
		}
	}
	return false
}

// find resolves a SecretId given as ARN or name. The caller holds mu.
func (s *Server) find(id string) *secret {
	if sec := s.secrets[id]; sec != nil {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.name == id {
			return sec
		}
	}
	return nil
}

// addVersion appends a version. The caller holds mu.
func (s *Server) addVersion(sec *secret, id string, value *string, binary []byte) *version {
	s.clock = s.clock.Add(time.Second)
	v := &version{id: id, value: value, binary: binary, created: s.clock}
	sec.versions[id] = v
	sec.order = append(sec.order, id)
	return v
}

// move attaches label to version id, taking it from any other version.
// Moving AWSCURRENT puts AWSPREVIOUS on the version that had it.
func (sec *secret) move(label, id string) {
	old, had := sec.labels[label]
	sec.labels[label] = id
	if label == Current && had && old != id {
		sec.labels[Previous] = old
	}
	sec.prune()
}

// prune drops the oldest versions without labels beyond keepVersions.
func (sec *secret) prune() {
	labelled := map[string]bool{}
	for _, id := range sec.labels {
		labelled[id] = true
	}
	for len(sec.order) > keepVersions {
		i := slices.IndexFunc(sec.order, func(id string) bool { return !labelled[id] })
		if i < 0 {
			return
		}
		delete(sec.versions, sec.order[i])
		sec.order = slices.Delete(sec.order, i, i+1)
	}
}

func (sec *secret) stagesOf(id string) []string {
	var out []string
	for label, v := range sec.labels {
		if v == id {
			out = append(out, label)
		}
	}
	slices.Sort(out)
	return out
}

func (sec *secret) stages() map[string][]string {
	out := map[string][]string{}
	for _, id := range sec.order {
		if st := sec.stagesOf(id); len(st) > 0 {
			out[id] = st
		}
	}
	return out
}

// apiError is a Secrets Manager error as AWS JSON 1.1 returns it.
type apiError struct {
	status  int
	typ     string
	message string
}

func errorf(typ, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, typ, fmt.Sprintf(format, args...)}
}

type handler func(s *Server, body []byte) (any, *apiError)

var handlers = map[string]handler{
	"GetSecretValue":           (*Server).getSecretValue,
	"PutSecretValue":           (*Server).putSecretValue,
	"DescribeSecret":           (*Server).describeSecret,
	"UpdateSecretVersionStage": (*Server).updateSecretVersionStage,
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	s.mu.Lock()
	out, aerr := s.handle(r, op, body)
	call := Call{Operation: op, Request: json.RawMessage(bytes.Clone(body))}
	if aerr != nil {
		call.Error = aerr.typ
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if aerr != nil {
		writeJSON(w, aerr.status, map[string]string{"__type": aerr.typ, "message": aerr.message})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handle answers one request. The caller holds mu.
func (s *Server) handle(r *http.Request, op string, body []byte) (any, *apiError) {
	if s.takeFailure(op) {
		return nil, &apiError{http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side."}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{http.StatusNotFound, "UnknownOperationException", r.Method + " " + r.URL.Path}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, errorf("SerializationException", "Content-Type %s is not application/x-amz-json-1.1", ct)
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") ||
		!strings.Contains(auth, "/"+Region+"/secretsmanager/aws4_request") {
		return nil, &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	h := handlers[op]
	if h == nil {
		return nil, errorf("UnknownOperationException", "smtest does not implement %s", r.Header.Get("X-Amz-Target"))
	}
	return h(s, body)
}

func (s *Server) secretFor(id string) (*secret, *apiError) {
	if id == "" {
		return nil, errorf("InvalidParameterException", "You must provide a SecretId.")
	}
	sec := s.find(id)
	if sec == nil {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	return sec, nil
}

func (s *Server) getSecretValue(body []byte) (any, *apiError) {
	var in struct{ SecretId, VersionId, VersionStage string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sec, aerr := s.secretFor(in.SecretId)
	if aerr != nil {
		return nil, aerr
	}
	id := in.VersionId
	switch {
	case id == "":
		stage := in.VersionStage
		if stage == "" {
			stage = Current
		}
		if id = sec.labels[stage]; id == "" {
			return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	case sec.versions[id] == nil:
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", id)
	case in.VersionStage != "" && sec.labels[in.VersionStage] != id:
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s and staging label: %s", id, in.VersionStage)
	}
	v := sec.versions[id]
	if v.value == nil && v.binary == nil {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", id)
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "VersionId": id,
		"VersionStages": sec.stagesOf(id), "CreatedDate": v.created.Unix(),
	}
	if v.value != nil {
		out["SecretString"] = *v.value
	} else {
		out["SecretBinary"] = v.binary
	}
	return out, nil
}

func (s *Server) putSecretValue(body []byte) (any, *apiError) {
	var in struct {
		SecretId, ClientRequestToken string
		SecretString                 *string
		SecretBinary                 []byte
		VersionStages                []string
		RotationToken                string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sec, aerr := s.secretFor(in.SecretId)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case (in.SecretString == nil) == (in.SecretBinary == nil):
		return nil, errorf("InvalidParameterException", "You must provide either SecretString or SecretBinary, but not both.")
	case len(in.ClientRequestToken) < 32 || len(in.ClientRequestToken) > 64:
		return nil, errorf("InvalidParameterException", "ClientRequestToken must be 32 to 64 characters long.")
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{Current}
	}
	v := sec.versions[in.ClientRequestToken]
	switch {
	case v == nil:
		v = s.addVersion(sec, in.ClientRequestToken, in.SecretString, in.SecretBinary)
	case v.value == nil && v.binary == nil: // RotateSecret's placeholder gets its value
		v.value, v.binary = in.SecretString, in.SecretBinary
	case !sameValue(v, in.SecretString, in.SecretBinary):
		return nil, errorf("ResourceExistsException", "You can't modify an existing version, you can only create new versions.")
	}
	for _, label := range stages {
		sec.move(label, v.id)
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": sec.stagesOf(v.id)}, nil
}

func sameValue(v *version, str *string, bin []byte) bool {
	if str != nil {
		return v.value != nil && *v.value == *str
	}
	return v.value == nil && bytes.Equal(v.binary, bin)
}

func (s *Server) describeSecret(body []byte) (any, *apiError) {
	var in struct{ SecretId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sec, aerr := s.secretFor(in.SecretId)
	if aerr != nil {
		return nil, aerr
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "RotationEnabled": sec.rotation,
		"VersionIdsToStages": sec.stages(),
	}
	if !sec.rotated.IsZero() {
		out["LastRotatedDate"] = sec.rotated.Unix()
	}
	return out, nil
}

func (s *Server) updateSecretVersionStage(body []byte) (any, *apiError) {
	var in struct{ SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sec, aerr := s.secretFor(in.SecretId)
	if aerr != nil {
		return nil, aerr
	}
	if in.VersionStage == "" {
		return nil, errorf("InvalidParameterException", "You must provide a VersionStage.")
	}
	for _, id := range []string{in.MoveToVersionId, in.RemoveFromVersionId} {
		if id != "" && sec.versions[id] == nil {
			return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret version: %s", id)
		}
	}
	on, attached := sec.labels[in.VersionStage]
	switch {
	case in.RemoveFromVersionId != "" && on != in.RemoveFromVersionId:
		return nil, errorf("InvalidParameterException", "The staging label %s is not attached to version %s.", in.VersionStage, in.RemoveFromVersionId)
	case in.MoveToVersionId == "" && in.RemoveFromVersionId == "":
		return nil, errorf("InvalidParameterException", "You must specify MoveToVersionId, RemoveFromVersionId or both.")
	case in.MoveToVersionId != "" && attached && on != in.MoveToVersionId && in.RemoveFromVersionId == "":
		return nil, errorf("InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", in.VersionStage, on)
	case in.MoveToVersionId == "" && in.VersionStage == Current:
		return nil, errorf("InvalidParameterException", "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.")
	}
	if in.MoveToVersionId == "" {
		delete(sec.labels, in.VersionStage)
		sec.prune()
	} else {
		if in.VersionStage == Current && on != in.MoveToVersionId {
			sec.rotated = s.clock
		}
		sec.move(in.VersionStage, in.MoveToVersionId)
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
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

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf("SerializationException", "%v", err)
	}
	return nil
}

// newID returns a random id shaped like the version ids AWS makes.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Steps are the rotation function's steps in the order Secrets Manager
// invokes them.
var Steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}

// Rotate does what RotateSecret does: StartRotation, then invoke for each
// step in turn with the new version's id, stopping at the first error. It
// returns the token, so a failed rotation can be retried with it.
func (s *Server) Rotate(id string, invoke func(step, token string) error) (string, error) {
	token, err := s.StartRotation(id)
	if err != nil {
		return "", err
	}
	return token, s.Resume(token, invoke)
}

// Resume invokes the four steps again for a rotation already started, as
// Secrets Manager does when it retries a failed one.
func (s *Server) Resume(token string, invoke func(step, token string) error) error {
	for _, step := range Steps {
		if err := invoke(step, token); err != nil {
			return err
		}
	}
	return nil
}
