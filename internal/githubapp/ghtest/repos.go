package ghtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Status is a commit status the App posted.
type Status struct {
	ID          int64
	Owner, Repo string
	SHA         string
	State       string // error, failure, pending or success
	Context     string
	Description string
	TargetURL   string
	CreatedAt   time.Time
}

// Statuses returns the commit statuses posted on owner/repo, oldest first.
func (s *Server) Statuses(owner, repo string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.statuses {
		if st.Owner == owner && st.Repo == repo {
			out = append(out, st)
		}
	}
	return out
}

// commitSHA resolves a ref or SHA to a commit; "" if there is none.
func (s *Server) commitSHA(rp *repo, ref string) string {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return ""
	}
	sha, err := s.git(rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return ""
	}
	return sha
}

func (s *Server) defaultBranch(rp *repo) string {
	b, err := s.git(rp.dir, nil, nil, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "main"
	}
	return b
}

func (s *Server) repoJSON(rp *repo) map[string]any {
	full := rp.owner + "/" + rp.name
	return map[string]any{
		"id":        rp.id,
		"node_id":   fmt.Sprintf("R_ghtest%d", rp.id),
		"name":      rp.name,
		"full_name": full,
		"owner": map[string]any{
			"login": rp.owner,
			"id":    accountID(rp.owner),
			"type":  "Organization",
			"url":   s.apiURL("users", rp.owner),
		},
		"private":        true,
		"visibility":     "private",
		"fork":           false,
		"archived":       false,
		"disabled":       false,
		"description":    nil,
		"html_url":       s.URL + "/" + full,
		"url":            s.apiURL("repos", rp.owner, rp.name),
		"clone_url":      s.URL + "/" + full + ".git",
		"default_branch": s.defaultBranch(rp),
	}
}

// GET /repos/{owner}/{repo}
func (s *Server) getRepo(w http.ResponseWriter, _ *http.Request, rp *repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(rp))
}

var statusStates = map[string]bool{"error": true, "failure": true, "pending": true, "success": true}

// POST /repos/{owner}/{repo}/statuses/{sha}
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	sha := r.PathValue("sha")
	switch {
	case !statusStates[in.State]:
		writeInvalid(w, fmt.Sprintf("Invalid request.\n\n%q is not a member of [\"error\", \"failure\", \"pending\", \"success\"].", in.State))
		return
	case s.commitSHA(rp, sha) == "":
		writeInvalid(w, "No commit found for SHA: "+sha)
		return
	case in.Description != nil && len([]rune(*in.Description)) > 140:
		writeInvalid(w, "Validation Failed: description is too long (maximum is 140 characters)")
		return
	}
	st := Status{
		Owner: rp.owner, Repo: rp.name, SHA: s.commitSHA(rp, sha), State: in.State,
		Context: "default", CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	if in.Context != nil && *in.Context != "" {
		st.Context = *in.Context
	}
	if in.Description != nil {
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	s.mu.Lock()
	n := 0
	for _, o := range s.statuses {
		if o.Owner == st.Owner && o.Repo == st.Repo && o.SHA == st.SHA && o.Context == st.Context {
			n++
		}
	}
	if n >= 1000 {
		s.mu.Unlock()
		writeInvalid(w, "This SHA and context has reached the maximum number of statuses.")
		return
	}
	st.ID = s.newIDLocked()
	s.statuses = append(s.statuses, st)
	s.mu.Unlock()

	var desc, target any
	if in.Description != nil {
		desc = st.Description
	}
	if in.TargetURL != nil {
		target = st.TargetURL
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"id":          st.ID,
		"node_id":     fmt.Sprintf("SC_ghtest%d", st.ID),
		"url":         s.apiURL("repos", rp.owner, rp.name, "statuses", st.SHA),
		"state":       st.State,
		"description": desc,
		"target_url":  target,
		"context":     st.Context,
		"avatar_url":  nil,
		"created_at":  ts(st.CreatedAt),
		"updated_at":  ts(st.CreatedAt),
		"creator":     map[string]any{"login": AppSlug + "[bot]", "type": "Bot"},
	})
}

