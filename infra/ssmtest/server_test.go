package ssmtest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestWire(t *testing.T) {
	s := NewServer(t)
	c := s.Client()
	ctx := context.Background()
	put := func(in *ssm.PutParameterInput) error { _, err := c.PutParameter(ctx, in); return err }
	if err := put(&ssm.PutParameterInput{Name: aws.String("/a"), Value: aws.String("v"), Type: types.ParameterTypeSecureString,
		KeyId: aws.String("alias/k"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("t")}}}); err != nil {
		t.Fatal(err)
	}
	var exists *types.ParameterAlreadyExists
	if err := put(&ssm.PutParameterInput{Name: aws.String("/a"), Value: aws.String("w"), Type: types.ParameterTypeSecureString}); !errors.As(err, &exists) {
		t.Errorf("rewrite without overwrite: %v", err)
	}
	if err := put(&ssm.PutParameterInput{Name: aws.String("/a"), Value: aws.String("w"), Overwrite: aws.Bool(true),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("u")}}}); err == nil || !strings.Contains(err.Error(), "tags and overwrite") {
		t.Errorf("tags with overwrite: %v", err)
	}
	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a")})
	if err != nil || aws.ToString(got.Parameter.Value) == "v" {
		t.Errorf("without decryption: %v %v", got, err)
	}
	var missing *types.ParameterNotFound
	if _, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/b")}); !errors.As(err, &missing) {
		t.Errorf("missing: %v", err)
	}
	resp, err := http.Post(s.URL, "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("unsigned request: %v %v", resp, err)
	}
}
