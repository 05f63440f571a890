package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

//go:embed *.toml
var packs embed.FS

var defaultConfig func() (*Config, error)

func init() { defaultConfig = sync.OnceValues(loadDefault) }

func loadDefault() (*Config, error) {
	names, err := fs.Glob(packs, "*.toml")
	if err != nil {
		return nil, err
	}
	// Parse the packs in parallel: a pre-receive hook loads them on every
	// push, and decoding plus compiling is most of its start-up.
	parsed := make([]*Config, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			data, err := packs.ReadFile(name)
			if err == nil {
				parsed[i], err = Parse("rules/"+name, data)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg := &Config{Title: "secretgate default rules"}
	seen := make(map[string]string)
	for i, c := range parsed {
		for _, r := range c.Rules {
			if r.Window == 0 {
				r.Window = PackWindow
			}
			if prev, dup := seen[r.ID]; dup {
				return nil, fmt.Errorf("rules/%s:%d: rule %q: duplicate id (also in %s): %w", names[i], r.Line, r.ID, prev, ErrInvalid)
			}
			seen[r.ID] = r.File
		}
		cfg.Rules = append(cfg.Rules, c.Rules...)
		cfg.Allowlists = append(cfg.Allowlists, c.Allowlists...)
	}
	return cfg, nil
}

// Default returns the embedded default packs. The result is shared: callers
// must not modify it.
func Default() (*Config, error) { return defaultConfig() }

// Packs lists the embedded pack files, for `gatekeeper rules list`.
func Packs() []string {
	names, _ := fs.Glob(packs, "*.toml")
	return names
}
