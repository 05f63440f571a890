package dashboard

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Passwords is the built-in sign-in: users and bcrypt hashes as htpasswd
// writes them (htpasswd -B), and signed session cookies.
type Passwords struct {
	hashes map[string][]byte
	key    []byte // signs session cookies; new on each start
	ttl    time.Duration
	secure bool // cookies only over HTTPS

	mu       sync.Mutex
	failures map[string][]time.Time // by client address
	revoked  map[string]time.Time   // signed-out session cookies, until they expire
}

const (
	sessionCookie = "secretgate_session"
	sessionTTL    = 12 * time.Hour
	// failLimit failed sign-ins from one address within failWindow turn
	// the next attempts away until the window has passed.
	failLimit  = 10
	failWindow = 10 * time.Minute
)

// dummyHash makes a sign-in as an unknown user cost what a known one does.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("secretgate: not a password"), bcrypt.DefaultCost)

// LoadPasswords reads an htpasswd file of bcrypt hashes.
func LoadPasswords(path string) (*Passwords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	p, err := newPasswords()
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("%s:%d: want user:hash, as htpasswd -B writes", path, n)
		case !strings.HasPrefix(hash, "$2"):
			return nil, fmt.Errorf("%s:%d: user %q: only bcrypt hashes ($2y$…) are accepted: make them with htpasswd -B or `dashboard passwd`", path, n, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: %w", path, n, user, err)
		}
		if _, dup := p.hashes[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q given twice", path, n, user)
		}
		p.hashes[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(p.hashes) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return p, nil
}

// OneTimePassword makes a single user with a random password, for a
// dashboard started without a users file: it is printed once, at start,
// and forgotten on restart.
func OneTimePassword(user string) (*Passwords, string, error) {
	p, err := newPasswords()
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	pw := base64.RawURLEncoding.EncodeToString(b)
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return nil, "", err
	}
	p.hashes[user] = h
	return p, pw, nil
}

// HashPassword is an htpasswd line for user.
func HashPassword(user, password string) (string, error) {
	if user == "" || strings.ContainsAny(user, ":\n") {
		return "", errors.New("a user name may not be empty or hold ':' or a line break")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return user + ":" + string(h), nil
}

func newPasswords() (*Passwords, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &Passwords{hashes: map[string][]byte{}, key: key, ttl: sessionTTL,
		failures: map[string][]time.Time{}, revoked: map[string]time.Time{}}, nil
}

// SecureCookies marks session cookies for HTTPS only; on when the
// dashboard serves TLS or sits behind a proxy that does.
func (p *Passwords) SecureCookies(on bool) { p.secure = on }

// check says whether user and password match, at bcrypt's cost either way.
func (p *Passwords) check(user, password string) bool {
	h, ok := p.hashes[user]
	if !ok {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// attempt admits a sign-in from addr unless it has failed too often
// lately. An admitted attempt counts as a failure until succeeded says
// otherwise, so that many attempts at once (each waiting on bcrypt) are
// not all let through before the first failure is counted.
func (p *Passwords) attempt(addr string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	recent := p.failures[addr][:0]
	for _, t := range p.failures[addr] {
		if now.Sub(t) < failWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= failLimit {
		p.failures[addr] = recent
		return false
	}
	p.failures[addr] = append(recent, now)
	return true
}

// succeeded takes back the failure attempt counted for a sign-in at now.
func (p *Passwords) succeeded(addr string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.failures[addr]
	if i := slices.Index(f, now); i >= 0 {
		f = slices.Delete(f, i, i+1)
	}
	if len(f) == 0 {
		delete(p.failures, addr)
	} else {
		p.failures[addr] = f
	}
}

// sign is a session cookie value for user until exp: user, expiry and a
// random session id, under an HMAC. The id lets a sign-out revoke this
// session and no other.
func (p *Passwords) sign(user string, exp time.Time) string {
	id := make([]byte, 12)
	rand.Read(id)
	body := base64.RawURLEncoding.EncodeToString([]byte(user)) + "." + strconv.FormatInt(exp.Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(id)
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify is the user of a session cookie value, if it is genuine and
// current.
func (p *Passwords) verify(v string, now time.Time) (string, bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", false
	}
	body, sig := v[:i], v[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return "", false
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(body))
	if !hmac.Equal(got, m.Sum(nil)) {
		return "", false
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 {
		return "", false
	}
	u, exp := parts[0], parts[1]
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() >= sec {
		return "", false
	}
	p.mu.Lock()
	_, gone := p.revoked[v]
	p.mu.Unlock()
	if gone {
		return "", false
	}
	user, err := base64.RawURLEncoding.DecodeString(u)
	if err != nil {
		return "", false
	}
	if _, ok := p.hashes[string(user)]; !ok { // removed from the file since
		return "", false
	}
	return string(user), true
}

// User is the signed-in user of r at now, if any.
func (p *Passwords) User(r *http.Request, now time.Time) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	return p.verify(c.Value, now)
}

func (p *Passwords) setSession(w http.ResponseWriter, user string, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: p.sign(user, now.Add(p.ttl)), Path: "/",
		MaxAge: int(p.ttl / time.Second), HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteStrictMode,
	})
}

// revoke ends the session of r's cookie for good: a copy kept from
// before the sign-out no longer works. Revoked cookies are forgotten once
// they would have expired anyway.
func (p *Passwords) revoke(r *http.Request, now time.Time) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return
	}
	if _, ok := p.verify(c.Value, now); !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for v, until := range p.revoked {
		if !now.Before(until) {
			delete(p.revoked, v)
		}
	}
	p.revoked[c.Value] = now.Add(p.ttl)
}

func (p *Passwords) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteStrictMode})
}

// Proxy trusts an identity-aware proxy (oauth2-proxy, Pomerium, Google
// IAP, Cloudflare Access, an ALB with OIDC) to have authenticated the
// user and to name them in a header. Only requests from the proxy's
// addresses are believed: anyone who can reach the dashboard directly
// could set the header.
type Proxy struct {
	Header  string
	Trusted []netip.Prefix
}

// ParseProxy reads --proxy-header and --trusted-proxy values.
func ParseProxy(header string, cidrs []string) (*Proxy, error) {
	if header == "" {
		return nil, errors.New("proxy authentication needs the header that names the user (--proxy-header)")
	}
	if len(cidrs) == 0 {
		return nil, errors.New("proxy authentication needs the proxy's addresses (--trusted-proxy CIDR): without them anyone could set " + header)
	}
	p := &Proxy{Header: http.CanonicalHeaderKey(header)}
	for _, c := range cidrs {
		pre, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxy %q: want an address or CIDR: %w", c, err)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		p.Trusted = append(p.Trusted, pre.Masked())
	}
	return p, nil
}

// User is the user the proxy names, when r came from the proxy.
func (p *Proxy) User(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("client address %q", r.RemoteAddr)
	}
	a = a.Unmap()
	trusted := false
	for _, pre := range p.Trusted {
		if pre.Contains(a) {
			trusted = true
			break
		}
	}
	if !trusted {
		return "", fmt.Errorf("request from %s, not from the trusted proxy", a)
	}
	user := strings.TrimSpace(r.Header.Get(p.Header))
	// Google IAP prefixes its header values with the identity source.
	user = strings.TrimPrefix(user, "accounts.google.com:")
	if user == "" {
		return "", fmt.Errorf("the proxy sent no %s header", p.Header)
	}
	return user, nil
}
