package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/infra/config"
)

// The access model, simulated: the synthesised identity policies,
// permissions boundary, secret resource policies and key policies run
// through @cloud-copilot/iam-simulate (infra/simulate, installed with
// npm ci) over every service x environment x secret.

// world is what the templates declare, with the ARNs AWS would give.
type world struct {
	cfg       *config.Config
	guardrail any
	roles     map[string]*role // by name
	secrets   []*secretInfo
	breakGlss *role
}

type role struct {
	name, arn string
	tags      map[string]string
	policies  map[string]any // inline, by name
	boundary  bool
	trust     any
}

type secretInfo struct {
	name, arn string
	tags      map[string]string
	policy    any
	key       keyInfo
}

type keyInfo struct {
	arn    string
	tags   map[string]string
	policy any
}

func buildWorld(t *testing.T, s *synthesis) *world {
	t.Helper()
	cfg := s.cfg
	w := &world{cfg: cfg, roles: map[string]*role{}}
	access := s.templates["secretgate-access"]
	_, mps := resources(access, "AWS::IAM::ManagedPolicy")
	for _, mp := range mps {
		w.guardrail = props(mp)["PolicyDocument"]
	}
	addRoles := func(tpl map[string]any) {
		_, roles := resources(tpl, "AWS::IAM::Role")
		for _, r := range roles {
			p := props(r)
			name := p["RoleName"].(string)
			path, _ := p["Path"].(string)
			if path == "" {
				path = "/"
			}
			ro := &role{name: name, arn: cfg.ARN("iam", "", "role"+path+name), tags: tagMap(p["Tags"]),
				policies: map[string]any{}, boundary: p["PermissionsBoundary"] != nil, trust: p["AssumeRolePolicyDocument"]}
			pols, _ := p["Policies"].([]any)
			for _, pol := range pols {
				pol := pol.(map[string]any)
				ro.policies[pol["PolicyName"].(string)] = pol["PolicyDocument"]
			}
			w.roles[name] = ro
		}
	}
	addRoles(access)
	w.breakGlss = w.roles[cfg.BreakGlass.Role]
	for _, env := range cfg.Environments {
		tpl := s.templates[config.EnvStack(env)]
		addRoles(tpl)
		_, keys := resources(tpl, "AWS::KMS::Key")
		_, policies := resources(tpl, "AWS::SecretsManager::ResourcePolicy")
		ids, secrets := resources(tpl, "AWS::SecretsManager::Secret")
		for _, id := range ids {
			p := props(secrets[id])
			keyID := p["KmsKeyId"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			kp := props(keys[keyID])
			si := &secretInfo{name: p["Name"].(string), tags: tagMap(p["Tags"]),
				key: keyInfo{arn: cfg.ARN("kms", cfg.Region, "key/"+env+"-"+strings.ToLower(keyID)), tags: tagMap(kp["Tags"]), policy: kp["KeyPolicy"]}}
			si.arn = cfg.ARN("secretsmanager", cfg.Region, "secret:"+si.name+"-AbCdEf")
			for _, rp := range policies {
				if props(rp)["SecretId"].(map[string]any)["Ref"] == id {
					si.policy = props(rp)["ResourcePolicy"]
				}
			}
			w.secrets = append(w.secrets, si)
		}
	}
	if w.guardrail == nil || w.breakGlss == nil || len(w.secrets) == 0 {
		t.Fatalf("incomplete world: guardrail %v, break-glass %v, %d secrets", w.guardrail != nil, w.breakGlss != nil, len(w.secrets))
	}
	return w
}

// services are the service roles, in name order.
func (w *world) services() []*role {
	var out []*role
	for _, r := range w.roles {
		if strings.HasPrefix(r.name, "svc-") {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *role) int { return strings.Compare(a.name, b.name) })
	return out
}

// sim is one simulation request.
type sim struct {
	ID         string `json:"id"`
	Simulation any    `json:"simulation"`
}

type call struct {
	principal string
	action    string
	resource  string
	identity  map[string]any // inline policies by name
	boundary  any
	resPolicy any
	context   map[string]any
}

func (w *world) sim(id string, c call) sim {
	var identity []any
	names := make([]string, 0, len(c.identity))
	for n := range c.identity {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		identity = append(identity, map[string]any{"name": n, "policy": c.identity[n]})
	}
	s := map[string]any{
		"request": map[string]any{
			"principal": c.principal, "action": c.action,
			"resource":         map[string]any{"resource": c.resource, "accountId": w.cfg.Account},
			"contextVariables": c.context,
		},
		"identityPolicies":        identity,
		"serviceControlPolicies":  []any{},
		"resourceControlPolicies": []any{},
	}
	if identity == nil {
		s["identityPolicies"] = []any{}
	}
	if c.resPolicy != nil {
		s["resourcePolicy"] = c.resPolicy
	}
	if c.boundary != nil {
		s["permissionBoundaryPolicies"] = []any{map[string]any{"name": config.Guardrail, "policy": c.boundary}}
	}
	return sim{ID: id, Simulation: s}
}

// principalContext is what IAM knows of a role's session.
func (w *world) principalContext(r *role) map[string]any {
	ctx := map[string]any{"aws:PrincipalArn": r.arn, "aws:PrincipalAccount": w.cfg.Account}
	for k, v := range r.tags {
		ctx["aws:PrincipalTag/"+k] = v
	}
	return ctx
}

func withTags(ctx map[string]any, prefix string, tags map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range ctx {
		out[k] = v
	}
	for k, v := range tags {
		out[prefix+k] = v
	}
	return out
}

// readSecret is the pair of requests a GetSecretValue makes: the caller's
// own, and the Decrypt Secrets Manager makes on its behalf.
func (w *world) readSecret(id string, r *role, s *secretInfo, identity map[string]any, extra map[string]any) []sim {
	var boundary any
	if r.boundary {
		boundary = w.guardrail
	}
	base := w.principalContext(r)
	for k, v := range extra {
		base[k] = v
	}
	return []sim{
		w.sim(id+"|sm", call{principal: r.arn, action: "secretsmanager:GetSecretValue", resource: s.arn, identity: identity,
			boundary: boundary, resPolicy: s.policy, context: withTags(base, "aws:ResourceTag/", s.tags)}),
		w.sim(id+"|kms", call{principal: r.arn, action: "kms:Decrypt", resource: s.key.arn, identity: identity,
			boundary: boundary, resPolicy: s.key.policy, context: withTags(withTags(base, "", map[string]string{
				"kms:ViaService": "secretsmanager." + w.cfg.Region + ".amazonaws.com", "kms:CallerAccount": w.cfg.Account,
				"kms:EncryptionContext:SecretARN": s.arn, "kms:EncryptionContext:SecretVersionId": "v1",
			}), "aws:ResourceTag/", s.key.tags)}),
	}
}

// simulate runs sims through the node script and returns results by id.
// expect simulates sims and checks each decision named in want.
func expect(t *testing.T, sims []sim, want map[string]string) {
	t.Helper()
	res := simulate(t, sims)
	for id, w := range want {
		if res[id] != w {
			t.Errorf("%s: %s, want %s", id, res[id], w)
		}
	}
	t.Logf("simulated %d requests", len(sims))
}

func simulate(t *testing.T, sims []sim) map[string]string {
	t.Helper()
	if _, err := os.Stat("../simulate/node_modules/@cloud-copilot/iam-simulate"); err != nil {
		t.Fatalf("the simulator is not installed: run npm ci in infra/simulate (%v)", err)
	}
	in, err := json.Marshal(sims)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "simulate.mjs")
	cmd.Dir = "../simulate"
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node simulate.mjs: %v\n%s", err, stderr.String())
	}
	var results []struct {
		ID     string `json:"id"`
		Result string `json:"result"`
		Errors any    `json:"errors"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("simulator output: %v", err)
	}
	byID := map[string]string{}
	for _, r := range results {
		if r.Result == "Error" {
			t.Fatalf("simulation %s refused: %v", r.ID, r.Errors)
		}
		byID[r.ID] = r.Result
	}
	return byID
}

func without(policies map[string]any, name string) map[string]any {
	out := map[string]any{}
	for k, v := range policies {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func TestAccessModelSimulated(t *testing.T) {
	s := sampleSynth(t)
	w := buildWorld(t, s)
	var sims []sim
	type pair struct {
		r    *role
		s    *secretInfo
		owns bool
	}
	var pairs []pair
	for _, r := range w.services() {
		for _, sec := range w.secrets {
			owns := sec.tags[config.TagService] == r.tags[config.TagService] && sec.tags[config.TagEnvironment] == r.tags[config.TagEnvironment]
			pairs = append(pairs, pair{r, sec, owns})
			id := r.name + "|" + sec.name
			sims = append(sims, w.readSecret("read|"+id, r, sec, r.policies, nil)...)
			if owns {
				sims = append(sims, w.readSecret("no-sm|"+id, r, sec, without(r.policies, "read-own-secrets"), nil)...)
				sims = append(sims, w.readSecret("no-kms|"+id, r, sec, without(r.policies, "decrypt-own-keys"), nil)...)
			}
		}
	}
	res := simulate(t, sims)
	readable := func(id string) bool { return res[id+"|sm"] == "Allowed" && res[id+"|kms"] == "Allowed" }

	owners := 0
	for _, p := range pairs {
		id := p.r.name + "|" + p.s.name
		if got := readable("read|" + id); got != p.owns {
			t.Errorf("%s reads %s: %v (sm %s, kms %s), want %v", p.r.name, p.s.name, got, res["read|"+id+"|sm"], res["read|"+id+"|kms"], p.owns)
		}
		if p.owns {
			owners++
			if res["no-sm|"+id+"|sm"] == "Allowed" || readable("no-sm|"+id) {
				t.Errorf("%s reads %s without its Secrets Manager permission", p.r.name, p.s.name)
			}
			if res["no-kms|"+id+"|kms"] == "Allowed" || readable("no-kms|"+id) {
				t.Errorf("%s reads %s without its KMS permission", p.r.name, p.s.name)
			}
			continue
		}
		// The key policy alone keeps a service to its own secrets: a
		// teammate's secret on the same key does not decrypt for it.
		if p.s.key.arn != "" && p.s.tags[config.TagTeam] == p.r.tags[config.TagTeam] &&
			p.s.tags[config.TagEnvironment] == p.r.tags[config.TagEnvironment] && res["read|"+id+"|kms"] == "Allowed" {
			t.Errorf("%s may decrypt %s of another service on its team key", p.r.name, p.s.name)
		}
	}
	if want := len(expectedSecrets(s.cfg, "dev")) + len(expectedSecrets(s.cfg, "staging")) + len(expectedSecrets(s.cfg, "production")); len(w.secrets) != want {
		t.Errorf("simulated %d secrets, want %d", len(w.secrets), want)
	}
	// Every secret but the database masters has exactly one reader.
	masters := 0
	for _, sec := range w.secrets {
		if sec.tags[config.TagService] == config.MasterOwner {
			masters++
		}
	}
	if owners != len(w.secrets)-masters {
		t.Errorf("%d owning pairs, want %d", owners, len(w.secrets)-masters)
	}
	t.Logf("simulated %d requests over %d roles x %d secrets", len(sims), len(w.services()), len(w.secrets))
}

func TestBreakGlassSimulated(t *testing.T) {
	s := sampleSynth(t)
	w := buildWorld(t, s)
	bg := w.breakGlss
	assume := func(id, user string, ctx map[string]any) sim {
		return w.sim(id, call{principal: w.cfg.UserARN(user), action: "sts:AssumeRole", resource: bg.arn,
			identity:  map[string]any{"may-assume": policy(allow("Assume", strs("sts:AssumeRole"), "*", nil))},
			resPolicy: bg.trust, context: withTags(map[string]any{"aws:PrincipalArn": w.cfg.UserARN(user), "aws:PrincipalAccount": w.cfg.Account}, "", nil)}).
			withContext(ctx)
	}
	// Through the endpoint of the deploy region unless said otherwise.
	in := func(region string, ctx map[string]any) map[string]any {
		out := map[string]any{"aws:RequestedRegion": region}
		for k, v := range ctx {
			out[k] = v
		}
		return out
	}
	home := w.cfg.Region
	mfa := map[string]any{"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "120"}
	sims := []sim{
		assume("alice with fresh MFA", "alice", in(home, mfa)),
		assume("bob with fresh MFA", "bob", in(home, mfa)),
		assume("alice without MFA", "alice", in(home, nil)),
		assume("alice with MFA false", "alice", in(home, map[string]any{"aws:MultiFactorAuthPresent": "false"})),
		assume("alice with stale MFA", "alice", in(home, map[string]any{"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "3600"})),
		assume("mallory with fresh MFA", "mallory", in(home, mfa)),
		// STS records AssumeRole in the endpoint's region, where only an
		// alert region has a rule to see it.
		assume("alice through the global endpoint (us-east-1, an alert region)", "alice", in("us-east-1", mfa)),
		assume("alice through a region without an alert rule", "alice", in("ap-southeast-2", mfa)),
	}
	for _, sec := range w.secrets {
		sims = append(sims, w.readSecret("with-mfa|"+sec.name, bg, sec, bg.policies, in(home, map[string]any{"aws:MultiFactorAuthPresent": "true"}))...)
		sims = append(sims, w.readSecret("without-mfa|"+sec.name, bg, sec, bg.policies, in(home, map[string]any{"aws:MultiFactorAuthPresent": "false"}))...)
	}
	sec := w.secrets[0]
	sims = append(sims, w.sim("break-glass writes", call{principal: bg.arn, action: "secretsmanager:PutSecretValue", resource: sec.arn,
		identity: bg.policies, resPolicy: sec.policy, context: withTags(in(home, w.principalContext(bg)), "aws:ResourceTag/", sec.tags)}.withMFA()))
	// A secret in another region, on the account's default key: no read
	// rule watches there.
	elsewhere := "arn:aws:secretsmanager:ap-southeast-2:" + w.cfg.Account + ":secret:other/app/key-AbCdEf"
	sims = append(sims, w.sim("break-glass reads in a region without a read rule", call{principal: bg.arn, action: "secretsmanager:GetSecretValue",
		resource: elsewhere, identity: bg.policies, context: in("ap-southeast-2", w.principalContext(bg))}.withMFA()))
	res := simulate(t, sims)
	for id, want := range map[string]string{
		"alice with fresh MFA": "Allowed", "bob with fresh MFA": "Allowed",
		"alice without MFA": "ImplicitlyDenied", "alice with MFA false": "ImplicitlyDenied",
		"alice with stale MFA": "ImplicitlyDenied", "mallory with fresh MFA": "ImplicitlyDenied",
		"alice through the global endpoint (us-east-1, an alert region)": "Allowed",
		"alice through a region without an alert rule":                   "ImplicitlyDenied",
		"break-glass writes": "ExplicitlyDenied",
		"break-glass reads in a region without a read rule": "ExplicitlyDenied",
	} {
		if res[id] != want {
			t.Errorf("%s: %s, want %s", id, res[id], want)
		}
	}
	for _, sec := range w.secrets {
		if res["with-mfa|"+sec.name+"|sm"] != "Allowed" || res["with-mfa|"+sec.name+"|kms"] != "Allowed" {
			t.Errorf("break-glass cannot read %s: sm %s, kms %s", sec.name, res["with-mfa|"+sec.name+"|sm"], res["with-mfa|"+sec.name+"|kms"])
		}
		if res["without-mfa|"+sec.name+"|sm"] == "Allowed" {
			t.Errorf("break-glass reads %s without MFA", sec.name)
		}
	}
}

func (s sim) withContext(extra map[string]any) sim {
	req := s.Simulation.(map[string]any)["request"].(map[string]any)
	ctx := req["contextVariables"].(map[string]any)
	for k, v := range extra {
		ctx[k] = v
	}
	return s
}

func (c call) withMFA() call {
	c.context["aws:MultiFactorAuthPresent"] = "true"
	return c
}

func TestTagChangesAndKeyDutiesSimulated(t *testing.T) {
	s := sampleSynth(t)
	w := buildWorld(t, s)
	everything := map[string]any{"admin": policy(allow("Everything", strs("*"), "*", nil))}
	provisioner := &role{name: w.cfg.Provisioner, arn: w.cfg.RoleARN(w.cfg.Provisioner), tags: map[string]string{}}
	admin := &role{name: w.cfg.KeyAdmins[0], arn: w.cfg.RoleARN(w.cfg.KeyAdmins[0]), tags: map[string]string{}}
	hosted := &role{name: config.EnvStack("production") + "-CheckoutOrdersDbRotation-1A2B3C", tags: map[string]string{}}
	hosted.arn = w.cfg.RoleARN(hosted.name)
	var sims []sim
	want := map[string]string{}
	for _, r := range w.services() {
		for _, sec := range w.secrets {
			if sec.tags[config.TagService] != r.tags[config.TagService] || sec.tags[config.TagEnvironment] != r.tags[config.TagEnvironment] {
				continue
			}
			for _, op := range []string{"TagResource", "UntagResource"} {
				for _, key := range config.ProvisionerTags {
					id := fmt.Sprintf("%s %s %s on %s", r.name, op, key, sec.name)
					ctx := withTags(w.principalContext(r), "aws:ResourceTag/", sec.tags)
					ctx["aws:TagKeys"] = []string{key}
					if op == "TagResource" {
						ctx["aws:RequestTag/"+key] = "other"
					}
					// Even with an identity policy that allows everything.
					sims = append(sims, w.sim(id, call{principal: r.arn, action: "secretsmanager:" + op, resource: sec.arn,
						identity: everything, boundary: w.guardrail, resPolicy: sec.policy, context: ctx}))
					want[id] = "ExplicitlyDenied"
				}
			}
			id := r.name + " tags its key"
			sims = append(sims, w.sim(id, call{principal: r.arn, action: "kms:TagResource", resource: sec.key.arn,
				identity: everything, boundary: w.guardrail, resPolicy: sec.key.policy,
				context: withTags(map[string]any{"aws:TagKeys": []string{config.TagTeam}, "aws:PrincipalArn": r.arn}, "", nil)}))
			want[id] = "ExplicitlyDenied"
			id = r.name + " creates an untagged secret"
			sims = append(sims, w.sim(id, call{principal: r.arn, action: "secretsmanager:CreateSecret", resource: sec.arn,
				identity: everything, boundary: w.guardrail, context: w.principalContext(r)}))
			want[id] = "ExplicitlyDenied"
		}
	}
	// Someone with no boundary and an allow-all policy (an operator, a
	// CI role): only the secret's resource policy stands in the way.
	operator := &role{name: "ops-admin", arn: w.cfg.RoleARN("ops-admin"), tags: map[string]string{}}
	for _, sec := range w.secrets {
		for _, key := range config.ProvisionerTags {
			id := "provisioner retags " + key + " of " + sec.name
			ctx := withTags(map[string]any{"aws:PrincipalArn": provisioner.arn, "aws:PrincipalAccount": w.cfg.Account,
				"aws:TagKeys": []string{key}, "aws:RequestTag/" + key: "other"}, "aws:ResourceTag/", sec.tags)
			sims = append(sims, w.sim(id, call{principal: provisioner.arn, action: "secretsmanager:TagResource", resource: sec.arn,
				identity: everything, resPolicy: sec.policy, context: ctx}))
			want[id] = "Allowed"
			for _, op := range []string{"TagResource", "UntagResource"} {
				id := "operator " + op + " " + key + " of " + sec.name
				ctx := withTags(map[string]any{"aws:PrincipalArn": operator.arn, "aws:PrincipalAccount": w.cfg.Account,
					"aws:TagKeys": []string{key}}, "aws:ResourceTag/", sec.tags)
				if op == "TagResource" {
					ctx["aws:RequestTag/"+key] = string(config.RotatorLambda)
				}
				sims = append(sims, w.sim(id, call{principal: operator.arn, action: "secretsmanager:" + op, resource: sec.arn,
					identity: everything, resPolicy: sec.policy, context: ctx}))
				want[id] = "ExplicitlyDenied"
			}
		}
		if sec.tags[config.TagRotation] == "" {
			t.Errorf("%s has no %s tag", sec.name, config.TagRotation)
		}
		kmsCtx := func(r *role) map[string]any {
			return map[string]any{"aws:PrincipalArn": r.arn, "kms:ViaService": "secretsmanager." + w.cfg.Region + ".amazonaws.com",
				"kms:CallerAccount": w.cfg.Account, "kms:EncryptionContext:SecretARN": sec.arn}
		}
		for _, c := range []struct {
			who  *role
			want string
		}{{admin, "ExplicitlyDenied"}, {provisioner, "ImplicitlyDenied"}} {
			id := c.who.name + " decrypts " + sec.name
			sims = append(sims, w.sim(id, call{principal: c.who.arn, action: "kms:Decrypt", resource: sec.key.arn,
				identity: everything, resPolicy: sec.key.policy, context: kmsCtx(c.who)}))
			want[id] = c.want
		}
		for _, who := range []*role{admin, provisioner} {
			id := who.name + " grants the use of the key of " + sec.name
			sims = append(sims, w.sim(id, call{principal: who.arn, action: "kms:CreateGrant", resource: sec.key.arn,
				identity: everything, resPolicy: sec.key.policy, context: map[string]any{"aws:PrincipalArn": who.arn}}))
			want[id] = "ImplicitlyDenied"
		}
		id := "administrator schedules deletion of the key of " + sec.name
		sims = append(sims, w.sim(id, call{principal: admin.arn, action: "kms:ScheduleKeyDeletion", resource: sec.key.arn,
			identity: everything, resPolicy: sec.key.policy, context: map[string]any{"aws:PrincipalArn": admin.arn}}))
		want[id] = "Allowed"
		if sec.tags[config.TagEnvironment] == "production" {
			id = "hosted rotation decrypts " + sec.name
			sims = append(sims, w.sim(id, call{principal: hosted.arn, action: "kms:Decrypt", resource: sec.key.arn,
				identity: everything, resPolicy: sec.key.policy, context: kmsCtx(hosted)}))
			want[id] = "Allowed"
		}
	}
	expect(t, sims, want)
}

// The key policy grants services Decrypt by role, not only by tags: a
// principal that is not the service's role but carries its tags (a
// tagged human role, an SSO session whose attributes become tags) and
// an identity policy that allows everything decrypts none of its
// secrets or parameters; the service's own role still does.
func TestKeyTrustsServiceRolesNotTagsSimulated(t *testing.T) {
	s := sampleSynth(t)
	w := buildWorld(t, s)
	everything := map[string]any{"admin": policy(allow("Everything", strs("*"), "*", nil))}
	var sims []sim
	want := map[string]string{}
	for _, r := range w.services() {
		impostors := []*role{
			{name: "ops-" + r.tags[config.TagService], arn: w.cfg.RoleARN("ops-" + r.tags[config.TagService]), tags: r.tags},
			{name: "AWSReservedSSO_Admin_0123456789abcdef", arn: w.cfg.RoleARN("aws-reserved/sso.amazonaws.com/" + w.cfg.Region + "/AWSReservedSSO_Admin_0123456789abcdef"), tags: r.tags},
			// Same name under another path: a different ARN.
			{name: r.name, arn: w.cfg.RoleARN("other/" + r.name), tags: r.tags},
		}
		for _, sec := range w.secrets {
			if sec.tags[config.TagService] != r.tags[config.TagService] || sec.tags[config.TagEnvironment] != r.tags[config.TagEnvironment] {
				continue
			}
			id := "service " + r.name + "|" + sec.name
			sims = append(sims, w.readSecret(id, r, sec, r.policies, nil)...)
			want[id+"|sm"], want[id+"|kms"] = "Allowed", "Allowed"
			param := w.cfg.ARN("ssm", w.cfg.Region, "parameter/"+sec.tags[config.TagEnvironment]+"/"+sec.tags[config.TagService]+"/some-config")
			ssmDecrypt := func(id string, who *role, identity map[string]any, boundary any) {
				ctx := withTags(w.principalContext(who), "", map[string]string{
					"kms:ViaService": "ssm." + w.cfg.Region + ".amazonaws.com", "kms:CallerAccount": w.cfg.Account,
					"kms:EncryptionContext:PARAMETER_ARN": param,
				})
				sims = append(sims, w.sim(id, call{principal: who.arn, action: "kms:Decrypt", resource: sec.key.arn, identity: identity,
					boundary: boundary, resPolicy: sec.key.policy, context: withTags(ctx, "aws:ResourceTag/", sec.key.tags)}))
			}
			id = "service " + r.name + " parameter|" + sec.name
			ssmDecrypt(id, r, r.policies, w.guardrail)
			want[id] = "Allowed"
			for _, imp := range impostors {
				id := "impostor " + imp.arn + "|" + sec.name
				sims = append(sims, w.readSecret(id, imp, sec, everything, nil)...)
				want[id+"|kms"] = "ImplicitlyDenied"
				id = "impostor " + imp.arn + " parameter|" + sec.name
				ssmDecrypt(id, imp, everything, nil)
				want[id] = "ImplicitlyDenied"
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no service owns a secret")
	}
	expect(t, sims, want)
}

// The rotation functions' key statement is exact for its environment:
// with environments dev and dev-eu, dev-eu's rotator and hosted rotation
// roles (secretgate-dev-eu-…, which secretgate-dev-* would match) do not
// use dev's keys, and each environment's own rotation roles still do.
func TestRotationRolesOfAPrefixedEnvironmentSimulated(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "environments: [dev, staging, production]", "environments: [dev, dev-eu]", 1)
	text = strings.Replace(text, "environments: [staging, production]", "environments: [dev-eu]", 1)
	cfg, err := config.Parse("prefixed.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	s, err := synthesise(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var deps []string
	for _, d := range *s.stacks.Envs["dev-eu"].Dependencies() {
		deps = append(deps, *d.StackName())
	}
	if !slices.Contains(deps, config.EnvStack("dev")) {
		t.Errorf("%s depends on %v, want also %s (deployed first, its key policies keep out dev-eu's roles)", config.EnvStack("dev-eu"), deps, config.EnvStack("dev"))
	}
	w := buildWorld(t, s)
	everything := map[string]any{"admin": policy(allow("Everything", strs("*"), "*", nil))}
	rotation := func(env string) []*role {
		var out []*role
		for _, name := range []string{config.RotatorRole(env), config.EnvStack(env) + "-CheckoutOrdersDbRotation-1A2B3C"} {
			out = append(out, &role{name: name, arn: cfg.RoleARN(name)})
		}
		return out
	}
	var sims []sim
	want := map[string]string{}
	envs := map[string]int{}
	for _, sec := range w.secrets {
		env := sec.tags[config.TagEnvironment]
		envs[env]++
		for _, other := range []string{"dev", "dev-eu"} {
			for _, r := range rotation(other) {
				for _, action := range []string{"kms:Decrypt", "kms:GenerateDataKey"} {
					id := fmt.Sprintf("%s %s %s", r.name, action, sec.name)
					sims = append(sims, w.sim(id, call{principal: r.arn, action: action, resource: sec.key.arn, identity: everything, resPolicy: sec.key.policy,
						context: withTags(map[string]any{"aws:PrincipalArn": r.arn, "aws:PrincipalAccount": cfg.Account,
							"kms:ViaService": "secretsmanager." + cfg.Region + ".amazonaws.com", "kms:CallerAccount": cfg.Account,
							"kms:EncryptionContext:SecretARN": sec.arn}, "aws:ResourceTag/", sec.key.tags)}))
					want[id] = "ImplicitlyDenied"
					if other == env {
						want[id] = "Allowed"
					}
				}
			}
		}
	}
	if envs["dev"] == 0 || envs["dev-eu"] == 0 {
		t.Fatalf("secrets by environment: %v", envs)
	}
	expect(t, sims, want)
}
