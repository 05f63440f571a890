package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fingerprintKey returns the installation's fingerprint key: from
// $SECRETGATE_FINGERPRINT_KEY (hex), else the key file under the user's
// config directory, created with a random key on first use. The key makes
// fingerprints useless for guessing a low-entropy secret offline.
func fingerprintKey() ([]byte, error) {
	if v := os.Getenv("SECRETGATE_FINGERPRINT_KEY"); v != "" {
		k, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) < 16 {
			return nil, errors.New("SECRETGATE_FINGERPRINT_KEY must be at least 32 hex digits")
		}
		return k, nil
	}
	path := os.Getenv("SECRETGATE_FINGERPRINT_KEY_FILE")
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			// No home to keep a key in (a bare CI container): scan anyway
			// with a key for this run only.
			fmt.Fprintln(warnings, "gatekeeper: warning: no config directory for a fingerprint key; fingerprints of this run will not match other runs (set SECRETGATE_FINGERPRINT_KEY)")
			k := make([]byte, 32)
			rand.Read(k)
			return k, nil
		}
		path = filepath.Join(dir, "secretgate", "fingerprint.key")
	}
	return readOrCreateKey(path)
}

// warnings is where start-up warnings go (stderr; tests may swap it).
var warnings io.Writer = os.Stderr

func readOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("fingerprint key %s: want at least 32 hex digits", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	// O_EXCL: if another process created it meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(k)); err != nil {
		f.Close()
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	return k, f.Close()
}
