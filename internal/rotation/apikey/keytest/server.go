// Package keytest is a local key-management API for tests, the one
// apikey.HTTP speaks: POST /keys with an Idempotency-Key, GET /keys/self
// authenticated with a key, DELETE /keys/{id}. Creating and revoking need
// the admin token. It counts the valid keys and can fail the next requests.
package keytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// AdminToken is the credential that may create and revoke keys.
const AdminToken = "keytest-admin-token"

// Server is a local key-management API.
type Server struct {
	URL string

	mu       sync.Mutex
	keys     map[string]*key   // by id
	byToken  map[string]string // idempotency key -> key id
	created  int
	failNext int
}

type key struct {
	id, secret string
	created    time.Time
	revoked    bool
}

// NewServer starts a server without keys, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{keys: map[string]*key{}, byToken: map[string]string{}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Valid returns the ids of the keys not revoked, sorted.
func (s *Server) Valid() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, k := range s.keys {
		if !k.revoked {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Created counts the keys issued (an idempotent repeat issues none).
func (s *Server) Created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// FailNext makes the next n requests answer 503.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Revoke revokes a key behind the rotator's back.
func (s *Server) Revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k != nil {
		k.revoked = true
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/keys/self":
		for _, k := range s.keys {
			if k.secret == bearer && !k.revoked {
				writeJSON(w, http.StatusOK, map[string]string{"id": k.id})
				return
			}
		}
		http.Error(w, "unknown or revoked key", http.StatusUnauthorized)
	case bearer != AdminToken:
		http.Error(w, "admin token required", http.StatusForbidden)
	case r.Method == http.MethodPost && r.URL.Path == "/keys":
		token := r.Header.Get("Idempotency-Key")
		if token == "" {
			http.Error(w, "Idempotency-Key required", http.StatusBadRequest)
			return
		}
		if id, ok := s.byToken[token]; ok {
			k := s.keys[id]
			writeJSON(w, http.StatusOK, map[string]string{"id": k.id, "key": k.secret, "created_at": k.created.Format(time.RFC3339)})
			return
		}
		k := &key{id: "k_" + random(8), secret: "sk_" + random(24), created: time.Now().UTC()}
		s.keys[k.id], s.byToken[token] = k, k.id
		s.created++
		writeJSON(w, http.StatusCreated, map[string]string{"id": k.id, "key": k.secret, "created_at": k.created.Format(time.RFC3339)})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/keys/"):
		k := s.keys[strings.TrimPrefix(r.URL.Path, "/keys/")]
		if k == nil || k.revoked {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		k.revoked = true
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
