// Package gen writes the CloudTrail of a made-up organisation, for tests
// and scale: services × environments (one account each), their secrets,
// roles and readers, daily rotations with some failures, people through
// SSO with and without MFA, break-glass sessions, denied reads, deletions
// and key deletions. The files are laid out and named as an organisation
// trail delivers them to S3 (AWSLogs/<org-id>/<account>/CloudTrail/<region>/
// YYYY/MM/DD/…json.gz, by delivery time), and the same Config always
// writes the same bytes.
package gen

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Config says what to generate.
type Config struct {
	Seed   int64
	Days   int       // days of activity (default 14)
	Events int       // about how many records in all (default 100,000)
	Start  time.Time // first day, UTC midnight (default 2026-01-05)
	Region string    // default us-east-1
	// Inventory, when set, is a file to write the secrets to as
	// `aws secretsmanager list-secrets` prints them.
	Inventory string
}

// Stats say what was written.
type Stats struct {
	Files   int
	Records int
}

// OrgID is the organisation the trail belongs to.
const OrgID = "o-exampleorg1"

// Environments and their accounts.
var Environments = []struct{ Name, Account string }{
	{"dev", "210000000001"},
	{"staging", "210000000002"},
	{"prod", "210000000003"},
}

// Services of the organisation.
var Services = []string{"payments", "search", "auth", "orders"}

// secret is one secret in the generated organisation.
type secret struct {
	name, arn   string // arn has the 6-character suffix
	service     string
	env, acct   string
	keyARN      string
	rotates     bool
	rotateRole  string // the rotation Lambda's role ARN
	readerRole  string // the owning service's role ARN in its environment
	lastRotated time.Time
}

type person struct {
	email    string
	admin    bool
	mfaUsual bool // usually signs in with MFA
}

type org struct {
	region  string
	secrets []*secret
	keys    map[string]string // account → key ARN
	people  []person
	ssoHex  string
}

type generator struct {
	cfg     Config
	rng     *rand.Rand
	org     org
	out     string
	buckets map[bucketKey][]*Record
	stats   Stats
	zw      *gzip.Writer // reused: a new one costs a megabyte
	bw      *bufio.Writer
}

type bucketKey struct {
	account string
	window  int64 // delivery window end, Unix seconds
}

// Write generates cfg's organisation's CloudTrail into dir, and its
// secrets inventory to cfg.Inventory when set.
func Write(dir string, cfg Config) (Stats, error) {
	if cfg.Days <= 0 {
		cfg.Days = 14
	}
	if cfg.Events <= 0 {
		cfg.Events = 100000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	cfg.Start = cfg.Start.UTC().Truncate(24 * time.Hour)
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if dir == "" {
		return Stats{}, errors.New("gen: no output folder")
	}
	g := &generator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ec6e7a7e)),
		out:     dir,
		buckets: map[bucketKey][]*Record{},
	}
	g.build()
	perDay := cfg.Events / cfg.Days
	for d := range cfg.Days {
		day := cfg.Start.AddDate(0, 0, d)
		if err := g.day(day, perDay); err != nil {
			return g.stats, err
		}
	}
	if err := g.flush(time.Time{}); err != nil {
		return g.stats, err
	}
	if cfg.Inventory == "" {
		return g.stats, nil
	}
	return g.stats, g.inventory(cfg.Inventory)
}

func (g *generator) build() {
	o := &g.org
	o.region = g.cfg.Region
	o.keys = map[string]string{}
	o.ssoHex = g.hex(16)
	for _, env := range Environments {
		o.keys[env.Account] = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", o.region, env.Account, g.uuid())
	}
	kinds := []struct {
		name    string
		rotates bool
	}{{"db-credentials", true}, {"api-key", true}, {"signing-key", false}}
	for _, svc := range Services {
		for _, env := range Environments {
			for _, k := range kinds {
				name := svc + "/" + env.Name + "/" + k.name
				s := &secret{
					name:       name,
					arn:        fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", o.region, env.Account, name, g.suffix()),
					service:    svc,
					env:        env.Name,
					acct:       env.Account,
					keyARN:     o.keys[env.Account],
					rotates:    k.rotates,
					rotateRole: fmt.Sprintf("arn:aws:iam::%s:role/%s-%s-rotation", env.Account, svc, env.Name),
					readerRole: fmt.Sprintf("arn:aws:iam::%s:role/%s-%s-app", env.Account, svc, env.Name),
				}
				o.secrets = append(o.secrets, s)
			}
		}
	}
	o.people = []person{
		{"alice@example.com", true, true},
		{"bob@example.com", false, true},
		{"carol@example.com", false, false},
		{"dave@example.com", true, true},
		{"erin@example.com", false, true},
	}
}

