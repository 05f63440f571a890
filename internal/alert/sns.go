package alert

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/secretgate/secretgate/internal/store"
)

// Publisher is the part of the SNS client that SNS uses; *sns.Client is one.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNS sends alerts to an SNS topic.
type SNS struct {
	client Publisher
	topic  string
}

// NewSNS returns a Sender that publishes to the topic with the given ARN.
func NewSNS(client Publisher, topicARN string) *SNS {
	return &SNS{client: client, topic: topicARN}
}

// Send publishes the alert: its subject, its JSON message, and its
// attributes as String message attributes (empty values are left out, as
// SNS refuses them).
func (s *SNS) Send(ctx context.Context, a store.Alert) error {
	in := &sns.PublishInput{
		TopicArn: aws.String(s.topic),
		Message:  aws.String(a.Message),
	}
	if a.Subject != "" {
		in.Subject = aws.String(Subject(a.Subject))
	}
	for name, v := range a.Attributes {
		if v == "" {
			continue
		}
		if in.MessageAttributes == nil {
			in.MessageAttributes = make(map[string]types.MessageAttributeValue)
		}
		in.MessageAttributes[name] = types.MessageAttributeValue{
			DataType:    aws.String("String"),
			StringValue: aws.String(v),
		}
	}
	if _, err := s.client.Publish(ctx, in); err != nil {
		return fmt.Errorf("alert %d: publish to %s: %w", a.ID, s.topic, err)
	}
	return nil
}

// NewSNSClient builds an SNS client from the default AWS configuration
// (environment, shared files, SSO, instance or task role). region overrides
// the configured region; endpoint, when set, replaces the SNS endpoint (for
// LocalStack or a test server).
func NewSNSClient(ctx context.Context, region, endpoint string) (*sns.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("alert: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("alert: no AWS region for SNS: set AWS_REGION or configure a region")
	}
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
