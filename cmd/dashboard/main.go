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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/secretgate/secretgate/internal/athena"
	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/export"
	"github.com/secretgate/secretgate/internal/inventory"
)

const (
	exitOK     = 0
	exitFailed = 1
	exitError  = 2
)

const usage = `dashboard: CloudTrail in, evidence out

Usage:
  dashboard ingest [--db FILE] PATH...   read CloudTrail files (.json, .json.gz, AWSLogs folders) into the database
  dashboard gen --out DIR [--days N] [--events N] [--seed N] [--start YYYY-MM-DD] [--inventory FILE]
                                         write a generated organisation's CloudTrail in the S3 layout

  dashboard report [--db FILE] [--week YYYY-Www] [--format csv|text] [--out DIR]
                                         the weekly evidence (default: last complete ISO week)
  dashboard inventory import [--db FILE] FILE   the JSON of aws secretsmanager list-secrets
  dashboard athena ddl --bucket NAME [--prefix P] [--accounts A,B] [--regions R,S]
                                         the Athena table for your trail, with partition projection

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
	var opt cloudtrail.Options
	if tty {
		opt.Progress = func(s cloudtrail.Stats) {
			fmt.Fprintf(stderr, "\r%d files, %d records, %d events, %.0f records/s ", s.Files+len(s.Failed), s.Records, s.Events, s.PerSecond())
		}
	}
	st, err := db.Ingest(ctx, fs.Args(), opt)
	if tty {
		fmt.Fprintln(stderr)
	}
	for _, fe := range st.Failed {
		fmt.Fprintf(stderr, "dashboard ingest: skipped %v\n", fe)
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

// report runs the weekly reports and writes them as CSV files or text.
func report(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the database (`FILE`)")
	week := fs.String("week", "", "ISO week (`YYYY-Www`); default: the last complete one")
	format := fs.String("format", "text", "csv or text")
	out := fs.String("out", ".", "where CSV files go (`DIR`)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	w := compliance.LastWeek(time.Now())
	if *week != "" {
		var err error
		if w, err = compliance.Week(*week); err != nil {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
	} else {
		y, n := w.From.ISOWeek()
		*week = fmt.Sprintf("%d-W%02d", y, n)
	}
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	defer db.Close()
	reports := compliance.All
	var hasInventory int
	db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'secrets'`).Scan(&hasInventory)
	if hasInventory > 0 {
		reports = append(reports[:len(reports):len(reports)], compliance.Controls)
	} else {
		fmt.Fprintln(stderr, "dashboard: no secret inventory: the Security Hub control rows need `dashboard inventory import`")
	}
	tables, err := compliance.RunAll(ctx, compliance.SQLite{DB: db.SQL()}, reports, w)
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	switch *format {
	case "csv":
		paths, err := export.CSV(*out, *week, tables)
		if err != nil {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
		for _, p := range paths {
			fmt.Fprintln(stdout, p)
		}
	case "text":
		fmt.Fprintf(stdout, "secretgate weekly evidence, %s (%s)\n", *week, w)
		for _, t := range tables {
			fmt.Fprintf(stdout, "\n%s (%d rows)\n", t.Report.Title, len(t.Rows))
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
			for _, row := range t.Rows {
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
			tw.Flush()
		}
	default:
		fmt.Fprintf(stderr, "dashboard: --format %q: want csv or text (PDF is not built yet)\n", *format)
		return exitError
	}
	return exitOK
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
	return exitOK
}

// inventoryCmd imports the secret inventory.
func inventoryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "dashboard: inventory needs import")
		return exitError
	}
	fs := flag.NewFlagSet("inventory import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the database (`FILE`)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "dashboard: inventory import needs one FILE (aws secretsmanager list-secrets > FILE)")
		return exitError
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	defer f.Close()
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	defer db.Close()
	n, err := inventory.Import(ctx, db.SQL(), f)
	if err != nil {
		fmt.Fprintf(stderr, "dashboard: %s: %v\n", fs.Arg(0), err)
		return exitError
	}
	fmt.Fprintf(stdout, "%d secrets in the inventory\n", n)
	return exitOK
}
