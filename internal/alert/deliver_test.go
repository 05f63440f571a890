package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/secretgate/secretgate/internal/alert/snstest"
	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/internal/store"
	"github.com/secretgate/secretgate/rules"
)

// clock is a settable clock for Deliver.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// recordRejected stores n rejected pushes with their alerts, one each.
func recordRejected(t *testing.T, st *store.Store, n int) {
	t.Helper()
	for i := range n {
		p := push(store.VerdictRejected, "")
		p.Repo = fmt.Sprintf("acme/repo-%d", i)
		fs := []scan.Finding{finding("aws-access-key", rules.High, i+1)}
		if _, err := st.RecordPush(context.Background(), p, fs, ForPush(p, fs)); err != nil {
			t.Fatal(err)
		}
	}
}

// noRetry leaves retrying to the outbox.
func noRetry(o *sns.Options) { o.RetryMaxAttempts = 1 }

func TestSNSSend(t *testing.T) {
	srv := snstest.NewServer(t)
	s := NewSNS(srv.Client(), srv.Topic())
	p := push(store.VerdictRejected, "")
	a := ForPush(p, []scan.Finding{finding("aws-access-key", rules.Critical, 3)})[0]
	a.Attributes["empty"] = ""
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	got := srv.Published()
	if len(got) != 1 {
		t.Fatalf("published %d", len(got))
	}
	want := snstest.Publish{
		MessageID: got[0].MessageID,
		TopicArn:  srv.Topic(),
		Subject:   "secretgate: 1 secret blocked in acme/api (push by dana)",
		Message:   a.Message,
		Attributes: map[string]snstest.Attribute{
			"severity":   {DataType: "String", StringValue: "critical"},
			"repository": {DataType: "String", StringValue: "acme/api"},
			"kind":       {DataType: "String", StringValue: "secret_pushed"},
		},
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("published\n%+v\nwant\n%+v", got[0], want)
	}
}

func TestSNSSendErrors(t *testing.T) {
	srv := snstest.NewServer(t)
	a := ForPush(push(store.VerdictFailedOpen, "timeout"), nil)[0]

	err := NewSNS(srv.Client(noRetry), snstest.TopicARN("missing")).Send(context.Background(), a)
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("unknown topic: err = %v, want NotFoundException naming the topic", err)
	}

	srv.FailNext(1)
	err = NewSNS(srv.Client(noRetry), srv.Topic()).Send(context.Background(), a)
	var ie *types.InternalErrorException
	if !errors.As(err, &ie) {
		t.Errorf("outage without SDK retries: err = %v, want InternalErrorException", err)
	}

	// With the SDK's own retries, a short outage is invisible.
	srv.FailNext(1)
	before := srv.Requests()
	if err := NewSNS(srv.Client(), srv.Topic()).Send(context.Background(), a); err != nil {
		t.Fatalf("outage with SDK retries: %v", err)
	}
	if n := srv.Requests() - before; n != 2 || len(srv.Published()) != 1 {
		t.Errorf("%d requests, %d published; want 2 and 1", n, len(srv.Published()))
	}
}