// day writes one day: rotations, people, the unusual events, and reads up
// to the day's budget.
func (g *generator) day(day time.Time, budget int) error {
	var recs []*Record
	add := func(r ...*Record) { recs = append(recs, r...) }
	at := func() time.Time {
		return day.Add(time.Duration(g.rng.Int64N(int64(24*time.Hour/time.Second))) * time.Second)
	}

	// Rotations: every rotating secret once a day, about 3% fail.
	for _, s := range g.org.secrets {
		if s.rotates {
			add(g.rotation(s, at())...)
		}
	}
	// People: a few reads a day each, through SSO.
	for _, p := range g.org.people {
		for range 1 + g.rng.IntN(4) {
			s := g.pick()
			add(g.humanRead(p, s, at())...)
		}
	}
	// Denied reads: another service's role reaching for a secret.
	for range 2 + g.rng.IntN(4) {
		s := g.pick()
		other := g.org.secrets[g.rng.IntN(len(g.org.secrets))]
		if other.service == s.service {
			continue
		}
		add(g.read(other.readerRole, g.session(), s, at(), "arn", "AccessDenied"))
	}
	// Break-glass: about twice a week.
	if g.rng.IntN(7) < 2 {
		add(g.breakGlass(at())...)
	}
	// Deletions and key deletions, now and then; metadata calls and key checks.
	if g.rng.IntN(5) == 0 {
		add(g.deletion(g.pick(), at())...)
	}
	if g.rng.IntN(10) == 0 {
		add(g.scheduleKeyDeletion(at()))
	}
	for range 10 {
		add(g.describe(g.pick(), at()))
	}
	for range 5 {
		add(g.keyCheck(g.pick(), at()))
	}
	for range 20 {
		add(g.parameterRead(at()))
	}
	// Reads fill the rest: mostly the owning role, some cross-environment.
	for len(recs) < budget {
		s := g.pick()
		role := s.readerRole
		form := g.form()
		if g.rng.IntN(50) == 0 && s.env == "prod" {
			// a staging reader of a prod secret: another account, so by full ARN
			role = fmt.Sprintf("arn:aws:iam::%s:role/%s-staging-app", account("staging"), s.service)
			form = "arn"
		}
		t := at()
		add(g.read(role, g.session(), s, t, form, ""))
		add(g.decrypt(role, g.session(), s, t.Add(time.Duration(g.rng.IntN(900))*time.Millisecond)))
	}
	for _, r := range recs {
		g.deliver(r)
	}
	return g.flush(day.AddDate(0, 0, 1))
}

func account(env string) string {
	for _, e := range Environments {
		if e.Name == env {
			return e.Account
		}
	}
	return ""
}

func (g *generator) pick() *secret { return g.org.secrets[g.rng.IntN(len(g.org.secrets))] }

// form is how a caller names a secret: by name, full ARN or partial ARN.
func (g *generator) form() string {
	switch n := g.rng.IntN(20); {
	case n < 12:
		return "name"
	case n < 17:
		return "arn"
	default:
		return "partial"
	}
}

func (s *secret) id(form string) string {
	switch form {
	case "arn":
		return s.arn
	case "partial":
		return s.arn[:len(s.arn)-7]
	}
	return s.name
}

func (g *generator) session() string {
	if g.rng.IntN(2) == 0 {
		return "i-0" + g.hex(16)
	}
	return g.hex(32) // an ECS task
}

func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *generator) suffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = chars[g.rng.IntN(len(chars))]
	}
	return string(b)
}

func (g *generator) uuid() string {
	h := g.hex(32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// deliver puts a record in the file of its account and 5-minute delivery
// window, 1 to 12 minutes after the event.
func (g *generator) deliver(r *Record) {
	t, _ := time.Parse(time.RFC3339, r.EventTime)
	t = t.Add(time.Minute + time.Duration(g.rng.IntN(11*60))*time.Second)
	w := t.Truncate(5 * time.Minute).Add(5 * time.Minute).Unix()
	k := bucketKey{r.RecipientAccountID, w}
	g.buckets[k] = append(g.buckets[k], r)
}

// flush writes the files delivered before until (all when until is zero).
func (g *generator) flush(until time.Time) error {
	var keys []bucketKey
	for k := range g.buckets {
		if until.IsZero() || k.window <= until.Unix() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b bucketKey) int {
		if a.window != b.window {
			return int(a.window - b.window)
		}
		if a.account < b.account {
			return -1
		}
		if a.account > b.account {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		if err := g.writeFile(k, g.buckets[k]); err != nil {
			return err
		}
		delete(g.buckets, k)
	}
	return nil
}

func (g *generator) writeFile(k bucketKey, recs []*Record) error {
	t := time.Unix(k.window, 0).UTC()
	dir := filepath.Join(g.out, "AWSLogs", OrgID, k.account, "CloudTrail", g.org.region, t.Format("2006"), t.Format("01"), t.Format("02"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.account, g.org.region, t.Format("20060102T1504Z"), g.suffix()+g.suffix()+g.hex(4))
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if g.zw == nil {
		g.zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		g.bw = bufio.NewWriterSize(g.zw, 64<<10)
	} else {
		g.zw.Reset(f)
		g.bw.Reset(g.zw)
	}
	zw, bw := g.zw, g.bw
	enc := json.NewEncoder(bw)
	bw.WriteString(`{"Records":[`)
	for i, r := range recs {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	g.stats.Files++
	g.stats.Records += len(recs)
	return nil
}

// inventory writes the secrets as `aws secretsmanager list-secrets` prints them.
func (g *generator) inventory(file string) error {
	type tag struct{ Key, Value string }
	type entry struct {
		ARN             string
		Name            string
		KmsKeyId        string
		RotationEnabled bool
		RotationRules   *struct{ AutomaticallyAfterDays int } `json:",omitempty"`
		LastRotatedDate string                                `json:",omitempty"`
		Tags            []tag
	}
	var list []entry
	end := g.cfg.Start.AddDate(0, 0, g.cfg.Days)
	for _, s := range g.org.secrets {
		e := entry{ARN: s.arn, Name: s.name, KmsKeyId: s.keyARN, RotationEnabled: s.rotates,
			Tags: []tag{{"service", s.service}, {"environment", s.env}, {"owner", s.service + "-team"}}}
		if s.rotates {
			e.RotationRules = &struct{ AutomaticallyAfterDays int }{1}
			if !s.lastRotated.IsZero() && s.lastRotated.Before(end) {
				e.LastRotatedDate = s.lastRotated.Format(time.RFC3339)
			}
		}
		list = append(list, e)
	}
	b, err := json.MarshalIndent(map[string]any{"SecretList": list}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}
