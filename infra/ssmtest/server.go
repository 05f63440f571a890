// Package ssmtest is a local Systems Manager Parameter Store endpoint for
// tests. It speaks what the aws-sdk-go-v2 SSM client sends, the AWS JSON
// 1.1 protocol: a POST to / with X-Amz-Target: AmazonSSM.<Operation>,
// Content-Type application/x-amz-json-1.1, a JSON body and a SigV4
// signature for the ssm service; answered with a JSON body, or with
// {"__type": "<Code>", "message": …} and status 400 as SSM does
// (ParameterAlreadyExists, ParameterNotFound, ValidationException), 500
// for an injected outage. The signature itself is not checked.
//
// It serves PutParameter and GetParameter and keeps what was put for
// assertions. A SecureString's value is kept as given: the server stands
// in for SSM and KMS together.
package ssmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Region and Account name the parameters of a Server.
const (
	Region  = "eu-west-1"
	Account = "111122223333"
)

// Parameter is a stored parameter.
type Parameter struct {
	Name, Type, Value, KeyID, Tier string
	Version                        int64
	Tags                           map[string]string
}

// Server is a local SSM endpoint.
type Server struct {
	// URL is the endpoint to give the client as its BaseEndpoint.
	URL string

	mu       sync.Mutex
	params   map[string]*Parameter
	requests []string // operations, in order
	failNext int
}

// NewServer starts a server, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{params: map[string]*Parameter{}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client is an SDK client for the server with static credentials.
func (s *Server) Client() *ssm.Client {
	return ssm.New(ssm.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// Parameter returns a stored parameter, or nil.
func (s *Server) Parameter(name string) *Parameter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.params[name]; ok {
		c := *p
		return &c
	}
	return nil
}

// Requests lists the operations served, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// FailNext makes the next n requests fail with an internal error.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

type apiError struct {
	status  int
	code    string
	message string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSSM.")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || !ok:
		writeError(w, apiError{400, "UnknownOperationException", "not an SSM request: " + r.Method + " " + r.URL.Path + " " + target})
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		writeError(w, apiError{400, "SerializationException", "content type " + r.Header.Get("Content-Type")})
		return
	case !strings.Contains(r.Header.Get("Authorization"), "/"+Region+"/ssm/aws4_request"):
		writeError(w, apiError{400, "IncompleteSignature", "request not signed for ssm in " + Region})
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, apiError{400, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, op)
	if s.failNext > 0 {
		s.failNext--
		writeError(w, apiError{500, "InternalServerError", "injected outage"})
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "PutParameter":
		out, aerr = s.put(body)
	case "GetParameter":
		out, aerr = s.get(body)
	default:
		aerr = &apiError{400, "UnknownOperationException", op + " is not served"}
	}
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) put(b map[string]any) (any, *apiError) {
	name, _ := b["Name"].(string)
	value, _ := b["Value"].(string)
	typ, _ := b["Type"].(string)
	key, _ := b["KeyId"].(string)
	tier, _ := b["Tier"].(string)
	overwrite, _ := b["Overwrite"].(bool)
	tags, _ := b["Tags"].([]any)
	switch {
	case name == "" || value == "":
		return nil, &apiError{400, "ValidationException", "Name and Value are required"}
	case typ != "" && typ != "String" && typ != "StringList" && typ != "SecureString":
		return nil, &apiError{400, "ValidationException", "unknown type " + typ}
	case key != "" && typ != "SecureString":
		return nil, &apiError{400, "ValidationException", "KeyId is only for SecureString"}
	case overwrite && len(tags) > 0:
		return nil, &apiError{400, "ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource."}
	case tier == "Standard" && len(value) > 4096 || len(value) > 8192:
		return nil, &apiError{400, "ParameterMaxVersionLimitExceeded", "value too large for the tier"}
	}
	if tier == "" {
		tier = "Standard"
	}
	p, exists := s.params[name]
	if exists && !overwrite {
		return nil, &apiError{400, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	}
	if !exists {
		if typ == "" {
			return nil, &apiError{400, "ValidationException", "Type is required for a new parameter"}
		}
		p = &Parameter{Name: name, Tags: map[string]string{}}
		s.params[name] = p
		for _, t := range tags {
			t, _ := t.(map[string]any)
			p.Tags[fmt.Sprint(t["Key"])] = fmt.Sprint(t["Value"])
		}
	}
	if typ != "" {
		p.Type = typ
	}
	if key == "" && p.Type == "SecureString" && p.KeyID == "" {
		key = "alias/aws/ssm"
	}
	if key != "" {
		p.KeyID = key
	}
	p.Value, p.Tier = value, tier
	p.Version++
	return map[string]any{"Version": p.Version, "Tier": p.Tier}, nil
}

func (s *Server) get(b map[string]any) (any, *apiError) {
	name, _ := b["Name"].(string)
	decrypt, _ := b["WithDecryption"].(bool)
	p, ok := s.params[name]
	if !ok {
		return nil, &apiError{400, "ParameterNotFound", "parameter " + name + " not found"}
	}
	value := p.Value
	if p.Type == "SecureString" && !decrypt {
		value = "AQICAHh" + strings.Repeat("x", 32) // ciphertext stands in
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": p.Name, "Type": p.Type, "Value": value, "Version": p.Version,
		"ARN": "arn:aws:ssm:" + Region + ":" + Account + ":parameter" + p.Name, "DataType": "text",
	}}, nil
}

func writeError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
}
