// Command infra is the CDK app: it reads the config (context "config",
// default config.example.yaml) and synthesises every stack. The Lambda
// packages come from the root module's `make lambda`; their paths are
// the context values "rotatorAsset" and "gateAsset".
//
//	npx aws-cdk synth -c config=my.yaml
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
	"github.com/secretgate/secretgate/infra/stack"
)

func main() {
	code := run()
	jsii.Close()
	os.Exit(code)
}

func run() int {
	app := awscdk.NewApp(nil)
	ctx := func(key, def string) string {
		if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
			return v
		}
		return def
	}
	cfg, err := config.Load(ctx("config", "config.example.yaml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		return 1
	}
	assets := stack.Assets{
		Rotator: ctx("rotatorAsset", "../bin/lambda/rotator-lambda-"+arch(cfg)+".zip"),
		Gate:    ctx("gateAsset", "../bin/lambda/gatekeeper-lambda-"+arch(cfg)+".zip"),
	}
	for name, path := range map[string]string{"rotatorAsset": assets.Rotator, "gateAsset": assets.Gate} {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(os.Stderr, "infra: %s %s: %v (make lambda in the repository's root builds it)\n", name, path, err)
			return 1
		}
	}
	stack.Build(app, cfg, assets)
	app.Synth(nil)
	return 0
}

// arch is the suffix `make lambda` gives a zip for the configured architecture.
func arch(cfg *config.Config) string {
	if cfg.Arch == "x86_64" {
		return "amd64"
	}
	return "arm64"
}
