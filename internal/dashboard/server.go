// Package dashboard is the web dashboard: the compliance reports and the
// gate's record as pages a security team reads on Mondays, every number
// a link to the CloudTrail events behind it. Server-rendered (templ, in
// package web), usable without JavaScript, behind a sign-in.
package dashboard

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/secretgate/secretgate/web"
)

// Config is what New needs: the data, and exactly one way of knowing who
// is asking.
type Config struct {
	Data      *Data
	Passwords *Passwords // built-in sign-in
	Proxy     *Proxy     // or an identity-aware proxy in front
	TLS       bool       // served over HTTPS, here or by a proxy in front: adds Strict-Transport-Security
	Log       *slog.Logger
	Now       func() time.Time // for tests; time.Now by default
}

type server struct {
	Config
}

// New is the dashboard's handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Data == nil {
		return nil, errors.New("dashboard: no data")
	}
	if (cfg.Passwords == nil) == (cfg.Proxy == nil) {
		return nil, errors.New("dashboard: exactly one of built-in sign-in and proxy authentication")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &server{cfg}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer, s.headers, middleware.GetHead)
	// Cross-origin POSTs (a form on another site aimed at /logout, say)
	// are refused from the browser's Sec-Fetch-Site and Origin headers;
	// the session cookie is SameSite=Strict besides.
	r.Use(http.NewCrossOriginProtection().Handler)
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles()))
	if s.Passwords != nil {
		r.Get("/login", s.loginForm)
		r.Post("/login", s.login)
	}
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Post("/logout", s.logout)
		r.Get("/", s.page(s.overview))
		r.Get("/access", s.page(s.access))
		r.Get("/rotation", s.page(s.rotation))
		r.Get("/violations", s.page(s.violations))
		r.Get("/gate", s.page(s.gate))
		r.Get("/secret", s.page(s.secret))
		r.Get("/events", s.page(s.events))
		r.Get("/export/evidence.pdf", s.exportPDF)
		r.Get("/export/evidence.zip", s.exportZip)
		r.Get("/export/{report}.csv", s.exportTable)
	})
	return r, nil
}

// headers are the security headers of every response. No script runs on
// any page, so the policy allows none; styles come from our one sheet;
// SVG charts are inline markup, not images.
func (s *server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if s.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func staticFiles() http.Handler {
	files := http.FileServerFS(web.Static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // files only, no listing of them
			return
		}
		// The link carries the sheet's hash: a new sheet is a new URL.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}
