package gen

import (
	"fmt"
	"time"
)

// Record is a CloudTrail record as the generator writes it.
type Record struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        Identity       `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
}

// Identity is userIdentity.
type Identity struct {
	Type           string          `json:"type,omitempty"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext is userIdentity.sessionContext.
type SessionContext struct {
	SessionIssuer Issuer            `json:"sessionIssuer"`
	Attributes    map[string]string `json:"attributes"`
}

// Issuer is sessionContext.sessionIssuer.
type Issuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// Resource is an entry of resources[].
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

const (
	smHost  = "secretsmanager.amazonaws.com"
	kmsHost = "kms.amazonaws.com"
	sdkUA   = "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24.1 api/secretsmanager#1.35.0"
)

func (g *generator) base(t time.Time, acct, source, name string) *Record {
	return &Record{
		EventVersion:       "1.11",
		EventTime:          t.UTC().Format(time.RFC3339),
		EventSource:        source,
		EventName:          name,
		AWSRegion:          g.org.region,
		RequestID:          g.uuid(),
		EventID:            g.uuid(),
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: acct,
		EventCategory:      "Management",
	}
}

// roleSession is the identity of a session of role (an IAM role ARN).
func (g *generator) roleSession(role, session string, mfa bool) Identity {
	acct, name := splitRole(role)
	pid := "AROA" + upper(g.hex(17))
	return Identity{
		Type:        "AssumedRole",
		PrincipalID: pid + ":" + session,
		ARN:         fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acct, name, session),
		AccountID:   acct,
		AccessKeyID: "ASIA" + upper(g.hex(16)),
		SessionContext: &SessionContext{
			SessionIssuer: Issuer{Type: "Role", PrincipalID: pid, ARN: role, AccountID: acct, UserName: name},
			Attributes:    map[string]string{"creationDate": "", "mfaAuthenticated": fmt.Sprint(mfa)},
		},
	}
}

func splitRole(role string) (acct, name string) {
	// arn:aws:iam::ACCOUNT:role/NAME
	const head = len("arn:aws:iam::")
	return role[head : head+12], role[head+12+len(":role/"):]
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func (g *generator) ip() string {
	return fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(4), g.rng.IntN(256), 1+g.rng.IntN(254))
}

// read is a GetSecretValue by a session of role, naming the secret in form.
func (g *generator) read(role, session string, s *secret, t time.Time, form, errorCode string) *Record {
	r := g.base(t, s.acct, smHost, "GetSecretValue")
	r.UserIdentity = g.roleSession(role, session, false)
	r.UserIdentity.SessionContext.Attributes["creationDate"] = t.Add(-time.Duration(g.rng.IntN(3600)) * time.Second).UTC().Format(time.RFC3339)
	r.SourceIPAddress = g.ip()
	r.UserAgent = sdkUA
	r.RequestParameters = map[string]any{"secretId": s.id(form)}
	r.ReadOnly = true
	if errorCode != "" {
		r.ErrorCode = errorCode
		r.ErrorMessage = fmt.Sprintf("User: %s is not authorized to perform: secretsmanager:GetSecretValue on resource: %s because no identity-based policy allows the secretsmanager:GetSecretValue action", r.UserIdentity.ARN, s.id(form))
	}
	return r
}

// decrypt is the KMS Decrypt Secrets Manager makes for a GetSecretValue.
func (g *generator) decrypt(role, session string, s *secret, t time.Time) *Record {
	r := g.base(t, s.acct, kmsHost, "Decrypt")
	r.UserIdentity = g.roleSession(role, session, false)
	r.UserIdentity.InvokedBy = smHost
	r.SourceIPAddress = smHost
	r.UserAgent = smHost
	r.RequestParameters = map[string]any{
		"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
		"encryptionContext":   map[string]string{"SecretARN": s.arn, "SecretVersionId": g.uuid()},
	}
	r.ReadOnly = true
	r.Resources = []Resource{{ARN: s.keyARN, AccountID: s.acct, Type: "AWS::KMS::Key"}}
	return r
}

func (g *generator) service(t time.Time, s *secret, name, errorMessage string) *Record {
	r := g.base(t, s.acct, smHost, name)
	r.UserIdentity = Identity{AccountID: s.acct, InvokedBy: smHost}
	r.EventType = "AwsServiceEvent"
	r.SourceIPAddress = smHost
	r.UserAgent = smHost
	r.AdditionalEventData = map[string]any{"SecretId": s.arn}
	r.RequestID = "Rotation-" + s.arn + "-" + g.uuid()
	r.ErrorMessage = errorMessage
	return r
}

