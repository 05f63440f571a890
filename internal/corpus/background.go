package corpus

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
)

// kind is a family of background files: where they live, how big they are
// and what their text looks like.
type kind int

const (
	kindGo kind = iota
	kindPython
	kindJS
	kindJava
	kindYAML
	kindSQL
	kindLog
	kindDoc
	kindChangelog
	kindEnvExample
	kindData
	kindBlob
	kindCert
	kindHTML
	kindMinJS
	kindNpmLock
	kindYarnLock
	kindGoSum
	numKinds

	kindPlant = numKinds // a file that is only a plant
)

var kindNames = [numKinds]string{
	"go", "python", "js", "java", "yaml", "sql", "log", "doc", "changelog", "env-example",
	"data", "blob", "cert", "html", "minified-js", "package-lock", "yarn-lock", "go-sum",
}

func (k kind) String() string {
	if k == kindPlant {
		return "plant"
	}
	return kindNames[k]
}

// kindSpec gives a kind's share of the files and its size range in bytes.
type kindSpec struct {
	weight   int
	min, max int
	// host: planted secrets may be put in files of this kind.
	host bool
}

var kindSpecs = [numKinds]kindSpec{
	kindGo:         {weight: 240, min: 1 << 10, max: 40 << 10, host: true},
	kindPython:     {weight: 110, min: 1 << 10, max: 30 << 10, host: true},
	kindJS:         {weight: 100, min: 1 << 10, max: 30 << 10, host: true},
	kindJava:       {weight: 90, min: 2 << 10, max: 40 << 10, host: true},
	kindYAML:       {weight: 70, min: 512, max: 8 << 10, host: true},
	kindSQL:        {weight: 25, min: 1 << 10, max: 20 << 10, host: true},
	kindLog:        {weight: 20, min: 8 << 10, max: 200 << 10, host: true},
	kindDoc:        {weight: 80, min: 1 << 10, max: 16 << 10},
	kindChangelog:  {weight: 12, min: 4 << 10, max: 60 << 10},
	kindEnvExample: {weight: 12, min: 200, max: 1 << 10},
	kindData:       {weight: 50, min: 4 << 10, max: 120 << 10},
	kindBlob:       {weight: 30, min: 8 << 10, max: 400 << 10},
	kindCert:       {weight: 8, min: 1 << 10, max: 3 << 10},
	kindHTML:       {weight: 20, min: 1 << 10, max: 12 << 10},
	kindMinJS:      {weight: 25, min: 50 << 10, max: 800 << 10},
	kindNpmLock:    {weight: 10, min: 60 << 10, max: 1200 << 10},
	kindYarnLock:   {weight: 8, min: 40 << 10, max: 600 << 10},
	kindGoSum:      {weight: 20, min: 2 << 10, max: 40 << 10},
}

var totalWeight = func() int {
	n := 0
	for _, s := range kindSpecs {
		n += s.weight
	}
	return n
}()

// gen writes background text from one seeded source, so the same seed gives
// the same bytes.
type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *gen) n(k int) int            { return g.r.IntN(k) }
func (g *gen) chance(p float64) bool  { return g.r.Float64() < p }
func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) kind() kind {
	w := g.r.IntN(totalWeight)
	for k, s := range kindSpecs {
		if w < s.weight {
			return kind(k)
		}
		w -= s.weight
	}
	return kindGo
}

func (g *gen) size(k kind) int {
	s := kindSpecs[k]
	// Skew towards small files: most files in a repository are small.
	f := g.r.Float64()
	return s.min + int(f*f*float64(s.max-s.min))
}

const (
	hexDigits = "0123456789abcdef"
	b64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	minDigits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"
)

func (g *gen) digits(alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < n; {
		u := g.r.Uint64()
		for j := 0; j < 10 && i < n; j++ {
			b.WriteByte(alphabet[int(u%uint64(len(alphabet)))])
			u /= uint64(len(alphabet))
			i++
		}
	}
	return b.String()
}

func (g *gen) hex(n int) string { return g.digits(hexDigits, n) }
func (g *gen) sha() string      { return g.hex(40) }

// b64 returns the standard base64 text of nbytes random bytes, padded.
func (g *gen) b64(nbytes int) string {
	full := (nbytes + 2) / 3 * 4
	pad := (3 - nbytes%3) % 3
	return g.digits(b64Digits, full-pad) + strings.Repeat("=", pad)
}

