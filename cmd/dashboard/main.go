// Command dashboard is secretgate's watch: CloudTrail in, evidence out.
//
// Exit codes: 0 done, 1 some input files failed (the rest went in), 2 usage
// or a failure that stopped the command.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	athenasdk "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/term"

	"github.com/secretgate/secretgate/internal/athena"
	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/export"
	"github.com/secretgate/secretgate/internal/inventory"
	"github.com/secretgate/secretgate/internal/store"
)

const (
	exitOK     = 0
	exitFailed = 1
	exitError  = 2
)

const usage = `dashboard: CloudTrail in, evidence out

Usage:
  dashboard ingest [--db FILE] PATH...   read CloudTrail files (.json, .json.gz, AWSLogs folders) into the database;
                                         a record naming several secrets or parameters makes an event for each
  dashboard gen --out DIR [--days N] [--events N] [--seed N] [--start YYYY-MM-DD] [--inventory FILE]
                                         write a generated organisation's CloudTrail in the S3 layout

  dashboard report [--db FILE] [--week YYYY-Www] [--format text|csv|pdf] [--out DIR] [--store DSN]
                 [--engine sqlite|athena] [--region R] [--workgroup W] [--database D] [--output-location S3URL]
                                         the weekly evidence (default: last complete ISO week); --store adds
                                         the gate's blocked and bypassed pushes; --engine athena runs the
                                         reports on the trail in S3 (see athena ddl)
  dashboard inventory import [--db FILE] FILE | --live
                                         the secret inventory: the JSON of aws secretsmanager list-secrets,
                                         or ListSecrets through the SDK
  dashboard inventory import-keys [--db FILE] FILE | --live
                                         the KMS key inventory (run it without FILE for the CLI command
                                         that makes the file), or ListKeys and friends through the SDK
  dashboard serve [--db FILE] [--store DSN] [--addr HOST:PORT] [--users FILE | --auth proxy --proxy-header H
                 --trusted-proxy CIDR] [--tls-cert FILE --tls-key FILE] [--check DIR]
                                         the web dashboard, behind a sign-in: --users is an htpasswd file of
                                         bcrypt hashes; without it a one-time admin password is printed
                                         (on a terminal; else written to dashboard-admin-password beside --db);
                                         --check renders every page into DIR and exits
  dashboard passwd USER                  an htpasswd line for USER (password from the terminal or stdin)
  dashboard athena ddl --bucket NAME [--prefix P] [--accounts A,B] [--regions R,S]
                                         the Athena table for your trail, with partition projection,
                                         and the secretgate_events view the reports read

Exit codes: 0 done, 1 some files failed (the rest went in), 2 usage or error.
`

const defaultDB = "secretgate-dashboard.db"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))))
}

// run is the whole program minus the process; tty says whether stderr is a
// terminal (progress is shown there only).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	switch args[0] {
	case "ingest":
		return ingest(ctx, args[1:], stdout, stderr, tty)
	case "gen":
		return generate(args[1:], stdout, stderr)
	case "report":
		return report(ctx, args[1:], stdout, stderr)
	case "athena":
		return athenaCmd(args[1:], stdout, stderr)
	case "inventory":
		return inventoryCmd(ctx, args[1:], stdout, stderr)
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, tty, nil)
	case "passwd":
		return passwd(args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "dashboard: unknown command %q\n\n%s", args[0], usage)
	return exitError
}

func ingest(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the dashboard's SQLite database")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "dashboard ingest: name at least one file or folder")
		return exitError
	}
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		fmt.Fprintf(stderr, "dashboard ingest: %v\n", err)
		return exitError
	}
	defer db.Close()
	// The process does nothing else, and what ingest allocates dies young:
	// collecting a quarter as often costs about 20 MB and gains 5-10%.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var opt cloudtrail.Options
	if tty {
		opt.Progress = func(s cloudtrail.Stats) {
			fmt.Fprintf(stderr, "\r%d files, %d records, %d events, %.0f records/s ", s.Files+len(s.Failed), s.Records, s.Events, s.PerSecond())
			if s.Indexing {
				fmt.Fprint(stderr, "(building the indexes) ")
			}
		}
	}
	st, err := db.Ingest(ctx, fs.Args(), opt)
	if tty {
		fmt.Fprintln(stderr)
	}
	for _, fe := range st.Failed {
		fmt.Fprintf(stderr, "dashboard ingest: skipped %v\n", fe)
	}
	if err != nil && st.Records == 0 && len(st.Failed) == 0 {
		fmt.Fprintf(stderr, "dashboard ingest: %v\n", err) // nothing read: no summary of nothing
		return exitError
	}
	fmt.Fprintf(stdout, "%d files (%d failed), %d records, %d events, %d new, in %s (%.0f records/s)\n",
		st.Files+len(st.Failed), len(st.Failed), st.Records, st.Events, st.Inserted,
		st.Elapsed.Round(time.Millisecond), st.PerSecond())
	if err != nil {
		fmt.Fprintf(stderr, "dashboard ingest: %v\n", err)
		return exitError
	}
	if len(st.Failed) > 0 {
		return exitFailed
	}
	return exitOK
}

