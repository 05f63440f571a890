package cloudtrail

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// decoder reads {"Records":[…]} one record at a time. It first finds where
// a record ends in the stream (so memory holds one record, not the file),
// then fills a record from those bytes in one pass, reading only the fields
// ingest uses and stepping over the rest while checking their syntax.
// encoding/json did the same in two passes with reflection and was most of
// ingest's CPU time. Field names match as encoding/json matches them (case
// folded, last one wins); a value of an unexpected type leaves its field
// empty, as encoding/json's UnmarshalTypeError did for ingest.
type decoder struct {
	in   io.Reader
	buf  []byte
	pos  int   // next byte to read in buf
	end  int   // end of the bytes read into buf
	base int64 // stream offset of buf[0]
	eof  error // the reader's error once it has returned one

	p   parser
	rec record
	// storage for the record's optional parts, reused from record to record
	rp  requestParams
	ec  encryptionContext
	re  responseElems
	ad  additionalData
	sd  serviceDetails
	sc  sessionContext
	res []resource
}

func (d *decoder) reset(in io.Reader) {
	if d.buf == nil {
		d.buf = make([]byte, 64<<10)
	}
	d.in, d.pos, d.end, d.base, d.eof = in, 0, 0, 0, nil
}

// fill reads more input, keeping buf[keep:end]; it returns the shift the
// kept bytes moved by, or an error at the end of the input.
func (d *decoder) fill(keep int) (int, error) {
	if d.eof != nil {
		return 0, d.eof
	}
	shift := keep
	if keep > 0 {
		copy(d.buf, d.buf[keep:d.end])
		d.end -= keep
		d.pos -= keep
		d.base += int64(keep)
	}
	if d.end == len(d.buf) {
		d.buf = append(d.buf, make([]byte, len(d.buf))...)
	}
	for {
		n, err := d.in.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.eof = err
			if n == 0 {
				return shift, err
			}
		}
		if n > 0 {
			return shift, nil
		}
	}
}

// skipSpace moves past whitespace and returns the next byte, reading more
// input as needed.
func (d *decoder) skipSpace() (byte, error) {
	for {
		for d.pos < d.end {
			c := d.buf[d.pos]
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				return c, nil
			}
			d.pos++
		}
		if _, err := d.fill(d.pos); err != nil {
			return 0, err
		}
	}
}

// value finds the end of the JSON value at pos (after whitespace) and
// returns its bytes, which stay valid until the next call; pos moves past
// it. Only the value's extent is found here: parser checks its syntax.
func (d *decoder) value() ([]byte, error) {
	c, err := d.skipSpace()
	if err != nil {
		return nil, err
	}
	start := d.pos
	i := start
	depth := 0
	inString := false
	if c != '{' && c != '[' && c != '"' {
		// a number or literal: up to the next delimiter
		for {
			for ; i < d.end; i++ {
				switch d.buf[i] {
				case ',', '}', ']', ' ', '\n', '\r', '\t':
					d.pos = i
					return d.buf[start:i], nil
				}
			}
			shift, err := d.fill(start)
			if err == io.EOF && i-shift > 0 {
				d.pos = d.end
				return d.buf[:d.end], nil
			}
			if err != nil {
				return nil, err
			}
			i -= shift
			start = 0
		}
	}
	for {
		for ; i < d.end; i++ {
			b := d.buf[i]
			if inString {
				switch b {
				case '\\':
					i++ // the escaped byte; may be past end, handled below
				case '"':
					inString = false
					if depth == 0 {
						d.pos = i + 1
						return d.buf[start : i+1], nil
					}
				}
				continue
			}
			switch b {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.pos = i + 1
					return d.buf[start : i+1], nil
				}
			}
		}
		shift, err := d.fill(start)
		if err != nil {
			return nil, err
		}
		i -= shift
		start = 0
	}
}

// offset is the stream offset of pos.
func (d *decoder) offset() int64 { return d.base + int64(d.pos) }

// expect reads the byte want (after whitespace).
func (d *decoder) expect(want byte) error {
	c, err := d.skipSpace()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("expected %q, found %q", want, c)
	}
	d.pos++
	return nil
}

func decode(name string, in io.Reader, fn func(*record) error) (int, error) {
	var d decoder
	return d.decode(name, in, fn)
}

