// Package ghtest is a local GitHub for tests: one httptest.Server that
// answers the REST calls a GitHub App makes (installation tokens, check
// runs, commit statuses, compare) in the JSON shapes go-github reads, and
// serves the same repositories over git's smart HTTP protocol, guarded by
// installation tokens the way github.com guards them.
//
// REST is served both at the root (like api.github.com) and under /api/v3
// (like GitHub Enterprise Server); git is served at /{owner}/{repo}.git.
// Everything a client sends is recorded for assertions.
//
// Wiring an App client to it:
//
//	s := ghtest.NewServer(t)
//	s.AddRepo("acme", "app")
//	sha := s.Commit("acme", "app", "main", "first", map[string]string{"a.txt": "…"})
//	itr, _ := ghinstallation.New(http.DefaultTransport, s.AppID, s.Installation("acme"), s.AppKey())
//	itr.BaseURL = s.APIURL() // ghinstallation appends /app/installations/…
//	gh, _ := github.NewClient(github.WithHTTPClient(&http.Client{Transport: itr}),
//		github.WithEnterpriseURLs(s.URL, s.URL)) // go-github appends /api/v3/
//
// git fetches with s.CloneURL("acme", "app", token).
package ghtest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a local GitHub. Create it with NewServer; it is closed when the
// test ends.
type Server struct {
	// URL is the server's root, e.g. http://127.0.0.1:40123. REST is served
	// at URL and at URL+"/api/v3"; repositories at URL+"/{owner}/{repo}.git".
	URL string
	// AppID is the id of the one GitHub App the server knows; JWTs must
	// carry it as their issuer.
	AppID int64

	t       testing.TB
	httpSrv *httptest.Server
	root    string // GIT_PROJECT_ROOT: {root}/{owner}/{repo}.git
	home    string // HOME for git subprocesses
	gitPath string
	key     *rsa.PrivateKey
	keyPEM  []byte
	api     *http.ServeMux

	mu            sync.Mutex
	installations map[string]int64 // account login -> installation id
	repos         map[string]*repo // "owner/name"
	tokens        map[string]*token
	tokenTTL      time.Duration
	nextID        int64
	checkRuns     []*CheckRun
	suites        map[string]int64 // "owner/name@sha" -> check suite id
	statuses      []Status
	requests      []Request
	rate          rateState
}

type repo struct {
	id          int64
	owner, name string
	dir         string
}

type rateState struct {
	limit, remaining int
	reset            time.Time
	// secondary: the next secondaryN REST requests are refused with
	// secondaryStatus and Retry-After.
	secondaryN      int
	secondaryStatus int
	retryAfter      time.Duration
}

// Request is one request the server received, recorded before it was
// answered.
type Request struct {
	Method string
	Path   string // as received, including any /api/v3 prefix
	Query  string
	Header http.Header
	Body   []byte
	Status int // the status code answered
}

// NewServer starts a local GitHub with a freshly generated App key. It
// fails the test if git is not installed.
func NewServer(t testing.TB) *Server {
	t.Helper()
	gitPath, err := lookGit()
	if err != nil {
		t.Skipf("ghtest: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("ghtest: generating the app key: %v", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	s := &Server{
		AppID:         4242,
		t:             t,
		root:          t.TempDir(),
		home:          t.TempDir(),
		gitPath:       gitPath,
		key:           key,
		keyPEM:        keyPEM,
		installations: map[string]int64{},
		repos:         map[string]*repo{},
		tokens:        map[string]*token{},
		tokenTTL:      time.Hour,
		nextID:        1000,
		suites:        map[string]int64{},
		rate:          rateState{limit: 5000, remaining: 5000, reset: time.Now().Add(time.Hour)},
	}
	s.api = http.NewServeMux()
	s.routes()
	s.httpSrv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.httpSrv.URL
	t.Cleanup(s.httpSrv.Close)
	return s
}

// APIURL is the REST base under the GHES-style prefix, URL+"/api/v3". It is
// what ghinstallation's Transport.BaseURL and AppsTransport.BaseURL need
// (they append "/app/installations/…"), and what go-github's
// WithEnterpriseURLs produces from URL.
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// AppKey returns the App's private key as PEM (PKCS#1), as GitHub hands it
// out; give it to ghinstallation.New.
func (s *Server) AppKey() []byte { return slices.Clone(s.keyPEM) }

// Installation returns the id of the App's installation on an account
// (user or organisation), creating it on first use. A token of that
// installation reaches every repository of the account and no other.
func (s *Server) Installation(owner string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installationLocked(owner)
}

func (s *Server) installationLocked(owner string) int64 {
	if id, ok := s.installations[owner]; ok {
		return id
	}
	s.nextID++
	s.installations[owner] = s.nextID
	return s.nextID
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// SetRateLimit sets the primary (core) rate limit: the next remaining REST
// requests are answered, after which every REST request gets GitHub's
// primary rate-limit answer (403, X-RateLimit-Remaining: 0) until reset.
// At reset the budget refills to 5000. go-github remembers the reset time
// and refuses to send requests before it, so tests that expect a retry to
// succeed should pass a reset only a few seconds ahead.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.remaining = max(0, remaining)
	s.rate.reset = reset
}

// SetSecondaryRateLimit makes the next n REST requests fail with GitHub's
// secondary rate-limit answer: status (403 or 429), Retry-After in whole
// seconds, and a documentation_url that go-github maps to
// *github.AbuseRateLimitError. n = 0 turns it off.
func (s *Server) SetSecondaryRateLimit(status int, retryAfter time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.secondaryN = n
	s.rate.secondaryStatus = status
	s.rate.retryAfter = retryAfter
}

var gitPathRE = regexp.MustCompile(`^/[^/]+/[^/]+\.git(/|$)`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The body is read whole, so its length is known: git http-backend
	// behind CGI cannot read a chunked body.
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method,
			Path:   r.URL.Path,
			Query:  r.URL.RawQuery,
			Header: r.Header.Clone(),
			Body:   body,
			Status: rec.status,
		})
		s.mu.Unlock()
	}()

	p := r.URL.Path
	if gitPathRE.MatchString(p) {
		s.serveGit(rec, r)
		return
	}
	if rest, ok := strings.CutPrefix(p, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = rest
		u.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
		r2.URL = &u
		r = r2
	}
	s.serveREST(rec, r)
}

