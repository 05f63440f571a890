package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secretgate/secretgate/internal/alert"
	"github.com/secretgate/secretgate/internal/policy"
	"github.com/secretgate/secretgate/internal/store"
)

// serverStore reads --config, else the policy of --git-dir (default: the
// current directory, as in a hook), and opens the store it names.
func serverStore(ctx context.Context, fs *flag.FlagSet, args []string) (*policy.Policy, *store.Store, error) {
	config := fs.String("config", "", "policy file (`FILE`)")
	gitDir := fs.String("git-dir", ".", "repository whose secretgate.toml (or defaults) to use, when --config is not given (`DIR`)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	pol, err := loadPolicy(*config, *gitDir)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, pol.StorePath)
	return pol, st, err
}

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] != "deliver" {
		return 0, fmt.Errorf("%w: alerts needs deliver", errUsage)
	}
	fs := flag.NewFlagSet("alerts deliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	watch := fs.Duration("watch", 0, "keep delivering, looking for due alerts every `INTERVAL` (e.g. 30s); 0: deliver what is due and exit")
	pol, st, err := serverStore(ctx, fs, args[1:])
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sender, closeSender, err := alertSender(ctx, pol)
	if err != nil {
		return 0, err
	}
	defer closeSender()
	for {
		stats, err := alert.Deliver(ctx, st, sender, alert.DeliverOptions{})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "gatekeeper: alerts: %v\n", err)
		}
		if stats.Delivered+stats.Failed > 0 {
			fmt.Fprintf(stdout, "gatekeeper: alerts: %d delivered, %d to retry\n", stats.Delivered, stats.Failed)
		}
		if *watch <= 0 || ctx.Err() != nil {
			if err != nil {
				return exitError, nil
			}
			return exitClean, nil
		}
		select {
		case <-ctx.Done():
			return exitClean, nil
		case <-time.After(*watch):
		}
	}
}

// alertSender is SNS when the policy names a topic, else the alert log.
func alertSender(ctx context.Context, pol *policy.Policy) (alert.Sender, func(), error) {
	if pol.SNSTopic != "" {
		client, err := alert.NewSNSClient(ctx, pol.SNSRegion, pol.SNSEndpoint)
		if err != nil {
			return nil, nil, err
		}
		return alert.NewSNS(client, pol.SNSTopic), func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(pol.AlertLog), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(pol.AlertLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("alert log: %w", err)
	}
	return alert.NewLog(f), func() { f.Close() }, nil
}

func runPushes(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("pushes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 20, "how many recent pushes")
	_, st, err := serverStore(ctx, fs, args)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	pushes, err := st.Pushes(ctx, *n)
	if err != nil {
		return 0, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tREPOSITORY\tPUSHER\tREFS\tVERDICT\tREASON")
	for _, p := range pushes {
		var refs []string
		for _, u := range p.Updates {
			refs = append(refs, strings.TrimPrefix(strings.TrimPrefix(u.Ref, "refs/heads/"), "refs/"))
		}
		reason, _, _ := strings.Cut(p.Reason, "\n") // git errors run over several lines
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.At.Local().Format("2006-01-02 15:04:05"), p.Repo, p.Pusher, strings.Join(refs, ","), p.Verdict, reason)
		fs, err := st.Findings(ctx, p.ID)
		if err != nil {
			return 0, err
		}
		for _, f := range fs {
			fmt.Fprintf(tw, "\t\t  %s %s:%d\t%s\t%s\t\t\n", short8(f.Commit), f.Path, f.Line, f.RuleID, f.Redacted)
		}
	}
	tw.Flush()
	pending, err := st.PendingAlerts(ctx)
	if err == nil && pending > 0 {
		fmt.Fprintf(stdout, "\n%d alerts waiting for delivery (gatekeeper alerts deliver)\n", pending)
	}
	return exitClean, nil
}

func short8(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
