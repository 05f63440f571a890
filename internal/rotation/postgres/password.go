package postgres

import (
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
)

// Passwords says how new passwords are made; the zero value is the AWS
// rotation functions' default: 32 characters, none of :/@"'\, with at
// least one lowercase letter, uppercase letter, digit and punctuation mark.
type Passwords struct {
	Length  int    // 0 means 32
	Exclude string // "" means :/@"'\
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
	punct  = "!#$%&()*+,-.;<=>?[]^_`{|}~"
)

// New returns a random password from crypto/rand.
func (p Passwords) New() (string, error) {
	n, exclude := p.Length, p.Exclude
	if n == 0 {
		n = 32
	}
	if exclude == "" {
		exclude = `:/@"'\`
	}
	var sets []string
	for _, set := range []string{lower, upper, digits, punct} {
		if kept := strings.Map(func(r rune) rune {
			if strings.ContainsRune(exclude, r) {
				return -1
			}
			return r
		}, set); kept != "" {
			sets = append(sets, kept)
		}
	}
	if len(sets) == 0 || n < len(sets) {
		return "", errors.New("password rules leave no characters, or a length too short to hold one of each kind")
	}
	all := strings.Join(sets, "")
	for {
		b := make([]byte, n)
		for i := range b {
			b[i] = all[randIndex(len(all))]
		}
		pw := string(b)
		if hasEach(pw, sets) {
			return pw, nil
		}
	}
}

func hasEach(pw string, sets []string) bool {
	for _, set := range sets {
		if !strings.ContainsAny(pw, set) {
			return false
		}
	}
	return true
}

func randIndex(n int) int {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return int(i.Int64())
}
