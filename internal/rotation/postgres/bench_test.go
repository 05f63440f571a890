package postgres

import (
	"testing"
	"time"
)

// BenchmarkRotation is one full multi-user rotation (the four steps through
// the SDK against the local Secrets Manager, on the real server).
func BenchmarkRotation(b *testing.B) {
	e := newPG(b, 0, true)
	s := e.strategy(true)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.sm.Rotate(e.arn, e.invoke(e.rotator(s))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/rotation")
}

// BenchmarkAppLatency is the application loop's read+login+query latency:
// p99 while nothing rotates, then p99 while rotations run back to back (each
// waiting until the application uses the new login, as the rotation
// interval must be longer than the application's cache lifetime).
func BenchmarkAppLatency(b *testing.B) {
	e := newPG(b, 0, true)
	s := e.strategy(true)
	const window = 2 * time.Second
	for b.Loop() {
		app := startApp(e, 2)
		time.Sleep(window)
		_, idleFailures, idle := app.stop()

		app = startApp(e, 2)
		var rotations int
		for end := time.Now().Add(window); time.Now().Before(end); rotations++ {
			token, err := e.sm.Rotate(e.arn, e.invoke(e.rotator(s)))
			if err != nil {
				b.Fatal(err)
			}
			app.waitSeen(b, token)
		}
		_, failures, rotating := app.stop()
		if len(idleFailures)+len(failures) > 0 {
			b.Fatalf("queries failed: %d idle, %d rotating", len(idleFailures), len(failures))
		}
		b.ReportMetric(float64(idle.Microseconds())/1000, "p99-idle-ms")
		b.ReportMetric(float64(rotating.Microseconds())/1000, "p99-rotating-ms")
		b.ReportMetric(float64(rotations), "rotations")
	}
}
