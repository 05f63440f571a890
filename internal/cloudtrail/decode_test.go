package cloudtrail

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/secretgate/secretgate/internal/cloudtrail/gen"
)

// decodeByEncodingJSON is the decoder ingest had before, on encoding/json:
// the reference the decoder must agree with.
func decodeByEncodingJSON(name string, in io.Reader, fn func(*record) error) (int, error) {
	dec := json.NewDecoder(in)
	n := 0
	fail := func(err error) (int, error) {
		return n, &FileError{File: name, Record: n, Offset: dec.InputOffset(), Err: err}
	}
	if err := expectDelim(dec, '{'); err != nil {
		return fail(err)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		if key != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return fail(err)
		}
		for dec.More() {
			n++
			var rec record
			if err := dec.Decode(&rec); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return fail(err)
				}
				// A field of an unexpected type (some service's own
				// requestParameters) is left empty; the record is kept.
			}
			if err := fn(&rec); err != nil {
				return fail(err)
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return fail(err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the top-level object")
		}
		return fail(err)
	}
	if !found {
		return fail(errNoRecords)
	}
	return n, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// rowsByEncodingJSON is the rows of a file by the reference decoder; ok is
// false if it finds the file bad.
func rowsByEncodingJSON(data []byte) (evs []Event, ok bool) {
	_, err := decodeByEncodingJSON("f.json", strings.NewReader(string(data)), func(r *record) error {
		var err error
		evs, err = normalise(evs, r, "f.json")
		return err
	})
	return evs, err == nil
}

func rowsByDecoder(data []byte) (evs []Event, ok bool) {
	return rowsFrom(strings.NewReader(string(data)))
}

// rowsFrom decodes what in gives: the decoder parses a record in place
// when its buffer holds all of it, and otherwise reads on.
func rowsFrom(in io.Reader) (evs []Event, ok bool) {
	_, err := decode("f.json", in, func(r *record) error {
		var err error
		evs, err = normalise(evs, r, "f.json")
		return err
	})
	return evs, err == nil
}

func agree(t *testing.T, name string, data []byte) {
	t.Helper()
	want, wantOK := rowsByEncodingJSON(data)
	got, gotOK := rowsByDecoder(data)
	if gotOK != wantOK {
		t.Fatalf("%s: decoder ok=%v, encoding/json ok=%v", name, gotOK, wantOK)
	}
	if wantOK && !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s: row %d\n got %+v\nwant %+v", name, i, got[i], want[i])
			}
		}
		t.Fatalf("%s: %d rows, want %d", name, len(got), len(want))
	}
	// The same input a byte and a few bytes at a time: records cut by the
	// buffer's end at every place.
	for _, in := range []io.Reader{iotest.OneByteReader(strings.NewReader(string(data))), iotest.HalfReader(strings.NewReader(string(data)))} {
		byParts, partsOK := rowsFrom(in)
		if partsOK != gotOK || !reflect.DeepEqual(byParts, got) {
			t.Fatalf("%s: read in parts, ok=%v and %d rows; at once, ok=%v and %d rows", name, partsOK, len(byParts), gotOK, len(got))
		}
	}
}

// edge cases of JSON that encoding/json handled a certain way for ingest
var decodeCases = []string{
	`{"Records":[]}`,
	`{"Records":null}`,
	`{"other":[1,2,{"a":"b"}],"Records":[],"more":{"x":null}}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","EVENTSOURCE":"kms.amazonaws.com","requestParameters":{"KeyId":"k1"}}]}`,
	`{"Records":[{"eventID":"a\u0062c","eventTime":"2024-07-31T12:29:16Z","userAgent":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","sourceIPAddress":"bad \xff utf8"}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","requestParameters":{"secretId":7},"responseElements":"x","awsRegion":["x"]}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventSource":"secretsmanager.amazonaws.com","requestParameters":{"secretId":"one","secretId":"two"},"responseElements":{"aRN":"arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf"}}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventSource":"ssm.amazonaws.com","eventName":"GetParameters","requestParameters":{"names":["a",1,null,"b"],"withDecryption":"True"}}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventSource":"ssm.amazonaws.com","eventName":"GetParameter","requestParameters":{"name":"p","withDecryption":true,"names":null}}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventSource":"kms.amazonaws.com","resources":[null,7,{"ARN":"arn:aws:kms:us-east-1:1:key/k","type":"AWS::KMS::Key"}],"requestParameters":{"encryptionContext":{"SecretARN":"arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf"}},"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s","invokedBy":"secretsmanager.amazonaws.com","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","userIdentity":null,"requestParameters":null,"additionalEventData":{"MFAUsed":"Yes"},"eventSource":"signin.amazonaws.com"}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","eventſource":"kms.amazonaws.com","n":1.5e-3,"m":-0,"t":true,"f":false}]}`,
	` {"Records" : [ {"eventID" : "a" , "eventTime":"2024-07-31T12:29:16Z"} , {"eventID":"b","eventTime":"2024-07-31T12:29:17Z"} ] } ` + "\n",
	// bad files
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z"},]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z",}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","x":01}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","x":"\q"}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z","x":tru}]}`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z"}]} x`,
	`{"Records":[{"eventID":"a","eventTime":"2024-07-31T12:29:16Z"}]`,
	`{"Records":{}}`,
	`{"SecretList":[]}`,
	`[]`,
	`{"Records":[1]}`,
	"{\"Records\":[{\"eventID\":\"a\tb\",\"eventTime\":\"2024-07-31T12:29:16Z\"}]}",
}

func TestDecoderAgreesWithEncodingJSON(t *testing.T) {
	for i, c := range decodeCases {
		agree(t, "case "+string(rune('a'+i)), []byte(c))
	}
	files, _ := filepath.Glob("testdata/*.json")
	more, _ := filepath.Glob("testdata/derived/*.json")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		agree(t, f, data)
	}
}

func TestDecoderAgreesOnGeneratedTrail(t *testing.T) {
	dir := t.TempDir()
	if _, err := gen.Write(dir, gen.Config{Seed: 3, Days: 2, Events: 3000, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	files, err := Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	rd := newReader()
	for _, f := range files {
		var got []Event
		if _, err := rd.readFile(f, func(r *record) error {
			var err error
			got, err = normalise(got, r, "f.json")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		data, err := readAll(f)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := rowsByEncodingJSON(data)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decoder and encoding/json differ", f)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agree(t, "input", data)
	})
}

// readAll reads a whole (gzipped) log file.
func readAll(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