func (g *gen) uuid() string {
	h := g.hex(32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string("89ab"[g.n(4)]) + h[17:20] + "-" + h[20:32]
}

func (g *gen) version() string {
	return fmt.Sprintf("%d.%d.%d", g.n(5), g.n(30), g.n(20))
}

func (g *gen) date() string {
	return fmt.Sprintf("20%02d-%02d-%02dT%02d:%02d:%02dZ", 18+g.n(8), 1+g.n(12), 1+g.n(28), g.n(24), g.n(60), g.n(60))
}

var words = strings.Fields(`
account order invoice customer payment shipment cart item product catalog price
user session profile address region zone cluster node pod service handler router
request response client server cache store queue worker job task event message
stream batch record entry index table column schema query filter sort page limit
offset cursor token config option setting flag feature metric counter gauge histogram
trace span logger level format parser reader writer buffer chunk block frame packet
header body payload status error retry backoff timeout deadline context channel
group member role policy permission audit report export import upload download
file folder path bucket object blob image thumbnail video audio document template
render view model controller component widget layout theme style color font icon
search result match score rank weight vector embedding tenant org team project
build release deploy artifact package module plugin registry manifest version tag
`)

var pkgNames = strings.Fields(`billing orders catalog inventory shipping auth users notify search
analytics gateway ledger payments reports media storage scheduler metrics audit`)

var libs = strings.Fields(`github.com/google/uuid github.com/stretchr/testify golang.org/x/sync
github.com/spf13/cobra github.com/prometheus/client_golang go.uber.org/zap
github.com/jackc/pgx/v5 google.golang.org/grpc github.com/gorilla/mux
golang.org/x/net github.com/redis/go-redis/v9 github.com/aws/aws-sdk-go-v2
github.com/hashicorp/go-multierror gopkg.in/yaml.v3 github.com/rs/zerolog
github.com/gin-gonic/gin github.com/sirupsen/logrus go.opentelemetry.io/otel`)

var npmPkgs = strings.Fields(`react react-dom lodash axios express webpack babel-loader
@babel/core @babel/runtime typescript eslint prettier jest chalk commander debug
ms semver uuid moment date-fns rxjs tslib core-js regenerator-runtime postcss
autoprefixer tailwindcss vite esbuild rollup @types/node @types/react classnames
prop-types zustand redux immer graphql apollo-client node-fetch dotenv yargs
minimist glob rimraf mkdirp cross-env concurrently nodemon ws socket.io`)

func (g *gen) word() string { return g.pick(words) }

func (g *gen) camel() string {
	a, b := g.word(), g.word()
	return a + strings.ToUpper(b[:1]) + b[1:]
}

func (g *gen) pascal() string {
	c := g.camel()
	return strings.ToUpper(c[:1]) + c[1:]
}

func (g *gen) snake() string { return g.word() + "_" + g.word() }

func (g *gen) sentence() string {
	n := 5 + g.n(10)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.word()
	}
	s := strings.Join(parts, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// Decoys: text that looks like credentials to a careless scanner and is not.
// Every one of them must produce zero findings.

// docDecoys are the placeholders of documentation and READMEs.
var docDecoys = []string{
	"aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
	"aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
	"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"password = ${DB_PASSWORD}",
	`api_key = "<your-api-key>"`,
	"export GITHUB_TOKEN=<your-token>",
	`token: "{{ .Values.apiToken }}"`,
	`curl -H "Authorization: Bearer $API_TOKEN" https://api.example.com/v1/orders`,
	"Authorization: Bearer <token>",
	"client_secret: YOUR_CLIENT_SECRET",
	`"password": "********"`,
	"DATABASE_URL=postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app",
	"SECRET_KEY=<generate-with-openssl-rand-hex-32>",
	`api_key: "${API_KEY}"`,
	"password: {{ vault \"secret/data/db\" \"password\" }}",
}

var goDecoys = []string{
	`	password := os.Getenv("DB_PASSWORD")`,
	`	apiKey := cfg.APIKey`,
	`	req.Header.Set("Authorization", "Bearer "+token)`,
	`	secretName := fmt.Sprintf("%s-credentials", name)`,
	`	token, err := s.tokens.Issue(ctx, userID, 15*time.Minute)`,
	`	const passwordMinLength = 12`,
	`	if apiKey == "" { return errors.New("missing api key") }`,
}

var pyDecoys = []string{
	`    password = os.environ["DB_PASSWORD"]`,
	`    api_key = settings.API_KEY`,
	`    token = request.headers.get("Authorization", "")`,
	`    secret = os.getenv("APP_SECRET", "")`,
	`    headers = {"Authorization": f"Bearer {token}"}`,
}

var jsDecoys = []string{
	`  const apiKey = process.env.API_KEY;`,
	"  headers: { Authorization: `Bearer ${token}` },",
	`  password: process.env.DB_PASSWORD,`,
	`  const secret = config.get('auth.secret');`,
}

var javaDecoys = []string{
	`        String password = System.getenv("DB_PASSWORD");`,
	`    @Value("${api.key}") private String apiKey;`,
	`        conn.setRequestProperty("Authorization", "Bearer " + token);`,
}

var yamlDecoys = []string{
	"  password: ${DB_PASSWORD}",
	`  apiKey: "{{ .Values.apiKey }}"`,
	"  token: <your-token-here>",
	"  secretKeyRef:\n    name: db-credentials\n    key: password",
	"  aws_access_key_id: AKIAIOSFODNN7EXAMPLE",
}

// write fills b with about size bytes of text of kind k.
func (g *gen) write(b *bytes.Buffer, k kind, size int) {
	switch k {
	case kindGo:
		g.goFile(b, size)
	case kindPython:
		g.pyFile(b, size)
	case kindJS:
		g.jsFile(b, size)
	case kindJava:
		g.javaFile(b, size)
	case kindYAML:
		g.yamlFile(b, size)
	case kindSQL:
		g.sqlFile(b, size)
	case kindLog:
		g.logFile(b, size)
	case kindDoc:
		g.docFile(b, size)
	case kindChangelog:
		g.changelog(b, size)
	case kindEnvExample:
		g.envExample(b, size)
	case kindData:
		g.dataFile(b, size)
	case kindBlob:
		g.blobFile(b, size)
	case kindCert:
		g.certFile(b)
	case kindHTML:
		g.htmlFile(b, size)
	case kindMinJS:
		g.minJS(b, size)
	case kindNpmLock:
		g.npmLock(b, size)
	case kindYarnLock:
		g.yarnLock(b, size)
	case kindGoSum:
		g.goSum(b, size)
	}
}

// goLines writes function bodies in Go; used for new files and for edits.
func (g *gen) goFunc(b *bytes.Buffer) {
	recv, name, arg := g.pascal(), g.pascal(), g.camel()
	fmt.Fprintf(b, "\n// %s %s\nfunc (s *%s) %s(ctx context.Context, %s string) (*%s, error) {\n", name, g.sentence(), recv, name, arg, g.pascal())
	for i, n := 0, 3+g.n(12); i < n; i++ {
		switch g.n(11) {
		case 0:
			fmt.Fprintf(b, "\tif err := s.%s(ctx, %s); err != nil {\n\t\treturn nil, fmt.Errorf(\"%s %s: %%w\", err)\n\t}\n", g.camel(), arg, g.word(), g.word())
		case 1:
			fmt.Fprintf(b, "\t%s := uuid.MustParse(%q)\n", g.camel(), g.uuid())
		case 2:
			fmt.Fprintf(b, "\t// See commit %s for why %s.\n", g.sha(), g.sentence())
		case 3:
			fmt.Fprintf(b, "\tfor _, %s := range s.%s {\n\t\t%s.%s(%d)\n\t}\n", g.word(), g.camel(), g.word(), g.pascal(), g.n(1000))
		case 4:
			fmt.Fprintf(b, "\ts.log.Info(%q, %q, %s)\n", g.sentence(), g.snake(), arg)
		case 5:
			fmt.Fprintf(b, "\t%s := &%s{%s: %s, %s: %d}\n", g.camel(), g.pascal(), g.pascal(), arg, g.pascal(), g.n(1<<16))
		case 6:
			fmt.Fprintf(b, "\tconst %sChecksum = %q\n", g.camel(), g.hex(64))
		case 7:
			fmt.Fprintf(b, "\tswitch %s {\n\tcase %q:\n\t\treturn nil, ErrNot%s\n\t}\n", arg, g.word(), g.pascal())
		case 8:
			b.WriteString(g.pick(goDecoys))
			b.WriteByte('\n')
		default:
			fmt.Fprintf(b, "\t%s, err := s.%s.%s(ctx, %s)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n", g.camel(), g.camel(), g.pascal(), arg)
		}
	}
	fmt.Fprintf(b, "\treturn &%s{}, nil\n}\n", g.pascal())
}

func (g *gen) goFile(b *bytes.Buffer, size int) {
	pkg := g.pick(pkgNames)
	fmt.Fprintf(b, "// Package %s %s\npackage %s\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"fmt\"\n\t\"os\"\n\t\"time\"\n\n", pkg, g.sentence(), pkg)
	for i, n := 0, 1+g.n(4); i < n; i++ {
		fmt.Fprintf(b, "\t%q\n", g.pick(libs))
	}
	b.WriteString(")\n")
	for b.Len() < size {
		if g.chance(0.15) {
			fmt.Fprintf(b, "\n// %s is %s\ntype %s struct {\n", g.pascal(), g.sentence(), g.pascal())
			for i, n := 0, 2+g.n(6); i < n; i++ {
				fmt.Fprintf(b, "\t%s %s `json:\"%s\"`\n", g.pascal(), g.pick([]string{"string", "int64", "time.Time", "[]byte", "bool", "*Client"}), g.snake())
			}
			b.WriteString("}\n")
		}
		g.goFunc(b)
	}
}

func (g *gen) pyFunc(b *bytes.Buffer) {
	fmt.Fprintf(b, "\n\ndef %s(%s, %s=None):\n    \"\"\"%s\"\"\"\n", g.snake(), g.word(), g.snake(), g.sentence())
	for i, n := 0, 3+g.n(10); i < n; i++ {
		switch g.n(8) {
		case 0:
			fmt.Fprintf(b, "    %s = %s.get(%q, %d)\n", g.snake(), g.word(), g.snake(), g.n(100))
		case 1:
			fmt.Fprintf(b, "    %s_id = uuid.UUID(%q)\n", g.word(), g.uuid())
		case 2:
			fmt.Fprintf(b, "    if not %s:\n        raise ValueError(%q)\n", g.word(), g.sentence())
		case 3:
			fmt.Fprintf(b, "    log.debug(\"%s %%s\", %s)\n", g.sentence(), g.word())
		case 4:
			fmt.Fprintf(b, "    for %s in %s.%s():\n        yield %s\n", g.word(), g.word(), g.snake(), g.word())
		case 5:
			b.WriteString(g.pick(pyDecoys))
			b.WriteByte('\n')
		case 6:
			fmt.Fprintf(b, "    # fixed upstream in %s\n", g.sha())
		default:
			fmt.Fprintf(b, "    %s = self.%s(%s, timeout=%d)\n", g.snake(), g.snake(), g.word(), 1+g.n(60))
		}
	}
	fmt.Fprintf(b, "    return %s\n", g.word())
}

func (g *gen) pyFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "\"\"\"%s\"\"\"\nimport logging\nimport os\nimport uuid\n\nfrom %s import %s\n\nlog = logging.getLogger(__name__)\n", g.sentence(), g.pick(pkgNames), g.snake())
	for b.Len() < size {
		g.pyFunc(b)
	}
}