// rotation is one rotation of s: started, the Lambda's calls, succeeded or
// (about 3%) failed.
func (g *generator) rotation(s *secret, t time.Time) []*Record {
	lambda := s.service + "-" + s.env + "-rotation"
	started := g.service(t, s, "RotationStarted", "")
	if g.rng.IntN(100) < 3 {
		step := []string{"createSecret", "setSecret", "testSecret"}[g.rng.IntN(3)]
		failed := g.service(t.Add(20*time.Second), s, "RotationFailed",
			fmt.Sprintf("Error when executing lambda arn:aws:lambda:%s:%s:function:%s during %s step", g.org.region, s.acct, lambda, step))
		return []*Record{started, failed}
	}
	version := g.uuid()
	put := g.base(t.Add(2*time.Second), s.acct, smHost, "PutSecretValue")
	put.UserIdentity = g.roleSession(s.rotateRole, lambda, false)
	put.SourceIPAddress = g.ip()
	put.UserAgent = sdkUA
	put.RequestParameters = map[string]any{"secretId": s.arn, "clientRequestToken": version, "versionStages": []string{"AWSPENDING"}}
	put.ResponseElements = map[string]any{"arn": s.arn}
	gdk := g.base(t.Add(2*time.Second), s.acct, kmsHost, "GenerateDataKey")
	gdk.UserIdentity = g.roleSession(s.rotateRole, lambda, false)
	gdk.UserIdentity.InvokedBy = smHost
	gdk.SourceIPAddress = smHost
	gdk.UserAgent = smHost
	gdk.RequestParameters = map[string]any{"keyId": s.keyARN, "keySpec": "AES_256",
		"encryptionContext": map[string]string{"SecretARN": s.arn, "SecretVersionId": version}}
	gdk.ReadOnly = true
	gdk.Resources = []Resource{{ARN: s.keyARN, AccountID: s.acct, Type: "AWS::KMS::Key"}}
	stage := g.base(t.Add(9*time.Second), s.acct, smHost, "UpdateSecretVersionStage")
	stage.UserIdentity = g.roleSession(s.rotateRole, lambda, false)
	stage.SourceIPAddress = put.SourceIPAddress
	stage.UserAgent = sdkUA
	stage.RequestParameters = map[string]any{"secretId": s.arn, "versionStage": "AWSCURRENT", "moveToVersionId": version}
	succeeded := g.service(t.Add(10*time.Second), s, "RotationSucceeded", "")
	s.lastRotated = t.Add(10 * time.Second)
	return []*Record{started, put, gdk, stage, succeeded}
}

func (g *generator) ssoRole(acct string, admin bool) string {
	set := "Developer"
	if admin {
		set = "Admin"
	}
	return fmt.Sprintf("arn:aws:iam::%s:role/AWSReservedSSO_%s_%s", acct, set, g.org.ssoHex)
}

// humanRead is a person reading a secret through their SSO role.
func (g *generator) humanRead(p person, s *secret, t time.Time) []*Record {
	mfa := p.mfaUsual
	if g.rng.IntN(10) == 0 {
		mfa = !mfa
	}
	role := g.ssoRole(s.acct, p.admin)
	r := g.read(role, p.email, s, t, g.form(), "")
	r.UserIdentity.SessionContext.Attributes["mfaAuthenticated"] = fmt.Sprint(mfa)
	r.UserAgent = "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9"
	d := g.decrypt(role, p.email, s, t.Add(300*time.Millisecond))
	d.UserIdentity.SessionContext.Attributes["mfaAuthenticated"] = fmt.Sprint(mfa)
	return []*Record{r, d}
}

// breakGlass is an admin assuming the prod break-glass role with MFA and
// reading a few prod secrets in that session.
func (g *generator) breakGlass(t time.Time) []*Record {
	acct := account("prod")
	role := fmt.Sprintf("arn:aws:iam::%s:role/break-glass", acct)
	admin := g.org.people[0]
	for _, p := range g.org.people {
		if p.admin && g.rng.IntN(2) == 0 {
			admin = p
		}
	}
	caller := g.roleSession(g.ssoRole(acct, true), admin.email, true)
	assume := g.base(t, acct, "sts.amazonaws.com", "AssumeRole")
	assume.UserIdentity = caller
	assume.SourceIPAddress = g.ip()
	assume.UserAgent = "aws-cli/2.17.0"
	session := "breakglass-" + admin.email
	assume.RequestParameters = map[string]any{"roleArn": role, "roleSessionName": session,
		"serialNumber": fmt.Sprintf("arn:aws:iam::%s:mfa/%s", acct, admin.email), "durationSeconds": 3600}
	assume.ReadOnly = true
	assume.Resources = []Resource{{ARN: role, AccountID: acct, Type: "AWS::IAM::Role"}}
	out := []*Record{assume}
	for i := range 2 + g.rng.IntN(4) {
		var s *secret
		for s == nil || s.env != "prod" {
			s = g.pick()
		}
		at := t.Add(time.Duration(60*(i+1)) * time.Second)
		r := g.read(role, session, s, at, "arn", "")
		r.UserIdentity.SessionContext.Attributes["mfaAuthenticated"] = "true"
		d := g.decrypt(role, session, s, at.Add(200*time.Millisecond))
		d.UserIdentity.SessionContext.Attributes["mfaAuthenticated"] = "true"
		out = append(out, r, d)
	}
	return out
}

