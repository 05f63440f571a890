package snstest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

func TestPublishThroughSDK(t *testing.T) {
	s := NewServer(t)
	out, err := s.Client().Publish(context.Background(), &sns.PublishInput{
		TopicArn: aws.String(s.Topic()),
		Subject:  aws.String("secretgate: 1 secret blocked in acme/api (push by dana)"),
		Message:  aws.String(`{"repository":"acme/api","findings":[{"path":"a b&c=d"}]}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"severity":   {DataType: aws.String("String"), StringValue: aws.String("high")},
			"repository": {DataType: aws.String("String"), StringValue: aws.String("acme/api")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Published()
	if len(got) != 1 {
		t.Fatalf("published %d messages, want 1", len(got))
	}
	p := got[0]
	if aws.ToString(out.MessageId) != p.MessageID || p.MessageID == "" {
		t.Errorf("MessageId = %q, recorded %q", aws.ToString(out.MessageId), p.MessageID)
	}
	if p.TopicArn != s.Topic() || p.Subject != "secretgate: 1 secret blocked in acme/api (push by dana)" ||
		p.Message != `{"repository":"acme/api","findings":[{"path":"a b&c=d"}]}` {
		t.Errorf("recorded %+v", p)
	}
	want := map[string]Attribute{"severity": {"String", "high"}, "repository": {"String", "acme/api"}}
	if len(p.Attributes) != 2 || p.Attributes["severity"] != want["severity"] || p.Attributes["repository"] != want["repository"] {
		t.Errorf("attributes = %+v, want %+v", p.Attributes, want)
	}
}

func TestErrorsThroughSDK(t *testing.T) {
	s := NewServer(t)
	other := s.CreateTopic("other")
	noRetry := func(o *sns.Options) { o.RetryMaxAttempts = 1 }
	tests := []struct {
		name     string
		in       sns.PublishInput
		failNext int
		check    func(error) bool
		code     string
	}{
		{"unknown topic", sns.PublishInput{TopicArn: aws.String(TopicARN("nope")), Message: aws.String("m")}, 0,
			func(err error) bool { var e *types.NotFoundException; return errors.As(err, &e) }, "NotFound"},
		{"empty message", sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("")}, 0,
			func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) }, "InvalidParameter"},
		{"subject of 100 characters", sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 100))}, 0,
			func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) }, "InvalidParameter"},
		{"subject with a line break", sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("m"), Subject: aws.String("a\nb")}, 0,
			func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) }, "InvalidParameter"},
		{"attribute without value", sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("m"),
			MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("")}}}, 0,
			func(err error) bool { return err != nil }, "ParameterValueInvalid"},
		{"outage", sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("m")}, 1,
			func(err error) bool { var e *types.InternalErrorException; return errors.As(err, &e) }, "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.FailNext(tt.failNext)
			_, err := s.Client(noRetry).Publish(context.Background(), &tt.in)
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.code) {
				t.Errorf("err = %v, want a %s error", err, tt.code)
			}
		})
	}
	if n := len(s.Published()); n != 0 {
		t.Errorf("%d messages recorded from failed requests", n)
	}
}

func TestSDKRetriesAfterOutage(t *testing.T) {
	s := NewServer(t)
	s.FailNext(2)
	_, err := s.Client().Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(s.Topic()), Message: aws.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests() != 3 || len(s.Published()) != 1 {
		t.Errorf("%d requests, %d published; want 3 and 1", s.Requests(), len(s.Published()))
	}
}

// TestRawRequests sends what the SDK would not, to check the server's own
// answers.
func TestRawRequests(t *testing.T) {
	s := NewServer(t)
	signed := "AWS4-HMAC-SHA256 Credential=snstest/20260302/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=00"
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {s.Topic()}, "Message": {"m"}}
	tests := []struct {
		name       string
		method     string
		auth       string
		body       url.Values
		wantStatus int
		wantBody   string
	}{
		{"publish", "POST", signed, form, 200, "<PublishResponse"},
		{"get", "GET", signed, nil, 400, "<Code>InvalidAction</Code>"},
		{"unsigned", "POST", "", form, 403, "<Code>MissingAuthenticationToken</Code>"},
		{"other action", "POST", signed, url.Values{"Action": {"ListTopics"}, "Version": {"2010-03-31"}}, 400, "<Code>InvalidAction</Code>"},
		{"old version", "POST", signed, url.Values{"Action": {"Publish"}, "Version": {"2009-01-01"}}, 400, "<Code>InvalidParameterValue</Code>"},
		{"unknown topic", "POST", signed, url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {"arn:x"}, "Message": {"m"}}, 404,
			"<Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL, strings.NewReader(tt.body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("%d %s\nwant %d and %s", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
