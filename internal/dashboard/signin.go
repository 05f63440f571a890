package dashboard

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/secretgate/secretgate/web"
)

type userKey struct{}

// userOf is the signed-in user a request carries.
func userOf(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// authenticate lets through only requests from a signed-in user (or one
// the trusted proxy names). Nothing else is served: pages send the
// browser to sign in, downloads get 401.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Proxy != nil {
			user, err := s.Proxy.User(r)
			if err != nil {
				s.Log.Warn("refused", "path", r.URL.Path, "reason", err.Error())
				http.Error(w, "Forbidden: "+err.Error(), http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
			return
		}
		user, ok := s.Passwords.User(r, s.Now())
		if !ok {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/export/") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "Unauthorized: sign in first", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, web.Login("", localPath(r.URL.Query().Get("next"))))
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	addr := clientAddr(r)
	now := s.Now()
	if !s.Passwords.attempt(addr, now) {
		s.Log.Warn("sign-in refused: too many failures", "client", addr)
		s.render(w, r, http.StatusTooManyRequests, web.Login("Too many failed sign-ins from your address: wait a few minutes.", next))
		return
	}
	user := r.PostFormValue("user")
	if !s.Passwords.check(user, r.PostFormValue("password")) {
		s.Log.Warn("sign-in failed", "client", addr)
		s.render(w, r, http.StatusUnauthorized, web.Login("Wrong user or password.", next))
		return
	}
	s.Passwords.succeeded(addr, now)
	s.Log.Info("signed in", "user", user, "client", addr)
	s.Passwords.setSession(w, user, now)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if s.Passwords != nil {
		s.Passwords.revoke(r, s.Now())
		s.Passwords.clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	// Behind a proxy, signing out is the proxy's business.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// localPath keeps a redirect on this site: a path, never a URL of
// another host ("//evil", "/\evil", "https://…"). Browsers read '\' as
// '/' and drop tabs and line breaks, and http.Redirect cleans "/./" away,
// so a path holding either could still become "//evil": the pages' own
// links never do (RequestURI escapes them).
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool {
		return r == '\\' || r < 0x20 || r == 0x7f
	}) {
		return "/"
	}
	return p
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