func (g *gen) jsFunc(b *bytes.Buffer) {
	fmt.Fprintf(b, "\nexport async function %s(%s, options = {}) {\n", g.camel(), g.word())
	for i, n := 0, 3+g.n(10); i < n; i++ {
		switch g.n(7) {
		case 0:
			fmt.Fprintf(b, "  const %s = await fetch(`/api/v1/%s/${%s}`);\n", g.camel(), g.word(), g.word())
		case 1:
			fmt.Fprintf(b, "  const %s = '%s';\n", g.camel(), g.uuid())
		case 2:
			fmt.Fprintf(b, "  if (!%s) {\n    throw new Error('%s');\n  }\n", g.word(), g.sentence())
		case 3:
			b.WriteString(g.pick(jsDecoys))
			b.WriteByte('\n')
		case 4:
			fmt.Fprintf(b, "  // %s\n", g.sentence())
		default:
			fmt.Fprintf(b, "  %s.%s = %s.map((x) => x.%s);\n", g.word(), g.camel(), g.camel(), g.word())
		}
	}
	fmt.Fprintf(b, "  return %s;\n}\n", g.word())
}

func (g *gen) jsFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "import { %s } from '%s';\nimport %s from './%s';\n", g.camel(), g.pick(npmPkgs), g.pascal(), g.word())
	for b.Len() < size {
		g.jsFunc(b)
	}
}

