package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Activity is what the gate did about one rule in one repository over a
// span of time: pushes it blocked, pushes let through with a bypass, and
// the findings and bypass reasons behind them. Rule is empty for pushes
// that were not scanned (failed open or closed).
type Activity struct {
	Repo, Rule   string
	Blocked      int // pushes refused: rejected, or failed closed
	Bypassed     int // pushes let through by a bypass
	FailedOpen   int // pushes let through unscanned
	Findings     int
	BypassReason []string // distinct, in the order first given
}

// Activity lists the gate's non-accepted pushes in [from, to) by
// repository and rule, repositories and rules in name order.
func (s *Store) Activity(ctx context.Context, from, to time.Time) ([]Activity, error) {
	rows, err := s.conn().query(ctx, `
		SELECT p.id, p.repo, p.verdict, p.reason, coalesce(f.rule_id, ''), count(f.id)
		FROM pushes p LEFT JOIN findings f ON f.push_id = p.id
		WHERE p.at >= ? AND p.at < ? AND p.verdict <> 'accepted'
		GROUP BY p.id, p.repo, p.verdict, p.reason, f.rule_id
		ORDER BY p.at, p.id, f.rule_id`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: gate activity: %w", err)
	}
	defer rows.Close()
	byKey := map[[2]string]*Activity{}
	for rows.Next() {
		var (
			id                    int64
			repo, verdict, reason string
			rule                  string
			n                     int
		)
		if err := rows.Scan(&id, &repo, &verdict, &reason, &rule, &n); err != nil {
			return nil, fmt.Errorf("store: gate activity: %w", err)
		}
		k := [2]string{repo, rule}
		a := byKey[k]
		if a == nil {
			a = &Activity{Repo: repo, Rule: rule}
			byKey[k] = a
		}
		a.Findings += n
		switch Verdict(verdict) {
		case VerdictRejected, VerdictFailedClosed:
			a.Blocked++
		case VerdictBypassed:
			a.Bypassed++
			if reason != "" && !slices.Contains(a.BypassReason, reason) {
				a.BypassReason = append(a.BypassReason, reason)
			}
		case VerdictFailedOpen:
			a.FailedOpen++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: gate activity: %w", err)
	}
	out := make([]Activity, 0, len(byKey))
	for _, a := range byKey {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Rule < out[j].Rule
	})
	return out, nil
}
