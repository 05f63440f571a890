package apikey

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTP is a Provider for a generic key-management API over HTTPS:
//
//	POST   {URL}/keys        Idempotency-Key: <token>, admin auth, body {"name": "secretgate-<token>"}
//	                         → 200 or 201 {"id": "…", "key": "…", "created_at": "<RFC 3339>"}
//	GET    {URL}/keys/self   Authorization: Bearer <the key>  → 2xx valid, 401/403 rejected
//	DELETE {URL}/keys/{id}   admin auth                       → 2xx revoked, 404 already gone
//
// The admin credential goes in Authorization: Bearer. No error names a key
// or repeats a response body, which could hold one.
type HTTP struct {
	URL string // base URL, e.g. https://keys.example.com/v1
	// Admin returns the credential that may create and revoke keys.
	Admin  func(ctx context.Context) (string, error)
	Client *http.Client // nil: a client with a 10-second timeout
}

var _ Provider = (*HTTP)(nil)

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Create issues a key.
func (h *HTTP) Create(ctx context.Context, idempotencyKey string) (Key, error) {
	body, _ := json.Marshal(map[string]string{"name": "secretgate-" + idempotencyKey})
	var out struct {
		ID      string `json:"id"`
		Key     string `json:"key"`
		Created string `json:"created_at"`
	}
	resp, err := h.do(ctx, http.MethodPost, "/keys", "", strings.NewReader(string(body)), func(r *http.Request) {
		r.Header.Set("Idempotency-Key", idempotencyKey)
		r.Header.Set("Content-Type", "application/json")
	})
	if err != nil {
		return Key{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return Key{}, fmt.Errorf("POST /keys: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return Key{}, fmt.Errorf("POST /keys: the answer is not the JSON of a key")
	}
	k := Key{ID: out.ID, Secret: out.Key}
	k.Created, _ = time.Parse(time.RFC3339, out.Created)
	return k, nil
}

// Test calls GET /keys/self with the key.
func (h *HTTP) Test(ctx context.Context, secret string) error {
	if secret == "" { // do would send the admin credential instead
		return fmt.Errorf("GET /keys/self: no key to test: %w", ErrRejected)
	}
	resp, err := h.do(ctx, http.MethodGet, "/keys/self", secret, nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GET /keys/self: %s: %w", resp.Status, ErrRejected)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("GET /keys/self: %s", resp.Status)
	}
	return nil
}

// Revoke deletes the key with that id.
func (h *HTTP) Revoke(ctx context.Context, id string) error {
	path := "/keys/" + url.PathEscape(id)
	resp, err := h.do(ctx, http.MethodDelete, path, "", nil, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("DELETE %s: %s", path, resp.Status)
	}
	return nil
}

// do sends one request, authenticated with bearer or, if empty, the admin
// credential.
func (h *HTTP) do(ctx context.Context, method, path, bearer string, body io.Reader, edit func(*http.Request)) (*http.Response, error) {
	if bearer == "" {
		if h.Admin == nil {
			return nil, fmt.Errorf("%s %s: no admin credential configured", method, path)
		}
		var err error
		if bearer, err = h.Admin(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: the admin credential: %w", method, path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(h.URL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	if edit != nil {
		edit(req)
	}
	c := h.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// url.Error carries the URL only, never headers.
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}
