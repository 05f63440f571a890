// Package stack turns a config into the CDK stacks that provision the
// secrets infrastructure: one stack per environment (team keys, secrets,
// rotation, service roles), the access stack (guardrail, break-glass
// role), an alert stack per region (break-glass rules and the alerts
// topic), the audit stack (trail, bucket, Glue table, Athena) and the
// gate stack (the CodeCommit function and its rules).
package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// Assets are the Lambda packages the stacks deploy, built by `make lambda`
// in the root module. Either may be a folder or a zip file.
type Assets struct {
	Rotator string // cmd/rotator: the API-key rotation function
	Gate    string // cmd/gatekeeper: the CodeCommit function
}

// Stacks are the stacks of one app.
type Stacks struct {
	Access awscdk.Stack
	Audit  awscdk.Stack
	Gate   awscdk.Stack
	Envs   map[string]awscdk.Stack // by environment, for those a service runs in
	Alerts map[string]awscdk.Stack // by region
}

// All lists every stack, in a stable order.
func (s *Stacks) All() []awscdk.Stack {
	all := []awscdk.Stack{s.Access, s.Audit, s.Gate}
	for _, st := range s.Envs {
		all = append(all, st)
	}
	for _, st := range s.Alerts {
		all = append(all, st)
	}
	return all
}

// Build adds every stack for cfg to app.
func Build(app awscdk.App, cfg *config.Config, assets Assets) *Stacks {
	s := &Stacks{Envs: map[string]awscdk.Stack{}, Alerts: map[string]awscdk.Stack{}}
	s.Access = access(newStack(app, cfg, "secretgate-access", cfg.Region), cfg)
	s.Audit = audit(newStack(app, cfg, "secretgate-audit", cfg.Region), cfg)
	for _, region := range cfg.AlertRegions {
		s.Alerts[region] = alerts(newStack(app, cfg, "secretgate-alerts-"+region, region), cfg, region)
	}
	for _, env := range cfg.Environments {
		if len(cfg.In(env)) == 0 {
			continue // CloudFormation refuses a stack without resources
		}
		s.Envs[env] = environment(newStack(app, cfg, config.EnvStack(env), cfg.Region), cfg, env, assets)
		// Its service roles have the guardrail as their boundary and its
		// key policies name the break-glass role: both must exist first.
		s.Envs[env].AddDependency(s.Access, jsii.String("the guardrail and the break-glass role"))
	}
	// The key policies of an environment keep out the rotation roles of
	// the environments whose names extend its own (dev-eu for dev): those
	// deploy after it, so a new one's roles never meet an older policy.
	for _, env := range cfg.Environments {
		for _, e := range extendingEnvironments(cfg, env) {
			if s.Envs[env] != nil && s.Envs[e] != nil {
				s.Envs[e].AddDependency(s.Envs[env], jsii.String("the key policies that keep out its rotation roles"))
			}
		}
	}
	s.Gate = gate(newStack(app, cfg, "secretgate-gate", cfg.Region), cfg, assets)
	s.Gate.AddDependency(s.Alerts[cfg.Region], jsii.String("the alerts topic the gate publishes to"))
	return s
}

func newStack(app awscdk.App, cfg *config.Config, name, region string) awscdk.Stack {
	st := awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		StackName:   jsii.String(name),
		Env:         &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(region)},
		Description: jsii.String("secretgate: " + name + " (generated from " + cfg.File() + ")"),
	})
	awscdk.Tags_Of(st).Add(jsii.String("secretgate:stack"), jsii.String(name), nil)
	return st
}

// tags are CloudFormation tags from key/value pairs.
func tags(kv ...string) *[]*awscdk.CfnTag {
	var out []*awscdk.CfnTag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &awscdk.CfnTag{Key: jsii.String(kv[i]), Value: jsii.String(kv[i+1])})
	}
	return &out
}

// id makes a construct id from names: "prod", "checkout" -> "ProdCheckout".
func id(parts ...string) *string {
	var b []byte
	for _, p := range parts {
		up := true
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case c == '-' || c == '/' || c == '.' || c == '_':
				up = true
				continue
			case up && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			}
			up = false
			b = append(b, c)
		}
	}
	return jsii.String(string(b))
}
