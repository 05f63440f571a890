package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHook runs the hook benchmark small, to keep it working; its timings
// are printed by make bench, never asserted.
func TestHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gatekeeper")
	}
	bin := filepath.Join(t.TempDir(), "gatekeeper")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/gatekeeper").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r, err := Hook(context.Background(), HookConfig{Gatekeeper: bin, WorkDir: t.TempDir(), Seed: 2, Commits: 20, Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.One.Commits != 1 || r.Many.Commits < 2 || r.One.PeakRSS == 0 || len(r.Many.Verdicts) != 3 {
		t.Errorf("result %+v", r)
	}
	var b strings.Builder
	PrintHook(&b, r)
	if !strings.Contains(b.String(), "1-commit push: median") {
		t.Errorf("print:\n%s", b.String())
	}
}