func (g *gen) javaMethod(b *bytes.Buffer) {
	fmt.Fprintf(b, "\n    /** %s */\n    public %s %s(%s %s) throws IOException {\n", g.sentence(), g.pascal(), g.camel(), g.pascal(), g.word())
	for i, n := 0, 3+g.n(8); i < n; i++ {
		switch g.n(6) {
		case 0:
			fmt.Fprintf(b, "        UUID %s = UUID.fromString(\"%s\");\n", g.camel(), g.uuid())
		case 1:
			fmt.Fprintf(b, "        if (%s == null) {\n            throw new IllegalArgumentException(\"%s\");\n        }\n", g.word(), g.sentence())
		case 2:
			b.WriteString(g.pick(javaDecoys))
			b.WriteByte('\n')
		default:
			fmt.Fprintf(b, "        %s %s = this.%s.%s(%s);\n", g.pascal(), g.camel(), g.camel(), g.camel(), g.word())
		}
	}
	fmt.Fprintf(b, "        return new %s();\n    }\n", g.pascal())
}

func (g *gen) javaFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "package com.acme.%s;\n\nimport java.io.IOException;\nimport java.util.UUID;\n\npublic class %s {\n", g.pick(pkgNames), g.pascal())
	for b.Len() < size-4 {
		g.javaMethod(b)
	}
	b.WriteString("}\n")
}

