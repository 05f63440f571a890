package ghtest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"

	"github.com/secretgate/secretgate/internal/githubapp/ghtest"
)

// installationClient is how the App builds its client: ghinstallation for
// the token (BaseURL with /api/v3, no trailing slash) and go-github with
// enterprise URLs (it adds /api/v3/ itself).
func installationClient(t *testing.T, s *ghtest.Server, installation int64) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID, installation, s.AppKey())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = s.APIURL()
	c, err := github.NewClient(
		github.WithHTTPClient(&http.Client{Transport: itr}),
		github.WithEnterpriseURLs(s.URL, s.URL),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenClient talks to the root paths (api.github.com style) with a bare
// token.
func tokenClient(t *testing.T, s *ghtest.Server, token string) *github.Client {
	t.Helper()
	base := s.URL + "/"
	c, err := github.NewClient(github.WithAuthToken(token), github.WithURLs(&base, &base))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func annotations(from, n int) []*github.CheckRunAnnotation {
	var out []*github.CheckRunAnnotation
	for i := from; i < from+n; i++ {
		out = append(out, &github.CheckRunAnnotation{
			Path:            github.Ptr(fmt.Sprintf("file%03d.txt", i)),
			StartLine:       github.Ptr(i + 1),
			EndLine:         github.Ptr(i + 1),
			AnnotationLevel: github.Ptr("failure"),
			Message:         github.Ptr(fmt.Sprintf("secret %d", i)),
			Title:           github.Ptr("aws-access-key"),
		})
	}
	return out
}

func TestCheckRunWith120AnnotationsInThreeBatches(t *testing.T) {
	ctx := context.Background()
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	sha := s.Commit("acme", "app", "main", "first", map[string]string{"README": "hello\n"})
	gh := installationClient(t, s, s.Installation("acme"))

	run, resp, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name:    "secretgate",
		HeadSHA: sha,
		Status:  github.Ptr("in_progress"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || run.GetID() == 0 || run.GetHeadSHA() != sha || run.GetStatus() != "in_progress" {
		t.Fatalf("create: %d %v", resp.StatusCode, run)
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining != 4999 || resp.Rate.Resource != "core" {
		t.Errorf("rate headers: %+v", resp.Rate)
	}
	for i, n := range []int{50, 50, 20} {
		opts := github.UpdateCheckRunOptions{
			Name: "secretgate",
			Output: &github.CheckRunOutput{
				Title:       github.Ptr("3 secrets"),
				Summary:     github.Ptr(fmt.Sprintf("batch %d", i)),
				Annotations: annotations(i*50, n),
			},
		}
		if i == 2 {
			opts.Conclusion = github.Ptr("failure")
			opts.Actions = []*github.CheckRunAction{{Label: "Allow", Description: "Mark as allowed", Identifier: "allow"}}
		}
		if _, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), opts); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}

	got, _, err := gh.Checks.GetCheckRun(ctx, "acme", "app", run.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != "completed" || got.GetConclusion() != "failure" || got.GetOutput().GetAnnotationsCount() != 120 ||
		got.GetOutput().GetSummary() != "batch 2" || got.GetCompletedAt().IsZero() || got.GetCheckSuite().GetID() == 0 {
		t.Errorf("get: %v", got)
	}

	runs := s.CheckRuns("acme", "app")
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded", len(runs))
	}
	r := runs[0]
	if len(r.Annotations) != 120 || r.Annotations[119].Message != "secret 119" || r.Annotations[0].Path != "file000.txt" {
		t.Errorf("annotations: %d", len(r.Annotations))
	}
	if len(r.History) != 4 || r.History[0].Method != "POST" || r.History[3].Conclusion != "failure" ||
		len(r.History[2].Output.Annotations) != 50 || r.History[3].StatusAfter != "completed" {
		t.Errorf("history: %+v", r.History)
	}
	if len(r.Actions) != 1 || r.Actions[0].Identifier != "allow" {
		t.Errorf("actions: %+v", r.Actions)
	}

	// Annotations read back page by page.
	var all []*github.CheckRunAnnotation
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.Checks.ListCheckRunAnnotations(ctx, "acme", "app", run.GetID(), opt)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if len(all) != 120 {
		t.Errorf("listed %d annotations", len(all))
	}

	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.GetTotal() != 1 || list.CheckRuns[0].GetID() != run.GetID() {
		t.Errorf("list for ref: %v", list)
	}

	// Every body the app sent is on record.
	n := 0
	for _, req := range s.Requests() {
		if req.Method == http.MethodPatch && bytes.Contains(req.Body, []byte("secret 119")) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("found the last annotation in %d recorded bodies", n)
	}
}

func TestMoreThan50AnnotationsIs422(t *testing.T) {
	ctx := context.Background()
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	sha := s.Commit("acme", "app", "main", "first", map[string]string{"a": "b"})
	gh := installationClient(t, s, s.Installation("acme"))

	run, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "secretgate", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), github.UpdateCheckRunOptions{
		Name:   "secretgate",
		Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Annotations: annotations(0, 51)},
	})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(er.Message, "No more than 50 items are allowed; 51 were supplied.") {
		t.Fatalf("51 annotations: %v", err)
	}
	// Also on create, and a head_sha that is no commit.
	_, resp, _ = gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name: "x", HeadSHA: sha,
		Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Annotations: annotations(0, 51)},
	})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("create with 51: %d", resp.StatusCode)
	}
	_, resp, _ = gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "x", HeadSHA: strings.Repeat("a", 40)})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown sha: %d", resp.StatusCode)
	}
	runs := s.CheckRuns("acme", "app")
	if len(runs) != 1 || len(runs[0].Annotations) != 0 || len(runs[0].History) != 1 {
		t.Errorf("a refused update changed the run: %+v", runs)
	}
}

