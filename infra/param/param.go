// Package param writes the config's Parameter Store items: SecureString
// parameters, which CloudFormation cannot create, put through the SSM API
// with their environment's team key and access tags. The value comes
// from the operator and goes only to SSM: never into an error, a log or
// the repository.
package param

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretgate/secretgate/infra/config"
)

// API is the part of the SSM client Put uses.
type API interface {
	PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// MaxValue is the largest value Parameter Store takes (advanced tier).
const MaxValue = 8192

// standardMax is the largest value of the standard tier.
const standardMax = 4096

// ErrExists is returned when the parameter exists and Overwrite is off.
var ErrExists = errors.New("the parameter exists: pass -overwrite to write a new version")

// Item names the parameter to write.
type Item struct {
	Env, Service, Name string
	// Overwrite writes a new version of an existing parameter; its tags
	// stay as the first write set them (only the provisioner changes tags).
	Overwrite bool
}

// Written is what Put wrote (never the value).
type Written struct {
	Name    string
	KeyID   string
	Version int64
	Tier    string
}

// Put writes value as the SecureString of item, after checking that the
// config declares it with type config (POLICY.md: other types are not
// Parameter Store's).
func Put(ctx context.Context, api API, cfg *config.Config, item Item, value []byte) (*Written, error) {
	d, it, err := cfg.Find(item.Env, item.Service, item.Name)
	if err != nil {
		return nil, err
	}
	if it.Type.Store() != config.ParameterStore {
		return nil, fmt.Errorf("%s:%d: %s/%s is a %s, kept in %s, not Parameter Store (POLICY.md)", cfg.File(), it.Line, item.Service, item.Name, it.Type, it.Type.Store())
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(value), "\n"), "\r")
	switch {
	case v == "":
		return nil, errors.New("the value is empty")
	case len(v) > MaxValue:
		return nil, fmt.Errorf("the value is %d bytes; Parameter Store takes at most %d", len(v), MaxValue)
	case !utf8.ValidString(v):
		return nil, errors.New("the value is not UTF-8 text")
	}
	w := &Written{Name: config.ParameterName(item.Env, item.Service, item.Name), KeyID: config.KeyAlias(item.Env, d.Team), Tier: string(types.ParameterTierStandard)}
	if len(v) > standardMax {
		w.Tier = string(types.ParameterTierAdvanced)
	}
	in := &ssm.PutParameterInput{
		Name:        aws.String(w.Name),
		Value:       aws.String(v),
		Type:        types.ParameterTypeSecureString,
		KeyId:       aws.String(w.KeyID),
		Tier:        types.ParameterTier(w.Tier),
		Description: aws.String("secretgate: " + item.Name + " of " + item.Service + " in " + item.Env),
	}
	if item.Overwrite {
		// SSM refuses tags with Overwrite; a new parameter gets them below.
		in.Overwrite = aws.Bool(true)
	} else {
		in.Tags = []types.Tag{
			{Key: aws.String(config.TagService), Value: aws.String(item.Service)},
			{Key: aws.String(config.TagEnvironment), Value: aws.String(item.Env)},
			{Key: aws.String(config.TagTeam), Value: aws.String(d.Team)},
			{Key: aws.String("secretgate:type"), Value: aws.String(string(it.Type))},
		}
	}
	out, err := api.PutParameter(ctx, in)
	var exists *types.ParameterAlreadyExists
	switch {
	case errors.As(err, &exists):
		return nil, fmt.Errorf("%s: %w", w.Name, ErrExists)
	case err != nil:
		return nil, fmt.Errorf("put %s: %w", w.Name, err)
	}
	w.Version = out.Version
	if out.Tier != "" {
		w.Tier = string(out.Tier)
	}
	return w, nil
}