func (g *gen) yamlFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s-%s\n  labels:\n    app: %s\n", g.word(), g.word(), g.word())
	for b.Len() < size {
		switch g.n(6) {
		case 0:
			b.WriteString(g.pick(yamlDecoys))
			b.WriteByte('\n')
		case 1:
			fmt.Fprintf(b, "  image: registry.acme.internal/%s@sha256:%s\n", g.word(), g.hex(64))
		case 2:
			fmt.Fprintf(b, "  revision: %s\n", g.sha())
		case 3:
			fmt.Fprintf(b, "  %s:\n    %s: %d\n    %s: %q\n", g.camel(), g.camel(), g.n(1000), g.camel(), g.word())
		default:
			fmt.Fprintf(b, "  %s: %s\n", g.camel(), g.word())
		}
	}
}

func (g *gen) sqlFile(b *bytes.Buffer, size int) {
	t := g.snake()
	fmt.Fprintf(b, "-- %s\nCREATE TABLE IF NOT EXISTS %s (\n  id UUID PRIMARY KEY,\n  %s TEXT NOT NULL,\n  created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);\n\n", g.sentence(), t, g.word())
	for b.Len() < size {
		fmt.Fprintf(b, "INSERT INTO %s (id, %s, created_at) VALUES ('%s', '%s', '%s');\n", t, g.word(), g.uuid(), g.word(), g.date())
	}
}

func (g *gen) logFile(b *bytes.Buffer, size int) {
	for b.Len() < size {
		fmt.Fprintf(b, "%s %s request_id=%s trace_id=%s span_id=%s method=%s path=/api/v1/%s/%s status=%s duration_ms=%d\n",
			g.date(), g.pick([]string{"INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"}), g.uuid(), g.hex(32), g.hex(16),
			g.pick([]string{"GET", "POST", "PUT", "DELETE"}), g.word(), g.uuid(), g.pick([]string{"200", "200", "201", "204", "400", "404", "500"}), g.n(900))
	}
}

func (g *gen) docFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "# %s\n\n%s %s\n", g.pascal(), g.sentence(), g.sentence())
	for b.Len() < size {
		switch g.n(5) {
		case 0:
			fmt.Fprintf(b, "\n## %s\n\n", g.pascal())
		case 1:
			b.WriteString("\n```sh\n")
			for i, n := 0, 1+g.n(3); i < n; i++ {
				b.WriteString(g.pick(docDecoys))
				b.WriteByte('\n')
			}
			b.WriteString("```\n")
		case 2:
			fmt.Fprintf(b, "Fixed in %s (see `%s`).\n", g.sha()[:7+g.n(34)], g.snake())
		default:
			fmt.Fprintf(b, "%s %s %s\n", g.sentence(), g.sentence(), g.sentence())
		}
	}
}

