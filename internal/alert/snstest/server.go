// Package snstest is a local SNS endpoint for tests. It speaks the wire
// protocol that the aws-sdk-go-v2 SNS client sends, the AWS Query protocol:
// a form-encoded POST (Action=Publish&Version=2010-03-31&TopicArn=…&
// Subject=…&Message=…&MessageAttributes.entry.N.Name=…&
// MessageAttributes.entry.N.Value.DataType=…&…Value.StringValue=…), signed
// with SigV4, answered with an XML PublishResponse, or with an XML
// ErrorResponse and the status SNS uses (404 NotFound for a topic that does
// not exist, 400 InvalidParameter, 500 InternalError). Attribute entries
// come sorted by name, N counting from 1. The signature itself is not
// checked, only that the request is signed for the sns service.
//
// It records every accepted Publish for assertions and can fail the next
// requests to simulate an outage.
package snstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Region and Account name the topics of a Server.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

const version = "2010-03-31"

// Attribute is a message attribute as published.
type Attribute struct {
	DataType    string
	StringValue string
}

// Publish is one accepted Publish request.
type Publish struct {
	MessageID  string
	TopicArn   string
	Subject    string
	Message    string
	Attributes map[string]Attribute
}

// Server is a local SNS endpoint.
type Server struct {
	// URL is the endpoint to give the client as its BaseEndpoint.
	URL string

	mu        sync.Mutex
	topics    map[string]bool
	published []Publish
	failNext  int
	requests  int
}

// NewServer starts a server with one topic, Topic(), closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{topics: map[string]bool{}}
	s.CreateTopic("secretgate-alerts")
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Topic is the ARN of the topic every server starts with.
func (s *Server) Topic() string { return TopicARN("secretgate-alerts") }

// TopicARN is the ARN a topic of that name has on a Server.
func TopicARN(name string) string { return "arn:aws:sns:" + Region + ":" + Account + ":" + name }

// CreateTopic adds a topic and returns its ARN.
func (s *Server) CreateTopic(name string) string {
	arn := TopicARN(name)
	s.mu.Lock()
	s.topics[arn] = true
	s.mu.Unlock()
	return arn
}

// Published returns the Publish requests accepted so far, in order.
func (s *Server) Published() []Publish {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Publish, len(s.published))
	copy(out, s.published)
	return out
}

// FailNext makes the next n requests fail with 500 InternalError, as SNS
// does when it cannot serve a request.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Requests counts the requests received, failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Client returns a real SDK client for the server, with static test
// credentials and the SDK's standard retries; opts adjust it.
func (s *Server) Client(opts ...func(*sns.Options)) *sns.Client {
	o := sns.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("snstest", "snstest", ""),
	}
	for _, fn := range opts {
		fn(&o)
	}
	return sns.New(o)
}

