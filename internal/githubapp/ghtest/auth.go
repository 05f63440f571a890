package ghtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AppSlug is the App's slug; statuses it posts are created by AppSlug+"[bot]".
const AppSlug = "secretgate-test"

// permissions are what every installation grants (a scanning app's set).
var permissions = map[string]string{
	"checks":        "write",
	"contents":      "read",
	"metadata":      "read",
	"pull_requests": "read",
	"statuses":      "write",
}

type token struct {
	installation int64
	expires      time.Time
	repos        map[string]bool // "owner/name"; nil: every repository of the installation
}

// SetTokenTTL sets how long tokens issued from now on stay valid (GitHub:
// one hour). ghinstallation refreshes a token a minute before it expires,
// so a TTL under a minute makes it fetch a new token for every request.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// ExpireTokens makes every token issued so far invalid, as if an hour had
// passed. Clients that cache tokens (ghinstallation does) will get 401s
// until they fetch new ones.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
}

// IssueToken issues an installation token directly, without the JWT
// exchange, for tests that need one (a git clone, a raw request).
func (s *Server) IssueToken(installationID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.issueLocked(installationID, nil)
	return tok
}

// TokensIssued counts the installation tokens issued so far.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func (s *Server) issueLocked(installation int64, repos map[string]bool) (string, time.Time) {
	b := make([]byte, 27)
	_, _ = rand.Read(b)
	tok := "ghs_" + strings.NewReplacer("-", "A", "_", "B").Replace(base64.RawURLEncoding.EncodeToString(b))
	exp := time.Now().Add(s.tokenTTL)
	s.tokens[tok] = &token{installation: installation, expires: exp, repos: repos}
	return tok, exp
}

// validToken looks a token up; expired and unknown tokens are not valid.
func (s *Server) validToken(tok string) (token, bool) {
	if tok == "" {
		return token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || !time.Now().Before(t.expires) {
		return token{}, false
	}
	return *t, true
}

// reaches reports whether a valid token may see owner/name.
func (s *Server) reaches(t token, owner, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[owner+"/"+name] == nil || s.installations[owner] != t.installation {
		return false
	}
	return t.repos == nil || t.repos[owner+"/"+name]
}

// verifyJWT checks an App JWT as GitHub does: RS256 signed by the App's
// key, iss = the App id (number or string), exp in the future and at most
// ten minutes ahead, iat not in the future (a minute of clock skew
// allowed). The error text is GitHub's.
func (s *Server) verifyJWT(raw string) error {
	undecodable := errors.New("A JSON web token could not be decoded")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return undecodable
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg != "RS256" {
		return undecodable
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return undecodable
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return undecodable
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat json.Number     `json:"iat"`
		Exp json.Number     `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return undecodable
	}
	now := time.Now()
	exp, err := claims.Exp.Int64()
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	}
	if time.Unix(exp, 0).After(now.Add(10 * time.Minute)) {
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	}
	iat, err := claims.Iat.Int64()
	if err != nil || time.Unix(iat, 0).After(now.Add(time.Minute)) {
		return errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	iss := strings.Trim(string(claims.Iss), `"`)
	if iss != strconv.FormatInt(s.AppID, 10) {
		return fmt.Errorf("'Issuer' claim ('iss') must be an Integer; no App with id %s", iss)
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}

// appAuth answers 401 unless the request carries a valid App JWT.
func (s *Server) appAuth(w http.ResponseWriter, r *http.Request) bool {
	if err := s.verifyJWT(bearer(r)); err != nil {
		writeError(w, http.StatusUnauthorized, err.Error())
		return false
	}
	return true
}

func (s *Server) installationJSON(id int64, owner string) map[string]any {
	return map[string]any{
		"id":                   id,
		"account":              map[string]any{"login": owner, "id": accountID(owner), "type": "Organization"},
		"app_id":               s.AppID,
		"app_slug":             AppSlug,
		"target_id":            accountID(owner),
		"target_type":          "Organization",
		"repository_selection": "all",
		"access_tokens_url":    s.apiURL("app", "installations", strconv.FormatInt(id, 10), "access_tokens"),
		"repositories_url":     s.apiURL("installation", "repositories"),
		"permissions":          permissions,
		"events":               []string{"push", "pull_request", "check_suite", "check_run"},
	}
}

// accountID gives an account a stable made-up id.
func accountID(login string) int64 {
	var h int64 = 7
	for _, c := range login {
		h = (h*31 + int64(c)) % 1_000_000_007
	}
	return h
}

func (s *Server) ownerOf(installation int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for owner, id := range s.installations {
		if id == installation {
			return owner, true
		}
	}
	return "", false
}

// POST /app/installations/{id}/access_tokens
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	owner, ok := s.ownerOf(id)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var opts struct {
		Repositories  []string `json:"repositories"`
		RepositoryIDs []int64  `json:"repository_ids"`
	}
	if r.ContentLength != 0 {
		if !decodeBody(w, r, &opts) {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var scope map[string]bool
	var repos []map[string]any
	if len(opts.Repositories) > 0 || len(opts.RepositoryIDs) > 0 {
		scope = map[string]bool{}
		for _, n := range opts.Repositories {
			rp := s.repos[owner+"/"+n]
			if rp == nil {
				writeInvalid(w, "There is at least one repository that does not exist or is not accessible to the parent installation.")
				return
			}
			scope[owner+"/"+n] = true
			repos = append(repos, s.repoJSON(rp))
		}
	ids:
		for _, want := range opts.RepositoryIDs {
			for key, rp := range s.repos {
				if rp.id == want && rp.owner == owner {
					scope[key] = true
					repos = append(repos, s.repoJSON(rp))
					continue ids
				}
			}
			writeInvalid(w, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	tok, exp := s.issueLocked(id, scope)
	resp := map[string]any{
		"token":                tok,
		"expires_at":           ts(exp),
		"permissions":          permissions,
		"repository_selection": "all",
	}
	if scope != nil {
		resp["repository_selection"] = "selected"
		resp["repositories"] = repos
	}
	writeJSON(w, http.StatusCreated, resp)
}

// GET /app/installations/{id}
func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	owner, ok := s.ownerOf(id)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(id, owner))
}

// GET /repos/{owner}/{repo}/installation
func (s *Server) getRepoInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.appAuth(w, r) {
		return
	}
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	s.mu.Lock()
	rp, id := s.repos[owner+"/"+name], s.installations[owner]
	s.mu.Unlock()
	if rp == nil || id == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(id, owner))
}
