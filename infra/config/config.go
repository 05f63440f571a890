// Package config reads the one file that describes what infra provisions:
// the account, the environments, the teams with their services, and each
// service's declared items with the type that decides where they are
// stored (POLICY.md). Errors name the file and the line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole file.
type Config struct {
	// Account and Region are where the stacks deploy.
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
	// AlertRegions get a break-glass alert rule each: STS records an
	// AssumeRole in the region of the endpoint used (the global endpoint
	// lands in us-east-1). Region is always included.
	AlertRegions []string `yaml:"alertRegions"`
	// Environments, in promotion order (dev, staging, production).
	Environments []string `yaml:"environments"`
	// Provisioner is the role that deploys (the CloudFormation execution
	// role): the only principal that may set or change the ABAC tags.
	Provisioner string `yaml:"provisioner"`
	// KeyAdmins are the roles that manage the KMS keys and may not use them.
	KeyAdmins []string `yaml:"keyAdmins"`
	// Arch is the Lambda functions' architecture: arm64 (default) or
	// x86_64, matching the zips of make lambda.
	Arch       string     `yaml:"arch"`
	BreakGlass BreakGlass `yaml:"breakGlass"`
	Audit      Audit      `yaml:"audit"`
	Gate       Gate       `yaml:"gate"`
	Rotator    Rotator    `yaml:"rotator"`
	Teams      []Team     `yaml:"teams"`

	file string
	root *yaml.Node // the document, for the lines of settings in errors
}

// BreakGlass is the emergency role.
type BreakGlass struct {
	Role string `yaml:"role"`
	// Path is the role's IAM path (default "/").
	Path string `yaml:"path"`
	// People are the IAM user names that may assume it, with MFA.
	People []string `yaml:"people"`
	// MaxMFAAge is how old, in seconds, the MFA sign-in may be (default 900).
	MaxMFAAge int `yaml:"maxMFAAge"`
}

// Audit is the trail and its query side.
type Audit struct {
	// BytesScannedCutoff caps what one Athena query may scan (default 10 GiB).
	BytesScannedCutoff int64 `yaml:"bytesScannedCutoff"`
	// RetentionDays keeps trail files this long (default 400).
	RetentionDays int `yaml:"retentionDays"`
}

// Gate is the CodeCommit front door.
type Gate struct {
	// StoreSecret names an existing Secrets Manager secret holding the
	// gate's postgres:// URL under the key "dsn"; the function's
	// environment resolves it at deploy time, so the template has only
	// the reference.
	StoreSecret string `yaml:"storeSecret"`
	// FingerprintSecret names the existing secret holding the fingerprint
	// key, hex, shared with the other front doors (default
	// gate/gatekeeper/fingerprint-key).
	FingerprintSecret string `yaml:"fingerprintSecret"`
	// Repositories limit the rules to these CodeCommit repositories (empty: all).
	Repositories []string `yaml:"repositories"`
}

// Rotator configures cmd/rotator for api-key and token items.
type Rotator struct {
	// KeysURL is the base URL of the key-management API the rotator asks
	// for new keys.
	KeysURL string `yaml:"keysURL"`
	// AdminSecret names the existing secret holding that API's admin
	// token; {env} is replaced by the environment, so each environment's
	// function has its own.
	AdminSecret string `yaml:"adminSecret"`
}

// AdminSecretIn is the rotator's admin-token secret in env.
func (r Rotator) AdminSecretIn(env string) string {
	return strings.ReplaceAll(r.AdminSecret, "{env}", env)
}

// Team owns services and, per environment, a KMS key.
type Team struct {
	Name     string    `yaml:"name"`
	Services []Service `yaml:"services"`
	Line     int       `yaml:"-"`
}

// Service is a workload with its own role per environment.
type Service struct {
	Name string `yaml:"name"`
	// RunsOn is the AWS service principal that assumes the service's role
	// (default ecs-tasks.amazonaws.com).
	RunsOn string `yaml:"runsOn"`
	// Environments the service runs in (default: all).
	Environments []string `yaml:"environments"`
	Items        []Item   `yaml:"items"`
	Line         int      `yaml:"-"`
}

// Item is one declared secret or configuration value. Its Type decides
// the store (see Store).
type Item struct {
	Name string `yaml:"name"`
	Type Type   `yaml:"type"`
	// RotateDays is the rotation interval for Secrets Manager items
	// (default 30).
	RotateDays int `yaml:"rotateDays"`

	// Database items: the PostgreSQL server and the application user.
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Database string `yaml:"database"`
	Username string `yaml:"username"`
	// SubnetIDs and SecurityGroupIDs place the hosted rotation function
	// where it can reach the database.
	SubnetIDs        []string `yaml:"subnetIds"`
	SecurityGroupIDs []string `yaml:"securityGroupIds"`

	// Certificate items: the domain and the Route 53 zone that validates it.
	Domain       string `yaml:"domain"`
	HostedZoneID string `yaml:"hostedZoneId"`

	Line int `yaml:"-"`
}

var name = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

// Load reads and checks the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads a config from data; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s:%d: %s", file, fe.line, fe.msg)
		}
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		// yaml's "line N: ..." as file:N.
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", file, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", file, msg)
	}
	c.file = file
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil && len(root.Content) > 0 {
		c.root = root.Content[0]
	}
	c.defaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// File is the path the config was read from.
func (c *Config) File() string { return c.file }

func (c *Config) defaults() {
	if c.BreakGlass.Path == "" {
		c.BreakGlass.Path = "/"
	}
	if c.BreakGlass.MaxMFAAge == 0 {
		c.BreakGlass.MaxMFAAge = 900
	}
	if c.Audit.BytesScannedCutoff == 0 {
		c.Audit.BytesScannedCutoff = 10 << 30
	}
	if c.Audit.RetentionDays == 0 {
		c.Audit.RetentionDays = 400
	}
	if c.Gate.FingerprintSecret == "" {
		c.Gate.FingerprintSecret = "gate/gatekeeper/fingerprint-key"
	}
	if c.Arch == "" {
		c.Arch = "arm64"
	}
	if !slices.Contains(c.AlertRegions, c.Region) {
		c.AlertRegions = append([]string{c.Region}, c.AlertRegions...)
	}
	for t := range c.Teams {
		for s := range c.Teams[t].Services {
			svc := &c.Teams[t].Services[s]
			if svc.RunsOn == "" {
				svc.RunsOn = "ecs-tasks.amazonaws.com"
			}
			if len(svc.Environments) == 0 {
				svc.Environments = slices.Clone(c.Environments)
			}
			for i := range svc.Items {
				it := &svc.Items[i]
				if it.RotateDays == 0 {
					it.RotateDays = 30
				}
				if it.Type == Database && it.Port == 0 {
					it.Port = 5432
				}
			}
		}
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line ([0-9]+): (.*)$`)

// errKey is an error about the setting at a dotted path of top-level
// keys ("breakGlass.maxMFAAge"), at its line, or at its nearest present
// parent's line (line 1 when none is present).
func (c *Config) errKey(path string, format string, args ...any) error {
	line, n := 1, c.root
	for _, k := range strings.Split(path, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return c.errAt(line, format, args...)
}

// errAt is an error at a line of the file.
func (c *Config) errAt(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.file, line, fmt.Sprintf(format, args...))
}

func (c *Config) check() error {
	switch {
	case !regexp.MustCompile(`^[0-9]{12}$`).MatchString(c.Account):
		return c.errKey("account", "account must be 12 digits, got %q", c.Account)
	case c.Region == "":
		return c.errKey("region", "region is required")
	case len(c.Environments) == 0:
		return c.errKey("environments", "environments is required")
	case c.Provisioner == "":
		return c.errKey("provisioner", "provisioner (the deploying role's name) is required")
	case len(c.KeyAdmins) == 0:
		return c.errKey("keyAdmins", "keyAdmins is required: someone must be able to manage the keys")
	case slices.Contains(c.KeyAdmins, c.Provisioner):
		return c.errKey("keyAdmins", "keyAdmins must not include the provisioner %q", c.Provisioner)
	case c.BreakGlass.Role == "" || len(c.BreakGlass.People) == 0:
		return c.errKey("breakGlass", "breakGlass needs a role and the people who may assume it")
	case !strings.HasPrefix(c.BreakGlass.Path, "/") || !strings.HasSuffix(c.BreakGlass.Path, "/"):
		return c.errKey("breakGlass.path", "breakGlass.path must start and end with /, got %q", c.BreakGlass.Path)
	case c.BreakGlass.MaxMFAAge < 60 || c.BreakGlass.MaxMFAAge > 3600:
		return c.errKey("breakGlass.maxMFAAge", "breakGlass.maxMFAAge must be 60-3600 seconds, got %d", c.BreakGlass.MaxMFAAge)
	case c.Gate.StoreSecret == "":
		return c.errKey("gate.storeSecret", "gate.storeSecret is required: the secret holding the gate's {\"dsn\": \"postgres://…\"}")
	case c.Arch != "arm64" && c.Arch != "x86_64":
		return c.errKey("arch", "arch must be arm64 or x86_64, got %q", c.Arch)
	}
	for _, e := range c.Environments {
		if !name.MatchString(e) {
			return c.errKey("environments", "environment %q: names are lower case letters, digits and dashes", e)
		}
	}
	if err := c.checkRotator(); err != nil {
		return err
	}
	teams := map[string]bool{}
	services := map[string]int{}
	for _, t := range c.Teams {
		if !name.MatchString(t.Name) {
			return c.errAt(t.Line, "team %q: names are lower case letters, digits and dashes", t.Name)
		}
		if teams[t.Name] {
			return c.errAt(t.Line, "team %q declared twice", t.Name)
		}
		teams[t.Name] = true
		for _, s := range t.Services {
			if !name.MatchString(s.Name) {
				return c.errAt(s.Line, "service %q: names are lower case letters, digits and dashes", s.Name)
			}
			if s.Name == MasterOwner {
				return c.errAt(s.Line, "service %q: the name is reserved for databases' master logins", s.Name)
			}
			if first, dup := services[s.Name]; dup {
				return c.errAt(s.Line, "service %q already declared at line %d (a service belongs to one team)", s.Name, first)
			}
			services[s.Name] = s.Line
			for _, e := range s.Environments {
				if !slices.Contains(c.Environments, e) {
					return c.errAt(s.Line, "service %q: environment %q is not in environments", s.Name, e)
				}
			}
			items := map[string]bool{}
			for _, it := range s.Items {
				if err := c.checkItem(s, it); err != nil {
					return err
				}
				if items[it.Name] {
					return c.errAt(it.Line, "service %q: item %q declared twice", s.Name, it.Name)
				}
				items[it.Name] = true
			}
		}
	}
	// Role names join environment and service with dashes, which names
	// may contain: dev's x-api and dev-x's api would both be svc-dev-x-api.
	roles := map[string]string{}
	for _, t := range c.Teams {
		for _, s := range t.Services {
			for _, e := range s.Environments {
				r := ServiceRole(e, s.Name)
				if other, dup := roles[r]; dup {
					return c.errAt(s.Line, "service %q in %q: its role %s would also be the role of %s", s.Name, e, r, other)
				}
				roles[r] = fmt.Sprintf("service %q in %q", s.Name, e)
			}
		}
	}
	return nil
}

// checkRotator requires the rotator's settings when an item needs it.
func (c *Config) checkRotator() error {
	for _, t := range c.Teams {
		for _, s := range t.Services {
			for _, it := range s.Items {
				if it.Type.Rotation() != RotatorLambda {
					continue
				}
				if c.Rotator.KeysURL == "" || c.Rotator.AdminSecret == "" {
					return c.errAt(it.Line, "item %q: type %s is rotated by cmd/rotator, which needs rotator.keysURL and rotator.adminSecret", it.Name, it.Type)
				}
				if !strings.HasPrefix(c.Rotator.KeysURL, "https://") {
					return c.errKey("rotator.keysURL", "rotator.keysURL must be https://, got %q", c.Rotator.KeysURL)
				}
				return nil
			}
		}
	}
	return nil
}

func (c *Config) checkItem(s Service, it Item) error {
	if !name.MatchString(it.Name) {
		return c.errAt(it.Line, "item %q: names are lower case letters, digits and dashes", it.Name)
	}
	if _, ok := policy[it.Type]; !ok {
		return c.errAt(it.Line, "item %q: type %q is not one of %s", it.Name, it.Type, typeList())
	}
	if it.Type.Store() == SecretsManager && (it.RotateDays < 1 || it.RotateDays > 365) {
		return c.errAt(it.Line, "item %q: rotateDays must be 1-365, got %d", it.Name, it.RotateDays)
	}
	switch it.Type {
	case Database:
		if it.Host == "" || it.Database == "" || it.Username == "" {
			return c.errAt(it.Line, "item %q: a database needs host, database and username", it.Name)
		}
	case Certificate:
		if it.Domain == "" || it.HostedZoneID == "" {
			return c.errAt(it.Line, "item %q: a certificate needs domain and hostedZoneId (DNS validation)", it.Name)
		}
		if len(s.Environments) > 1 && !strings.Contains(it.Domain, "{env}") {
			return c.errAt(it.Line, "item %q: service %q runs in %d environments: the domain needs {env} to tell them apart", it.Name, s.Name, len(s.Environments))
		}
	}
	if it.Type != Database && (it.Host != "" || it.Database != "" || it.Username != "") {
		return c.errAt(it.Line, "item %q: host, database and username are for type database", it.Name)
	}
	if it.Type != Certificate && (it.Domain != "" || it.HostedZoneID != "") {
		return c.errAt(it.Line, "item %q: domain and hostedZoneId are for type certificate", it.Name)
	}
	return nil
}

// UnmarshalYAML keeps the line of the team for errors.
func (t *Team) UnmarshalYAML(n *yaml.Node) error {
	type plain Team
	return decodeAt(n, t, (*plain)(t), &t.Line)
}

// UnmarshalYAML keeps the line of the service for errors.
func (s *Service) UnmarshalYAML(n *yaml.Node) error {
	type plain Service
	return decodeAt(n, s, (*plain)(s), &s.Line)
}

// UnmarshalYAML keeps the line of the item for errors.
func (it *Item) UnmarshalYAML(n *yaml.Node) error {
	type plain Item
	return decodeAt(n, it, (*plain)(it), &it.Line)
}

// decodeAt decodes n into plain, the same value as v under a type
// without v's UnmarshalYAML, after refusing unknown keys, and records
// n's line.
func decodeAt(n *yaml.Node, v, plain any, line *int) error {
	if err := strict(n, v); err != nil {
		return err
	}
	if err := n.Decode(plain); err != nil {
		return err
	}
	*line = n.Line
	return nil
}

// strict refuses keys of n that are not yaml fields of v's type: the
// decoder's KnownFields does not reach into custom unmarshalers.
func strict(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	rt := reflect.TypeOf(v).Elem()
	var known []string
	for i := range rt.NumField() {
		if tag := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			known = append(known, tag)
		}
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(known, k.Value) {
			return &fieldError{line: k.Line, msg: fmt.Sprintf("field %q is not one of %s", k.Value, strings.Join(known, ", "))}
		}
	}
	return nil
}

// fieldError is an unknown field at a line.
type fieldError struct {
	line int
	msg  string
}

func (e *fieldError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// Deployed is one service in one environment.
type Deployed struct {
	Team    string
	Service Service
	Env     string
}

// In lists the services that run in env, in file order.
func (c *Config) In(env string) []Deployed {
	var out []Deployed
	for _, t := range c.Teams {
		for _, s := range t.Services {
			if slices.Contains(s.Environments, env) {
				out = append(out, Deployed{Team: t.Name, Service: s, Env: env})
			}
		}
	}
	return out
}

// Find returns the item named item of service in env.
func (c *Config) Find(env, service, item string) (Deployed, Item, error) {
	for _, d := range c.In(env) {
		if d.Service.Name != service {
			continue
		}
		for _, it := range d.Service.Items {
			if it.Name == item {
				return d, it, nil
			}
		}
		return d, Item{}, fmt.Errorf("%s: service %q declares no item %q", c.file, service, item)
	}
	return Deployed{}, Item{}, fmt.Errorf("%s: no service %q in environment %q", c.file, service, env)
}

// DomainIn is a certificate's domain in env: {env} replaced.
func (it Item) DomainIn(env string) string { return strings.ReplaceAll(it.Domain, "{env}", env) }
