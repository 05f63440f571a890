package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

func runRules(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return 0, fmt.Errorf("%w: rules needs list, validate or test", errUsage)
	}
	fs := flag.NewFlagSet("rules "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "rule file (`FILE`); default: the built-in packs")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	load := func(path string) (*rules.Config, error) {
		if path == "" {
			return rules.Default()
		}
		return rules.Load(path)
	}

	switch args[0] {
	case "list":
		cfg, err := load(*configPath)
		if err != nil {
			return 0, err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tKEYWORDS\tDESCRIPTION")
		for _, r := range cfg.Rules {
			kw := strings.Join(r.Keywords, ",")
			if kw == "" && r.Path != nil {
				kw = "(path " + r.Path.String() + ")"
			}
			if len(kw) > 40 {
				kw = kw[:37] + "..."
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, kw, r.Description)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "\n%d rules\n", len(cfg.Rules))
		return exitClean, nil

	case "validate":
		if len(pos) == 0 {
			return 0, fmt.Errorf("%w: rules validate needs a FILE", errUsage)
		}
		bad := 0
		for _, p := range pos {
			cfg, err := rules.Load(p)
			if err != nil {
				fmt.Fprintln(stderr, err)
				bad++
				continue
			}
			fmt.Fprintf(stdout, "%s: ok, %d rules\n", p, len(cfg.Rules))
		}
		if bad > 0 {
			return exitError, nil
		}
		return exitClean, nil

	case "test":
		cfg, err := load(*configPath)
		if err != nil {
			return 0, err
		}
		fails, err := scan.CheckExamples(cfg)
		if err != nil {
			return 0, err
		}
		examples := 0
		for _, r := range cfg.Rules {
			examples += len(r.Examples) + len(r.NegativeExamples)
		}
		for _, f := range fails {
			fmt.Fprintln(stderr, f)
		}
		fmt.Fprintf(stdout, "%d rules, %d examples: %d failed\n", len(cfg.Rules), examples, len(fails))
		if len(fails) > 0 {
			return exitFindings, nil
		}
		return exitClean, nil
	}
	return 0, fmt.Errorf("%w: unknown rules command %q (want list, validate or test)", errUsage, args[0])
}
