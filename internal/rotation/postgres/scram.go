package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// Verifier returns the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 5803's form, as pg_authid.rolpassword holds it):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. Sending it in
// ALTER ROLE … PASSWORD sets the password without the password itself ever
// reaching the server, its logs or pg_stat_statements. The password must be
// printable ASCII, for which SASLprep changes nothing.
func Verifier(password string) (string, error) {
	var salt [16]byte
	rand.Read(salt[:])
	return verifier(password, salt[:], scramIterations)
}

func verifier(password string, salt []byte, iterations int) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	for _, c := range []byte(password) {
		if c < 0x20 || c > 0x7e {
			return "", errors.New("the password has characters other than printable ASCII")
		}
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
