package cloudtrail

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one row of the events table: a CloudTrail record with its
// principal, secret, key and parameter normalised. A record that names
// several secrets (BatchGetSecretValue with secretIdList) or parameters
// (GetParameters) becomes one Event per name, with IDs "<eventID>#<n>".
type Event struct {
	ID            string // eventID, or eventID#n for the n-th (from 1) secret or parameter of a record
	Time          int64  // eventTime, Unix milliseconds
	Source        string // eventSource: secretsmanager.amazonaws.com, kms.amazonaws.com, …
	Name          string // eventName
	Region        string
	Account       string // the account the record was delivered to (recipientAccountId), else the caller's
	Principal     string // see Principal
	PrincipalType string // userIdentity.type; AssumedRole for role sessions; AWSService for service events
	SessionName   string // the session of an assumed role
	MFA           bool   // sessionContext mfaAuthenticated, ConsoleLogin MFAUsed, or AssumeRole with an MFA serial number
	SourceIP      string
	UserAgent     string
	SecretID      string // see SecretID
	KeyID         string // KMS key ARN (or alias ARN)
	Parameter     string // SSM parameter name
	ErrorCode     string
	ErrorMessage  string
	Read          bool   // a read of a secret value: see Normalise
	Via           string // "secretsmanager" for KMS calls Secrets Manager made on a principal's behalf
	File          string // the file the record came from
}

// ViaSecretsManager marks KMS calls made by Secrets Manager for a principal.
const ViaSecretsManager = "secretsmanager"

const (
	srcSecretsManager = "secretsmanager.amazonaws.com"
	srcKMS            = "kms.amazonaws.com"
	srcSSM            = "ssm.amazonaws.com"
	srcSTS            = "sts.amazonaws.com"
	srcSignin         = "signin.amazonaws.com"
)

// keyAccessCheck is the SecretVersionId Secrets Manager puts in the
// encryption context of the KMS calls that only check it can use a key.
const keyAccessCheck = "RequestToValidateKeyAccess"

// normalise turns one decoded record into its rows, appending them to dst.
//
// Reads (Read = true) are the calls that return a secret value to the
// caller: GetSecretValue, and GetParameter, GetParameters,
// GetParametersByPath and GetParameterHistory with decryption. Whether the
// call succeeded is ErrorCode's business, not Read's. Not reads:
//   - KMS Decrypt (and GenerateDataKey) calls Secrets Manager makes for a
//     principal: they are traced to the secret through the encryption
//     context's SecretARN and marked Via "secretsmanager", as the
//     GetSecretValue they serve is already the read;
//   - Secrets Manager's key-access checks (SecretVersionId
//     RequestToValidateKeyAccess), kms:DescribeKey, GenerateDataKey;
//   - BatchGetSecretValue rows: AWS writes a GetSecretValue entry for each
//     secret a batch returns, and that entry is the read.
func normalise(dst []Event, r *record, file string) ([]Event, error) {
	if r.EventID == "" {
		return dst, fmt.Errorf("record without eventID")
	}
	t, err := parseTime(r.EventTime)
	if err != nil {
		return dst, fmt.Errorf("record %s: eventTime %q: %w", r.EventID, r.EventTime, err)
	}
	e := Event{
		ID:           r.EventID,
		Time:         t,
		Source:       r.EventSource,
		Name:         r.EventName,
		Region:       r.AWSRegion,
		Account:      r.RecipientAccountID,
		SourceIP:     r.SourceIPAddress,
		UserAgent:    r.UserAgent,
		ErrorCode:    r.ErrorCode,
		ErrorMessage: r.ErrorMessage,
		File:         file,
	}
	if e.Account == "" {
		e.Account = r.UserIdentity.AccountID
	}
	e.Principal, e.PrincipalType, e.SessionName = principal(&r.UserIdentity)
	e.MFA = mfa(r)

	p := r.RequestParameters
	if p == nil {
		p = &requestParams{}
	}
	switch r.EventSource {
	case srcSecretsManager:
		e.KeyID = e.keyARN(p.KMSKeyID)
		if r.EventName == "BatchGetSecretValue" && len(p.SecretIDList) > 0 {
			for i, id := range p.SecretIDList {
				row := e
				row.ID = r.EventID + "#" + strconv.Itoa(i+1)
				row.SecretID = e.secretARN(id)
				dst = append(dst, row)
			}
			return dst, nil
		}
		e.SecretID = e.secretARN(secretOf(r, p))
		e.Read = r.EventName == "GetSecretValue"
	case srcKMS:
		e.KeyID = kmsKey(r, &e, p)
		if c := p.EncryptionContext; c != nil {
			if c.SecretARN != "" {
				e.SecretID = e.secretARN(c.SecretARN)
				if r.UserIdentity.InvokedBy == srcSecretsManager {
					e.Via = ViaSecretsManager
				}
			}
			if c.ParameterARN != "" {
				e.Parameter = parameterName(c.ParameterARN)
			}
		}
	case srcSSM:
		read := bool(p.WithDecryption) && isParameterRead(r.EventName)
		if len(p.Names) > 0 {
			for i, n := range p.Names {
				row := e
				row.ID = r.EventID + "#" + strconv.Itoa(i+1)
				row.Parameter = parameterName(n)
				row.Read = read
				dst = append(dst, row)
			}
			return dst, nil
		}
		name := p.Name
		if name == "" {
			name = p.Path
		}
		e.Parameter = parameterName(name)
		e.KeyID = e.keyARN(p.KeyID)
		e.Read = read
	}
	return append(dst, e), nil
}