// GET /repos/{owner}/{repo}/compare/{base}...{head}: the commits reachable
// from head and not from base, oldest first (250 a page unless per_page
// says otherwise, with Link headers), and the net diff's files (first
// page only, at most 300, without patches).
func (s *Server) compare(w http.ResponseWriter, r *http.Request, rp *repo) {
	base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	baseSHA, headSHA := s.commitSHA(rp, base), s.commitSHA(rp, head)
	if baseSHA == "" || headSHA == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	mergeBase, err := s.git(rp.dir, nil, nil, "merge-base", baseSHA, headSHA)
	if err != nil || mergeBase == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", base, head))
		return
	}
	ahead, err1 := s.revList(rp, "--reverse", baseSHA+".."+headSHA)
	behind, err2 := s.revList(rp, headSHA+".."+baseSHA)
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("ghtest: rev-list: %v %v", err1, err2))
		return
	}
	status := "diverged"
	switch {
	case baseSHA == headSHA:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	lo, hi := s.paginate(w, r, len(ahead), 250, 250)
	page := ahead[lo:hi]
	commits, err := s.commitsJSON(rp, page)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	ends, err := s.commitsJSON(rp, []string{baseSHA, mergeBase})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := map[string]any{
		"url":               s.apiURL("repos", rp.owner, rp.name, "compare", base+"..."+head),
		"html_url":          s.URL + "/" + rp.owner + "/" + rp.name + "/compare/" + base + "..." + head,
		"permalink_url":     s.URL + "/" + rp.owner + "/" + rp.name + "/compare/" + baseSHA[:7] + "..." + headSHA[:7],
		"diff_url":          s.URL + "/" + rp.owner + "/" + rp.name + "/compare/" + base + "..." + head + ".diff",
		"patch_url":         s.URL + "/" + rp.owner + "/" + rp.name + "/compare/" + base + "..." + head + ".patch",
		"base_commit":       ends[0],
		"merge_base_commit": ends[1],
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         len(behind),
		"total_commits":     len(ahead),
		"commits":           commits,
	}
	if lo == 0 {
		files, err := s.filesJSON(rp, mergeBase, headSHA)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		out["files"] = files
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) revList(rp *repo, args ...string) ([]string, error) {
	out, err := s.git(rp.dir, nil, nil, append([]string{"rev-list"}, args...)...)
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// commitsJSON renders commits in the REST "commit" shape, in the order given.
func (s *Server) commitsJSON(rp *repo, shas []string) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(shas))
	if len(shas) == 0 {
		return out, nil
	}
	const format = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"
	args := append([]string{"show", "-s", "--no-walk=unsorted", "--format=" + format}, shas...)
	raw, err := s.git(rp.dir, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	byHash := map[string]map[string]any{}
	for rec := range strings.SplitSeq(raw, "\x1e") {
		f := strings.Split(strings.TrimLeft(rec, "\n"), "\x00")
		if len(f) < 10 {
			continue
		}
		sha := f[0]
		parents := []map[string]any{}
		for p := range strings.FieldsSeq(f[2]) {
			parents = append(parents, map[string]any{
				"sha":      p,
				"url":      s.apiURL("repos", rp.owner, rp.name, "commits", p),
				"html_url": s.URL + "/" + rp.owner + "/" + rp.name + "/commit/" + p,
			})
		}
		byHash[sha] = map[string]any{
			"sha":     sha,
			"node_id": "C_ghtest" + sha[:12],
			"commit": map[string]any{
				"author":    map[string]any{"name": f[3], "email": f[4], "date": utc(f[5])},
				"committer": map[string]any{"name": f[6], "email": f[7], "date": utc(f[8])},
				"message":   strings.TrimRight(f[9], "\n"),
				"tree": map[string]any{
					"sha": f[1],
					"url": s.apiURL("repos", rp.owner, rp.name, "git", "trees", f[1]),
				},
				"url":           s.apiURL("repos", rp.owner, rp.name, "git", "commits", sha),
				"comment_count": 0,
				"verification":  map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
			},
			"url":          s.apiURL("repos", rp.owner, rp.name, "commits", sha),
			"html_url":     s.URL + "/" + rp.owner + "/" + rp.name + "/commit/" + sha,
			"comments_url": s.apiURL("repos", rp.owner, rp.name, "commits", sha, "comments"),
			"author":       nil,
			"committer":    nil,
			"parents":      parents,
		}
	}
	for _, sha := range shas {
		c, ok := byHash[sha]
		if !ok {
			return nil, fmt.Errorf("ghtest: commit %s not shown by git", sha)
		}
		out = append(out, c)
	}
	return out, nil
}

func utc(iso string) string {
	t, err := time.Parse(time.RFC3339, iso)
	if err != nil {
		return iso
	}
	return ts(t)
}

// filesJSON lists the files changed from a to b (no rename detection), at
// most 300 like GitHub.
func (s *Server) filesJSON(rp *repo, a, b string) ([]map[string]any, error) {
	raw, err := s.git(rp.dir, nil, nil, "diff", "--raw", "--numstat", "-z", "--no-renames", "--no-abbrev", a, b)
	if err != nil {
		return nil, err
	}
	// With -z, --raw gives ":m1 m2 o n S\0path\0" per file, then --numstat
	// gives "add\tdel\tpath\0" per file, in the same order.
	fields := strings.Split(raw, "\x00")
	type file struct {
		path, status, sha string
		add, del          int
	}
	var files []*file
	i := 0
	for ; i+1 < len(fields) && strings.HasPrefix(fields[i], ":"); i += 2 {
		meta := strings.Fields(fields[i])
		f := &file{path: fields[i+1], sha: meta[3]}
		switch meta[4] {
		case "A":
			f.status = "added"
		case "D":
			f.status, f.sha = "removed", meta[2]
		case "M":
			f.status = "modified"
		default:
			f.status = "changed"
		}
		files = append(files, f)
	}
	for n := 0; i < len(fields) && n < len(files); i, n = i+1, n+1 {
		parts := strings.SplitN(strings.TrimLeft(fields[i], "\n"), "\t", 3)
		if len(parts) == 3 {
			files[n].add, _ = strconv.Atoi(parts[0])
			files[n].del, _ = strconv.Atoi(parts[1])
		}
	}
	out := []map[string]any{}
	for _, f := range files {
		if len(out) == 300 {
			break
		}
		out = append(out, map[string]any{
			"sha":          f.sha,
			"filename":     f.path,
			"status":       f.status,
			"additions":    f.add,
			"deletions":    f.del,
			"changes":      f.add + f.del,
			"blob_url":     s.URL + "/" + rp.owner + "/" + rp.name + "/blob/" + b + "/" + f.path,
			"raw_url":      s.URL + "/" + rp.owner + "/" + rp.name + "/raw/" + b + "/" + f.path,
			"contents_url": s.apiURL("repos", rp.owner, rp.name, "contents", f.path) + "?ref=" + b,
		})
	}
	return out, nil
}

// paginate reads page and per_page, sets a Link header like GitHub's and
// returns the slice bounds of the requested page.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, total, defPer, maxPer int) (lo, hi int) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = defPer
	}
	per = min(per, maxPer)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (total+per-1)/per)
	link := func(p int, rel string) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("per_page", strconv.Itoa(per))
		q2.Set("page", strconv.Itoa(p))
		u := s.APIURL() + r.URL.Path + "?" + q2.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min(total, (page-1)*per)
	hi = min(total, lo+per)
	return lo, hi
}