// deleteSecret is an admin deleting a secret, sometimes without MFA.
func (g *generator) deleteSecret(s *secret, t time.Time) *Record {
	p := g.org.people[3]
	r := g.base(t, s.acct, smHost, "DeleteSecret")
	r.UserIdentity = g.roleSession(g.ssoRole(s.acct, true), p.email, g.rng.IntN(3) > 0)
	r.SourceIPAddress = g.ip()
	r.UserAgent = "aws-cli/2.17.0"
	r.RequestParameters = map[string]any{"secretId": s.name, "recoveryWindowInDays": 7}
	r.ResponseElements = map[string]any{"arn": s.arn, "name": s.name,
		"deletionDate": t.AddDate(0, 0, 7).UTC().Format("Jan 2, 2006, 3:04:05 PM")}
	return r
}

// deletion is an admin deleting a secret still in use: its readers fail
// until the admin restores it, minutes later.
func (g *generator) deletion(s *secret, t time.Time) []*Record {
	del := g.deleteSecret(s, t)
	out := []*Record{del}
	n := 1 + g.rng.IntN(3)
	for i := range n {
		r := g.read(s.readerRole, g.session(), s, t.Add(time.Duration(i+1)*time.Minute), g.form(), "")
		r.ErrorCode = "InvalidRequestException"
		r.ErrorMessage = "You can't perform this operation on the secret because it was marked for deletion."
		out = append(out, r)
	}
	restore := g.base(t.Add(time.Duration(n+1)*time.Minute), s.acct, smHost, "RestoreSecret")
	restore.UserIdentity = del.UserIdentity
	restore.SourceIPAddress = del.SourceIPAddress
	restore.UserAgent = del.UserAgent
	restore.RequestParameters = map[string]any{"secretId": s.name}
	restore.ResponseElements = map[string]any{"arn": s.arn, "name": s.name}
	return append(out, restore)
}

// scheduleKeyDeletion is an admin scheduling an environment key's deletion.
func (g *generator) scheduleKeyDeletion(t time.Time) *Record {
	env := Environments[g.rng.IntN(len(Environments))]
	key := g.org.keys[env.Account]
	r := g.base(t, env.Account, kmsHost, "ScheduleKeyDeletion")
	r.UserIdentity = g.roleSession(g.ssoRole(env.Account, true), g.org.people[0].email, g.rng.IntN(2) == 0)
	r.SourceIPAddress = g.ip()
	r.UserAgent = "aws-cli/2.17.0"
	r.RequestParameters = map[string]any{"keyId": key[len(key)-36:], "pendingWindowInDays": 30}
	r.ResponseElements = map[string]any{"keyId": key, "keyState": "PendingDeletion", "pendingWindowInDays": 30}
	r.Resources = []Resource{{ARN: key, AccountID: env.Account, Type: "AWS::KMS::Key"}}
	return r
}

// describe is a DescribeSecret by the owning role.
func (g *generator) describe(s *secret, t time.Time) *Record {
	r := g.base(t, s.acct, smHost, "DescribeSecret")
	r.UserIdentity = g.roleSession(s.readerRole, g.session(), false)
	r.SourceIPAddress = g.ip()
	r.UserAgent = sdkUA
	r.RequestParameters = map[string]any{"secretId": s.id(g.form())}
	r.ReadOnly = true
	return r
}

// keyCheck is Secrets Manager checking it can use a secret's key.
func (g *generator) keyCheck(s *secret, t time.Time) *Record {
	r := g.base(t, s.acct, kmsHost, "GenerateDataKey")
	r.UserIdentity = g.roleSession(g.ssoRole(s.acct, true), g.org.people[0].email, true)
	r.UserIdentity.InvokedBy = smHost
	r.SourceIPAddress = smHost
	r.UserAgent = smHost
	r.RequestParameters = map[string]any{"keyId": s.keyARN, "keySpec": "AES_256",
		"encryptionContext": map[string]string{"SecretARN": s.arn, "SecretVersionId": "RequestToValidateKeyAccess"}}
	r.ReadOnly = true
	r.Resources = []Resource{{ARN: s.keyARN, AccountID: s.acct, Type: "AWS::KMS::Key"}}
	return r
}

// parameterRead is a service reading its SecureString configuration.
func (g *generator) parameterRead(t time.Time) *Record {
	s := g.pick()
	r := g.base(t, s.acct, "ssm.amazonaws.com", "GetParameter")
	r.UserIdentity = g.roleSession(s.readerRole, g.session(), false)
	r.SourceIPAddress = g.ip()
	r.UserAgent = sdkUA
	name := "/" + s.service + "/" + s.env + "/config"
	r.RequestParameters = map[string]any{"name": name, "withDecryption": true}
	r.ReadOnly = true
	r.Resources = []Resource{{ARN: fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", g.org.region, s.acct, name), AccountID: s.acct}}
	return r
}