func isParameterRead(name string) bool {
	switch name {
	case "GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory":
		return true
	}
	return false
}

// secretOf finds the secret a Secrets Manager record is about, preferring
// sources that always hold the full ARN: service events carry it in
// additionalEventData (or serviceEventDetails), API calls that create or
// delete a secret return it; otherwise what the caller passed.
func secretOf(r *record, p *requestParams) string {
	if a := r.AdditionalEventData; a != nil && a.SecretID != "" {
		return a.SecretID
	}
	if d := r.ServiceEventDetails; d != nil && d.SecretID != "" {
		return d.SecretID
	}
	if re := r.ResponseElements; re != nil && strings.Contains(re.ARN, ":secretsmanager:") {
		return re.ARN
	}
	if p.SecretID != "" {
		return p.SecretID
	}
	return p.Name // CreateSecret
}

// kmsKey finds the key of a KMS record: the AWS::KMS::Key resource, else the
// keyId request parameter made into an ARN.
func kmsKey(r *record, e *Event, p *requestParams) string {
	for _, res := range r.Resources {
		if strings.Contains(res.ARN, ":kms:") && (res.Type == "" || res.Type == "AWS::KMS::Key") {
			return res.ARN
		}
	}
	return e.keyARN(p.KeyID)
}

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// keyARN makes a KMS key ID, alias name or ARN into an ARN in the event's
// region and account.
func (e *Event) keyARN(id string) string {
	switch {
	case id == "", strings.HasPrefix(id, "arn:"):
		return id
	case strings.HasPrefix(id, "alias/"):
		return "arn:" + partition(e.Region) + ":kms:" + e.Region + ":" + e.Account + ":" + id
	}
	return "arn:" + partition(e.Region) + ":kms:" + e.Region + ":" + e.Account + ":key/" + id
}

// secretARN gives the secret identity for a name, partial ARN or full ARN
// in the event's region and account: see SecretID.
func (e *Event) secretARN(id string) string {
	if id == "" {
		return ""
	}
	if strings.HasPrefix(id, "arn:") {
		return SecretID(id, "", "")
	}
	return SecretID(id, e.Region, e.Account)
}

// SecretID is the one identity of a secret, however an event names it:
// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME. A full ARN loses
// the hyphen and six random characters Secrets Manager appends; a name is
// placed in region and account. A partial ARN (an ARN without the suffix)
// is taken as it is unless its name itself ends in a hyphen and six letters
// or digits, which reads as a suffix: AWS advises against such names for
// this very reason.
func SecretID(id, region, account string) string {
	if id == "" {
		return ""
	}
	if !strings.HasPrefix(id, "arn:") {
		return "arn:" + partition(region) + ":secretsmanager:" + region + ":" + account + ":secret:" + id
	}
	const marker = ":secret:"
	i := strings.Index(id, marker)
	if i < 0 {
		return id
	}
	name := id[i+len(marker):]
	if n := len(name); n > 7 && name[n-7] == '-' && isSuffix(name[n-6:]) {
		return id[:len(id)-7]
	}
	return id
}

func isSuffix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parameterName is an SSM parameter's name, whether given as a name (with
// an optional :version or :label selector) or as an ARN.
func parameterName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		_, rest, ok := strings.Cut(s, ":parameter")
		if !ok {
			return s
		}
		rest = strings.TrimPrefix(rest, "/")
		if strings.Contains(rest, "/") {
			return "/" + rest // a hierarchy: the name begins with '/', the ARN drops it
		}
		return rest
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// principal normalises who made a call:
//   - an assumed-role session → the role, arn:aws:iam::ACCOUNT:role/NAME
//     (path dropped: role names are unique in an account), and the session;
//   - an IAM user, root, federated user → their ARN;
//   - an AWS service acting on its own (rotation, automatic key rotation) →
//     the service (secretsmanager.amazonaws.com, "AWS Internal").
//
// A service acting for a principal (invokedBy with an ARN) is the principal.
func principal(u *userIdentity) (who, kind, session string) {
	kind = u.Type
	if role, sess, ok := assumedRole(u.ARN); ok {
		return role, "AssumedRole", sess
	}
	switch {
	case u.ARN != "":
		return u.ARN, kind, ""
	case u.Type == "AWSAccount" && u.AccountID != "":
		return u.AccountID, kind, ""
	case u.InvokedBy != "":
		if kind == "" {
			kind = "AWSService"
		}
		return u.InvokedBy, kind, ""
	case u.PrincipalID != "":
		return u.PrincipalID, kind, ""
	}
	return "", kind, ""
}

// assumedRole reads arn:PART:sts::ACCOUNT:assumed-role/NAME/SESSION.
func assumedRole(arn string) (role, session string, ok bool) {
	const marker = ":assumed-role/"
	i := strings.Index(arn, marker)
	if i < 0 || !strings.HasPrefix(arn, "arn:") {
		return "", "", false
	}
	head := arn[:i] // arn:PART:sts::ACCOUNT
	parts := strings.Split(head, ":")
	if len(parts) != 5 {
		return "", "", false
	}
	name, session, _ := strings.Cut(arn[i+len(marker):], "/")
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name, session, true
}

// mfa reads the evidence of multi-factor authentication a record carries.
func mfa(r *record) bool {
	if c := r.UserIdentity.SessionContext; c != nil && c.Attributes.MFAAuthenticated == "true" {
		return true
	}
	if r.EventSource == srcSignin && r.AdditionalEventData != nil && r.AdditionalEventData.MFAUsed == "Yes" {
		return true
	}
	if r.EventSource == srcSTS && r.RequestParameters != nil && r.RequestParameters.SerialNumber != "" {
		return true // AssumeRole with an MFA device
	}
	return false
}

// parseTime reads CloudTrail's eventTime, UTC ISO 8601 to the second
// (2024-07-31T12:36:52Z); fractions and offsets are accepted too.
func parseTime(s string) (int64, error) {
	if len(s) == 20 && s[19] == 'Z' && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		se, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && se < 61 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC).UnixMilli(), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// notable says whether e is one of the few events most reports are about:
// rotations, deletions, policy and key changes, errors, and calls of a
// break-glass role. The events table keeps it in its notable column, and
// its partial index events_notable holds these rows by time, so that a
// report on them reads them only, not a week of reads. A report that
// uses the index must ask for nothing outside it.
//
// The break-glass test is SQL's principal LIKE '%:role/%break-glass%', as
// the reports write it: case folded for ASCII letters only, and blind to
// anything after a NUL.
func notable(e *Event) bool {
	switch e.Name {
	case "RotationStarted", "RotationSucceeded", "RotationFailed", "RotationAbandoned", "RotateSecret",
		"DeleteSecret", "RestoreSecret", "ScheduleKeyDeletion", "CancelKeyDeletion", "DeleteParameter",
		"DeleteParameters", "PutResourcePolicy", "DeleteResourcePolicy", "DisableKey", "PutKeyPolicy",
		"DisableKeyRotation", "RemoveRegionsFromReplication":
		return true
	}
	if e.ErrorCode != "" {
		return true
	}
	p := e.Principal
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i] // where LIKE stops reading
	}
	i := indexFold(p, ":role/")
	return i >= 0 && indexFold(p[i+len(":role/"):], "break-glass") >= 0
}

// indexFold is strings.Index for a lower-case ASCII sub, with the letters
// A-Z of s folded to lower case and no other, as SQLite's LIKE folds them.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}
