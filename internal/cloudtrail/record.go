package cloudtrail

// record is the part of a CloudTrail record that ingest reads. Everything
// else in the record (tlsDetails, responseElements beyond the secret ARN,
// …) is skipped by the decoder without being kept.
type record struct {
	EventID             string          `json:"eventID"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	EventType           string          `json:"eventType"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	ErrorMessage        string          `json:"errorMessage"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	UserIdentity        userIdentity    `json:"userIdentity"`
	RequestParameters   *requestParams  `json:"requestParameters"`
	ResponseElements    *responseElems  `json:"responseElements"`
	AdditionalEventData *additionalData `json:"additionalEventData"`
	ServiceEventDetails *serviceDetails `json:"serviceEventDetails"`
	Resources           []resource      `json:"resources"`
}

type userIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *sessionContext `json:"sessionContext"`
}

type sessionContext struct {
	Attributes struct {
		MFAAuthenticated string `json:"mfaAuthenticated"`
	} `json:"attributes"`
	SessionIssuer struct {
		Type     string `json:"type"`
		ARN      string `json:"arn"`
		UserName string `json:"userName"`
	} `json:"sessionIssuer"`
}

// requestParams holds the request fields of the Secrets Manager, KMS, SSM
// and STS calls that ingest normalises. Field names match CloudTrail's
// camelCase; encoding/json matches them case-insensitively as well.
type requestParams struct {
	SecretID          string             `json:"secretId"`
	SecretIDList      []string           `json:"secretIdList"`
	Name              string             `json:"name"`
	Names             []string           `json:"names"`
	Path              string             `json:"path"`
	WithDecryption    jsonBool           `json:"withDecryption"`
	KeyID             string             `json:"keyId"`
	KMSKeyID          string             `json:"kmsKeyId"`
	EncryptionContext *encryptionContext `json:"encryptionContext"`
	SerialNumber      string             `json:"serialNumber"`
	RoleARN           string             `json:"roleArn"`
}

// encryptionContext is the KMS encryption context. Secrets Manager sets
// SecretARN (and SecretVersionId, "RequestToValidateKeyAccess" on its
// key-access checks); Parameter Store sets PARAMETER_ARN.
type encryptionContext struct {
	SecretARN       string `json:"SecretARN"`
	SecretVersionID string `json:"SecretVersionId"`
	ParameterARN    string `json:"PARAMETER_ARN"`
}

// responseElems: CreateSecret, DeleteSecret and friends return the secret's
// full ARN; before February 2024 some spelled the key "aRN". encoding/json
// matches keys case-insensitively, so ARN catches arn, aRN and ARN.
type responseElems struct {
	ARN string `json:"arn"`
}

type additionalData struct {
	SecretID string `json:"SecretId"`
	MFAUsed  string `json:"MFAUsed"`
}

type serviceDetails struct {
	SecretID string `json:"secretId"`
}

// resource is an entry of resources[]; the ARN key is "ARN" in some sources
// and "arn" in others, which encoding/json matches either way.
type resource struct {
	ARN  string `json:"ARN"`
	Type string `json:"type"`
}

// jsonBool accepts true, "true" and their false forms: withDecryption is a
// JSON boolean in the records seen, but nothing promises it.
type jsonBool bool

func (b *jsonBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`, `"True"`, `"TRUE"`:
		*b = true
	default:
		*b = false
	}
	return nil
}