func (d *decoder) decode(name string, in io.Reader, fn func(*record) error) (int, error) {
	d.reset(in)
	defer func() { d.in = nil }()
	n := 0
	var at int64 = -1
	fail := func(err error) (int, error) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		off := at
		if off < 0 {
			off = d.offset()
		}
		return n, &FileError{File: name, Record: n, Offset: off, Err: err}
	}
	if err := d.expect('{'); err != nil {
		return fail(err)
	}
	found := false
	first := true
	for {
		c, err := d.skipSpace()
		if err != nil {
			return fail(err)
		}
		if c == '}' {
			d.pos++
			break
		}
		if !first {
			if c != ',' {
				return fail(fmt.Errorf("expected ',' or '}', found %q", c))
			}
			d.pos++
		}
		first = false
		raw, err := d.value()
		if err != nil {
			return fail(err)
		}
		key, ok := d.p.topString(raw)
		if !ok {
			return fail(errors.New("expected an object key"))
		}
		if err := d.expect(':'); err != nil {
			return fail(err)
		}
		if key != "Records" {
			at = d.offset()
			raw, err := d.value()
			if err != nil {
				return fail(err)
			}
			if err := d.p.check(raw); err != nil {
				at += int64(d.p.errAt)
				return fail(err)
			}
			at = -1
			continue
		}
		found = true
		if err := d.expect('['); err != nil {
			return fail(err)
		}
		for i := 0; ; i++ {
			c, err := d.skipSpace()
			if err != nil {
				return fail(err)
			}
			if c == ']' {
				d.pos++
				break
			}
			if i > 0 {
				if c != ',' {
					return fail(fmt.Errorf("expected ',' or ']' after record %d, found %q", n, c))
				}
				d.pos++
			}
			n++
			if _, err := d.skipSpace(); err != nil {
				return fail(err)
			}
			at = d.offset()
			if !d.recordInPlace() {
				raw, err := d.value()
				if err != nil {
					return fail(err)
				}
				if err := d.record(raw); err != nil {
					at += int64(d.p.errAt)
					return fail(err)
				}
			}
			at = -1
			if err := fn(&d.rec); err != nil {
				return fail(err)
			}
		}
	}
	if c, err := d.skipSpace(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("data after the top-level object: %q", c)
		}
		return fail(err)
	}
	if !found {
		return fail(errNoRecords)
	}
	return n, nil
}

// recordInPlace parses the record at pos straight from the buffer and
// moves pos past it, which spares finding its end first. It returns false,
// leaving pos where it was, when the buffer does not hold the whole record
// (or the record is not an object or is bad): value and record then take
// it, reading more input and placing any error as they always have. A
// record cut short by the buffer's end cannot parse as a whole one: an
// object is only complete at its closing brace.
func (d *decoder) recordInPlace() bool {
	if d.buf[d.pos] != '{' {
		return false
	}
	if d.parse(d.buf[d.pos:d.end]) != nil {
		return false
	}
	d.pos += d.p.i
	return true
}

// record parses one record, the whole of raw, into d.rec.
func (d *decoder) record(raw []byte) error {
	d.parse(raw)
	d.p.end()
	return d.p.err
}

// parse reads one record from the start of b into d.rec, leaving p.i
// just after it.
func (d *decoder) parse(b []byte) error {
	d.rec = record{}
	d.res = d.res[:0]
	p := &d.p
	p.reset(b)
	r := &d.rec
	if !p.objectStart() {
		p.skip()
	} else {
		for key := range p.keys() {
			switch string(key) {
			case "eventid":
				p.str(&r.EventID)
			case "eventtime":
				p.str(&r.EventTime)
			case "eventsource":
				p.common(&r.EventSource)
			case "eventname":
				p.common(&r.EventName)
			case "eventtype":
				p.common(&r.EventType)
			case "awsregion":
				p.common(&r.AWSRegion)
			case "sourceipaddress":
				p.str(&r.SourceIPAddress)
			case "useragent":
				p.common(&r.UserAgent)
			case "errorcode":
				p.common(&r.ErrorCode)
			case "errormessage":
				p.str(&r.ErrorMessage)
			case "recipientaccountid":
				p.common(&r.RecipientAccountID)
			case "useridentity":
				if p.objectStart() {
					d.userIdentity(&r.UserIdentity)
				} else {
					p.skip()
				}
			case "requestparameters":
				if object(p, &r.RequestParameters, &d.rp) {
					d.requestParams(r.RequestParameters)
				}
			case "responseelements":
				if object(p, &r.ResponseElements, &d.re) {
					for key := range p.keys() {
						if string(key) == "arn" {
							p.str(&r.ResponseElements.ARN)
						} else {
							p.skip()
						}
					}
				}
			case "additionaleventdata":
				if object(p, &r.AdditionalEventData, &d.ad) {
					for key := range p.keys() {
						switch string(key) {
						case "secretid":
							p.common(&r.AdditionalEventData.SecretID)
						case "mfaused":
							p.str(&r.AdditionalEventData.MFAUsed)
						default:
							p.skip()
						}
					}
				}
			case "serviceeventdetails":
				if object(p, &r.ServiceEventDetails, &d.sd) {
					for key := range p.keys() {
						if string(key) == "secretid" {
							p.common(&r.ServiceEventDetails.SecretID)
						} else {
							p.skip()
						}
					}
				}
			case "resources":
				d.resources(r)
			default:
				p.skip()
			}
		}
	}
	return p.err
}