// apiError is an SNS error as the Query protocol returns it.
type apiError struct {
	status  int
	typ     string // Sender or Receiver
	code    string
	message string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	fail := s.failNext > 0
	if fail {
		s.failNext--
	}
	s.mu.Unlock()

	if fail {
		writeError(w, apiError{http.StatusInternalServerError, "Receiver", "InternalError", "Request could not be completed"})
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, apiError{http.StatusBadRequest, "Sender", "InvalidAction", "Only POST requests are accepted"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, apiError{http.StatusBadRequest, "Sender", "InvalidParameterValue", "Content-Type " + ct + " is not form-encoded"})
		return
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") ||
		!strings.Contains(auth, "/sns/aws4_request") {
		writeError(w, apiError{http.StatusForbidden, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, apiError{http.StatusBadRequest, "Sender", "MalformedQueryString", err.Error()})
		return
	}
	f := r.PostForm
	if v := f.Get("Version"); v != version {
		writeError(w, apiError{http.StatusBadRequest, "Sender", "InvalidParameterValue", "Version " + v + " is not " + version})
		return
	}
	if a := f.Get("Action"); a != "Publish" {
		writeError(w, apiError{http.StatusBadRequest, "Sender", "InvalidAction", "The action " + a + " is not valid for this web service."})
		return
	}
	p, aerr := s.publish(f)
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	type result struct {
		MessageID string `xml:"MessageId"`
	}
	type response struct {
		XMLName   xml.Name `xml:"PublishResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Result    result   `xml:"PublishResult"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}
	writeXML(w, http.StatusOK, response{Xmlns: xmlns, Result: result{p.MessageID}, RequestID: newID()})
}

const xmlns = "http://sns.amazonaws.com/doc/2010-03-31/"

// publish checks a Publish request as SNS does and records it.
func (s *Server) publish(f map[string][]string) (Publish, *apiError) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	invalid := func(msg string) *apiError {
		return &apiError{http.StatusBadRequest, "Sender", "InvalidParameter", "Invalid parameter: " + msg}
	}
	p := Publish{
		MessageID: newID(),
		TopicArn:  get("TopicArn"),
		Subject:   get("Subject"),
		Message:   get("Message"),
	}
	if p.TopicArn == "" {
		p.TopicArn = get("TargetArn")
	}
	if p.TopicArn == "" {
		return p, invalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	s.mu.Lock()
	known := s.topics[p.TopicArn]
	s.mu.Unlock()
	if !known {
		return p, &apiError{http.StatusNotFound, "Sender", "NotFound", "Topic does not exist"}
	}
	if p.Message == "" {
		return p, invalid("Empty message")
	}
	if !utf8.ValidString(p.Message) {
		return p, invalid("Message Reason: not valid UTF-8")
	}
	if _, ok := f["Subject"]; ok {
		if p.Subject == "" || utf8.RuneCountInString(p.Subject) >= 100 || strings.IndexFunc(p.Subject, unicode.IsControl) >= 0 {
			return p, invalid("Subject")
		}
	}
	attrs, aerr := attributes(get)
	if aerr != nil {
		return p, aerr
	}
	p.Attributes = attrs
	if size := len(p.Message) + attrSize(attrs); size > 262144 {
		return p, invalid("Message too long")
	}
	s.mu.Lock()
	s.published = append(s.published, p)
	s.mu.Unlock()
	return p, nil
}

// attributes reads MessageAttributes.entry.N.{Name,Value.DataType,
// Value.StringValue}, N counting from 1 without gaps.
func attributes(get func(string) string) (map[string]Attribute, *apiError) {
	var out map[string]Attribute
	for n := 1; ; n++ {
		prefix := "MessageAttributes.entry." + strconv.Itoa(n) + "."
		name := get(prefix + "Name")
		if name == "" {
			return out, nil
		}
		a := Attribute{DataType: get(prefix + "Value.DataType"), StringValue: get(prefix + "Value.StringValue")}
		bad := func(why string) *apiError {
			return &apiError{http.StatusBadRequest, "Sender", "ParameterValueInvalid",
				fmt.Sprintf("The message attribute '%s' %s", name, why)}
		}
		switch {
		case a.DataType == "":
			return nil, bad("must contain non-empty message attribute type.")
		case a.DataType != "String" && a.DataType != "Number" && a.DataType != "String.Array" &&
			!strings.HasPrefix(a.DataType, "String.") && !strings.HasPrefix(a.DataType, "Number."):
			return nil, bad("has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
		case a.StringValue == "":
			return nil, bad("must contain non-empty message attribute value for message attribute type '" + a.DataType + "'.")
		}
		if out == nil {
			out = map[string]Attribute{}
		}
		out[name] = a
	}
}

func attrSize(attrs map[string]Attribute) int {
	n := 0
	for k, a := range attrs {
		n += len(k) + len(a.DataType) + len(a.StringValue)
	}
	return n
}

func writeError(w http.ResponseWriter, e apiError) {
	type body struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type response struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     body     `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	writeXML(w, e.status, response{Xmlns: xmlns, Error: body{e.typ, e.code, e.message}, RequestID: newID()})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", newID())
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

// newID returns a random id shaped like SNS's message and request ids.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
