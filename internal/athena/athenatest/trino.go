package athenatest

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// driverName is SQLite with the few Trino functions the reports use, so
// that a report's Athena text runs here as written:
//
//   - from_unixtime(seconds) keeps the number (SQLite has no timestamp
//     type); format_datetime(seconds, pattern) formats it in UTC with a
//     Joda-Time pattern (letters y M d H m s, text in single quotes,
//     two single quotes for one), as Trino does.
//   - max_by(x, y) is the x of the row with the greatest non-null y.
//
// Anything else Trino-only fails here, as it should in a test.
const driverName = "sqlite3_trino"

var registerOnce sync.Once

func registerDriver() {
	registerOnce.Do(func() {
		sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if err := c.RegisterFunc("from_unixtime", fromUnixtime, true); err != nil {
				return err
			}
			if err := c.RegisterFunc("format_datetime", formatDatetime, true); err != nil {
				return err
			}
			return c.RegisterAggregator("max_by", func() *maxBy { return &maxBy{} }, true)
		}})
	})
}

// fromUnixtime keeps Unix seconds as they are; NULL stays NULL.
func fromUnixtime(sec any) (any, error) {
	switch n := sec.(type) {
	case nil, []byte: // go-sqlite3 hands NULL over as a nil []byte
		return nil, nil
	case int64:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return nil, fmt.Errorf("from_unixtime: %T is not a number", sec)
}

// formatDatetime formats Unix seconds with a Joda-Time pattern, in UTC.
func formatDatetime(ts any, pattern string) (any, error) {
	if b, isBytes := ts.([]byte); ts == nil || isBytes && b == nil {
		return nil, nil
	}
	sec, ok := ts.(float64)
	if !ok {
		return nil, fmt.Errorf("format_datetime: %T is not a timestamp", ts)
	}
	layout, err := jodaLayout(pattern)
	if err != nil {
		return "", err
	}
	whole := int64(sec)
	nanos := int64((sec - float64(whole)) * 1e9)
	return time.Unix(whole, nanos).UTC().Format(layout), nil
}

// jodaLayout turns the subset of Joda-Time patterns the reports use into
// a Go time layout.
func jodaLayout(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("format_datetime: unterminated quote in %q", p)
			}
			if j == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteString(p[i+1 : i+1+j])
			}
			i += j + 2
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		run := p[i : i+n]
		i += n
		switch run {
		case "yyyy":
			b.WriteString("2006")
		case "MM":
			b.WriteString("01")
		case "dd":
			b.WriteString("02")
		case "HH":
			b.WriteString("15")
		case "mm":
			b.WriteString("04")
		case "ss":
			b.WriteString("05")
		default:
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return "", fmt.Errorf("format_datetime: pattern letters %q are not supported here", run)
			}
			b.WriteString(run)
		}
	}
	return b.String(), nil
}

// maxBy is Trino's max_by aggregate.
type maxBy struct {
	x   any
	y   float64
	set bool
}

func (m *maxBy) Step(x any, y any) {
	var v float64
	switch n := y.(type) {
	case int64:
		v = float64(n)
	case float64:
		v = n
	default: // NULL (a nil []byte here) or text: ignored, as Trino ignores a NULL y
		return
	}
	if !m.set || v > m.y {
		m.x, m.y, m.set = x, v, true
	}
}

func (m *maxBy) Done() any { return m.x }
