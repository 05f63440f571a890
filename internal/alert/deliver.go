package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secretgate/secretgate/internal/store"
)

// DeliverOptions tune Deliver; the zero value is ready to use.
type DeliverOptions struct {
	Batch       int                              // alerts claimed at a time; default 10
	SendTimeout time.Duration                    // limit on one send; default 30s
	Lease       time.Duration                    // how long a claim holds; default Batch×SendTimeout + 1m
	Backoff     func(attempts int) time.Duration // wait after a failed send; default Backoff, at least 1s
	Now         func() time.Time                 // the clock; default time.Now
}

// DeliverStats counts what one Deliver call did.
type DeliverStats struct {
	Delivered int // alerts sent
	Failed    int // sends that failed, each kept for a retry
}

// Backoff is the default wait before retrying an alert that failed
// attempts times before this failure: 30s·2^attempts, at most an hour.
func Backoff(attempts int) time.Duration {
	const base, limit = 30 * time.Second, time.Hour
	if attempts < 0 {
		attempts = 0
	}
	if attempts >= 7 { // 30s·2^7 > 1h
		return limit
	}
	return min(base<<attempts, limit)
}

// Deliver sends the outbox's due alerts through s until none is due or ctx
// is done. Each alert is claimed (leased) before it is sent, so concurrent
// deliverers, in this process or others, do not send it twice; a send that
// fails is recorded and retried after a backoff; if the process dies
// mid-send, the lease expires and the alert is claimed again. Nothing is
// lost, though an alert may be sent twice in that last case. The error is
// the store's or the context's; failed sends are counted, not returned.
func Deliver(ctx context.Context, st *store.Store, s Sender, opts DeliverOptions) (DeliverStats, error) {
	opts = opts.withDefaults()
	var stats DeliverStats
	for {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		batch, err := st.ClaimAlerts(ctx, opts.Now(), opts.Batch, opts.Lease)
		if err != nil {
			return stats, err
		}
		if len(batch) == 0 {
			return stats, nil
		}
		for _, a := range batch {
			sctx, cancel := context.WithTimeout(ctx, opts.SendTimeout)
			sendErr := s.Send(sctx, a)
			cancel()
			// A sent alert is marked even if ctx is done meanwhile, or the
			// next deliverer would send it again.
			rec := context.WithoutCancel(ctx)
			switch {
			case sendErr == nil:
				stats.Delivered++
				// ErrNoAlert: another deliverer sent it after our lease expired.
				if err := st.AlertDelivered(rec, a.ID, opts.Now()); err != nil && !errors.Is(err, store.ErrNoAlert) {
					return stats, fmt.Errorf("alert: %w", err)
				}
			case ctx.Err() != nil:
				// Stopped mid-send: the leases of this batch expire and
				// the next deliverer claims these alerts again.
				return stats, ctx.Err()
			default:
				stats.Failed++
				retry := opts.Now().Add(max(opts.Backoff(a.Attempts), time.Second))
				if err := st.AlertFailed(rec, a.ID, clip(sendErr.Error(), maxField), retry); err != nil && !errors.Is(err, store.ErrNoAlert) {
					return stats, fmt.Errorf("alert: %w", err)
				}
			}
			if err := ctx.Err(); err != nil {
				return stats, err
			}
		}
	}
}

func (o DeliverOptions) withDefaults() DeliverOptions {
	if o.Batch <= 0 {
		o.Batch = 10
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = time.Duration(o.Batch)*o.SendTimeout + time.Minute
	}
	if o.Backoff == nil {
		o.Backoff = Backoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
