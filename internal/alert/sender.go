package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/secretgate/secretgate/internal/store"
)

// Sender delivers one alert. An error means it was not delivered and will
// be tried again later.
type Sender interface {
	Send(ctx context.Context, a store.Alert) error
}

// Log is the embedded default Sender: one JSON line per alert to a writer.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewLog returns a Sender that writes alerts to w as JSON lines.
func NewLog(w io.Writer) *Log { return &Log{w: w, now: time.Now} }

// logLine is what Log writes: the alert, its message embedded as JSON.
type logLine struct {
	Time       time.Time         `json:"time"`
	Alert      int64             `json:"alert"`
	Push       int64             `json:"push"`
	Kind       string            `json:"kind"`
	Subject    string            `json:"subject"`
	Attributes map[string]string `json:"attributes"`
	Message    json.RawMessage   `json:"message"`
}

// Send writes the alert as one line.
func (l *Log) Send(ctx context.Context, a store.Alert) error {
	msg := json.RawMessage(a.Message)
	if !json.Valid(msg) { // keep the line valid JSON whatever the message
		b, _ := json.Marshal(a.Message)
		msg = b
	}
	line, err := json.Marshal(logLine{
		Time:       l.now().UTC(),
		Alert:      a.ID,
		Push:       a.PushID,
		Kind:       a.Kind,
		Subject:    a.Subject,
		Attributes: a.Attributes,
		Message:    msg,
	})
	if err != nil {
		return fmt.Errorf("alert %d: %w", a.ID, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("alert %d: write log: %w", a.ID, err)
	}
	return nil
}
