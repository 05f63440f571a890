package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

const (
	keyARN = "arn:aws:kms:us-east-1:111122223333:key/"
	k1     = keyARN + "1234abcd-12ab-34cd-56ef-1234567890ab" // payments: rotates every 180 days
	k2     = keyARN + "0987dcba-09fe-87dc-65ba-ab0987654321" // Disabled, rotation off
	k3     = keyARN + "11112222-3333-4444-5555-666677778888" // imported key material
	k4     = keyARN + "22223333-4444-5555-6666-777788889999" // RSA signing key
	k5     = keyARN + "33334444-5555-6666-7777-88889999aaaa" // scheduled for deletion
	k6     = keyARN + "44445555-6666-7777-8888-9999aaaabbbb" // AWS managed: aws/secretsmanager
	k7     = keyARN + "mrk-1234abcd12ab34cd56ef1234567890ab" // multi-Region primary
)

// keysFile is what the one-liner of ImportKeys writes with CLI v2: ISO
// dates, list-aliases entries as objects, no rotation fields where
// get-key-rotation-status failed. k7 is older describe-key output that has
// CustomerMasterKeySpec but no KeySpec.
const keysFile = `[
  {
    "KeyMetadata": {
      "AWSAccountId": "111122223333",
      "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
      "Arn": "` + k1 + `",
      "CreationDate": "2025-12-03T10:00:00.123000+00:00",
      "Enabled": true,
      "Description": "payments data",
      "KeyUsage": "ENCRYPT_DECRYPT",
      "KeyState": "Enabled",
      "Origin": "AWS_KMS",
      "KeyManager": "CUSTOMER",
      "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
      "KeySpec": "SYMMETRIC_DEFAULT",
      "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
      "MultiRegion": false
    },
    "KeyRotationEnabled": true,
    "KeyId": "` + k1 + `",
    "RotationPeriodInDays": 180,
    "NextRotationDate": "2026-06-01T10:00:00+00:00",
    "Aliases": [
      {"AliasName": "alias/payments-prod", "AliasArn": "arn:aws:kms:us-east-1:111122223333:alias/payments-prod",
       "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "CreationDate": "2025-12-03T10:00:01+00:00"},
      {"AliasName": "alias/payments", "AliasArn": "arn:aws:kms:us-east-1:111122223333:alias/payments",
       "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}
    ]
  },
  {
    "KeyMetadata": {"KeyId": "0987dcba-09fe-87dc-65ba-ab0987654321", "Arn": "` + k2 + `",
      "CreationDate": "2024-05-01T08:30:00+00:00", "Enabled": false, "Description": "old orders key",
      "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Disabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
      "KeySpec": "SYMMETRIC_DEFAULT", "MultiRegion": false},
    "KeyRotationEnabled": false, "KeyId": "` + k2 + `",
    "Aliases": []
  },
  {
    "KeyMetadata": {"KeyId": "11112222-3333-4444-5555-666677778888", "Arn": "` + k3 + `",
      "CreationDate": "2025-01-15T00:00:00+00:00", "Enabled": true, "Description": "",
      "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "EXTERNAL", "KeyManager": "CUSTOMER",
      "KeySpec": "SYMMETRIC_DEFAULT", "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "MultiRegion": false},
    "Aliases": [{"AliasName": "alias/byok"}]
  },
  {
    "KeyMetadata": {"KeyId": "22223333-4444-5555-6666-777788889999", "Arn": "` + k4 + `",
      "CreationDate": "2025-01-15T00:00:00+00:00", "Enabled": true, "Description": "release signing",
      "KeyUsage": "SIGN_VERIFY", "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
      "KeySpec": "RSA_2048", "SigningAlgorithms": ["RSASSA_PSS_SHA_256"], "MultiRegion": false},
    "Aliases": []
  },
  {
    "KeyMetadata": {"KeyId": "33334444-5555-6666-7777-88889999aaaa", "Arn": "` + k5 + `",
      "CreationDate": "2023-03-09T12:00:00+00:00", "Enabled": false, "Description": "legacy",
      "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "PendingDeletion", "DeletionDate": "2026-12-01T00:00:00+00:00",
      "PendingDeletionWindowInDays": 30, "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
      "KeySpec": "SYMMETRIC_DEFAULT", "MultiRegion": false},
    "Aliases": []
  },
  {
    "KeyMetadata": {"KeyId": "44445555-6666-7777-8888-9999aaaabbbb", "Arn": "` + k6 + `",
      "CreationDate": "2023-03-09T12:00:00+00:00", "Enabled": true,
      "Description": "Default key that protects my Secrets Manager data when no other key is defined",
      "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "AWS",
      "KeySpec": "SYMMETRIC_DEFAULT", "MultiRegion": false},
    "KeyRotationEnabled": true, "KeyId": "` + k6 + `", "RotationPeriodInDays": 365,
    "NextRotationDate": "2026-03-09T12:00:00+00:00",
    "Aliases": [{"AliasName": "alias/aws/secretsmanager", "TargetKeyId": "44445555-6666-7777-8888-9999aaaabbbb"}]
  },
  {
    "KeyMetadata": {"KeyId": "mrk-1234abcd12ab34cd56ef1234567890ab", "Arn": "` + k7 + `",
      "CreationDate": "2025-12-03T10:00:00.123000+00:00", "Enabled": true, "Description": "global",
      "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
      "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "MultiRegion": true,
      "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY"}},
    "KeyRotationEnabled": true, "KeyId": "` + k7 + `", "RotationPeriodInDays": 365,
    "NextRotationDate": "2026-12-03T10:00:00+00:00",
    "Aliases": ["alias/global"]
  }
]
`

// wantKeys is what keysFile holds.
var wantKeys = []Key{
	{ARN: k2, Region: "us-east-1", Account: "111122223333", Description: "old orders key",
		Manager: "CUSTOMER", State: "Disabled", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
		RotationEnabled: aws.Bool(false), Created: at("2024-05-01T08:30:00Z")},
	{ARN: k3, Region: "us-east-1", Account: "111122223333", Aliases: []string{"alias/byok"},
		Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "EXTERNAL",
		Created: at("2025-01-15T00:00:00Z")},
	{ARN: k1, Region: "us-east-1", Account: "111122223333", Aliases: []string{"alias/payments", "alias/payments-prod"},
		Description: "payments data", Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT",
		Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", RotationEnabled: aws.Bool(true), RotationDays: 180,
		NextRotation: at("2026-06-01T10:00:00Z"), Created: at("2025-12-03T10:00:00.123Z")},
	{ARN: k4, Region: "us-east-1", Account: "111122223333", Description: "release signing",
		Manager: "CUSTOMER", State: "Enabled", Spec: "RSA_2048", Usage: "SIGN_VERIFY", Origin: "AWS_KMS",
		Created: at("2025-01-15T00:00:00Z")},
	{ARN: k5, Region: "us-east-1", Account: "111122223333", Description: "legacy",
		Manager: "CUSTOMER", State: "PendingDeletion", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
		DeletionDate: at("2026-12-01T00:00:00Z"), Created: at("2023-03-09T12:00:00Z")},
	{ARN: k6, Region: "us-east-1", Account: "111122223333", Aliases: []string{"alias/aws/secretsmanager"},
		Description: "Default key that protects my Secrets Manager data when no other key is defined",
		Manager:     "AWS", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
		RotationEnabled: aws.Bool(true), RotationDays: 365, NextRotation: at("2026-03-09T12:00:00Z"),
		Created: at("2023-03-09T12:00:00Z")},
	{ARN: k7, Region: "us-east-1", Account: "111122223333", Aliases: []string{"alias/global"}, Description: "global",
		Manager: "CUSTOMER", State: "Enabled", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
		MultiRegion: true, RotationEnabled: aws.Bool(true), RotationDays: 365, NextRotation: at("2026-12-03T10:00:00Z"),
		Created: at("2025-12-03T10:00:00.123Z")},
}

func keysOf(t *testing.T, ctx context.Context, db *sql.DB) []Key {
	t.Helper()
	list, err := Keys(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func diffKeys(t *testing.T, got, want []Key) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("key %d:\ngot  %s\nwant %s", i, showKey(got[i]), showKey(want[i]))
		}
	}
}

func showKey(k Key) string {
	r := "nil"
	if k.RotationEnabled != nil {
		r = fmt.Sprint(*k.RotationEnabled)
	}
	k.RotationEnabled = nil
	return fmt.Sprintf("%+v rotation=%s", k, r)
}

func TestImportKeys(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	n, err := ImportKeys(ctx, db, strings.NewReader(keysFile))
	if err != nil || n != 7 {
		t.Fatalf("ImportKeys: %d, %v", n, err)
	}
	diffKeys(t, keysOf(t, ctx, db), wantKeys)
	// NULL, not 0, where KMS said nothing, so that reports can tell.
	var nulls int
	if err := db.QueryRow(`SELECT COUNT(*) FROM keys WHERE rotation_enabled IS NULL AND rotation_period_days IS NULL
		AND next_rotation IS NULL`).Scan(&nulls); err != nil || nulls != 3 {
		t.Errorf("keys with NULL rotation: %d (%v), want 3", nulls, err)
	}
	var aliases string
	if err := db.QueryRow(`SELECT aliases FROM keys WHERE key_id = ?`, k2).Scan(&aliases); err != nil || aliases != "[]" {
		t.Errorf("aliases of a key with none: %q (%v), want []", aliases, err)
	}
}

// TestImportKeysLinesAndEpochs reads JSON lines with the dates of CLI v1
// and the API (epoch seconds, as numbers or strings).
func TestImportKeysLinesAndEpochs(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	doc := `{"KeyMetadata":{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Arn":"` + k1 + `","CreationDate":1.764756000123E9,"Description":"payments data","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT"},"KeyRotationEnabled":true,"RotationPeriodInDays":180,"NextRotationDate":"1780308000","Aliases":["alias/payments-prod","alias/payments"]}
{"KeyMetadata":{"KeyId":"` + k5 + `","CreationDate":1678363200,"Description":"legacy","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"PendingDeletion","DeletionDate":1796083200,"Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT"},"NextRotationDate":null}
`
	if n, err := ImportKeys(ctx, db, strings.NewReader(doc)); err != nil || n != 2 {
		t.Fatalf("ImportKeys: %d, %v", n, err)
	}
	diffKeys(t, keysOf(t, ctx, db), []Key{wantKeys[2], wantKeys[4]})
}

func TestImportKeysReplacesRegions(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if _, err := ImportKeys(ctx, db, strings.NewReader(keysFile)); err != nil {
		t.Fatal(err)
	}
	// Another region is its own listing.
	other := "arn:aws:kms:eu-west-1:111122223333:key/55556666-7777-8888-9999-aaaabbbbcccc"
	if _, err := ImportKeys(ctx, db, strings.NewReader(`[{"KeyMetadata":{"Arn":"`+other+`","KeyState":"Enabled","KeyManager":"CUSTOMER"}}]`)); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, ctx, db); len(got) != 8 {
		t.Fatalf("%d keys after importing another region, want 8", len(got))
	}
	// A later listing of us-east-1 with k1 changed and the others gone
	// (k5 deleted at last, ...) leaves k1 as now and eu-west-1 as it was.
	later := `[{"KeyMetadata":{"Arn":"` + k1 + `","KeyState":"Enabled","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT","Origin":"AWS_KMS"},
		"KeyRotationEnabled":false}]`
	if n, err := ImportKeys(ctx, db, strings.NewReader(later)); err != nil || n != 1 {
		t.Fatalf("ImportKeys: %d, %v", n, err)
	}
	got := keysOf(t, ctx, db)
	if len(got) != 2 || got[0].ARN != other || got[1].ARN != k1 {
		t.Fatalf("after a later listing: %v", got)
	}
	if k := got[1]; k.RotationEnabled == nil || *k.RotationEnabled || k.RotationDays != 0 || k.Aliases != nil || !k.Created.IsZero() {
		t.Errorf("k1 not replaced: %s", showKey(k))
	}
	// An empty listing names no region and changes nothing.
	if n, err := ImportKeys(ctx, db, strings.NewReader(" [ ]\n")); err != nil || n != 0 {
		t.Fatalf("ImportKeys([]): %d, %v", n, err)
	}
	if again := keysOf(t, ctx, db); !reflect.DeepEqual(again, got) {
		t.Errorf("[] changed the keys")
	}
}

func TestImportKeysMalformed(t *testing.T) {
	good := `{"KeyMetadata":{"Arn":"` + k1 + `","KeyState":"Enabled"}}`
	tests := []struct {
		what, doc string
		want      []string // all in the error
		bad       string   // when set, the error's byte offset is where this text starts
	}{
		{"bad date", `[` + good + `, {"KeyMetadata":{"Arn":"` + k2 + `","CreationDate":"last tuesday"}}]`,
			[]string{"item 2", "KeyMetadata.CreationDate", "last tuesday"}, ""},
		{"bad next rotation", good + "\n" + good + "\n" + `{"KeyMetadata":{"Arn":"` + k2 + `"},"NextRotationDate":1e400}`,
			[]string{"item 3", "NextRotationDate", "out of range"}, ""},
		{"wrong type", `[` + good + `, {"KeyMetadata":{"Arn":"` + k2 + `","MultiRegion":"yes"}}]`,
			[]string{"item 2", "KeyMetadata.MultiRegion", "bool"}, ""},
		{"rotation flag a string", `[{"KeyMetadata":{"Arn":"` + k2 + `"},"KeyRotationEnabled":"true"}]`,
			[]string{"item 1", "KeyRotationEnabled"}, ""},
		{"negative period", `[{"KeyMetadata":{"Arn":"` + k2 + `"},"RotationPeriodInDays":-5}]`,
			[]string{"item 1", "RotationPeriodInDays", "-5"}, ""},
		{"not an ARN", `[` + good + `, {"KeyMetadata":{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}}]`,
			[]string{"item 2", "KeyMetadata.Arn", "missing"}, ""},
		{"a secret's ARN", `[{"KeyMetadata":{"Arn":"arn:aws:secretsmanager:us-east-1:111122223333:secret:x"}}]`,
			[]string{"item 1", "KeyMetadata.Arn", "not a KMS key ARN"}, ""},
		{"an alias ARN", `[{"KeyMetadata":{"Arn":"arn:aws:kms:us-east-1:111122223333:alias/x"}}]`,
			[]string{"item 1", "not a KMS key ARN"}, ""},
		{"list-keys output", `{"Keys":[{"KeyId":"x","KeyArn":"` + k1 + `"}]}`,
			[]string{"item 1", "KeyMetadata", "describe-key"}, ""},
		{"not an object", `[` + good + `, 42]`, []string{"item 2", "found number"}, ""},
		{"alias of a wrong kind", `[{"KeyMetadata":{"Arn":"` + k2 + `"},"Aliases":[true]}]`,
			[]string{"item 1", "Aliases"}, ""},
		{"syntax error in the second item", `[` + good + `,  {"KeyMetadata": {"Arn": tru}}]`,
			[]string{"item 2", "invalid character"}, `}}]`},
		{"syntax error in a line", good + "\n" + `{"KeyMetadata": }` + "\n" + good,
			[]string{"item 2", "invalid character"}, "}\n" + good},
		{"missing comma", `[` + good + ` ` + good + `]`, []string{"item 2", "byte"}, good + `]`},
		{"cut short", `[` + good + `, ` + good, []string{"unexpected EOF"}, ""},
		{"cut short in an item", `[` + good + `, {"KeyMetadata": {`, []string{"item 2", "unexpected EOF"}, ""},
		{"more after the array", `[` + good + `] [` + good + `]`, []string{"more after"}, ""},
		{"empty", " \n", []string{"empty input"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			n, err := ImportKeys(ctx, db, strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("no error, %d imported", n)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.bad != "" {
				want := strings.LastIndex(tt.doc, tt.bad)
				if !strings.Contains(err.Error(), fmt.Sprintf("byte %d:", want)) {
					t.Errorf("error %q: want byte %d (%q)", err, want, tt.doc[want:])
				}
			}
			// All or nothing: the good key before the bad one is not kept.
			if list, err := Keys(ctx, db); err != nil || len(list) != 0 {
				t.Errorf("%d keys kept after a failed import (%v)", len(list), err)
			}
		})
	}
}

// fakeKMS serves what LoadKeys calls, in AWS JSON 1.1 as KMS does
// (X-Amz-Target TrentService.*, dates as epoch seconds, errors as
// {"__type": ...} with status 400): ListKeys in three pages and
// ListAliases in two, chained by Truncated and NextMarker.
type fakeKMS struct {
	t          *testing.T
	deny       string // a key whose DescribeKey answers AccessDenied
	everyKey   bool   // answer GetKeyRotationStatus and ListAliases --key-id for any key, as the CLI one-liner asks
	onDescribe func(key string)
	mu         sync.Mutex
	calls      []string // operation and key or marker, in order
}

var kmsKeyPages = map[string]struct{ next, keys string }{
	"":   {"m2", `{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","KeyArn":"` + k1 + `"},{"KeyId":"0987dcba-09fe-87dc-65ba-ab0987654321","KeyArn":"` + k2 + `"},{"KeyId":"11112222-3333-4444-5555-666677778888","KeyArn":"` + k3 + `"}`},
	"m2": {"m3", `{"KeyId":"22223333-4444-5555-6666-777788889999","KeyArn":"` + k4 + `"},{"KeyId":"33334444-5555-6666-7777-88889999aaaa","KeyArn":"` + k5 + `"}`},
	"m3": {"", `{"KeyId":"44445555-6666-7777-8888-9999aaaabbbb","KeyArn":"` + k6 + `"},{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab","KeyArn":"` + k7 + `"}`},
}

var kmsAliasPages = map[string]struct{ next, aliases string }{
	"": {"a2", `{"AliasName":"alias/aws/ebs","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/aws/ebs"},
		{"AliasName":"alias/aws/secretsmanager","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/aws/secretsmanager","TargetKeyId":"44445555-6666-7777-8888-9999aaaabbbb","CreationDate":1678363200,"LastUpdatedDate":1678363200},
		{"AliasName":"alias/byok","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/byok","TargetKeyId":"11112222-3333-4444-5555-666677778888"},
		{"AliasName":"alias/payments-prod","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/payments-prod","TargetKeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`},
	"a2": {"", `{"AliasName":"alias/global","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/global","TargetKeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"},
		{"AliasName":"alias/gone","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/gone","TargetKeyId":"99999999-9999-9999-9999-999999999999"},
		{"AliasName":"alias/payments","AliasArn":"arn:aws:kms:us-east-1:111122223333:alias/payments","TargetKeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`},
}

var kmsMetadata = map[string]string{
	k1: `{"AWSAccountId":"111122223333","KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Arn":"` + k1 + `","CreationDate":1.764756000123E9,"Enabled":true,"Description":"payments data","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER","CustomerMasterKeySpec":"SYMMETRIC_DEFAULT","KeySpec":"SYMMETRIC_DEFAULT","EncryptionAlgorithms":["SYMMETRIC_DEFAULT"],"MultiRegion":false}`,
	k2: `{"AWSAccountId":"111122223333","KeyId":"0987dcba-09fe-87dc-65ba-ab0987654321","Arn":"` + k2 + `","CreationDate":1714552200,"Enabled":false,"Description":"old orders key","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Disabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT","MultiRegion":false}`,
	k3: `{"AWSAccountId":"111122223333","KeyId":"11112222-3333-4444-5555-666677778888","Arn":"` + k3 + `","CreationDate":1736899200,"Enabled":true,"Description":"","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Enabled","Origin":"EXTERNAL","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE","MultiRegion":false}`,
	k4: `{"AWSAccountId":"111122223333","KeyId":"22223333-4444-5555-6666-777788889999","Arn":"` + k4 + `","CreationDate":1736899200,"Enabled":true,"Description":"release signing","KeyUsage":"SIGN_VERIFY","KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"RSA_2048","SigningAlgorithms":["RSASSA_PSS_SHA_256"],"MultiRegion":false}`,
	k5: `{"AWSAccountId":"111122223333","KeyId":"33334444-5555-6666-7777-88889999aaaa","Arn":"` + k5 + `","CreationDate":1678363200,"Enabled":false,"Description":"legacy","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"PendingDeletion","DeletionDate":1796083200,"PendingDeletionWindowInDays":30,"Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT","MultiRegion":false}`,
	k6: `{"AWSAccountId":"111122223333","KeyId":"44445555-6666-7777-8888-9999aaaabbbb","Arn":"` + k6 + `","CreationDate":1678363200,"Enabled":true,"Description":"Default key that protects my Secrets Manager data when no other key is defined","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"AWS","KeySpec":"SYMMETRIC_DEFAULT","MultiRegion":false}`,
	k7: `{"AWSAccountId":"111122223333","KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab","Arn":"` + k7 + `","CreationDate":1764756000.123,"Enabled":true,"Description":"global","KeyUsage":"ENCRYPT_DECRYPT","KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER","KeySpec":"SYMMETRIC_DEFAULT","MultiRegion":true,"MultiRegionConfiguration":{"MultiRegionKeyType":"PRIMARY","PrimaryKey":{"Arn":"` + k7 + `","Region":"us-east-1"},"ReplicaKeys":[]}}`,
}

var kmsRotation = map[string]string{
	k1: `{"KeyRotationEnabled":true,"KeyId":"` + k1 + `","RotationPeriodInDays":180,"NextRotationDate":1780308000}`,
	k2: `{"KeyRotationEnabled":false,"KeyId":"` + k2 + `"}`,
	k7: `{"KeyRotationEnabled":true,"KeyId":"` + k7 + `","RotationPeriodInDays":365,"NextRotationDate":1796292000}`,
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if r.Method != http.MethodPost || !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.t.Errorf("unexpected request %s %s %v", r.Method, r.URL, r.Header)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var in struct {
		KeyId, Marker string
		Limit         *int
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("%s: request body: %v", op, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+in.KeyId+in.Marker)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(kind, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, kind, msg)
	}
	page := func(list, items, next string) {
		if next == "" {
			fmt.Fprintf(w, `{%q:[%s],"Truncated":false}`, list, items)
			return
		}
		fmt.Fprintf(w, `{%q:[%s],"NextMarker":%q,"Truncated":true}`, list, items, next)
	}
	switch op {
	case "ListKeys":
		p, ok := kmsKeyPages[in.Marker]
		if !ok || in.Limit != nil {
			fail("InvalidMarkerException", "bad marker")
			return
		}
		page("Keys", p.keys, p.next)
	case "ListAliases":
		p, ok := kmsAliasPages[in.Marker]
		if !ok || in.KeyId != "" && !f.everyKey {
			fail("InvalidMarkerException", "bad marker")
			return
		}
		if in.KeyId == "" {
			page("Aliases", p.aliases, p.next)
			return
		}
		// The aliases of one key, all on one page.
		var all []json.RawMessage
		for _, p := range kmsAliasPages {
			var list []json.RawMessage
			if err := json.Unmarshal([]byte("["+p.aliases+"]"), &list); err != nil {
				f.t.Fatal(err)
			}
			all = append(all, list...)
		}
		var mine []string
		for _, a := range all {
			var e struct{ TargetKeyId string }
			json.Unmarshal(a, &e)
			if e.TargetKeyId != "" && strings.HasSuffix(in.KeyId, "/"+e.TargetKeyId) {
				mine = append(mine, string(a))
			}
		}
		slices.Sort(mine)
		page("Aliases", strings.Join(mine, ","), "")
	case "DescribeKey":
		if f.onDescribe != nil {
			f.onDescribe(in.KeyId)
		}
		m, ok := kmsMetadata[in.KeyId]
		switch {
		case in.KeyId == f.deny:
			fail("AccessDeniedException", "User: arn:aws:iam::111122223333:role/auditor is not authorized to perform: kms:DescribeKey on resource: "+in.KeyId)
		case !ok:
			fail("NotFoundException", "Key '"+in.KeyId+"' does not exist")
		default:
			fmt.Fprintf(w, `{"KeyMetadata":%s}`, m)
		}
	case "GetKeyRotationStatus":
		switch {
		case in.KeyId == k3:
			fail("UnsupportedOperationException", in.KeyId+" origin is EXTERNAL which is not valid for this operation.")
		case kmsRotation[in.KeyId] != "":
			fmt.Fprint(w, kmsRotation[in.KeyId])
		case !f.everyKey:
			f.t.Errorf("GetKeyRotationStatus asked of %s, which cannot rotate or is not in a state to be asked", in.KeyId)
			fail("UnsupportedOperationException", "no")
		case in.KeyId == k4:
			fail("UnsupportedOperationException", in.KeyId+" key usage is SIGN_VERIFY which is not valid for GetKeyRotationStatus.")
		case in.KeyId == k5:
			fail("KMSInvalidStateException", in.KeyId+" is pending deletion.")
		case in.KeyId == k6: // AWS managed keys always rotate, every year
			fmt.Fprint(w, `{"KeyRotationEnabled":true,"KeyId":"`+k6+`","RotationPeriodInDays":365,"NextRotationDate":1773057600}`)
		default:
			fail("NotFoundException", "Key '"+in.KeyId+"' does not exist")
		}
	default:
		f.t.Errorf("unexpected operation %s", op)
		fail("UnknownOperationException", op)
	}
}

func kmsClient(t *testing.T, f *fakeKMS) *kms.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return kms.New(kms.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestLoadKeys(t *testing.T) {
	ctx := context.Background()
	f := &fakeKMS{t: t}
	db := open(t)
	n, err := LoadKeys(ctx, db, kmsClient(t, f))
	if err != nil || n != 7 {
		t.Fatalf("LoadKeys: %d, %v", n, err)
	}
	wantCalls := []string{"ListAliases ", "ListAliases a2", "ListKeys ",
		"DescribeKey " + k1, "GetKeyRotationStatus " + k1, "DescribeKey " + k2, "GetKeyRotationStatus " + k2,
		"DescribeKey " + k3, "GetKeyRotationStatus " + k3, "ListKeys m2", "DescribeKey " + k4, "DescribeKey " + k5,
		"ListKeys m3", "DescribeKey " + k6, "DescribeKey " + k7, "GetKeyRotationStatus " + k7}
	if !reflect.DeepEqual(f.calls, wantCalls) {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(f.calls, "\n"), strings.Join(wantCalls, "\n"))
	}
	// What the CLI's output of the same keys says, but for the AWS managed
	// key, whose rotation LoadKeys does not ask (it always rotates yearly).
	want := slices.Clone(wantKeys)
	want[5].RotationEnabled, want[5].RotationDays, want[5].NextRotation = nil, 0, time.Time{}
	diffKeys(t, keysOf(t, ctx, db), want)
}

func TestLoadKeysFailsWhole(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if _, err := ImportKeys(ctx, db, strings.NewReader(keysFile)); err != nil {
		t.Fatal(err)
	}
	before := keysOf(t, ctx, db)
	f := &fakeKMS{t: t, deny: k5}
	n, err := LoadKeys(ctx, db, kmsClient(t, f))
	if err == nil || !strings.Contains(err.Error(), k5) || !strings.Contains(err.Error(), "DescribeKey") ||
		!strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("LoadKeys: %d, %v: want an AccessDenied error naming DescribeKey and %s", n, err, k5)
	}
	if after := keysOf(t, ctx, db); !reflect.DeepEqual(after, before) {
		t.Errorf("a failed load changed the keys")
	}
}

func TestLoadKeysCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeKMS{t: t, onDescribe: func(key string) {
		if key == k2 {
			cancel()
		}
	}}
	db := open(t)
	n, err := LoadKeys(ctx, db, kmsClient(t, f))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadKeys: %d, %v: want context.Canceled", n, err)
	}
	if list, err := Keys(context.Background(), db); err != nil || len(list) != 0 {
		t.Errorf("%d keys kept after a cancelled load (%v)", len(list), err)
	}
	for _, c := range f.calls {
		if c == "ListKeys m2" {
			t.Errorf("went on listing after the context was cancelled: %q", f.calls)
		}
	}
}

// TestKeysCommand runs the documented one-liner with the real AWS CLI and
// jq against the fake KMS, and imports what it writes.
func TestKeysCommand(t *testing.T) {
	for _, tool := range []string{"aws", "jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here: %v", tool, err)
		}
	}
	if testing.Short() {
		t.Skip("runs the AWS CLI twenty-odd times")
	}
	src, err := os.ReadFile("keys.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "//\t"+KeysCommand+"\n") {
		t.Errorf("ImportKeys's doc comment does not show KeysCommand as it is")
	}
	srv := httptest.NewServer(&fakeKMS{t: t, everyKey: true})
	defer srv.Close()
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", KeysCommand)
	cmd.Dir = dir
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL="+srv.URL, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	db := open(t)
	if n, err := ImportKeys(ctx, db, f); err != nil || n != 7 {
		t.Fatalf("ImportKeys: %d, %v", n, err)
	}
	diffKeys(t, keysOf(t, ctx, db), wantKeys)
}
