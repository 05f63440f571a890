package bench

import (
	"testing"

	"github.com/secretgate/secretgate/internal/corpus"
)

func TestReadReportAndScore(t *testing.T) {
	m := &corpus.Manifest{Plants: []corpus.Plant{
		{RuleID: "acme-token", Path: "svc/a.go", Line: 12, EndLine: 13, Commit: "c1"},
		{RuleID: "pem", Path: "svc/d.go", Line: 1, EndLine: 9, Commit: "c2"},
	}}

	ours, err := readReport("testdata/gatekeeper.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != 3 || ours[0].RuleID != "acme-token" || ours[0].Line != 12 || ours[0].Commit != "c1" {
		t.Fatalf("gatekeeper report read as %+v", ours)
	}
	if plants, exact, decoys := score(m, ours, true); plants != 1 || exact != 1 || decoys != 1 {
		t.Errorf("gatekeeper: plants %d, by own rule %d, decoys %d; want 1, 1, 1", plants, exact, decoys)
	}

	theirs, err := readReport("testdata/gitleaks.json", "/work/dir/")
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs) != 2 || theirs[0].Path != "svc/a.go" || theirs[0].Line != 13 {
		t.Fatalf("gitleaks report read as %+v", theirs)
	}
	if plants, _, decoys := score(m, theirs, false); plants != 1 || decoys != 1 {
		t.Errorf("gitleaks: plants %d, decoys %d; want 1, 1", plants, decoys)
	}
}

func TestMBps(t *testing.T) {
	if got := (Measurement{Seconds: 2, Bytes: 300e6}).MBps(); got != 150 {
		t.Errorf("MBps = %v, want 150", got)
	}
}
