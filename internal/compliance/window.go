// Package compliance defines the weekly evidence reports over CloudTrail
// events: who read which secret, what violated policy, how rotation went.
// Each report is defined once: its columns, its meaning, and its SQL.
package compliance

import (
	"fmt"
	"time"
)

// Window is a half-open span of time, [From, To), in UTC.
type Window struct{ From, To time.Time }

func (w Window) String() string {
	return w.From.Format("2006-01-02") + " – " + w.To.Add(-time.Nanosecond).Format("2006-01-02")
}

// Previous is the window of the same length just before w.
func (w Window) Previous() Window {
	d := w.To.Sub(w.From)
	return Window{From: w.From.Add(-d), To: w.From}
}

// Week returns ISO week "YYYY-Www" (e.g. 2026-W48), Monday 00:00 UTC on.
func Week(s string) (Window, error) {
	var year, week int
	if _, err := fmt.Sscanf(s, "%d-W%d", &year, &week); err != nil || week < 1 || week > 53 {
		return Window{}, fmt.Errorf("week %q: want YYYY-Www, such as 2026-W48", s)
	}
	// ISO week 1 holds January 4th; weeks start on Monday.
	jan4 := time.Date(year, time.January, 4, 0, 0, 0, 0, time.UTC)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	from := monday.AddDate(0, 0, 7*(week-1))
	if y, w := from.ISOWeek(); y != year || w != week {
		return Window{}, fmt.Errorf("week %q: %d has no week %d", s, year, week)
	}
	return Window{From: from, To: from.AddDate(0, 0, 7)}, nil
}

// LastWeek is the last complete ISO week before now.
func LastWeek(now time.Time) Window {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	return Window{From: monday.AddDate(0, 0, -7), To: monday}
}
