package report

import (
	"encoding/json"
	"io"

	"github.com/secretgate/secretgate/internal/scan"
)

// WriteJSON writes findings as a JSON array of flat objects with
// snake_case fields (see record). No findings is `[]`, never null.
// internal/baseline reads this format back.
func WriteJSON(w io.Writer, findings []scan.Finding) error {
	recs := make([]record, 0, len(findings))
	for _, f := range findings {
		recs = append(recs, toRecord(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(recs)
}
