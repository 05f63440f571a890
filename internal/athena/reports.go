package athena

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
)

// Reports runs the compliance reports' Athena texts: a compliance.Source.
type Reports struct {
	Client *Client

	queries, scanned atomic.Int64
}

// Rows runs r.Athena for w.
func (a *Reports) Rows(ctx context.Context, r *compliance.Report, w compliance.Window) ([][]string, error) {
	if r.Athena == "" {
		return nil, fmt.Errorf("no Athena text: the report needs the inventory, which only the local database holds")
	}
	q, params, err := Bind(r.Athena, w)
	if err != nil {
		return nil, err
	}
	res, err := a.Client.Query(ctx, q, params)
	if err != nil {
		return nil, err
	}
	a.queries.Add(1)
	a.scanned.Add(res.BytesScanned)
	return res.Rows, nil
}

// Scanned is how many queries ran and the bytes they scanned, which
// Athena bills.
func (a *Reports) Scanned() (queries, bytes int64) { return a.queries.Load(), a.scanned.Load() }

// Bind replaces a report's named parameters with Athena's positional
// ones (?) and returns their values, as execution parameters are: SQL
// literals. Times are Unix milliseconds; dates are the trail's date
// partitions (yyyy/MM/dd), a day wider than the window on each side since
// a log file lands in the folder of its delivery day.
func Bind(text string, w compliance.Window) (string, []string, error) {
	prev := w.Previous()
	date := func(t time.Time) string { return "'" + t.UTC().Format("2006/01/02") + "'" }
	day := 24 * time.Hour
	values := map[string]string{
		"from":               strconv.FormatInt(w.From.UnixMilli(), 10),
		"to":                 strconv.FormatInt(w.To.UnixMilli(), 10),
		"prev_from":          strconv.FormatInt(prev.From.UnixMilli(), 10),
		"from_date":          date(w.From.Add(-day)),
		"to_date":            date(w.To.Add(day)),
		"prev_from_date":     date(prev.From.Add(-day)),
		"recovery_from_date": date(w.From.Add(-31 * day)),
	}
	var b strings.Builder
	var params []string
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"': // a literal or quoted name: copied as it is
			j := i + 1
			for j < len(text) && text[j] != c {
				j++
			}
			b.WriteString(text[i:min(j+1, len(text))])
			i = j + 1
		case c == '-' && strings.HasPrefix(text[i:], "--"): // a comment
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			b.WriteString(text[i : i+j])
			i += j
		case c == ':' && i+1 < len(text) && isNameByte(text[i+1]):
			j := i + 1
			for j < len(text) && isNameByte(text[j]) {
				j++
			}
			name := text[i+1 : j]
			v, ok := values[name]
			if !ok {
				return "", nil, fmt.Errorf("unknown parameter :%s", name)
			}
			b.WriteByte('?')
			params = append(params, v)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), params, nil
}

func isNameByte(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
