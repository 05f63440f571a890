package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/secretgate/secretgate/internal/cloudtrail"
	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/internal/dashboard"
	"github.com/secretgate/secretgate/internal/store"
)

// listFlag gathers a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// warmWeeks is how many of the newest weeks serve computes at start.
const warmWeeks = 8

// serve runs the web dashboard until ctx ends; ready, when set, gets the
// address it listens on.
// A one-time password is printed when stderr is a terminal (tty); else it
// goes to a file only its owner can read, so that no log holds it.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool, ready func(addr string)) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", defaultDB, "the database (`FILE`)")
	storeDSN := fs.String("store", "", "the gate's store (`FILE` or postgres:// URL), for the Gate page")
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	users := fs.String("users", "", "htpasswd `FILE` of bcrypt hashes (htpasswd -B, or dashboard passwd); without it, a one-time password for admin is printed")
	auth := fs.String("auth", "password", "password (built-in sign-in) or proxy (an identity-aware proxy in front names the user)")
	proxyHeader := fs.String("proxy-header", "", "with --auth proxy: the `HEADER` naming the user, such as X-Forwarded-Email")
	var trusted listFlag
	fs.Var(&trusted, "trusted-proxy", "with --auth proxy: the proxy's `CIDR` or address (repeatable); other clients are refused")
	certFile := fs.String("tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	keyFile := fs.String("tls-key", "", "and this key `FILE` (PEM)")
	check := fs.String("check", "", "render every page of a week into `DIR`, report status and time of each, and exit (a health check)")
	week := fs.String("week", "", "with --check: the ISO week (`YYYY-Www`); default: the one the pages show first")
	secure := fs.Bool("secure-cookies", false, "mark session cookies HTTPS-only although the dashboard serves HTTP (TLS ends at a proxy)")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	if (*certFile == "") != (*keyFile == "") {
		return fail(errors.New("--tls-cert and --tls-key go together"))
	}
	// Serving a database that is not there would make an empty one.
	if _, err := os.Stat(*dbPath); err != nil {
		return fail(fmt.Errorf("no database at %s: make it with dashboard ingest --db %s PATH", *dbPath, *dbPath))
	}
	db, err := cloudtrail.Open(ctx, *dbPath)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	// Each connection holds its own page cache (64 MiB): a few are enough
	// for the reports to run side by side.
	db.SQL().SetMaxOpenConns(4)
	var st *store.Store
	if *storeDSN != "" {
		if st, err = store.Open(ctx, *storeDSN); err != nil {
			return fail(err)
		}
		defer st.Close()
	}
	data := dashboard.NewData(db.SQL(), st)
	if *check != "" {
		if err := dashboard.Check(ctx, data, *week, *check, stdout); err != nil {
			return fail(err)
		}
		return exitOK
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := dashboard.Config{Data: data, Log: log, TLS: *certFile != "" || *secure}
	switch *auth {
	case "password":
		if *users != "" {
			p, err := dashboard.LoadPasswords(*users)
			if err != nil {
				return fail(err)
			}
			cfg.Passwords = p
		} else {
			p, pw, err := dashboard.OneTimePassword("admin")
			if err != nil {
				return fail(err)
			}
			cfg.Passwords = p
			if tty {
				fmt.Fprintf(stderr, "dashboard: no --users file: sign in as admin with the password %s (good until the dashboard stops)\n", pw)
			} else {
				file := filepath.Join(filepath.Dir(*dbPath), "dashboard-admin-password")
				if err := writeSecretFile(file, pw+"\n"); err != nil {
					return fail(err)
				}
				defer os.Remove(file) // good until the dashboard stops
				fmt.Fprintf(stderr, "dashboard: no --users file: sign in as admin with the password in %s (good until the dashboard stops)\n", file)
			}
		}
		cfg.Passwords.SecureCookies(cfg.TLS)
	case "proxy":
		p, err := dashboard.ParseProxy(*proxyHeader, trusted)
		if err != nil {
			return fail(err)
		}
		cfg.Proxy = p
		for _, pre := range p.Trusted {
			if pre.Bits() == 0 {
				log.Warn("--trusted-proxy " + pre.String() + " believes the user header from anyone: keep the dashboard unreachable except through the proxy")
			}
		}
	default:
		return fail(fmt.Errorf("--auth %q: want password or proxy", *auth))
	}

	h, err := dashboard.New(cfg)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "dashboard: serving %s on %s://%s\n", *dbPath, scheme, ln.Addr())
	if ready != nil {
		ready(ln.Addr().String())
	}
	// The reports of the newest weeks, computed now, newest first, so that
	// pages answer from memory rather than from queries over the trail.
	go func() {
		weeks, err := cfg.Data.Weeks(ctx)
		if err != nil {
			return
		}
		start := time.Now()
		for i, week := range weeks[:min(len(weeks), warmWeeks)] {
			w, err := compliance.Week(week)
			if err != nil {
				return
			}
			if _, err := cfg.Data.Evidence(ctx, w); err != nil {
				if ctx.Err() == nil {
					log.Warn("computing reports", "week", week, "err", err)
				}
				return
			}
			log.Info("reports ready", "week", week, "weeks", i+1, "took", time.Since(start).Round(time.Millisecond))
		}
	}()
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS {
			errc <- srv.ServeTLS(ln, *certFile, *keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fail(err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	return exitOK
}

// passwd prints an htpasswd line for USER, the password read from the
// terminal (twice) or from stdin's first line.
func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: dashboard passwd USER >>users.htpasswd")
		return exitError
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprint(stderr, "\nagain: ")
		b, err2 := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil || err2 != nil || string(a) != string(b) {
			fmt.Fprintln(stderr, "dashboard: the passwords differ")
			return exitError
		}
		pw = string(a)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "dashboard:", err)
			return exitError
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < 12 {
		fmt.Fprintln(stderr, "dashboard: use a password of 12 characters or more")
		return exitError
	}
	line, err := dashboard.HashPassword(args[0], pw)
	if err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return exitError
	}
	fmt.Fprintln(stdout, line)
	return exitOK
}

// writeSecretFile writes a new file that only its owner can read: one left
// from an earlier run is removed first, as writing over it would keep its
// mode, whatever that is.
func writeSecretFile(name, text string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