func generate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder to write AWSLogs/… into")
	cfg := gen.Config{}
	fs.IntVar(&cfg.Days, "days", 14, "days of activity")
	fs.IntVar(&cfg.Events, "events", 100000, "about how many records to write")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed: the same seed writes the same files")
	fs.StringVar(&cfg.Inventory, "inventory", "", "also write the secrets, as `aws secretsmanager list-secrets` prints them, to this file")
	start := fs.String("start", "", "first day, YYYY-MM-DD (default: the days before today, UTC)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "dashboard gen: --out DIR is required and takes no arguments")
		return exitError
	}
	if *start != "" {
		t, err := time.Parse(time.DateOnly, *start)
		if err != nil {
			fmt.Fprintf(stderr, "dashboard gen: --start: %v\n", err)
			return exitError
		}
		cfg.Start = t
	} else {
		cfg.Start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -cfg.Days)
	}
	st, err := gen.Write(*out, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dashboard gen: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "%d records in %d files under %s\n", st.Records, st.Files, *out)
	return exitOK
}

// report runs the weekly reports and writes them as text, CSV files or a PDF.
func report(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the database (`FILE`)")
	week := fs.String("week", "", "ISO week (`YYYY-Www`); default: the last complete one")
	format := fs.String("format", "text", "text, csv or pdf")
	out := fs.String("out", ".", "where CSV and PDF files go (`DIR`)")
	storeDSN := fs.String("store", "", "the gate's store (`FILE` or postgres:// URL), for the pushes it blocked")
	engine := fs.String("engine", "sqlite", "sqlite (the --db database) or athena (the trail in S3)")
	var ao athenaFlags
	ao.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	if *format != "text" && *format != "csv" && *format != "pdf" {
		return fail(fmt.Errorf("--format %q: want text, csv or pdf", *format))
	}
	w := compliance.LastWeek(time.Now())
	if *week != "" {
		var err error
		if w, err = compliance.Week(*week); err != nil {
			return fail(err)
		}
	} else {
		y, n := w.From.ISOWeek()
		*week = fmt.Sprintf("%d-W%02d", y, n)
	}
	// A report on a database that is not there would make an empty one
	// and report a week of nothing.
	if _, err := os.Stat(*dbPath); err != nil && *engine == "sqlite" {
		return fail(fmt.Errorf("no database at %s: make it with dashboard ingest --db %s PATH", *dbPath, *dbPath))
	}
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		return fail(err)
	}
	defer db.Close()

	reports := compliance.All
	var src compliance.Source = compliance.SQLite{DB: db.SQL()}
	var ath *athena.Reports
	var missing []string // what the evidence leaves out, said on stderr and in its caveats
	switch *engine {
	case "sqlite":
		// The inventory's controls run where the inventory is: here.
		reports, missing = compliance.Local(ctx, db.SQL())
	case "athena":
		client, err := ao.client(ctx)
		if err != nil {
			return fail(err)
		}
		ath = &athena.Reports{Client: client}
		src = ath
		missing = append(missing, "on Athena, the inventory's control rows are left out: they join the local inventory")
	default:
		return fail(fmt.Errorf("--engine %q: want sqlite or athena", *engine))
	}
	tables, err := compliance.RunAll(ctx, src, reports, w)
	if err != nil {
		return fail(err)
	}
	if *storeDSN != "" {
		st, err := store.Open(ctx, *storeDSN)
		if err != nil {
			return fail(err)
		}
		acts, err := st.Activity(ctx, w.From, w.To)
		st.Close()
		if err != nil {
			return fail(err)
		}
		tables = append(tables, compliance.GateTable(acts, w))
	} else {
		missing = append(missing, "no gate record (--store): the pushes the gate blocked and bypassed are left out")
	}
	for _, m := range missing {
		fmt.Fprintln(stderr, "dashboard:", m)
	}
	if tables, err = compliance.WithCaveats(ctx, src, w, tables, missing); err != nil {
		return fail(err)
	}
	if ath != nil {
		q, b := ath.Scanned()
		fmt.Fprintf(stderr, "dashboard: %d Athena queries scanned %s\n", q, bytesText(b))
	}

	switch *format {
	case "csv":
		paths, err := export.CSV(*out, *week, tables)
		if err != nil {
			return fail(err)
		}
		for _, p := range paths {
			fmt.Fprintln(stdout, p)
		}
	case "pdf":
		p, err := writePDF(*out, *week, w, tables)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, p)
	default:
		fmt.Fprintf(stdout, "secretgate weekly evidence, %s (%s)\n", *week, w)
		for _, t := range tables {
			fmt.Fprintf(stdout, "\n%s (%s)\n", t.Report.Title, count(len(t.Rows), "row"))
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
			for _, row := range t.Rows {
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
			tw.Flush()
		}
	}
	return exitOK
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// athenaFlags say where and how the reports run on Athena.
type athenaFlags struct {
	region, endpoint, workgroup, database, catalog, output string
}

