// Package progress calls a reporter at a steady pace while work runs.
package progress

import "time"

// Interval is how often long scans report: often enough to look alive,
// rarely enough to cost nothing.
const Interval = 200 * time.Millisecond

// Start calls report every Interval until stop is called; stop calls it one
// last time, so the final figures are always shown, and returns after that.
// A nil report makes Start a no-op.
func Start(report func()) (stop func()) {
	if report == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-done:
				report()
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}
