package rotation

import (
	"encoding/json"
	"fmt"
)

// Kind is how a secret rotates.
type Kind string

// The kinds the rotator knows.
const (
	PostgresMultiUser  Kind = "postgresql-multi-user"
	PostgresSingleUser Kind = "postgresql-single-user"
	APIKey             Kind = "api-key"
)

// KindOf tells from a secret's current value how it rotates. A JSON object
// with an "engine" is a database login: PostgreSQL ("postgres" or
// "aurora-postgresql") alternating between two users when it names the
// master secret in "masterarn", changing its own password otherwise; other
// engines are refused. Anything else is an API key, including the random
// placeholder a secret holds before its first rotation.
func KindOf(value string) (Kind, error) {
	var fields struct {
		Engine    *string `json:"engine"`
		MasterARN string  `json:"masterarn"`
	}
	if json.Unmarshal([]byte(value), &fields) != nil || fields.Engine == nil {
		return APIKey, nil
	}
	switch *fields.Engine {
	case "postgres", "aurora-postgresql":
		if fields.MasterARN != "" {
			return PostgresMultiUser, nil
		}
		return PostgresSingleUser, nil
	}
	return "", fmt.Errorf("the secret's engine %q is not one the rotator rotates (postgres, aurora-postgresql)", *fields.Engine)
}
