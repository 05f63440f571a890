package progress

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestStartReportsUntilStopped(t *testing.T) {
	var n atomic.Int64
	stop := Start(func() { n.Add(1) })
	time.Sleep(2*Interval + Interval/2)
	stop()
	got := n.Load()
	if got < 2 { // at least one tick, and always the final report
		t.Errorf("reported %d times, want at least 2", got)
	}
	time.Sleep(Interval + Interval/2)
	if n.Load() != got {
		t.Error("reported after stop returned")
	}
}

func TestStartNil(t *testing.T) {
	Start(nil)() // must not panic or block
}
