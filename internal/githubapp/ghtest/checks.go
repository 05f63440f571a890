package ghtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// MaxAnnotations is how many annotations GitHub takes in one create or
// update request; more get 422.
const MaxAnnotations = 50

// maxOutputText is the most characters output.summary and output.text take.
const maxOutputText = 65535

// Annotation is one check-run annotation. Columns are 0 when not sent.
type Annotation struct {
	Path        string `json:"path"`
	StartLine   int    `json:"start_line"`
	EndLine     int    `json:"end_line"`
	StartColumn int    `json:"start_column,omitempty"`
	EndColumn   int    `json:"end_column,omitempty"`
	Level       string `json:"annotation_level"` // notice, warning or failure
	Message     string `json:"message"`
	Title       string `json:"title,omitempty"`
	RawDetails  string `json:"raw_details,omitempty"`
}

// Action is a button requested on a check run.
type Action struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// Output is a check run's output as sent in one request.
type Output struct {
	Title, Summary, Text string
	Annotations          []Annotation
}

// CheckRunChange is one accepted create (POST) or update (PATCH) of a check
// run, with the fields it sent ("" or nil when absent).
type CheckRunChange struct {
	Method                       string // POST or PATCH
	Name, Status, Conclusion     string
	DetailsURL, ExternalID       string
	Output                       *Output
	Actions                      []Action
	Body                         []byte // the request body as received
	StatusAfter, ConclusionAfter string // the run's state once applied
}

// CheckRun is a check run as the server holds it: its current fields,
// every annotation added across all requests, and its history.
type CheckRun struct {
	ID                     int64
	Owner, Repo            string
	Name, HeadSHA          string
	Status, Conclusion     string
	DetailsURL, ExternalID string
	StartedAt, CompletedAt time.Time
	Title, Summary, Text   string
	Annotations            []Annotation // appended by every request, as GitHub does
	Actions                []Action
	History                []CheckRunChange
	suite                  int64
}

// CheckRuns returns the check runs created on owner/repo, in creation
// order, with their full update history.
func (s *Server) CheckRuns(owner, repo string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, c := range s.checkRuns {
		if c.Owner == owner && c.Repo == repo {
			out = append(out, c.clone())
		}
	}
	return out
}

func (c *CheckRun) clone() CheckRun {
	d := *c
	d.Annotations = slices.Clone(c.Annotations)
	d.Actions = slices.Clone(c.Actions)
	d.History = slices.Clone(c.History)
	return d
}

var (
	runStatuses    = []string{"queued", "in_progress", "completed"}
	runConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"}
	levels         = []string{"notice", "warning", "failure"}
)

type checkRunIn struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string         `json:"title"`
		Summary     *string         `json:"summary"`
		Text        *string         `json:"text"`
		Annotations []annotationIn  `json:"annotations"`
		Images      json.RawMessage `json:"images"`
	} `json:"output"`
	Actions []Action `json:"actions"`
}

