// Package apikey rotates API keys issued by a key-management API.
//
// Each rotation asks the provider for a new key, using the rotation's
// ClientRequestToken as the idempotency key so a retried createSecret adopts
// the key it already made; tests the key with a cheap call; and, when
// AWSCURRENT moves, revokes the key two rotations old (the one labelled
// AWSPREVIOUS until then). So exactly two keys are valid between rotations:
// the current one and the previous one, which clients that cached it keep
// using until they refresh.
//
// The secret's value is a JSON object; key_id lets revocation work without
// the key itself:
//
//	{"key_id": "k_1f0c…", "api_key": "…", "created_at": "2026-12-04T11:00:00Z"}
//
// Other fields of the current value are kept. A value that is not such an
// object (the random placeholder a secret holds before its first rotation)
// names no key, so nothing is revoked for it.
package apikey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secretgate/secretgate/internal/rotation"
)

// Key is a key as the provider issued it.
type Key struct {
	ID      string
	Secret  string
	Created time.Time
}

// Provider is a key-management API.
type Provider interface {
	// Create issues a key; a second call with the same idempotency key
	// returns the same key.
	Create(ctx context.Context, idempotencyKey string) (Key, error)
	// Test makes a cheap call authenticated with the key; it fails with
	// ErrRejected when the provider refuses the key.
	Test(ctx context.Context, secret string) error
	// Revoke invalidates the key with that id; a key already gone is not
	// an error.
	Revoke(ctx context.Context, id string) error
}

// ErrRejected is a key the provider does not accept.
var ErrRejected = errors.New("the provider rejected the key")

// Strategy rotates API keys; it is a rotation.Strategy.
type Strategy struct {
	Provider Provider
}

var _ rotation.Strategy = (*Strategy)(nil)

// value is the secret's JSON.
type value struct {
	KeyID     string `json:"key_id"`
	APIKey    string `json:"api_key"`
	CreatedAt string `json:"created_at,omitempty"`
}

// parse reads a value; ok is false for one that names no key.
func parse(v string) (value, bool) {
	var out value
	if json.Unmarshal([]byte(v), &out) != nil || out.KeyID == "" {
		return value{}, false
	}
	return out, true
}

// Create issues the new key under the token and stores it with the current
// value's other fields.
func (s *Strategy) Create(ctx context.Context, current rotation.Version, token string) (string, error) {
	k, err := s.Provider.Create(ctx, token)
	if err != nil {
		return "", fmt.Errorf("create a key: %w", err)
	}
	if k.ID == "" || k.Secret == "" {
		return "", errors.New("create a key: the provider answered without a key id or key")
	}
	fields := map[string]any{}
	if json.Unmarshal([]byte(current.Value), &fields) != nil {
		fields = map[string]any{} // the placeholder: nothing to keep
	}
	fields["key_id"], fields["api_key"] = k.ID, k.Secret
	if !k.Created.IsZero() {
		fields["created_at"] = k.Created.UTC().Format(time.RFC3339)
	}
	out, err := json.Marshal(fields)
	return string(out), err
}

// Set has nothing to do: the provider made the key valid when it issued it.
func (s *Strategy) Set(context.Context, rotation.Versions) error { return nil }

// Test proves the pending key works.
func (s *Strategy) Test(ctx context.Context, v rotation.Versions) error {
	p, ok := parse(v.Pending.Value)
	if !ok || p.APIKey == "" {
		return errors.New("the pending value names no key")
	}
	if err := s.Provider.Test(ctx, p.APIKey); err != nil {
		return fmt.Errorf("test the pending key %s: %w", p.KeyID, err)
	}
	return nil
}

// Finish revokes the key two rotations old, unless it is one of the keys
// that stay valid.
func (s *Strategy) Finish(ctx context.Context, v rotation.Versions) error {
	if v.Previous == nil {
		return nil
	}
	old, ok := parse(v.Previous.Value)
	if !ok {
		return nil
	}
	for _, keep := range []string{v.Current.Value, v.Pending.Value} {
		if k, ok := parse(keep); ok && k.KeyID == old.KeyID {
			return nil
		}
	}
	if err := s.Provider.Revoke(ctx, old.KeyID); err != nil {
		return fmt.Errorf("revoke the key %s of the previous version: %w", old.KeyID, err)
	}
	return nil
}
