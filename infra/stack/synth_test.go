package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/secretgate/secretgate/infra/config"
)

// The sample config is synthesised once per test binary: jsii starts a
// node process and each synth takes seconds.
var (
	synthOnce sync.Once
	synthErr  error
	sample    *synthesis
	assetDir  string
)

type synthesis struct {
	cfg       *config.Config
	stacks    *Stacks
	templates map[string]map[string]any // by stack name
}

func TestMain(m *testing.M) {
	// Node 20 works; its end-of-life banner would bury the test output.
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	}
	code := m.Run()
	if assetDir != "" {
		os.RemoveAll(assetDir)
	}
	jsii.Close()
	os.Exit(code)
}

// placeholderAssets are Lambda packages that exist, so synth works
// without `make lambda`.
func placeholderAssets() (Assets, error) {
	if assetDir == "" {
		dir, err := os.MkdirTemp("", "infra-assets")
		if err != nil {
			return Assets{}, err
		}
		assetDir = dir
		for _, n := range []string{"rotator", "gate"} {
			if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
				return Assets{}, err
			}
			if err := os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte("placeholder "+n), 0o755); err != nil {
				return Assets{}, err
			}
		}
	}
	return Assets{Rotator: filepath.Join(assetDir, "rotator"), Gate: filepath.Join(assetDir, "gate")}, nil
}

// synthesise builds every stack of cfg in a new app.
func synthesise(cfg *config.Config) (s *synthesis, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth: %v", r)
		}
	}()
	assets, err := placeholderAssets()
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp(assetDir, "cdk.out")
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
	s = &synthesis{cfg: cfg, stacks: Build(app, cfg, assets), templates: map[string]map[string]any{}}
	for _, st := range s.stacks.All() {
		s.templates[*st.StackName()] = *assertions.Template_FromStack(st, nil).ToJSON()
	}
	return s, nil
}

// sampleSynth is the synthesis of config.example.yaml.
func sampleSynth(t *testing.T) *synthesis {
	t.Helper()
	synthOnce.Do(func() {
		cfg, err := config.Load("../config.example.yaml")
		if err != nil {
			synthErr = err
			return
		}
		sample, synthErr = synthesise(cfg)
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return sample
}

// check runs a CDK assertion, which panics through jsii when it fails.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// resources returns a template's resources of one type, by logical id,
// in id order.
func resources(tpl map[string]any, typ string) ([]string, map[string]map[string]any) {
	out := map[string]map[string]any{}
	var ids []string
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, out
}

// props is a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// tagMap reads CloudFormation tags into a map.
func tagMap(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, t := range list {
		t := t.(map[string]any)
		out[t["Key"].(string)] = fmt.Sprint(t["Value"])
	}
	return out
}

// statements returns a policy's statements.
func statements(policy any) []map[string]any {
	var out []map[string]any
	switch s := policy.(map[string]any)["Statement"].(type) {
	case []any:
		for _, st := range s {
			out = append(out, st.(map[string]any))
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

// list reads a string or a list of strings.
func list(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case []string:
		return v
	}
	return nil
}

func envTemplates(s *synthesis) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range s.cfg.Environments {
		out[e] = s.templates[config.EnvStack(e)]
	}
	return out
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
