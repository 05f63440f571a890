// Package githubapp is the GitHub App front door: it takes webhook
// deliveries, queues them durably, and (in its workers) turns pushes and
// pull requests into scans answered with check runs.
package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-github/v88/github"
)

// MaxPayload is the largest delivery accepted. GitHub caps webhook payloads
// at 25 MB and drops larger ones itself.
const MaxPayload = 25 << 20

// Queue keeps deliveries until a worker has handled them. A delivery id
// seen before is not queued again (GitHub redelivers on timeouts and on
// request).
type Queue interface {
	EnqueueJob(ctx context.Context, kind, deliveryID string, payload []byte) (id int64, dup bool, err error)
}

// Webhook receives GitHub's deliveries: it verifies the signature, keeps
// what the app handles in the queue, and answers at once (GitHub gives up
// after 10 seconds).
type Webhook struct {
	Secret []byte // the app's webhook secret; must not be empty
	Queue  Queue
	Log    *slog.Logger
	Queued func() // if set, called after a delivery is queued (wakes a worker)

	once    sync.Once
	reading chan struct{} // bounds the bodies held before their signature is known
}

// maxReading is how many deliveries may be read at once: a body is read
// whole (up to MaxPayload) before its signature can be checked, so unsigned
// traffic must not be able to hold more than this many in memory.
const maxReading = 16

// handled lists the events and actions the workers act on.
var handled = map[string][]string{
	"push":                      nil, // every push
	"pull_request":              {"opened", "synchronize", "reopened"},
	"check_suite":               {"requested", "rerequested"},
	"check_run":                 {"rerequested", "requested_action"},
	"installation":              nil,
	"installation_repositories": nil,
}

// Routes is the app's HTTP surface.
func Routes(h *Webhook) http.Handler {
	r := chi.NewRouter()
	r.Post("/webhooks/github", h.ServeHTTP)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return r
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	log := h.Log.With("delivery", delivery, "event", event)
	if len(h.Secret) == 0 { // go-github would skip the check: never serve unsigned
		log.Error("webhook secret not configured")
		http.Error(w, "webhook secret not configured", http.StatusInternalServerError)
		return
	}
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") { // go-github would take the algorithm from the prefix
		log.Warn("delivery refused: no sha256 signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	contentType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")) // "application/json; charset=utf-8"
	h.once.Do(func() { h.reading = make(chan struct{}, maxReading) })
	select {
	case h.reading <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxPayload)
	payload, err := github.ValidatePayloadFromBody(contentType, r.Body, sig, h.Secret)
	<-h.reading
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("delivery too large")
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		log.Warn("delivery refused: bad or missing signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if event == "ping" {
		log.Info("ping")
		w.Write([]byte("pong\n"))
		return
	}
	if delivery == "" || event == "" {
		http.Error(w, "missing X-GitHub-Event or X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	actions, ok := handled[event]
	if ok && actions != nil {
		var probe struct {
			Action string `json:"action"`
		}
		ok = json.Unmarshal(payload, &probe) == nil && slices.Contains(actions, probe.Action)
	}
	if !ok {
		log.Debug("event not handled")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	id, dup, err := h.Queue.EnqueueJob(r.Context(), event, delivery, payload)
	if err != nil {
		// 5xx: GitHub marks the delivery failed and it can be redelivered.
		log.Error("queueing delivery", "err", err)
		http.Error(w, "could not queue the delivery", http.StatusServiceUnavailable)
		return
	}
	log.Info("queued", "job", id, "duplicate", dup)
	if h.Queued != nil && !dup {
		h.Queued()
	}
	w.WriteHeader(http.StatusAccepted)
}