func (d *decoder) userIdentity(u *userIdentity) {
	p := &d.p
	for key := range p.keys() {
		switch string(key) {
		case "type":
			p.common(&u.Type)
		case "principalid":
			p.str(&u.PrincipalID)
		case "arn":
			p.str(&u.ARN)
		case "accountid":
			p.common(&u.AccountID)
		case "username":
			p.str(&u.UserName)
		case "invokedby":
			p.common(&u.InvokedBy)
		case "sessioncontext":
			if !object(p, &u.SessionContext, &d.sc) {
				continue
			}
			c := u.SessionContext
			for key := range p.keys() {
				switch string(key) {
				case "attributes":
					if !p.objectStart() {
						p.skip()
						continue
					}
					for key := range p.keys() {
						if string(key) == "mfaauthenticated" {
							p.common(&c.Attributes.MFAAuthenticated)
						} else {
							p.skip()
						}
					}
				case "sessionissuer":
					if !p.objectStart() {
						p.skip()
						continue
					}
					for key := range p.keys() {
						switch string(key) {
						case "type":
							p.common(&c.SessionIssuer.Type)
						case "arn":
							p.common(&c.SessionIssuer.ARN)
						case "username":
							p.common(&c.SessionIssuer.UserName)
						default:
							p.skip()
						}
					}
				default:
					p.skip()
				}
			}
		default:
			p.skip()
		}
	}
}

func (d *decoder) requestParams(rp *requestParams) {
	p := &d.p
	for key := range p.keys() {
		switch string(key) {
		case "secretid":
			p.common(&rp.SecretID)
		case "secretidlist":
			p.strings(&rp.SecretIDList)
		case "name":
			p.str(&rp.Name)
		case "names":
			p.strings(&rp.Names)
		case "path":
			p.str(&rp.Path)
		case "withdecryption":
			// as jsonBool reads it: true, "true", "True" or "TRUE"
			switch string(p.raw()) {
			case "true", `"true"`, `"True"`, `"TRUE"`:
				rp.WithDecryption = true
			default:
				rp.WithDecryption = false
			}
		case "keyid":
			p.common(&rp.KeyID)
		case "kmskeyid":
			p.common(&rp.KMSKeyID)
		case "serialnumber":
			p.str(&rp.SerialNumber)
		case "rolearn":
			p.str(&rp.RoleARN)
		case "encryptioncontext":
			if !object(p, &rp.EncryptionContext, &d.ec) {
				continue
			}
			c := rp.EncryptionContext
			for key := range p.keys() {
				switch string(key) {
				case "secretarn":
					p.common(&c.SecretARN)
				case "secretversionid":
					p.str(&c.SecretVersionID)
				case "parameter_arn":
					p.str(&c.ParameterARN)
				default:
					p.skip()
				}
			}
		default:
			p.skip()
		}
	}
}

func (d *decoder) resources(r *record) {
	p := &d.p
	switch p.peek() {
	case 'n':
		p.skip()
		r.Resources = nil
		return
	case '[':
	default:
		p.skip()
		return
	}
	d.res = d.res[:0]
	for range p.elements() {
		d.res = append(d.res, resource{})
		res := &d.res[len(d.res)-1]
		if !p.objectStart() {
			p.skip()
			continue
		}
		for key := range p.keys() {
			switch string(key) {
			case "arn":
				p.common(&res.ARN)
			case "type":
				p.common(&res.Type)
			default:
				p.skip()
			}
		}
	}
	r.Resources = d.res
}

// parser reads JSON from a byte slice holding one whole value. It stops at
// the first syntax error, which it keeps in err with the position in i.
type parser struct {
	b     []byte
	i     int
	err   error
	errAt int // where err was found
	key   [32]byte
	seen  map[string]string // see common
}

