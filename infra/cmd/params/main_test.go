package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretgate/secretgate/infra/ssmtest"
)

const planted = "s3cr3t-PLANTED-value-2b1d"

// The command end to end: the SDK client built from the environment,
// pointed at the local endpoint, the value from standard input.
func TestParamsWritesFromStdinAndNeverShowsTheValue(t *testing.T) {
	srv := ssmtest.NewServer(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	env := func(k string) string {
		if k == "SECRETGATE_SSM_ENDPOINT" {
			return srv.URL
		}
		return ""
	}
	args := []string{"-config", "../../config.example.yaml", "-env", "dev", "-service", "checkout", "-item", "fraud-threshold"}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"first write", args, 0, "/dev/checkout/fraud-threshold version 1 (Standard tier) on alias/secretgate/dev/payments\n", ""},
		{"again", args, 3, "", "the parameter exists: pass -overwrite"},
		{"overwrite", append([]string{"-overwrite"}, args...), 0, "/dev/checkout/fraud-threshold version 2 (Standard tier)", ""},
		{"value as an argument", append(args, planted), 2, "", "takes the value on standard input only"},
		{"a secret's item", []string{"-config", "../../config.example.yaml", "-env", "dev", "-service", "checkout", "-item", "stripe-api-key"}, 1, "", "not Parameter Store"},
		{"bad config", []string{"-config", "nope.yaml", "-env", "dev", "-service", "checkout", "-item", "x"}, 1, "", "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(planted+"\n"), &stdout, &stderr, env, nil)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), planted) {
				t.Error("the output shows the value")
			}
		})
	}
	// What a service with decryption reads back is what was typed.
	out, err := srv.Client().GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/dev/checkout/fraud-threshold"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(out.Parameter.Value) != planted || out.Parameter.Version != 2 {
		t.Fatalf("read back %v %v", out, err)
	}
	if ops := strings.Join(srv.Requests(), " "); ops != "PutParameter PutParameter PutParameter GetParameter" {
		t.Errorf("requests %s", ops)
	}
}