type annotationIn struct {
	Path            *string `json:"path"`
	StartLine       *int    `json:"start_line"`
	EndLine         *int    `json:"end_line"`
	StartColumn     *int    `json:"start_column"`
	EndColumn       *int    `json:"end_column"`
	AnnotationLevel *string `json:"annotation_level"`
	Message         *string `json:"message"`
	Title           *string `json:"title"`
	RawDetails      *string `json:"raw_details"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// change validates a create or update body against GitHub's rules and
// turns it into a CheckRunChange; a non-empty message means 422.
func (in *checkRunIn) change(method string) (CheckRunChange, string) {
	ch := CheckRunChange{
		Method:     method,
		Name:       str(in.Name),
		Status:     str(in.Status),
		Conclusion: str(in.Conclusion),
		DetailsURL: str(in.DetailsURL),
		ExternalID: str(in.ExternalID),
		Actions:    in.Actions,
	}
	if ch.Status != "" && !slices.Contains(runStatuses, ch.Status) {
		return ch, fmt.Sprintf("Invalid request.\n\n%q is not a member of %q.", ch.Status, runStatuses)
	}
	if ch.Conclusion != "" && !slices.Contains(runConclusions, ch.Conclusion) {
		return ch, fmt.Sprintf("Invalid request.\n\n%q is not a member of %q.", ch.Conclusion, runConclusions)
	}
	if len(in.Actions) > 3 {
		return ch, fmt.Sprintf("Invalid request.\n\nNo more than 3 items are allowed; %d were supplied.", len(in.Actions))
	}
	for _, a := range in.Actions {
		switch {
		case a.Label == "" || a.Description == "" || a.Identifier == "":
			return ch, "Invalid request.\n\nEach action needs a label, a description and an identifier."
		case len([]rune(a.Label)) > 20, len([]rune(a.Identifier)) > 20, len([]rune(a.Description)) > 40:
			return ch, "Invalid request.\n\nAn action's label and identifier take at most 20 characters, its description 40."
		}
	}
	if in.Output == nil {
		return ch, ""
	}
	o := in.Output
	switch {
	case o.Title == nil:
		return ch, "Invalid request.\n\n\"title\" wasn't supplied."
	case o.Summary == nil:
		return ch, "Invalid request.\n\n\"summary\" wasn't supplied."
	case len([]rune(*o.Summary)) > maxOutputText:
		return ch, fmt.Sprintf("Invalid request.\n\nOnly %d characters are allowed; %d were supplied.", maxOutputText, len([]rune(*o.Summary)))
	case len([]rune(str(o.Text))) > maxOutputText:
		return ch, fmt.Sprintf("Invalid request.\n\nOnly %d characters are allowed; %d were supplied.", maxOutputText, len([]rune(str(o.Text))))
	case len(o.Annotations) > MaxAnnotations:
		return ch, fmt.Sprintf("Invalid request.\n\nNo more than %d items are allowed; %d were supplied.", MaxAnnotations, len(o.Annotations))
	}
	out := &Output{Title: *o.Title, Summary: *o.Summary, Text: str(o.Text)}
	for i, a := range o.Annotations {
		if a.Path == nil || a.StartLine == nil || a.EndLine == nil || a.AnnotationLevel == nil || a.Message == nil {
			return ch, fmt.Sprintf("Invalid request.\n\nannotations[%d] needs path, start_line, end_line, annotation_level and message.", i)
		}
		if !slices.Contains(levels, *a.AnnotationLevel) {
			return ch, fmt.Sprintf("Invalid request.\n\n%q is not a member of %q.", *a.AnnotationLevel, levels)
		}
		an := Annotation{
			Path: *a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine,
			Level: *a.AnnotationLevel, Message: *a.Message,
			Title: str(a.Title), RawDetails: str(a.RawDetails),
		}
		if a.StartColumn != nil {
			an.StartColumn = *a.StartColumn
		}
		if a.EndColumn != nil {
			an.EndColumn = *a.EndColumn
		}
		out.Annotations = append(out.Annotations, an)
	}
	ch.Output = out
	return ch, ""
}

// apply folds an accepted change into the run.
func (c *CheckRun) apply(ch CheckRunChange, in *checkRunIn, body []byte, now time.Time) {
	if ch.Name != "" {
		c.Name = ch.Name
	}
	if ch.DetailsURL != "" {
		c.DetailsURL = ch.DetailsURL
	}
	if ch.ExternalID != "" {
		c.ExternalID = ch.ExternalID
	}
	if ch.Status != "" {
		c.Status = ch.Status
	}
	// "Providing conclusion will automatically set the status parameter to
	// completed."
	if ch.Conclusion != "" {
		c.Conclusion = ch.Conclusion
		c.Status = "completed"
	}
	if in.StartedAt != nil {
		if t, err := time.Parse(time.RFC3339, *in.StartedAt); err == nil {
			c.StartedAt = t.UTC()
		}
	}
	if c.Status == "completed" && c.CompletedAt.IsZero() {
		c.CompletedAt = now
		if in.CompletedAt != nil {
			if t, err := time.Parse(time.RFC3339, *in.CompletedAt); err == nil {
				c.CompletedAt = t.UTC()
			}
		}
	}
	if ch.Output != nil {
		c.Title, c.Summary, c.Text = ch.Output.Title, ch.Output.Summary, ch.Output.Text
		c.Annotations = append(c.Annotations, ch.Output.Annotations...)
	}
	if in.Actions != nil {
		c.Actions = slices.Clone(ch.Actions)
	}
	ch.Body = body
	ch.StatusAfter, ch.ConclusionAfter = c.Status, c.Conclusion
	c.History = append(c.History, ch)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *checkRunIn, bool) {
	body, err := io.ReadAll(r.Body)
	var in checkRunIn
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil, nil, false
	}
	return body, &in, true
}

// POST /repos/{owner}/{repo}/check-runs
func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	body, in, ok := readBody(w, r)
	if !ok {
		return
	}
	switch {
	case str(in.Name) == "":
		writeInvalid(w, "Invalid request.\n\n\"name\" wasn't supplied.")
		return
	case str(in.HeadSHA) == "":
		writeInvalid(w, "Invalid request.\n\n\"head_sha\" wasn't supplied.")
		return
	}
	sha := s.commitSHA(rp, *in.HeadSHA)
	if sha == "" || sha != *in.HeadSHA { // a full commit SHA, not a ref
		writeInvalid(w, "No commit found for SHA: "+*in.HeadSHA)
		return
	}
	ch, msg := in.change(http.MethodPost)
	if msg == "" && str(in.Status) == "completed" && str(in.Conclusion) == "" {
		msg = "Invalid request.\n\n\"conclusion\" wasn't supplied."
	}
	if msg != "" {
		writeInvalid(w, msg)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.mu.Lock()
	suiteKey := rp.owner + "/" + rp.name + "@" + sha
	if s.suites[suiteKey] == 0 {
		s.suites[suiteKey] = s.newIDLocked()
	}
	c := &CheckRun{
		ID: s.newIDLocked(), Owner: rp.owner, Repo: rp.name, HeadSHA: sha,
		Status: "queued", StartedAt: now, suite: s.suites[suiteKey],
	}
	c.apply(ch, in, body, now)
	s.checkRuns = append(s.checkRuns, c)
	out := s.checkRunJSON(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// findRun returns the run with the path's id on rp, or answers 404.
func (s *Server) findRunLocked(w http.ResponseWriter, r *http.Request, rp *repo) *CheckRun {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, c := range s.checkRuns {
		if c.ID == id && c.Owner == rp.owner && c.Repo == rp.name {
			return c
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

// PATCH /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	body, in, ok := readBody(w, r)
	if !ok {
		return
	}
	ch, msg := in.change(http.MethodPatch)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findRunLocked(w, r, rp)
	if c == nil {
		return
	}
	if msg == "" && str(in.Status) == "completed" && str(in.Conclusion) == "" && c.Conclusion == "" {
		msg = "Invalid request.\n\n\"conclusion\" wasn't supplied."
	}
	if msg != "" {
		writeInvalid(w, msg)
		return
	}
	c.apply(ch, in, body, time.Now().UTC().Truncate(time.Second))
	writeJSON(w, http.StatusOK, s.checkRunJSON(c))
}

// GET /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) getCheckRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findRunLocked(w, r, rp); c != nil {
		writeJSON(w, http.StatusOK, s.checkRunJSON(c))
	}
}

// GET /repos/{owner}/{repo}/check-runs/{id}/annotations
func (s *Server) listAnnotations(w http.ResponseWriter, r *http.Request, rp *repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findRunLocked(w, r, rp)
	if c == nil {
		return
	}
	lo, hi := s.paginate(w, r, len(c.Annotations), 30, 100)
	out := []map[string]any{}
	for _, a := range c.Annotations[lo:hi] {
		out = append(out, map[string]any{
			"path": a.Path, "start_line": a.StartLine, "end_line": a.EndLine,
			"start_column": nullInt(a.StartColumn), "end_column": nullInt(a.EndColumn),
			"annotation_level": a.Level, "message": a.Message,
			"title": a.Title, "raw_details": a.RawDetails, "blob_href": s.URL + "/" + rp.owner + "/" + rp.name + "/blob/" + c.HeadSHA + "/" + a.Path,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
func (s *Server) listCheckRunsForRef(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := s.commitSHA(rp, r.PathValue("ref"))
	if sha == "" {
		writeInvalid(w, "No commit found for SHA: "+r.PathValue("ref"))
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var runs []*CheckRun
	for i := len(s.checkRuns) - 1; i >= 0; i-- { // newest first, as GitHub lists them
		c := s.checkRuns[i]
		if c.Owner != rp.owner || c.Repo != rp.name || c.HeadSHA != sha {
			continue
		}
		if n := q.Get("check_name"); n != "" && c.Name != n {
			continue
		}
		if st := q.Get("status"); st != "" && c.Status != st {
			continue
		}
		if q.Get("filter") != "all" && slices.ContainsFunc(runs, func(o *CheckRun) bool { return o.Name == c.Name }) {
			continue // "latest": the most recent run of each name
		}
		runs = append(runs, c)
	}
	lo, hi := s.paginate(w, r, len(runs), 30, 100)
	list := []map[string]any{}
	for _, c := range runs[lo:hi] {
		list = append(list, s.checkRunJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": list})
}

func (s *Server) checkRunJSON(c *CheckRun) map[string]any {
	id := strconv.FormatInt(c.ID, 10)
	opt := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	var completed any
	if !c.CompletedAt.IsZero() {
		completed = ts(c.CompletedAt)
	}
	return map[string]any{
		"id":           c.ID,
		"node_id":      "CR_ghtest" + id,
		"name":         c.Name,
		"head_sha":     c.HeadSHA,
		"external_id":  c.ExternalID,
		"details_url":  opt(c.DetailsURL),
		"url":          s.apiURL("repos", c.Owner, c.Repo, "check-runs", id),
		"html_url":     s.URL + "/" + c.Owner + "/" + c.Repo + "/runs/" + id,
		"status":       c.Status,
		"conclusion":   opt(c.Conclusion),
		"started_at":   ts(c.StartedAt),
		"completed_at": completed,
		"output": map[string]any{
			"title":             opt(c.Title),
			"summary":           opt(c.Summary),
			"text":              opt(c.Text),
			"annotations_count": len(c.Annotations),
			"annotations_url":   s.apiURL("repos", c.Owner, c.Repo, "check-runs", id, "annotations"),
		},
		"check_suite": map[string]any{"id": c.suite},
		"app": map[string]any{
			"id":    s.AppID,
			"slug":  AppSlug,
			"name":  "secretgate (test)",
			"owner": map[string]any{"login": "secretgate", "type": "Organization"},
		},
		"pull_requests": []any{},
	}
}