func (p *parser) reset(b []byte) { p.b, p.i, p.err = b, 0, nil }

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
		p.errAt = p.i
	}
	p.i = len(p.b) // stop everything that follows
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\n', '\r', '\t':
			p.i++
		default:
			return
		}
	}
}

// peek is the next byte after whitespace, 0 at the end.
func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// end checks nothing but whitespace is left.
func (p *parser) end() {
	if p.err == nil && p.peek() != 0 {
		p.fail("invalid character %q after a value", p.b[p.i])
	}
}

// check checks the syntax of a whole value.
func (p *parser) check(b []byte) error {
	p.reset(b)
	p.skip()
	p.end()
	return p.err
}

// objectStart moves into an object if one is next; false leaves p as it was.
func (p *parser) objectStart() bool {
	if p.peek() == '{' {
		p.i++
		return true
	}
	return false
}

// object decodes into a pointer to a struct as encoding/json does: null
// sets it to nil; an object reuses what it points to, or points it at
// fresh (zeroed) storage, and returns true with p inside the object; any
// other value is skipped.
func object[T any](p *parser, ptr **T, storage *T) bool {
	switch p.peek() {
	case 'n':
		p.skip()
		if p.err == nil {
			*ptr = nil
		}
		return false
	case '{':
		p.i++
		if *ptr == nil {
			var zero T
			*storage = zero
			*ptr = storage
		}
		return true
	}
	p.skip()
	return false
}

// keys iterates over the keys of the object p has just entered, giving
// each folded as encoding/json matches field names (ASCII letters in lower
// case, and the two non-ASCII letters that fold to ASCII ones); the loop
// body must read or skip the key's value.
func (p *parser) keys() func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		first := true
		for p.err == nil {
			c := p.peek()
			if c == '}' {
				p.i++
				return
			}
			if !first {
				if c != ',' {
					p.fail("invalid character %q after object value", c)
					return
				}
				p.i++
				p.ws()
			}
			first = false
			raw, plain, ok := p.stringBytes()
			if !ok {
				p.fail("invalid character %q looking for an object key", p.at())
				return
			}
			if p.peek() != ':' {
				p.fail("invalid character %q after object key", p.at())
				return
			}
			p.i++
			p.ws()
			if !yield(p.fold(raw, plain)) {
				return
			}
		}
	}
}

// elements iterates over the elements of the array next in p.
func (p *parser) elements() func(yield func() bool) {
	return func(yield func() bool) {
		if p.peek() != '[' {
			return
		}
		p.i++
		first := true
		for p.err == nil {
			c := p.peek()
			if c == ']' {
				p.i++
				return
			}
			if !first {
				if c != ',' {
					p.fail("invalid character %q after array element", c)
					return
				}
				p.i++
				p.ws()
			}
			first = false
			if !yield() {
				return
			}
		}
	}
}

func (p *parser) at() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// fold gives the key to match field names against; a key that cannot
// match any (too long, other non-ASCII letters) comes back as "".
func (p *parser) fold(raw []byte, plain bool) []byte {
	k := raw[1 : len(raw)-1]
	if !plain && bytes.IndexByte(k, '\\') >= 0 {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		k = []byte(s)
	}
	n := 0
	for j := 0; j < len(k); {
		if n == len(p.key) {
			return nil
		}
		c := k[j]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			p.key[n] = c
			n, j = n+1, j+1
			continue
		}
		r, size := utf8.DecodeRune(k[j:])
		switch r {
		case 'ſ': // U+017F folds to s
			p.key[n] = 's'
		case 'K': // U+212A, the Kelvin sign, folds to k
			p.key[n] = 'k'
		default:
			return nil
		}
		n, j = n+1, j+size
	}
	return p.key[:n]
}

