package postgres

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/rotation"
)

// recorder is a TCP proxy in front of the server that keeps every byte
// clients send.
type recorder struct {
	ln   net.Listener
	mu   sync.Mutex
	sent bytes.Buffer
}

func newRecorder(t *testing.T, target string) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.pipe(c, target)
		}
	}()
	return r
}

func (r *recorder) pipe(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go io.Copy(c, s)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			r.mu.Lock()
			r.sent.Write(buf[:n])
			r.mu.Unlock()
			s.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.sent.Bytes())
}

// TestPasswordsReachTheServerHashed rotates through a proxy that records
// what the rotator sends, over plain TCP (the secret says "ssl": false) so
// the bytes can be read: the statements carry SCRAM verifiers, and no
// password, new or old, ever crosses the wire.
func TestPasswordsReachTheServerHashed(t *testing.T) {
	e := newPG(t, 0, true)
	proxy := newRecorder(t, net.JoinHostPort(e.host, strconv.Itoa(e.port)))
	port := proxy.ln.Addr().(*net.TCPAddr).Port
	plain := func(v string) string {
		v = strings.Replace(v, `"host":"`+e.host+`"`, `"host":"127.0.0.1"`, 1)
		v = strings.Replace(v, `"port":`+strconv.Itoa(e.port), `"port":`+strconv.Itoa(port)+`,"ssl":false`, 1)
		return v
	}
	masterPlain := e.sm.CreateSecret("test/master-plain", plain(e.sm.Value(e.master, rotation.Current)))
	cur := strings.Replace(plain(e.sm.Value(e.arn, rotation.Current)), e.master, masterPlain, 1)
	e.arn = e.sm.CreateSecret("test/app-plain", cur)

	s := e.strategy(true)
	passwords := []string{}
	for i := range 3 { // creates the clone, then alters each user once
		if _, err := e.sm.Rotate(e.arn, e.invoke(e.rotator(s))); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		l, err := parseLogin(e.sm.Value(e.arn, rotation.Current), "")
		if err != nil {
			t.Fatal(err)
		}
		passwords = append(passwords, l.Password)
		if err := e.login(context.Background(), s, e.sm.Value(e.arn, rotation.Current)); err != nil {
			t.Fatal(err)
		}
	}
	wire := proxy.bytes()
	for _, want := range []string{"CREATE ROLE", "ALTER ROLE", "PASSWORD 'SCRAM-SHA-256$4096:"} {
		if !bytes.Contains(wire, []byte(want)) {
			t.Errorf("the wire has no %q", want)
		}
	}
	for i, pw := range passwords {
		for _, form := range []string{pw, base64.StdEncoding.EncodeToString([]byte(pw))} {
			if bytes.Contains(wire, []byte(form)) {
				t.Errorf("the password of rotation %d crossed the wire", i+1)
			}
		}
	}
}

// TestTLSRequired: without "ssl": false the rotator talks TLS, verified
// against its roots and the host name, and never falls back to plain text.
func TestTLSRequired(t *testing.T) {
	e := newPG(t, 0, true)
	ctx := context.Background()
	l, err := parseLogin(e.sm.Value(e.arn, rotation.Current), "")
	if err != nil || !l.TLS {
		t.Fatalf("a secret without ssl must mean TLS: %+v, %v", l.TLS, err)
	}

	conn, err := e.strategy(true).connect(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	var ssl bool
	var version string
	err = conn.QueryRow(ctx, `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version)
	conn.Close(ctx)
	if err != nil || !ssl {
		t.Fatalf("the connection is not TLS (%v)", err)
	}
	t.Logf("rotator connection: %s", version)

	// The server's certificate is not in the system roots.
	if _, err := (&Strategy{}).connect(ctx, l); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("got %v, want a certificate verification error", err)
	}

	// A server that refuses TLS gets no startup message in plain text.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	after := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req := make([]byte, 8) // SSLRequest: length 8, code 80877103
		io.ReadFull(c, req)
		c.Write([]byte{'N'})
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _ := io.Copy(io.Discard, c)
		after <- int(n)
	}()
	l.Host, l.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	_, err = e.strategy(true).connect(ctx, l)
	if err == nil || !strings.Contains(err.Error(), "refused TLS") {
		t.Fatalf("got %v, want the refused TLS connection reported", err)
	}
	if n := <-after; n != 0 {
		t.Fatalf("the rotator sent %d more bytes after the server refused TLS", n)
	}
}

func TestCloneName(t *testing.T) {
	long := strings.Repeat("u", 57)
	for _, tc := range []struct{ user, want, err string }{
		{"app", "app_clone", ""},
		{"app_clone", "app", ""},
		{"_clone", "", "no name without it"},
		{long, long + "_clone", ""},
		{long + "u", "", "would pass PostgreSQL's 63-byte limit"},
		{strings.Repeat("é", 29), "", "would pass"}, // 58 bytes
	} {
		got, err := CloneName(tc.user)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CloneName(%q) = %q, %v; want %q, %q", tc.user, got, err, tc.want, tc.err)
		}
	}
}

// TestVerifierMatchesPostgreSQL: for the salt and iterations PostgreSQL
// chose, Verifier computes what the server stored from the same password.
func TestVerifierMatchesPostgreSQL(t *testing.T) {
	e := newPG(t, 0, true)
	ctx := context.Background()
	role := e.user + "_clone" // dropped with the test's roles
	pw := "Correct-horse-9!"
	// Only here, on the admin connection, does a password go in plain text.
	if _, err := e.admin.Exec(ctx, `SET password_encryption = 'scram-sha-256'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.Exec(ctx, `CREATE ROLE `+ident(role)+` PASSWORD `+literal(pw)); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := e.admin.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
	head, _, _ := strings.Cut(strings.TrimPrefix(stored, "SCRAM-SHA-256$"), "$")
	iterText, saltB64, _ := strings.Cut(head, ":")
	iter, _ := strconv.Atoi(iterText)
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil || iter == 0 {
		t.Fatalf("unexpected verifier shape %q", stored)
	}
	got, err := verifier(pw, salt, iter)
	if err != nil || got != stored {
		t.Fatalf("verifier = %q, %v; the server stored %q", got, err, stored)
	}
	if _, err := Verifier("pässword"); err == nil {
		t.Fatal("a non-ASCII password got a verifier without SASLprep")
	}
	if _, err := Verifier(""); err == nil {
		t.Fatal("an empty password got a verifier")
	}
}

func TestPasswords(t *testing.T) {
	for _, p := range []Passwords{{}, {Length: 8, Exclude: `:/@"'\` + punct}, {Length: 64}} {
		pw, err := p.New()
		if err != nil {
			t.Fatal(err)
		}
		wantLen := p.Length
		if wantLen == 0 {
			wantLen = 32
		}
		exclude := p.Exclude
		if exclude == "" {
			exclude = `:/@"'\`
		}
		if len(pw) != wantLen || strings.ContainsAny(pw, exclude) || !strings.ContainsAny(pw, digits) || !strings.ContainsAny(pw, upper) {
			t.Errorf("%+v made %d characters breaking its rules", p, len(pw))
		}
	}
	if _, err := (Passwords{Length: 3}).New(); err == nil {
		t.Error("3 characters cannot hold one of each of 4 kinds")
	}
}
