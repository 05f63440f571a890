package inventory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Import reads the JSON that `aws secretsmanager list-secrets` prints
// ({"SecretList": [...]}, dates as ISO 8601 strings or epoch seconds) from
// r into db's secrets table, replacing the rows of secrets it has seen
// before, and says how many secrets it wrote. It writes all or
// nothing: a malformed document is an error naming the byte
// offset where it went wrong, and leaves the table as it was.
func Import(ctx context.Context, db *sql.DB, r io.Reader) (n int, err error) {
	w, err := begin(ctx, db)
	if err != nil {
		return 0, err
	}
	if err := decode(r, func(e *entry, at int64) error {
		s, err := e.secret()
		if err != nil {
			return fmt.Errorf("inventory: byte %d: %w", at, err)
		}
		return w.put(ctx, s)
	}); err != nil {
		w.rollback()
		return 0, err
	}
	return w.commit()
}

// decode calls fn with each element of the document's SecretList and the
// byte offset where the element starts. The document is read whole (an
// inventory of ten thousand secrets is a few megabytes) so that a syntax
// error is placed exactly: json.Decoder's offsets drift after Token.
func decode(r io.Reader, fn func(e *entry, at int64) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("inventory: list-secrets JSON: %w", err)
	}
	var shell struct{ SecretList json.RawMessage }
	if err := json.Unmarshal(data, &shell); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			if se.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("inventory: list-secrets JSON: byte %d: %w", se.Offset, err)
		case errors.As(err, &te):
			return fmt.Errorf("inventory: list-secrets JSON: byte %d: found %s where {\"SecretList\": [...]} was expected: %w", te.Offset, te.Value, err)
		}
		return fmt.Errorf("inventory: list-secrets JSON: %w", err)
	}
	// Valid JSON from here on: walk it again for the elements' offsets.
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) error {
		return fmt.Errorf("inventory: list-secrets JSON: byte %d: %w", dec.InputOffset(), err)
	}
	if err := delim(dec, '{'); err != nil {
		return fail(err)
	}
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		if key, _ := t.(string); key != "SecretList" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		found = true
		if err := delim(dec, '['); err != nil {
			return fail(fmt.Errorf("SecretList: %w", err))
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(err)
			}
			at := dec.InputOffset() - int64(len(raw))
			var e entry
			if err := json.Unmarshal(raw, &e); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return fmt.Errorf("inventory: list-secrets JSON: byte %d: %w", at+te.Offset, err)
				}
				return fmt.Errorf("inventory: list-secrets JSON: byte %d: %w", at, err)
			}
			if err := fn(&e, at); err != nil {
				return err
			}
		}
		if err := delim(dec, ']'); err != nil {
			return fail(err)
		}
	}
	if err := delim(dec, '}'); err != nil {
		return fail(err)
	}
	if !found {
		return fail(errNoList)
	}
	return nil
}

func delim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("found %v where %q was expected", t, string(want))
	}
	return nil
}