// stringBytes reads a string (quotes included), checking its syntax. plain
// says it holds printable ASCII and no escape, so that the bytes between
// its quotes are its value.
func (p *parser) stringBytes() (raw []byte, plain, ok bool) {
	if p.at() != '"' {
		return nil, false, false
	}
	start := p.i
	plain = true
	b := p.b
	for j := p.i + 1; j < len(b); {
		// eight bytes at a time, to the first that needs a look
		for ; j+8 <= len(b); j += 8 {
			if m := stringStops(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
		}
		if j >= len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			p.i = j + 1
			return b[start:p.i], plain, true
		case c == '\\':
			plain = false
			j++
			if j >= len(b) {
				break
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					p.i = j
					p.fail("invalid \\u escape in string")
					return nil, false, false
				}
				j += 4
			default:
				p.i = j
				p.fail("invalid escape %q in string", b[j])
				return nil, false, false
			}
			j++
		case c < 0x20:
			p.i = j
			p.fail("invalid control character %q in string", c)
			return nil, false, false
		case c >= utf8.RuneSelf:
			plain = false
			j++
		default: // fewer than eight bytes were left
			j++
		}
	}
	p.fail("unexpected end of string")
	return nil, false, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stringStops marks the bytes of x (eight bytes of a string, little-endian)
// that end a run of plain content: '"', '\\', control characters and bytes
// from 0x80. Only the lowest mark is sure to be right (a subtraction's
// borrow can mark bytes above a real one), and it is the only one used.
func stringStops(x uint64) uint64 {
	q := x ^ (ones * '"')
	e := x ^ (ones * '\\')
	return ((q-ones)&^q | (e-ones)&^e | (x-ones*0x20)&^x | x) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// field reads the value of a string field: a string (see stringBytes),
// or ok false for null and any other value, which are skipped and leave
// the field as it is, as encoding/json does.
func (p *parser) field() (raw []byte, plain, ok bool) {
	if p.peek() != '"' {
		p.skip()
		return nil, false, false
	}
	return p.stringBytes()
}

// str reads a string field into s.
func (p *parser) str(s *string) {
	switch raw, plain, ok := p.field(); {
	case !ok:
	case plain:
		*s = string(raw[1 : len(raw)-1])
	default:
		*s = unquote(raw)
	}
}

// maxCommon bounds the strings common keeps, and commonLen their length.
const (
	maxCommon = 4096
	commonLen = 256
)

// common reads a string as str does, but gives a value it has seen before
// the same memory: services, regions, accounts, roles, user agents and
// secrets repeat record after record, and a new string for each was much
// of ingest's garbage.
func (p *parser) common(s *string) {
	raw, plain, ok := p.field()
	if !ok {
		return
	}
	if !plain {
		*s = unquote(raw)
		return
	}
	body := raw[1 : len(raw)-1]
	if v, ok := p.seen[string(body)]; ok {
		*s = v
		return
	}
	v := string(body)
	if len(p.seen) < maxCommon && len(v) <= commonLen {
		if p.seen == nil {
			p.seen = make(map[string]string)
		}
		p.seen[v] = v
	}
	*s = v
}

// unquote makes a checked JSON string into a Go string: plain ASCII
// directly, anything else (escapes, UTF-8, invalid UTF-8 made U+FFFD)
// through encoding/json.
func unquote(raw []byte) string {
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			json.Unmarshal(raw, &s) // checked already
			return s
		}
	}
	return string(body)
}

// strings reads an array of strings; null empties it, other values are
// skipped, and elements that are not strings are left "".
func (p *parser) strings(list *[]string) {
	switch p.peek() {
	case 'n':
		p.skip()
		*list = nil
		return
	case '[':
	default:
		p.skip()
		return
	}
	out := (*list)[:0]
	for range p.elements() {
		var s string
		p.str(&s)
		out = append(out, s)
	}
	*list = out
}

// raw reads a value and returns its bytes.
func (p *parser) raw() []byte {
	p.ws()
	start := p.i
	p.skip()
	return p.b[start:p.i]
}

// topString reads a whole value that must be a string.
func (p *parser) topString(b []byte) (string, bool) {
	p.reset(b)
	raw, _, ok := p.stringBytes()
	if !ok || p.i != len(b) {
		return "", false
	}
	return unquote(raw), true
}

// skip steps over one value, checking its syntax.
func (p *parser) skip() {
	switch c := p.peek(); {
	case c == '"':
		p.stringBytes()
	case c == '{':
		p.i++
		for range p.keys() {
			p.skip()
		}
	case c == '[':
		for range p.elements() {
			p.skip()
		}
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		p.number()
	case c == 0:
		p.fail("unexpected end of JSON input")
	default:
		p.fail("invalid character %q looking for beginning of value", c)
	}
}

func (p *parser) literal(word string) {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return
	}
	p.fail("invalid literal, expected %s", word)
}

// number steps over a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() {
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > s
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		p.i = i
		p.fail("invalid number")
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			p.i = i
			p.fail("invalid number")
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			p.i = i
			p.fail("invalid number")
			return
		}
	}
	p.i = i
}