func TestNewSNSClient(t *testing.T) {
	srv := snstest.NewServer(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "snstest",
		"AWS_SECRET_ACCESS_KEY":       "snstest",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	if _, err := NewSNSClient(ctx, "", srv.URL); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: err = %v", err)
	}
	c, err := NewSNSClient(ctx, "eu-west-1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if c.Options().Region != "eu-west-1" {
		t.Errorf("region = %q", c.Options().Region)
	}
	a := ForPush(push(store.VerdictBypassed, "used_in_tests"), []scan.Finding{finding("r", rules.Low, 1)})[0]
	if err := NewSNS(c, srv.Topic()).Send(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := srv.Published(); len(got) != 1 || got[0].Subject != a.Subject {
		t.Errorf("published %+v", got)
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(&buf)
	l.now = func() time.Time { return t0 }
	a := ForPush(push(store.VerdictRejected, ""), []scan.Finding{finding("aws-access-key", rules.High, 1)})[0]
	a.ID = 4
	if err := l.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := l.Send(context.Background(), store.Alert{ID: 5, Kind: "x", Message: "not json\n"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	var first struct {
		Time       time.Time
		Alert      int64
		Push       int64
		Kind       string
		Subject    string
		Attributes map[string]string
		Message    Message
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if !first.Time.Equal(t0) || first.Alert != 4 || first.Push != 7 || first.Kind != "secret_pushed" ||
		first.Subject != a.Subject || first.Attributes["severity"] != "high" || first.Message.Findings[0].RuleID != "aws-access-key" {
		t.Errorf("line = %s", lines[0])
	}
	var second struct{ Message string }
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil || second.Message != "not json\n" {
		t.Errorf("line = %s (%v)", lines[1], err)
	}
}

// TestDeliverAfterOutage: SNS is down for the first attempt of each of
// three alerts; they are kept, retried after the backoff and each
// delivered exactly once.
func TestDeliverAfterOutage(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "gate.db"))
	recordRejected(t, st, 3)
	srv := snstest.NewServer(t)
	s := NewSNS(srv.Client(noRetry), srv.Topic())
	clk := &clock{now: t0.Add(time.Second)}
	opts := DeliverOptions{Now: clk.Now, Batch: 2}
	ctx := context.Background()

	srv.FailNext(3)
	steps := []struct {
		advance time.Duration
		want    DeliverStats
		pending int
	}{
		{0, DeliverStats{Failed: 3}, 3},                   // outage
		{10 * time.Second, DeliverStats{}, 3},             // not due yet
		{20 * time.Second, DeliverStats{Delivered: 3}, 0}, // 30s after the failure
		{time.Hour, DeliverStats{}, 0},                    // nothing left
	}
	for i, step := range steps {
		clk.Add(step.advance)
		got, err := Deliver(ctx, st, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := st.PendingAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != step.want || pending != step.pending {
			t.Errorf("step %d: %+v with %d pending, want %+v with %d", i, got, pending, step.want, step.pending)
		}
	}
	published := srv.Published()
	seen := map[string]int{}
	for _, p := range published {
		var m Message
		if err := json.Unmarshal([]byte(p.Message), &m); err != nil {
			t.Fatal(err)
		}
		seen[m.Repository]++
	}
	if len(published) != 3 || len(seen) != 3 {
		t.Errorf("published %d messages for %v, want each of 3 once", len(published), seen)
	}
	if srv.Requests() != 6 {
		t.Errorf("%d requests, want 3 failed and 3 delivered", srv.Requests())
	}
}

// countingSender counts the sends of each alert and passes them on.
type countingSender struct {
	mu    sync.Mutex
	sends map[int64]int
	next  Sender
}

func (c *countingSender) Send(ctx context.Context, a store.Alert) error {
	c.mu.Lock()
	c.sends[a.ID]++
	c.mu.Unlock()
	return c.next.Send(ctx, a)
}

// TestDeliverConcurrently runs deliverers in two "processes" at once: each
// alert is sent once.
func TestDeliverConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gate.db")
	stores := []*store.Store{openStore(t, path), openStore(t, path)}
	const n = 40
	recordRejected(t, stores[0], n)
	srv := snstest.NewServer(t)
	cs := &countingSender{sends: map[int64]int{}, next: NewSNS(srv.Client(), srv.Topic())}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total DeliverStats
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := Deliver(context.Background(), stores[i%2], cs, DeliverOptions{Batch: 3})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Delivered += got.Delivered
			total.Failed += got.Failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != (DeliverStats{Delivered: n}) || len(srv.Published()) != n || len(cs.sends) != n {
		t.Errorf("stats %+v, %d published, %d alerts sent; want %d each", total, len(srv.Published()), len(cs.sends), n)
	}
	for id, k := range cs.sends {
		if k != 1 {
			t.Errorf("alert %d sent %d times", id, k)
		}
	}
}

// senderFunc adapts a function to Sender.
type senderFunc func(ctx context.Context, a store.Alert) error

func (f senderFunc) Send(ctx context.Context, a store.Alert) error { return f(ctx, a) }

// TestDeliverLeases covers deliverers that die or are stopped mid-send.
func TestDeliverLeases(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	ok := NewLog(&log)

	t.Run("crashed deliverer", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "gate.db"))
		recordRejected(t, st, 1)
		clk := &clock{now: t0.Add(time.Second)}
		// A deliverer claims the alert and dies before marking it.
		if got, err := st.ClaimAlerts(ctx, clk.Now(), 10, time.Minute); err != nil || len(got) != 1 {
			t.Fatalf("claim: %v %v", got, err)
		}
		opts := DeliverOptions{Now: clk.Now}
		if got, _ := Deliver(ctx, st, ok, opts); got != (DeliverStats{}) {
			t.Errorf("while leased: %+v", got)
		}
		clk.Add(time.Minute)
		if got, _ := Deliver(ctx, st, ok, opts); got != (DeliverStats{Delivered: 1}) {
			t.Errorf("after the lease: %+v", got)
		}
	})

	t.Run("stopped mid-send", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "gate.db"))
		recordRejected(t, st, 2)
		clk := &clock{now: t0.Add(time.Second)}
		cctx, cancel := context.WithCancel(ctx)
		stop := senderFunc(func(ctx context.Context, a store.Alert) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		})
		got, err := Deliver(cctx, st, stop, DeliverOptions{Now: clk.Now, Lease: time.Minute})
		if !errors.Is(err, context.Canceled) || got != (DeliverStats{}) {
			t.Errorf("Deliver = %+v, %v; want nothing done and context.Canceled", got, err)
		}
		if n, _ := st.PendingAlerts(ctx); n != 2 {
			t.Errorf("%d pending, want 2", n)
		}
		clk.Add(time.Minute)
		if got, err := Deliver(ctx, st, ok, DeliverOptions{Now: clk.Now}); err != nil || got != (DeliverStats{Delivered: 2}) {
			t.Errorf("after the lease: %+v, %v", got, err)
		}
	})

	t.Run("stopped after a send", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "gate.db"))
		recordRejected(t, st, 2)
		cctx, cancel := context.WithCancel(ctx)
		sentThenStopped := senderFunc(func(ctx context.Context, a store.Alert) error {
			cancel()
			return nil
		})
		got, err := Deliver(cctx, st, sentThenStopped, DeliverOptions{})
		if !errors.Is(err, context.Canceled) || got != (DeliverStats{Delivered: 1}) {
			t.Errorf("Deliver = %+v, %v; want one delivered and context.Canceled", got, err)
		}
		if n, _ := st.PendingAlerts(ctx); n != 1 {
			t.Errorf("%d pending, want 1: a sent alert must be marked", n)
		}
	})
}

// TestDeliverKeepsFailures: an alert that cannot be sent stays in the
// outbox with its error and a growing backoff.
func TestDeliverKeepsFailures(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "gate.db"))
	recordRejected(t, st, 1)
	ctx := context.Background()
	clk := &clock{now: t0.Add(time.Second)}
	down := senderFunc(func(context.Context, store.Alert) error { return errors.New("connection refused") })
	for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		if got, err := Deliver(ctx, st, down, DeliverOptions{Now: clk.Now}); err != nil || got != (DeliverStats{Failed: 1}) {
			t.Fatalf("Deliver = %+v, %v", got, err)
		}
		clk.Add(wait - time.Millisecond)
		if got, _ := st.ClaimAlerts(ctx, clk.Now(), 1, time.Millisecond); len(got) != 0 {
			t.Fatalf("due before its backoff of %s", wait)
		}
		clk.Add(time.Millisecond)
	}
	got, err := st.ClaimAlerts(ctx, clk.Now(), 1, time.Minute)
	if err != nil || len(got) != 1 || got[0].Attempts != 3 || !strings.Contains(got[0].LastError, "connection refused") {
		t.Errorf("alert after 3 failures = %+v, %v", got, err)
	}
}