// serveREST adds rate-limit headers, applies the simulated limits and
// routes. Token issuance (JWT endpoints) is neither counted nor limited,
// so a client can always authenticate and then meet the limit.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("GHTEST:%d", time.Now().UnixNano()))

	counted := !strings.HasPrefix(r.URL.Path, "/app/") && !strings.HasSuffix(r.URL.Path, "/installation")
	s.mu.Lock()
	now := time.Now()
	if !now.Before(s.rate.reset) {
		s.rate.remaining = s.rate.limit
		s.rate.reset = now.Add(time.Hour)
	}
	var refuse func()
	switch {
	case !counted:
	case s.rate.secondaryN > 0:
		s.rate.secondaryN--
		status, after := s.rate.secondaryStatus, s.rate.retryAfter
		refuse = func() {
			h.Set("Retry-After", strconv.Itoa(int(after.Round(time.Second)/time.Second)))
			writeJSON(w, status, errorBody{
				Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
			})
		}
	case s.rate.remaining == 0:
		refuse = func() {
			writeJSON(w, http.StatusForbidden, errorBody{
				Message:          "API rate limit exceeded for installation.",
				DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
			})
		}
	default:
		s.rate.remaining--
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.rate.remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.limit-s.rate.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	s.mu.Unlock()
	if refuse != nil {
		refuse()
		return
	}
	s.api.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := s.api
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.createToken)
	m.HandleFunc("GET /app/installations/{id}", s.getInstallation)
	m.HandleFunc("GET /repos/{owner}/{repo}/installation", s.getRepoInstallation)
	m.HandleFunc("GET /repos/{owner}/{repo}", s.repoAuth(s.getRepo))
	m.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.repoAuth(s.createCheckRun))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.repoAuth(s.updateCheckRun))
	m.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}", s.repoAuth(s.getCheckRun))
	m.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}/annotations", s.repoAuth(s.listAnnotations))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.repoAuth(s.listCheckRunsForRef))
	m.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.repoAuth(s.createStatus))
	m.HandleFunc("GET /repos/{owner}/{repo}/compare/{basehead...}", s.repoAuth(s.compare))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
}

// repoAuth requires an installation token (Authorization: token … or
// Bearer …) whose installation is on the repository's account, as GitHub
// does: no or bad credentials get 401, a repository the token cannot see
// gets 404.
func (s *Server) repoAuth(h func(http.ResponseWriter, *http.Request, *repo)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := s.validToken(bearer(r))
		if !ok {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		owner, name := r.PathValue("owner"), r.PathValue("repo")
		if !s.reaches(tok, owner, name) {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		s.mu.Lock()
		rp := s.repos[owner+"/"+name]
		s.mu.Unlock()
		h(w, r, rp)
	}
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	for _, p := range []string{"token ", "Bearer ", "bearer "} {
		if v, ok := strings.CutPrefix(a, p); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

type errorBody struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status,omitempty"`
}

type fieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{
		Message:          msg,
		DocumentationURL: "https://docs.github.com/rest",
		Status:           strconv.Itoa(status),
	})
}

// writeInvalid answers 422 the way the Checks and Statuses APIs answer a
// request that fails validation.
func writeInvalid(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusUnprocessableEntity, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeBody reads a JSON request body; on failure it answers 400 like
// GitHub ("Problems parsing JSON") and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// apiURL builds the canonical API URL of a resource for "url" fields.
func (s *Server) apiURL(parts ...string) string {
	return s.APIURL() + path.Join(append([]string{"/"}, parts...)...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ts formats a time as GitHub does (RFC 3339, UTC, seconds).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }
