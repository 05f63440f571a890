package inventory

// The KMS key inventory: what KMS says about each key of an account and
// region (who manages it, its state and kind, whether its key material
// rotates, whether it is scheduled for deletion), in the `keys` table of
// the dashboard database, keyed by the key ARN as the events' key_id is.
//
// It fills the table from a file of AWS CLI output (ImportKeys) or from
// the KMS API itself (LoadKeys).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KeySchema is the keys table, created idempotently by whoever writes to
// it first, as Schema is for secrets.
//
// Times are Unix milliseconds (UTC), NULL when KMS gives none; flags are
// 0/1; absent text is ”. rotation_enabled is NULL when rotation does not
// apply to the key (asymmetric, HMAC, imported or custom-key-store keys)
// or was not asked for (AWS managed keys, keys not Enabled or Disabled).
const KeySchema = `CREATE TABLE IF NOT EXISTS keys (
	key_id               TEXT    PRIMARY KEY, -- the key ARN, as the events' key_id
	region               TEXT    NOT NULL,
	account_id           TEXT    NOT NULL,
	aliases              TEXT    NOT NULL,    -- JSON array of alias names, sorted: ["alias/payments-prod"]
	description          TEXT    NOT NULL,
	key_manager          TEXT    NOT NULL,    -- AWS or CUSTOMER
	key_state            TEXT    NOT NULL,    -- Enabled, Disabled, PendingDeletion, PendingReplicaDeletion, PendingImport, Unavailable, Creating, Updating
	key_spec             TEXT    NOT NULL,    -- SYMMETRIC_DEFAULT, RSA_2048, ECC_NIST_P256, HMAC_256, ...
	key_usage            TEXT    NOT NULL,    -- ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT
	origin               TEXT    NOT NULL,    -- AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE
	multi_region         INTEGER NOT NULL CHECK (multi_region IN (0, 1)),
	rotation_enabled     INTEGER CHECK (rotation_enabled IN (0, 1)), -- NULL: not applicable or not known
	rotation_period_days INTEGER,
	next_rotation        INTEGER,
	deletion_date        INTEGER,             -- set while PendingDeletion
	created              INTEGER,
	imported_at          INTEGER NOT NULL
)`

// Key is one KMS key of the inventory, as stored.
type Key struct {
	ARN             string // the table's key_id
	Region, Account string
	Aliases         []string // alias names, sorted; nil when none
	Description     string
	Manager         string // AWS or CUSTOMER
	State           string
	Spec            string
	Usage           string
	Origin          string
	MultiRegion     bool
	RotationEnabled *bool     // nil: rotation not applicable to the key, or not known
	RotationDays    int       // 0 when not known
	NextRotation    time.Time // zero when absent
	DeletionDate    time.Time
	Created         time.Time
}

// keyEntry is one key of the file: `aws kms describe-key` output with
// `aws kms get-key-rotation-status` and `aws kms list-aliases` output
// merged into it. Dates stay raw so that a bad one is named by its field.
type keyEntry struct {
	KeyMetadata *struct {
		KeyId, Arn, Description string
		KeyManager, KeyState    string
		KeySpec                 string
		CustomerMasterKeySpec   string // the deprecated name of KeySpec, in older output
		KeyUsage, Origin        string
		MultiRegion             bool
		CreationDate            json.RawMessage
		DeletionDate            json.RawMessage
	}
	KeyRotationEnabled   *bool
	RotationPeriodInDays *int64
	NextRotationDate     json.RawMessage
	Aliases              []aliasName
}

// aliasName is an alias as list-aliases prints it ({"AliasName": ...}) or
// as a plain string.
type aliasName string

func (a *aliasName) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(a))
	}
	var e struct{ AliasName string }
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	*a = aliasName(e.AliasName)
	return nil
}

func (e *keyEntry) key() (Key, error) {
	m := e.KeyMetadata
	if m == nil {
		return Key{}, errors.New(`no "KeyMetadata" object: want the output of aws kms describe-key`)
	}
	k := Key{
		ARN:         m.Arn,
		Description: m.Description,
		Manager:     m.KeyManager,
		State:       m.KeyState,
		Spec:        m.KeySpec,
		Usage:       m.KeyUsage,
		Origin:      m.Origin,
		MultiRegion: m.MultiRegion,
	}
	if k.ARN == "" && strings.HasPrefix(m.KeyId, "arn:") {
		k.ARN = m.KeyId
	}
	if k.Spec == "" {
		k.Spec = m.CustomerMasterKeySpec
	}
	for _, d := range []struct {
		field string
		raw   json.RawMessage
		to    *time.Time
	}{{"KeyMetadata.CreationDate", m.CreationDate, &k.Created},
		{"KeyMetadata.DeletionDate", m.DeletionDate, &k.DeletionDate},
		{"NextRotationDate", e.NextRotationDate, &k.NextRotation}} {
		var t cliTime
		if len(d.raw) > 0 {
			if err := t.UnmarshalJSON(d.raw); err != nil {
				return Key{}, fmt.Errorf("%s: %w", d.field, err)
			}
		}
		*d.to = t.Time
	}
	if e.KeyRotationEnabled != nil {
		k.RotationEnabled = aws.Bool(*e.KeyRotationEnabled)
	}
	if p := e.RotationPeriodInDays; p != nil {
		if *p <= 0 || *p > 100000 {
			return Key{}, fmt.Errorf("RotationPeriodInDays: %d is not a number of days", *p)
		}
		k.RotationDays = int(*p)
	}
	for _, a := range e.Aliases {
		k.Aliases = append(k.Aliases, string(a))
	}
	return k, k.finish()
}

// finish checks the key's ARN, takes its region and account from it, and
// puts the aliases in order.
func (k *Key) finish() error {
	if k.ARN == "" {
		return errors.New("KeyMetadata.Arn: missing")
	}
	f := strings.SplitN(k.ARN, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "kms" || f[3] == "" || f[4] == "" || !strings.HasPrefix(f[5], "key/") || len(f[5]) == len("key/") {
		return fmt.Errorf("KeyMetadata.Arn: %q is not a KMS key ARN", k.ARN)
	}
	k.Region, k.Account = f[3], f[4]
	k.Aliases = slices.DeleteFunc(k.Aliases, func(a string) bool { return a == "" })
	slices.Sort(k.Aliases)
	k.Aliases = slices.Compact(k.Aliases)
	if len(k.Aliases) == 0 {
		k.Aliases = nil
	}
	return nil
}

// KeysCommand is the shell command, AWS CLI (v1 or v2) and jq, that writes
// the file ImportKeys reads, keys.json.
const KeysCommand = `ks=$(aws kms list-keys --query 'Keys[].KeyArn' --output text) && for k in $ks; do { aws kms describe-key --key-id "$k" --output json; aws kms get-key-rotation-status --key-id "$k" --output json 2>/dev/null; aws kms list-aliases --key-id "$k" --output json; } | jq -s add; done | jq -s . > keys.json`

// ImportKeys reads a file of KMS keys from r into db's keys table and says
// how many keys it wrote.
//
// The file is a JSON array of objects (or a stream of them, one a line or
// otherwise), one per key, each the output of `aws kms describe-key`
// ({"KeyMetadata": {...}}) with the fields of `aws kms
// get-key-rotation-status` (KeyRotationEnabled, RotationPeriodInDays,
// NextRotationDate) and of `aws kms list-aliases --key-id` (Aliases) beside
// it; a key without rotation fields has its rotation stored as unknown.
// Dates are ISO 8601 strings (CLI v2) or epoch seconds (CLI v1, the API).
// KeysCommand writes it for the account and region of the AWS CLI's
// default profile and region (set AWS_DEFAULT_REGION for another one):
//
//	ks=$(aws kms list-keys --query 'Keys[].KeyArn' --output text) && for k in $ks; do { aws kms describe-key --key-id "$k" --output json; aws kms get-key-rotation-status --key-id "$k" --output json 2>/dev/null; aws kms list-aliases --key-id "$k" --output json; } | jq -s add; done | jq -s . > keys.json
//
// get-key-rotation-status fails for keys that do not rotate (asymmetric,
// HMAC, imported, custom key store) or cannot be asked (pending deletion);
// its error is dropped and those keys have no rotation fields.
//
// The file lists whole regions: the keys it holds replace the table's rows
// for the same account and region, and rows of those regions that it does
// not hold (keys deleted since) are removed. It writes all or nothing: a
// malformed key is an error naming the item (counting from 1) and the
// field or byte offset, and leaves the table as it was.
func ImportKeys(ctx context.Context, db *sql.DB, r io.Reader) (int, error) {
	var keys []Key
	if err := decodeKeys(r, func(e *keyEntry, item int) error {
		k, err := e.key()
		if err != nil {
			return fmt.Errorf("inventory: keys JSON: item %d: %w", item, err)
		}
		keys = append(keys, k)
		return nil
	}); err != nil {
		return 0, err
	}
	return writeKeys(ctx, db, keys)
}

// decodeKeys calls fn with each object of the document and its number,
// counting from 1. The document is a JSON array or a stream of values.
func decodeKeys(r io.Reader, fn func(e *keyEntry, item int) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("inventory: keys JSON: %w", err)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return errors.New("inventory: keys JSON: empty input: want a JSON array of describe-key objects ([] for none)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	array := trimmed[0] == '['
	if array {
		dec.Token() // the '[' just seen
	}
	for item := 1; ; item++ {
		if array && !dec.More() {
			break
		}
		before := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if !array && err == io.EOF {
				break
			}
			return syntaxError(data, before, item, err)
		}
		var e keyEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				if te.Field == "" {
					return fmt.Errorf("inventory: keys JSON: item %d: found %s where an object was expected", item, te.Value)
				}
				return fmt.Errorf("inventory: keys JSON: item %d: %s: %w", item, te.Field, err)
			}
			return fmt.Errorf("inventory: keys JSON: item %d: %w", item, err)
		}
		if err := fn(&e, item); err != nil {
			return err
		}
	}
	if array {
		if _, err := dec.Token(); err != nil { // the closing ']'
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return syntaxError(data, dec.InputOffset(), 0, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return fmt.Errorf("inventory: keys JSON: byte %d: more after the closing ]", dec.InputOffset())
		}
	}
	return nil
}

// syntaxError places a decoding error of the item that starts after
// offset from exactly: json.Decoder's own offsets drift from value to
// value, so the item is scanned again on its own.
func syntaxError(data []byte, from int64, item int, err error) error {
	start := from
	for start < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[start]) >= 0 {
		start++
	}
	at := start
	if errors.Is(err, io.ErrUnexpectedEOF) {
		at = int64(len(data))
	} else {
		var raw json.RawMessage
		var se *json.SyntaxError
		if e := json.NewDecoder(bytes.NewReader(data[start:])).Decode(&raw); errors.As(e, &se) {
			at = start + se.Offset - 1 // the offset is past the bad byte
		}
	}
	if item == 0 {
		return fmt.Errorf("inventory: keys JSON: byte %d: %w", at, err)
	}
	return fmt.Errorf("inventory: keys JSON: item %d: byte %d: %w", item, at, err)
}

// KMSAPI is what LoadKeys needs of a KMS client; *kms.Client is one.
type KMSAPI interface {
	kms.ListKeysAPIClient
	kms.ListAliasesAPIClient
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

// LoadKeys lists the KMS keys of client's account and region (ListKeys),
// describes each (DescribeKey), asks the rotation status of the customer
// managed symmetric keys that are Enabled or Disabled
// (GetKeyRotationStatus; the others cannot rotate automatically, or cannot
// be asked), and names them with their aliases (ListAliases). It writes
// the keys into db's keys table as ImportKeys does, after all calls
// have answered, and says how many it wrote. Any failed call fails the
// whole load and leaves the table as it was, except
// UnsupportedOperationException from GetKeyRotationStatus (a key with
// imported material or in a custom key store), which stores the rotation
// as not applicable.
func LoadKeys(ctx context.Context, db *sql.DB, client KMSAPI) (int, error) {
	aliases := map[string][]string{} // key ID (not ARN) → alias names
	apages := kms.NewListAliasesPaginator(client, &kms.ListAliasesInput{})
	for page := 1; apages.HasMorePages(); page++ {
		out, err := apages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("inventory: KMS ListAliases page %d: %w", page, err)
		}
		for _, a := range out.Aliases {
			if id := aws.ToString(a.TargetKeyId); id != "" { // AWS managed aliases of keys not yet made have none
				aliases[id] = append(aliases[id], aws.ToString(a.AliasName))
			}
		}
	}
	var keys []Key
	kpages := kms.NewListKeysPaginator(client, &kms.ListKeysInput{})
	for page := 1; kpages.HasMorePages(); page++ {
		out, err := kpages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("inventory: KMS ListKeys page %d: %w", page, err)
		}
		for _, e := range out.Keys {
			id := aws.ToString(e.KeyArn)
			if id == "" {
				id = aws.ToString(e.KeyId)
			}
			k, err := loadKey(ctx, client, id, aliases)
			if err != nil {
				return 0, fmt.Errorf("inventory: KMS key %s: %w", id, err)
			}
			keys = append(keys, k)
		}
	}
	return writeKeys(ctx, db, keys)
}

// loadKey describes one key and, where it can rotate, asks its rotation.
func loadKey(ctx context.Context, client KMSAPI, id string, aliases map[string][]string) (Key, error) {
	d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		return Key{}, fmt.Errorf("DescribeKey: %w", err)
	}
	m := d.KeyMetadata
	if m == nil {
		return Key{}, errors.New("DescribeKey: no KeyMetadata")
	}
	k := Key{
		ARN:         aws.ToString(m.Arn),
		Aliases:     slices.Clone(aliases[aws.ToString(m.KeyId)]),
		Description: aws.ToString(m.Description),
		Manager:     string(m.KeyManager),
		State:       string(m.KeyState),
		Spec:        string(m.KeySpec),
		Usage:       string(m.KeyUsage),
		Origin:      string(m.Origin),
		MultiRegion: aws.ToBool(m.MultiRegion),
	}
	if k.Spec == "" {
		k.Spec = string(m.CustomerMasterKeySpec)
	}
	for _, p := range []struct {
		to   *time.Time
		from *time.Time
	}{{&k.Created, m.CreationDate}, {&k.DeletionDate, m.DeletionDate}} {
		if p.from != nil {
			*p.to = p.from.UTC()
		}
	}
	if m.KeyManager == types.KeyManagerTypeCustomer && k.Spec == string(types.KeySpecSymmetricDefault) &&
		(m.KeyState == types.KeyStateEnabled || m.KeyState == types.KeyStateDisabled) {
		r, err := client.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(k.ARN)})
		var unsupported *types.UnsupportedOperationException
		switch {
		case errors.As(err, &unsupported): // imported key material, custom key store: not applicable
		case err != nil:
			return Key{}, fmt.Errorf("GetKeyRotationStatus: %w", err)
		default:
			k.RotationEnabled = aws.Bool(r.KeyRotationEnabled)
			k.RotationDays = int(aws.ToInt32(r.RotationPeriodInDays))
			if r.NextRotationDate != nil {
				k.NextRotation = r.NextRotationDate.UTC()
			}
		}
	}
	return k, k.finish()
}

// writeKeys stores keys in one transaction: each replaces its row, and
// rows of the same account and region that keys do not hold are removed.
func writeKeys(ctx context.Context, db *sql.DB, keys []Key) (n int, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("inventory: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, KeySchema); err != nil {
		return 0, fmt.Errorf("inventory: create keys table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO keys (key_id, region, account_id, aliases, description,
		key_manager, key_state, key_spec, key_usage, origin, multi_region, rotation_enabled, rotation_period_days,
		next_rotation, deletion_date, created, imported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_id) DO UPDATE SET region = excluded.region, account_id = excluded.account_id,
		aliases = excluded.aliases, description = excluded.description, key_manager = excluded.key_manager,
		key_state = excluded.key_state, key_spec = excluded.key_spec, key_usage = excluded.key_usage,
		origin = excluded.origin, multi_region = excluded.multi_region, rotation_enabled = excluded.rotation_enabled,
		rotation_period_days = excluded.rotation_period_days, next_rotation = excluded.next_rotation,
		deletion_date = excluded.deletion_date, created = excluded.created, imported_at = excluded.imported_at`)
	if err != nil {
		return 0, fmt.Errorf("inventory: %w", err)
	}
	defer stmt.Close()
	now := time.Now().UnixMilli()
	type region struct{ account, name string }
	seen := map[region]map[string]bool{}
	for _, k := range keys {
		aliases, err := json.Marshal(k.Aliases)
		if err != nil {
			return 0, err
		}
		if k.Aliases == nil {
			aliases = []byte("[]")
		}
		var rotation, days any
		if k.RotationEnabled != nil {
			rotation = flag(*k.RotationEnabled)
		}
		if k.RotationDays > 0 {
			days = k.RotationDays
		}
		if _, err := stmt.ExecContext(ctx, k.ARN, k.Region, k.Account, string(aliases), k.Description,
			k.Manager, k.State, k.Spec, k.Usage, k.Origin, flag(k.MultiRegion), rotation, days,
			ms(k.NextRotation), ms(k.DeletionDate), ms(k.Created), now); err != nil {
			return 0, fmt.Errorf("inventory: %s: %w", k.ARN, err)
		}
		r := region{k.Account, k.Region}
		if seen[r] == nil {
			seen[r] = map[string]bool{}
		}
		seen[r][k.ARN] = true
	}
	for r, arns := range seen {
		rows, err := tx.QueryContext(ctx, `SELECT key_id FROM keys WHERE account_id = ? AND region = ?`, r.account, r.name)
		if err != nil {
			return 0, fmt.Errorf("inventory: %w", err)
		}
		var gone []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("inventory: %w", err)
			}
			if !arns[id] {
				gone = append(gone, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("inventory: %w", err)
		}
		for _, id := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM keys WHERE key_id = ?`, id); err != nil {
				return 0, fmt.Errorf("inventory: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("inventory: %w", err)
	}
	return len(keys), nil
}

// Keys reads the key inventory back, ordered by key ARN.
func Keys(ctx context.Context, db *sql.DB) ([]Key, error) {
	if _, err := db.ExecContext(ctx, KeySchema); err != nil {
		return nil, fmt.Errorf("inventory: create keys table: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT key_id, region, account_id, aliases, description, key_manager,
		key_state, key_spec, key_usage, origin, multi_region, rotation_enabled, COALESCE(rotation_period_days, 0),
		next_rotation, deletion_date, created FROM keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var aliases string
		var rotation sql.NullBool
		var next, deletion, created sql.NullInt64
		if err := rows.Scan(&k.ARN, &k.Region, &k.Account, &aliases, &k.Description, &k.Manager,
			&k.State, &k.Spec, &k.Usage, &k.Origin, &k.MultiRegion, &rotation, &k.RotationDays,
			&next, &deletion, &created); err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		if rotation.Valid {
			k.RotationEnabled = aws.Bool(rotation.Bool)
		}
		k.NextRotation, k.DeletionDate, k.Created = unms(next), unms(deletion), unms(created)
		if err := json.Unmarshal([]byte(aliases), &k.Aliases); err != nil {
			return nil, fmt.Errorf("inventory: %s: aliases: %w", k.ARN, err)
		}
		if len(k.Aliases) == 0 {
			k.Aliases = nil
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return out, nil
}