// jwtFor signs claims with key the way an App does (RS256).
func jwtFor(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func appKey(t *testing.T, s *ghtest.Server) *rsa.PrivateKey {
	block, _ := pem.Decode(s.AppKey())
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestInstallationTokens(t *testing.T) {
	ctx := context.Background()
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	s.AddRepo("other", "app")
	inst := s.Installation("acme")

	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, s.AppID, s.AppKey())
	if err != nil {
		t.Fatal(err)
	}
	app, err := github.NewClient(github.WithHTTPClient(&http.Client{Transport: atr}), github.WithEnterpriseURLs(s.URL, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	tok, resp, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(tok.GetToken(), "ghs_") ||
		time.Until(tok.GetExpiresAt().Time) < 59*time.Minute || tok.GetPermissions().GetChecks() != "write" {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	if _, _, err := app.Apps.CreateInstallationToken(ctx, 999999, nil); !is(err, http.StatusNotFound) {
		t.Errorf("unknown installation: %v", err)
	}

	// The token reaches the installation's repositories and no others.
	user := tokenClient(t, s, tok.GetToken())
	repo, _, err := user.Repositories.Get(ctx, "acme", "app")
	if err != nil || repo.GetDefaultBranch() != "main" || repo.GetFullName() != "acme/app" || !strings.HasSuffix(repo.GetCloneURL(), "/acme/app.git") {
		t.Fatalf("get repo: %v %v", repo, err)
	}
	if _, _, err := user.Repositories.Get(ctx, "other", "app"); !is(err, http.StatusNotFound) {
		t.Errorf("other installation's repo: %v", err)
	}

	// Bad JWTs: another key, an expiry too far ahead, an expired one, a wrong issuer.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now().Unix()
	ok := map[string]any{"iat": now - 60, "exp": now + 540, "iss": fmt.Sprint(s.AppID)}
	for name, tc := range map[string]struct {
		key    *rsa.PrivateKey
		claims map[string]any
	}{
		"good":       {appKey(t, s), ok},
		"numeric":    {appKey(t, s), map[string]any{"iat": now - 60, "exp": now + 540, "iss": s.AppID}},
		"other key":  {stranger, ok},
		"exp > 10m":  {appKey(t, s), map[string]any{"iat": now - 60, "exp": now + 660, "iss": fmt.Sprint(s.AppID)}},
		"expired":    {appKey(t, s), map[string]any{"iat": now - 700, "exp": now - 100, "iss": fmt.Sprint(s.AppID)}},
		"wrong app":  {appKey(t, s), map[string]any{"iat": now - 60, "exp": now + 540, "iss": "1"}},
		"future iat": {appKey(t, s), map[string]any{"iat": now + 300, "exp": now + 540, "iss": fmt.Sprint(s.AppID)}},
	} {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/app/installations/%d/access_tokens", s.URL, inst), nil)
		req.Header.Set("Authorization", "Bearer "+jwtFor(t, tc.key, tc.claims))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusUnauthorized
		if name == "good" || name == "numeric" {
			want = http.StatusCreated
		}
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}

	// Tokens expire: expired ones get 401 like bad ones.
	s.ExpireTokens()
	if _, _, err := user.Repositories.Get(ctx, "acme", "app"); !is(err, http.StatusUnauthorized) {
		t.Errorf("expired token: %v", err)
	}

	// With a TTL under a minute ghinstallation fetches a token per request.
	s.SetTokenTTL(30 * time.Second)
	gh := installationClient(t, s, inst)
	before := s.TokensIssued()
	for range 3 {
		if _, _, err := gh.Repositories.Get(ctx, "acme", "app"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.TokensIssued() - before; got != 3 {
		t.Errorf("ghinstallation fetched %d tokens for 3 requests", got)
	}
}

func is(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == status
}

// git runs the system git as the App would: no prompts, no user config.
func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(), "GIT_ASKPASS=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestGitOverSmartHTTP(t *testing.T) {
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	s.AddRepo("other", "lib")
	sha := s.Commit("acme", "app", "main", "add config", map[string]string{"config/app.env": "TOKEN=x\n"})
	token := s.IssueToken(s.Installation("acme"))
	dir := t.TempDir()

	if out, err := git(t, dir, "clone", "--quiet", s.CloneURL("acme", "app", token), "ok"); err != nil {
		t.Fatalf("clone with token: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ok", "config", "app.env")); err != nil || string(b) != "TOKEN=x\n" {
		t.Errorf("cloned file: %q %v", b, err)
	}
	if head, _ := git(t, filepath.Join(dir, "ok"), "rev-parse", "HEAD"); strings.TrimSpace(head) != sha {
		t.Errorf("HEAD %s, want %s", head, sha)
	}

	// Push back over HTTP with the token, then fetch the new commit shallowly.
	work := filepath.Join(dir, "ok")
	if out, err := git(t, work, "-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "--quiet", "--allow-empty", "-m", "second"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/feature"); err != nil {
		t.Fatalf("push with token: %v\n%s", err, out)
	}
	if out, err := git(t, work, "fetch", "--quiet", "--depth=1", "origin", "feature"); err != nil {
		t.Fatalf("shallow fetch: %v\n%s", err, out)
	}

	for name, url := range map[string]string{
		"no token":      s.CloneURL("acme", "app", ""),
		"bad token":     s.CloneURL("acme", "app", "ghs_notatoken"),
		"wrong user":    strings.Replace(s.CloneURL("acme", "app", token), "x-access-token", "someone", 1),
		"other account": s.CloneURL("other", "lib", token),
	} {
		out, err := git(t, dir, "clone", "--quiet", url, strings.ReplaceAll(name, " ", "-"))
		if err == nil {
			t.Errorf("%s: clone succeeded", name)
		}
		if strings.Contains(out, token) {
			t.Errorf("%s: git printed the token", name)
		}
	}
	// git asks anonymously first and sends the credentials after a 401,
	// so: three successes, one 404 (a valid token, another account's
	// repository), every other answer 401.
	count := map[int]int{}
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/info/refs") {
			count[r.Status]++
		}
	}
	if count[200] != 3 || count[404] != 1 || len(count) != 3 || count[401] < 4 {
		t.Errorf("info/refs answers: %v", count)
	}

	s.ExpireTokens()
	if out, err := git(t, dir, "clone", "--quiet", s.CloneURL("acme", "app", token), "expired"); err == nil {
		t.Errorf("clone with an expired token succeeded\n%s", out)
	}
}

func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	inst := s.Installation("acme")

	s.SetRateLimit(1, time.Now().Add(time.Hour))
	gh := installationClient(t, s, inst)
	_, resp, err := gh.Repositories.Get(ctx, "acme", "app")
	if err != nil || resp.Rate.Remaining != 0 {
		t.Fatalf("last request within the limit: %v %+v", err, resp.Rate)
	}
	_, _, err = gh.Repositories.Get(ctx, "acme", "app")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 || rle.Rate.Resource != "core" || rle.Response.StatusCode != http.StatusForbidden {
		t.Fatalf("over the limit: %#v", err)
	}

	s.SetRateLimit(5000, time.Now().Add(time.Hour))
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		s.SetSecondaryRateLimit(status, 30*time.Second, 1)
		gh := installationClient(t, s, inst) // a fresh client: go-github remembers limits
		_, resp, err := gh.Repositories.Get(ctx, "acme", "app")
		var abuse *github.AbuseRateLimitError
		if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 30*time.Second || resp.StatusCode != status {
			t.Fatalf("secondary %d: %#v", status, err)
		}
		gh = installationClient(t, s, inst)
		if _, _, err := gh.Repositories.Get(ctx, "acme", "app"); err != nil {
			t.Errorf("after the secondary limit: %v", err)
		}
	}
}

func TestCompareStatusesAndRootPaths(t *testing.T) {
	ctx := context.Background()
	s := ghtest.NewServer(t)
	s.AddRepo("acme", "app")
	base := s.Commit("acme", "app", "main", "base", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	c1 := s.Commit("acme", "app", "feature/x", "one", map[string]string{"a.txt": "a\nb\n"})
	c2 := s.Commit("acme", "app", "feature/x", "two", map[string]string{"c.txt": "c\n"})
	_ = s.Commit("acme", "app", "main", "main moves", map[string]string{"d.txt": "d\n"})

	gh := tokenClient(t, s, s.IssueToken(s.Installation("acme"))) // root paths
	cmp, _, err := gh.Repositories.CompareCommits(ctx, "acme", "app", "main", "feature/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetStatus() != "diverged" || cmp.GetAheadBy() != 2 || cmp.GetBehindBy() != 1 || cmp.GetTotalCommits() != 2 ||
		cmp.GetMergeBaseCommit().GetSHA() != base || len(cmp.Commits) != 2 ||
		cmp.Commits[0].GetSHA() != c1 || cmp.Commits[1].GetSHA() != c2 ||
		cmp.Commits[1].GetCommit().GetMessage() != "two" || cmp.Commits[1].Parents[0].GetSHA() != c1 ||
		cmp.Commits[0].GetCommit().GetAuthor().GetEmail() != "author@example.com" {
		t.Errorf("compare: %v", cmp)
	}
	files := map[string]string{}
	for _, f := range cmp.Files {
		files[f.GetFilename()] = f.GetStatus()
	}
	if fmt.Sprint(files) != "map[a.txt:modified c.txt:added]" {
		t.Errorf("files: %v", files)
	}

	// Paginated: one commit a page, Link headers as GitHub sends them.
	page, resp, err := gh.Repositories.CompareCommits(ctx, "acme", "app", base, c2, &github.ListOptions{PerPage: 1})
	if err != nil || len(page.Commits) != 1 || resp.NextPage != 2 || page.Commits[0].GetSHA() != c1 {
		t.Errorf("page 1: %v %v next=%d", page, err, resp.NextPage)
	}

	st, resp, err := gh.Repositories.CreateStatus(ctx, "acme", "app", c2, github.RepoStatus{
		State: github.Ptr("failure"), Context: github.Ptr("secretgate"), Description: github.Ptr("1 secret found"),
	})
	if err != nil || resp.StatusCode != http.StatusCreated || st.GetState() != "failure" || st.GetID() == 0 {
		t.Fatalf("status: %v %v", st, err)
	}
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "app", c2, github.RepoStatus{State: github.Ptr("red")}); !is(err, http.StatusUnprocessableEntity) {
		t.Errorf("bad state: %v", err)
	}
	got := s.Statuses("acme", "app")
	if len(got) != 1 || got[0].SHA != c2 || got[0].Context != "secretgate" || got[0].Description != "1 secret found" {
		t.Errorf("statuses: %+v", got)
	}

	for _, p := range []string{"/repos/acme/app", "/api/v3/repos/acme/app"} {
		resp, err := http.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("%s without a token: %d", p, resp.StatusCode)
		}
	}
}