func (g *gen) changelog(b *bytes.Buffer, size int) {
	b.WriteString("# Changelog\n")
	for b.Len() < size {
		fmt.Fprintf(b, "\n## v%s (%s)\n\n", g.version(), g.date()[:10])
		for i, n := 0, 2+g.n(8); i < n; i++ {
			fmt.Fprintf(b, "- %s ([%s](https://github.com/acme/%s/commit/%s))\n", g.sentence(), g.sha()[:7], g.word(), g.sha())
		}
	}
}

func (g *gen) envExample(b *bytes.Buffer, size int) {
	b.WriteString("# Copy to .env and fill in.\n")
	lines := []string{
		"API_KEY=<your-api-key>", "DB_PASSWORD=", "DB_HOST=localhost", "DB_USER=app",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"GITHUB_TOKEN=<your-token>", "SESSION_SECRET=${SESSION_SECRET}", "LOG_LEVEL=info", "PORT=8080",
	}
	for b.Len() < size {
		b.WriteString(g.pick(lines))
		b.WriteByte('\n')
	}
}

func (g *gen) dataFile(b *bytes.Buffer, size int) {
	b.WriteString("[\n")
	for b.Len() < size {
		fmt.Fprintf(b, "  {\"id\": %q, \"commit\": %q, \"parent\": %q, \"name\": \"%s-%s\", \"digest\": \"sha256:%s\", \"created_at\": %q, \"count\": %d},\n",
			g.uuid(), g.sha(), g.sha(), g.word(), g.word(), g.hex(64), g.date(), g.n(100000))
	}
	fmt.Fprintf(b, "  {\"id\": %q}\n]\n", g.uuid())
}

func (g *gen) blobFile(b *bytes.Buffer, size int) {
	n := size * 3 / 4
	if g.chance(0.5) {
		// One long JSON line, as in fixtures and API captures.
		fmt.Fprintf(b, "{\"name\": \"%s.png\", \"content_type\": \"image/png\", \"sha1\": %q, \"data\": \"%s\"}\n", g.word(), g.sha(), g.b64(n))
		return
	}
	// Wrapped at 76 columns, as base64(1) and MIME write it.
	s := g.b64(n)
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
}

func (g *gen) pem(b *bytes.Buffer, label string, n int) {
	fmt.Fprintf(b, "-----BEGIN %s-----\n", label)
	s := g.b64(n)
	for len(s) > 64 {
		b.WriteString(s[:64])
		b.WriteByte('\n')
		s = s[64:]
	}
	fmt.Fprintf(b, "%s\n-----END %s-----\n", s, label)
}

func (g *gen) certFile(b *bytes.Buffer) {
	// Certificates and public keys are public: decoys for key rules.
	g.pem(b, "CERTIFICATE", 900+g.n(600))
	if g.chance(0.5) {
		g.pem(b, "PUBLIC KEY", 294)
	}
	fmt.Fprintf(b, "# authorized key\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ%s %s@%s\n", g.digits(b64Digits, 350), g.word(), g.word())
}

func (g *gen) htmlFile(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "<!doctype html>\n<html>\n<head>\n<title>%s</title>\n", g.pascal())
	for b.Len() < size {
		switch g.n(3) {
		case 0:
			p := g.pick(npmPkgs)
			fmt.Fprintf(b, "<script src=\"https://cdn.jsdelivr.net/npm/%s@%s/dist/%s.min.js\" integrity=\"sha384-%s\" crossorigin=\"anonymous\"></script>\n", p, g.version(), g.word(), g.b64(48))
		case 1:
			fmt.Fprintf(b, "<link rel=\"stylesheet\" href=\"/assets/%s-%s.css\" integrity=\"sha256-%s\">\n", g.word(), g.hex(8), g.b64(32))
		default:
			fmt.Fprintf(b, "<p class=\"%s\">%s</p>\n", g.word(), g.sentence())
		}
	}
	b.WriteString("</head>\n</html>\n")
}

