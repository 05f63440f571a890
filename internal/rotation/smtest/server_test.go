package smtest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestLabelsThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	s := NewServer(t)
	c := s.Client()
	arn := s.CreateSecret("prod/shop/api", "v1")
	first := s.VersionOf(arn, Current)

	// RotateSecret's placeholder is not readable until it has a value.
	token, err := s.StartRotation(arn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(token), VersionStage: aws.String(Pending)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("placeholder read: got %v, want ResourceNotFoundException", err)
	}
	if _, err := s.StartRotation(arn); err == nil {
		t.Fatal("a second rotation started while the first is unfinished")
	}

	put := func(value string) error {
		_, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String("prod/shop/api"), ClientRequestToken: aws.String(token),
			SecretString: aws.String(value), VersionStages: []string{Pending}, RotationToken: aws.String("rt"),
		})
		return err
	}
	if err := put("v2"); err != nil {
		t.Fatal(err)
	}
	if err := put("v2"); err != nil {
		t.Fatalf("same value, same token: %v", err)
	}
	var exists *types.ResourceExistsException
	if err := put("other"); !errors.As(err, &exists) {
		t.Fatalf("other value, same token: got %v, want ResourceExistsException", err)
	}
	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String(token), VersionStage: aws.String(Pending)})
	if err != nil || aws.ToString(got.SecretString) != "v2" || !reflect.DeepEqual(got.VersionStages, []string{Pending}) {
		t.Fatalf("pending read: %v %+v", err, got)
	}

	// Moving AWSCURRENT needs RemoveFromVersionId naming where it is.
	move := func(stage, to, from string) error {
		in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)}
		if to != "" {
			in.MoveToVersionId = aws.String(to)
		}
		if from != "" {
			in.RemoveFromVersionId = aws.String(from)
		}
		_, err := c.UpdateSecretVersionStage(ctx, in)
		return err
	}
	var invalid *types.InvalidParameterException
	for name, err := range map[string]error{
		"no RemoveFromVersionId":    move(Current, token, ""),
		"wrong RemoveFromVersionId": move(Current, token, token),
		"remove AWSCURRENT":         move(Current, "", first),
	} {
		if !errors.As(err, &invalid) {
			t.Errorf("%s: got %v, want InvalidParameterException", name, err)
		}
	}
	if err := move(Current, token, first); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{first: {Previous}, token: {Current, Pending}}
	if !reflect.DeepEqual(d.VersionIdsToStages, want) || !aws.ToBool(d.RotationEnabled) || d.LastRotatedDate == nil {
		t.Fatalf("after finish: %+v, want stages %v", d, want)
	}
	if _, err := s.StartRotation(arn); err != nil {
		t.Fatalf("AWSPENDING on AWSCURRENT's version is a finished rotation: %v", err)
	}
}

func TestFailNextAndUnknownSecret(t *testing.T) {
	ctx := context.Background()
	s := NewServer(t)
	c := s.Client(func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
	arn := s.CreateSecret("x", "v")
	s.FailNext("DescribeSecret", 1)
	var internal *types.InternalServiceError
	if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)}); !errors.As(err, &internal) {
		t.Fatalf("got %v, want InternalServiceError", err)
	}
	var notFound *types.ResourceNotFoundException
	if _, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Fatalf("got %v, want ResourceNotFoundException", err)
	}
	if calls := s.Calls(); len(calls) != 2 || calls[0].Error != "InternalServiceError" || calls[1].Operation != "DescribeSecret" {
		t.Fatalf("calls: %+v", calls)
	}
}
