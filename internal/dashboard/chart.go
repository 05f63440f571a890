package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/secretgate/secretgate/internal/compliance"
	"github.com/secretgate/secretgate/web"
)

// Chart geometry, in the SVG view box's units.
const (
	chartW      = 720
	chartH      = 200
	chartLeft   = 44 // room for the axis labels
	chartBottom = 20 // room for the day labels
	chartTop    = 8
)

// dayChart draws column col of a per-day table (first column the day) as
// one bar per day, each bar a link to link(day).
func dayChart(title, series, class string, t *compliance.Table, col int, link func(day string) string) web.Chart {
	c := web.Chart{Title: title, Width: chartW, Height: chartH, Series: []web.Series{{Name: series, Class: class}}}
	if len(t.Rows) == 0 {
		return c
	}
	vals := make([]float64, len(t.Rows))
	hi := 0.0
	for i, r := range t.Rows {
		vals[i], _ = strconv.ParseFloat(r[col], 64)
		hi = math.Max(hi, vals[i])
	}
	top, step := niceScale(hi)
	plotH := float64(chartH - chartBottom - chartTop)
	y := func(v float64) int { return chartTop + int(math.Round(plotH*(1-v/top))) }
	for v := 0.0; v <= top+step/2; v += step {
		c.Ticks = append(c.Ticks, web.Tick{Y: y(v), Label: shortNumber(v)})
	}
	slot := float64(chartW-chartLeft) / float64(len(t.Rows))
	barW := int(math.Max(2, slot*0.6))
	for i, r := range t.Rows {
		day := r[0]
		x := chartLeft + int(slot*float64(i)+(slot-float64(barW))/2)
		top := y(vals[i])
		g := web.BarGroup{Label: dayLabel(day), LabelX: x + barW/2, Link: link(day)}
		g.Bars = append(g.Bars, web.Bar{X: x, Y: top, W: barW, H: chartH - chartBottom - top, Class: class,
			Title: fmt.Sprintf("%s: %s %s", day, r[col], series)})
		c.Groups = append(c.Groups, g)
	}
	return c
}

// niceScale is an axis top at or above m and a step of 1, 2 or 5 times a
// power of ten, giving at most five steps.
func niceScale(m float64) (top, step float64) {
	if m <= 0 {
		return 1, 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10} {
		step = f * mag
		if math.Ceil(m/step) <= 5 {
			break
		}
	}
	step = math.Max(step, 1)
	return math.Ceil(m/step) * step, step
}

func shortNumber(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// dayLabel is "Mon 23" for 2026-11-23.
func dayLabel(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return t.Format("Mon 2")
}

// timeline places the break-glass sessions (compliance.BreakGlass rows)
// on the window's days, overlapping sessions in separate lanes.
func timeline(v *view, t *compliance.Table) *web.Timeline {
	const laneH = 18
	w := v.window
	span := float64(w.To.Sub(w.From))
	plotW := float64(chartW - chartLeft)
	x := func(at time.Time) int { return chartLeft + int(plotW*float64(at.Sub(w.From))/span) }
	var lanes []int // each lane's right end
	var sessions []web.Session
	for _, r := range t.Rows {
		first, err1 := time.Parse(time.RFC3339, r[3])
		last, err2 := time.Parse(time.RFC3339, r[4])
		if err1 != nil || err2 != nil {
			continue
		}
		x0 := x(first)
		wd := max(4, x(last)-x0)
		lane := -1
		for i, end := range lanes {
			if end+2 < x0 {
				lane = i
				break
			}
		}
		if lane < 0 {
			lane = len(lanes)
			lanes = append(lanes, 0)
		}
		lanes[lane] = x0 + wd
		sessions = append(sessions, web.Session{
			Label: fmt.Sprintf("%s as %s, %s to %s, MFA %s, %s calls, %s secrets read", r[1], r[0], r[3], r[4], r[2], r[5], r[6]),
			MFA:   r[2] == "yes", X: x0, Y: 4 + lane*laneH, W: wd,
			Link: v.eventsLink("principal", r[0], "session", r[1]),
		})
	}
	tl := &web.Timeline{Title: "Break-glass sessions across the week", Width: chartW,
		Height: 4 + max(1, len(lanes))*laneH + 20, Sessions: sessions}
	for d := w.From; d.Before(w.To); d = d.AddDate(0, 0, 1) {
		tl.Days = append(tl.Days, web.Tick{Y: x(d), Label: d.Format("Mon 2")})
	}
	return tl
}