func (a *athenaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.region, "region", "", "the Athena region (default: the AWS configuration's)")
	fs.StringVar(&a.endpoint, "endpoint", "", "an Athena endpoint `URL` other than AWS's (a VPC endpoint, a test server)")
	fs.StringVar(&a.workgroup, "workgroup", "primary", "the Athena workgroup (its bytes-scanned limit applies)")
	fs.StringVar(&a.database, "database", "default", "the Glue database holding "+athena.View)
	fs.StringVar(&a.catalog, "catalog", "", "the data catalog (default: AwsDataCatalog)")
	fs.StringVar(&a.output, "output-location", "", "s3:// `URL` for results, unless the workgroup sets one")
}

func (a *athenaFlags) client(ctx context.Context) (*athena.Client, error) {
	cfg, err := awsConfig(ctx, a.region)
	if err != nil {
		return nil, err
	}
	api := athenasdk.NewFromConfig(cfg, func(o *athenasdk.Options) {
		if a.endpoint != "" {
			o.BaseEndpoint = aws.String(a.endpoint)
		}
	})
	return athena.New(api, athena.Options{WorkGroup: a.workgroup, Database: a.database, Catalog: a.catalog, OutputLocation: a.output}), nil
}

// awsConfig is the SDK's configuration from the usual places (environment,
// shared files, SSO, instance role), in region if one is given.
func awsConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// athenaCmd prints the Athena table definition for a CloudTrail trail.
func athenaCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "ddl" {
		fmt.Fprintln(stderr, "dashboard: athena needs ddl")
		return exitError
	}
	fs := flag.NewFlagSet("athena ddl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bucket := fs.String("bucket", "", "the trail's S3 bucket (`NAME`)")
	prefix := fs.String("prefix", "", "the trail's key prefix, if any")
	accounts := fs.String("accounts", "", "account ids, comma-separated (empty: every query names its account)")
	regions := fs.String("regions", "", "regions, comma-separated (empty: every query names its region)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError
	}
	if *bucket == "" {
		fmt.Fprintln(stderr, "dashboard: athena ddl needs --bucket")
		return exitError
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	fmt.Fprintln(stdout, athena.DDL(*bucket, *prefix, split(*accounts), split(*regions)))
	if *accounts == "" || *regions == "" {
		fmt.Fprintln(stderr, "dashboard: without --accounts and --regions the partitions are injected: queries must name them, and the reports' view cannot")
	}
	fmt.Fprintln(stdout, athena.ViewDDL()+";")
	return exitOK
}

// inventoryCmd imports the secret and key inventories, from files or live.
func inventoryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "import" && args[0] != "import-keys") {
		fmt.Fprintln(stderr, "dashboard: inventory needs import or import-keys")
		return exitError
	}
	keys := args[0] == "import-keys"
	fs := flag.NewFlagSet("inventory "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the database (`FILE`)")
	live := fs.Bool("live", false, "ask AWS through the SDK instead of reading a file")
	region := fs.String("region", "", "the region to list (default: the AWS configuration's)")
	endpoint := fs.String("endpoint", "", "an endpoint `URL` other than AWS's")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError
	}
	if *live == (fs.NArg() == 1) || fs.NArg() > 1 {
		if keys {
			fmt.Fprintln(stderr, "dashboard: inventory import-keys needs one FILE or --live; the file is made with:\n"+inventory.KeysCommand)
		} else {
			fmt.Fprintln(stderr, "dashboard: inventory import needs one FILE (aws secretsmanager list-secrets > FILE) or --live")
		}
		return exitError
	}
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	defer db.Close()
	var n int
	if *live {
		cfg, err := awsConfig(ctx, *region)
		if err != nil {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
		if keys {
			n, err = inventory.LoadKeys(ctx, db.SQL(), kms.NewFromConfig(cfg, func(o *kms.Options) {
				if *endpoint != "" {
					o.BaseEndpoint = aws.String(*endpoint)
				}
			}))
		} else {
			n, err = inventory.Live(ctx, secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
				if *endpoint != "" {
					o.BaseEndpoint = aws.String(*endpoint)
				}
			}), db.SQL())
		}
		if err != nil {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
	} else {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
		defer f.Close()
		if keys {
			n, err = inventory.ImportKeys(ctx, db.SQL(), f)
		} else {
			n, err = inventory.Import(ctx, db.SQL(), f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dashboard: %s: %v\n", fs.Arg(0), err)
			return exitError
		}
	}
	what := "secrets"
	if keys {
		what = "keys"
	}
	fmt.Fprintf(stdout, "%d %s in the inventory\n", n, what)
	return exitOK
}

// writePDF writes the weekly evidence to DIR/secretgate-<week>.pdf,
// through a temporary file so that a failure leaves no half a report.
func writePDF(dir, week string, w compliance.Window, tables []*compliance.Table) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "secretgate-"+week+".pdf")
	f, err := os.CreateTemp(dir, ".secretgate-*.pdf")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := export.PDF(f, export.Document{Week: week, Window: w, Generated: time.Now().UTC(), Tables: tables}); err != nil {
		f.Close()
		return "", fmt.Errorf("PDF: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(f.Name(), path)
}

// count is "1 row", "2 rows".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
