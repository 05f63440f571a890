// Command params writes a SecureString parameter the config declares
// (type config), reading its value from standard input: typed without
// echo at a terminal, or piped. The value is never an argument, so it
// stays out of shell history and process lists.
//
//	go run ./cmd/params -config config.yaml -env production -service checkout -item fraud-threshold
//
// It uses the AWS SDK's default credentials (run it as the provisioner:
// the key policies let only that role encrypt). SECRETGATE_SSM_ENDPOINT
// overrides the endpoint, for tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"golang.org/x/term"

	"github.com/secretgate/secretgate/infra/config"
	"github.com/secretgate/secretgate/infra/param"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, nil))
}

// run is the command; api, when given, replaces the SDK client built
// from the environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, api param.API) int {
	fs := flag.NewFlagSet("params", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.example.yaml", "the infra config")
	var item param.Item
	fs.StringVar(&item.Env, "env", "", "the environment")
	fs.StringVar(&item.Service, "service", "", "the service")
	fs.StringVar(&item.Name, "item", "", "the item (of type config)")
	fs.BoolVar(&item.Overwrite, "overwrite", false, "write a new version of an existing parameter")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if item.Env == "" || item.Service == "" || item.Name == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "params: needs -env, -service and -item, and takes the value on standard input only")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "params:", err)
		return 1
	}
	if _, _, err := cfg.Find(item.Env, item.Service, item.Name); err != nil {
		fmt.Fprintln(stderr, "params:", err)
		return 1
	}
	value, err := readValue(stdin, stderr, config.ParameterName(item.Env, item.Service, item.Name))
	if err != nil {
		fmt.Fprintln(stderr, "params:", err)
		return 1
	}
	if api == nil {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
		if err != nil {
			fmt.Fprintln(stderr, "params: AWS configuration:", err)
			return 1
		}
		api = ssm.NewFromConfig(awsCfg, func(o *ssm.Options) {
			if ep := getenv("SECRETGATE_SSM_ENDPOINT"); ep != "" {
				o.BaseEndpoint = &ep
			}
		})
	}
	w, err := param.Put(ctx, api, cfg, item, value)
	clear(value)
	if err != nil {
		fmt.Fprintln(stderr, "params:", err)
		if errors.Is(err, param.ErrExists) {
			return 3
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s version %d (%s tier) on %s\n", w.Name, w.Version, w.Tier, w.KeyID)
	return 0
}

// readValue reads the value: without echo from a terminal, else all of stdin.
func readValue(stdin io.Reader, stderr io.Writer, name string) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "value for %s (not echoed): ", name)
		v, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return v, err
	}
	v, err := io.ReadAll(io.LimitReader(stdin, param.MaxValue+2))
	if err != nil {
		return nil, fmt.Errorf("reading the value: %w", err)
	}
	return v, nil
}
