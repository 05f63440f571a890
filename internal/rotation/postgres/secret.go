package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxNameLen is PostgreSQL's identifier limit (NAMEDATALEN-1 bytes); longer
// names are silently truncated by the server, so they are refused here.
const maxNameLen = 63

const cloneSuffix = "_clone"

// Login is a PostgreSQL secret's value: the JSON shape AWS's RDS rotation
// functions use.
type Login struct {
	Engine    string `json:"engine"`
	Host      string `json:"host"`
	Port      int    `json:"-"`
	DBName    string `json:"dbname"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	MasterARN string `json:"masterarn"`
	// TLS is on unless the secret's "ssl" is false or "false".
	TLS bool `json:"-"`
}

// parseLogin reads a secret value. what names it in errors, which never
// quote the value.
func parseLogin(value, what string) (Login, error) {
	var l Login
	var extra struct {
		Port json.RawMessage `json:"port"`
		SSL  json.RawMessage `json:"ssl"`
	}
	if json.Unmarshal([]byte(value), &l) != nil || json.Unmarshal([]byte(value), &extra) != nil {
		return Login{}, fmt.Errorf("%s is not a JSON object with engine, host, username and password", what)
	}
	switch l.Engine {
	case "postgres", "aurora-postgresql":
	default:
		return Login{}, fmt.Errorf("%s: engine %q is not postgres or aurora-postgresql", what, l.Engine)
	}
	var missing []string
	for name, v := range map[string]string{"host": l.Host, "username": l.Username, "password": l.Password} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Login{}, fmt.Errorf("%s lacks %s", what, strings.Join(missing, ", "))
	}
	if l.DBName == "" {
		l.DBName = "postgres"
	}
	l.Port = 5432
	if len(extra.Port) > 0 {
		p, err := strconv.Atoi(strings.Trim(string(extra.Port), `"`))
		if err != nil || p < 1 || p > 65535 {
			return Login{}, fmt.Errorf("%s: port %s is not a TCP port", what, extra.Port)
		}
		l.Port = p
	}
	l.TLS = true
	switch strings.Trim(strings.ToLower(string(extra.SSL)), `"`) {
	case "", "true", "null":
	case "false":
		l.TLS = false
	default:
		return Login{}, fmt.Errorf("%s: ssl is %s; it must be true or false (TLS is required unless it is false)", what, extra.SSL)
	}
	return l, nil
}

// withLogin returns value, a JSON object, with username and password
// replaced and every other field kept as it was.
func withLogin(value, username, password string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &fields); err != nil {
		return "", errors.New("the current value is not a JSON object")
	}
	fields["username"], _ = json.Marshal(username)
	fields["password"], _ = json.Marshal(password)
	out, err := json.Marshal(fields)
	return string(out), err
}

// CloneName is the other user of an alternating pair: app becomes
// app_clone and app_clone becomes app.
func CloneName(user string) (string, error) {
	if base, ok := strings.CutSuffix(user, cloneSuffix); ok {
		if base == "" {
			return "", fmt.Errorf("user %q is the suffix %q alone: its pair has no name without it", user, cloneSuffix)
		}
		return base, nil
	}
	clone := user + cloneSuffix
	if len(clone) > maxNameLen {
		return "", fmt.Errorf("user %q is %d bytes: its clone %q would pass PostgreSQL's %d-byte limit on names", user, len(user), clone, maxNameLen)
	}
	return clone, nil
}