func (g *gen) minJS(b *bytes.Buffer, size int) {
	// A few very long lines, like a bundler's output.
	line := 0
	for b.Len() < size {
		switch g.n(9) {
		case 0:
			fmt.Fprintf(b, "\"data:image/png;base64,%s\",", g.b64(200+g.n(3000)))
		case 1:
			fmt.Fprintf(b, "%s:\"%s\",", g.digits(minDigits, 1+g.n(2)), g.hex(8+g.n(33)))
		case 2:
			fmt.Fprintf(b, "e.exports=\"%s\";", g.uuid())
		case 3:
			fmt.Fprintf(b, "function %s(%s,%s){return %s.%s(%s)||\"%s\"}", g.digits(minDigits, 2), g.digits(minDigits, 1), g.digits(minDigits, 1), g.digits(minDigits, 1), g.camel(), g.digits(minDigits, 1), g.word())
		case 4:
			fmt.Fprintf(b, "var %s=n(%d),%s=r(%s);", g.digits(minDigits, 2), g.n(9999), g.digits(minDigits, 1), g.digits(minDigits, 2))
		case 5:
			fmt.Fprintf(b, "this.%s=\"%s\";", g.camel(), g.digits(minDigits, 10+g.n(30)))
		default:
			fmt.Fprintf(b, "if(%s.%s!==void 0){%s[%d]=%s.%s}", g.digits(minDigits, 1), g.camel(), g.digits(minDigits, 1), g.n(512), g.digits(minDigits, 1), g.word())
		}
		line++
		if g.chance(0.00005) {
			b.WriteByte('\n')
		}
	}
	b.WriteString("\n//# sourceMappingURL=app.min.js.map\n")
}

func (g *gen) npmLock(b *bytes.Buffer, size int) {
	fmt.Fprintf(b, "{\n  \"name\": \"%s\",\n  \"version\": \"%s\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n", g.word(), g.version())
	for b.Len() < size {
		p, v := g.pick(npmPkgs), g.version()
		base := p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			base = p[i+1:]
		}
		fmt.Fprintf(b, "    \"node_modules/%s/node_modules/%s\": {\n      \"version\": %q,\n      \"resolved\": \"https://registry.npmjs.org/%s/-/%s-%s.tgz\",\n      \"integrity\": \"sha512-%s\",\n      \"dev\": true,\n      \"dependencies\": {\n        %q: \"^%s\"\n      }\n    },\n",
			g.pick(npmPkgs), p, v, p, base, v, g.b64(64), g.pick(npmPkgs), g.version())
	}
	b.WriteString("    \"\": {}\n  }\n}\n")
}

func (g *gen) yarnLock(b *bytes.Buffer, size int) {
	b.WriteString("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n")
	for b.Len() < size {
		p, v := g.pick(npmPkgs), g.version()
		base := p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			base = p[i+1:]
		}
		fmt.Fprintf(b, "\"%s@^%s\":\n  version \"%s\"\n  resolved \"https://registry.yarnpkg.com/%s/-/%s-%s.tgz#%s\"\n  integrity sha512-%s\n  dependencies:\n    %s \"^%s\"\n\n",
			p, v, v, p, base, v, g.sha(), g.b64(64), g.pick(npmPkgs), g.version())
	}
}

func (g *gen) goSum(b *bytes.Buffer, size int) {
	for b.Len() < size {
		l, v := g.pick(libs), g.version()
		fmt.Fprintf(b, "%s v%s h1:%s\n%s v%s/go.mod h1:%s\n", l, v, g.b64(32), l, v, g.b64(32))
	}
}

// lineEdit returns a few lines of kind k, for history commits that edit a file.
func (g *gen) lineEdit(k kind) []byte {
	var b bytes.Buffer
	switch k {
	case kindGo:
		g.goFunc(&b)
	case kindPython:
		g.pyFunc(&b)
	case kindJS:
		g.jsFunc(&b)
	case kindJava:
		g.javaMethod(&b)
	case kindSQL, kindLog, kindYAML, kindDoc, kindChangelog, kindGoSum:
		g.write(&b, k, 200+g.n(2000))
	default:
		fmt.Fprintf(&b, "# %s\n", g.sentence())
	}
	return b.Bytes()
}
