package githubapp

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestTargetFor(t *testing.T) {
	tests := []struct {
		file, event string
		want        string
	}{
		{"github-push-new-branch.json", "push", "1 Codertocat/Hello-World head=6113728f27ae82c7b1a177c8d03f9e96e0adf246 exclude=[] default=false skip=\"\""},
		{"github-push-tag-deleted.json", "push", "0 Codertocat/Hello-World head= exclude=[] default=false skip=\"the ref was deleted\""},
		{"github-push.json", "push", "0 Codertocat/Hello-World head= exclude=[] default=false skip=\"the ref was deleted\""},
		{"github-pull_request-synchronize.json", "pull_request", "1 Codertocat/Hello-World head=ec26c3e57ca3a959ca5aad62de7213c562f8c821 exclude=[f95f852bd8fca8fcc58a9a2d6c842781e32a215e] default=false skip=\"\""},
		{"github-check_suite-requested.json", "check_suite", "957387 Codertocat/Hello-World head=f95f852bd8fca8fcc58a9a2d6c842781e32a215e exclude=[6113728f27ae82c7b1a177c8d03f9e96e0adf246] default=false skip=\"\""},
		{"github-check_run-rerequested.json", "check_run", "1 github/hello-world head=d6fde92930d4715a2b49857d24b940956b26d2d3 exclude=[146e867f55c26428e5f9fade55a9bbf5e95a7912] default=false skip=\"\""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			tg, err := targetFor(tt.event, b)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%d %s head=%s exclude=%v default=%v skip=%q", tg.Installation, tg.FullName(), tg.Head, tg.Exclude, tg.ExcludeDefault, tg.Skip)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// A push that creates a branch other than the default scans from the default branch.
	b := []byte(`{"ref":"refs/heads/feature","before":"0000000000000000000000000000000000000000","after":"abc","created":true,"repository":{"name":"r","owner":{"login":"o"},"default_branch":"main"},"installation":{"id":7}}`)
	tg, err := targetFor("push", b)
	if err != nil || !tg.ExcludeDefault || tg.Head != "abc" || tg.Installation != 7 {
		t.Errorf("new branch: %+v %v", tg, err)
	}
	if _, err := targetFor("push", []byte(`{"after":"abc"}`)); err == nil {
		t.Error("no repository: no error")
	}
}
