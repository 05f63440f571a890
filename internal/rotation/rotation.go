// Package rotation is the rotation function's side of Secrets Manager's
// rotation protocol: the four steps createSecret, setSecret, testSecret and
// finishSecret, each a separate invocation for one ClientRequestToken (the id
// of the new version).
//
// Every step is idempotent and restartable. Its state lives only in the
// secret's versions and their staging labels: a step first looks at what is
// already done and returns early, so Secrets Manager's retries, and a new
// invocation after a crash between steps, finish the rotation instead of
// starting another. What a credential is (a PostgreSQL login, an API key) is a
// Strategy's business; this package never looks inside a value and never logs
// one.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The staging labels of the protocol.
const (
	Current  = "AWSCURRENT"
	Pending  = "AWSPENDING"
	Previous = "AWSPREVIOUS"
)

// The steps, as the event's Step names them.
const (
	CreateSecret = "createSecret"
	SetSecret    = "setSecret"
	TestSecret   = "testSecret"
	FinishSecret = "finishSecret"
)

// Event is what Secrets Manager invokes the function with.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	// RotationToken identifies the request's source for cross-account
	// rotation; it is passed on to PutSecretValue when present.
	RotationToken string `json:"RotationToken,omitempty"`
}

// SecretsManager is the part of the Secrets Manager client the protocol
// uses; *secretsmanager.Client has it.
type SecretsManager interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// Version is one version of the secret: its id and its value.
type Version struct {
	ID    string
	Value string
}

// Versions is what a step knows of the secret: the version being made
// (Pending), the one in use (Current) and the one before it (Previous, nil
// if the secret has none).
type Versions struct {
	SecretID string
	Pending  Version
	Current  Version
	Previous *Version
}

// Strategy renews one kind of credential. Each method may be called again
// after it succeeded or failed half-way and must then finish the job
// without doing it twice.
type Strategy interface {
	// Create returns the new value, made from the current one. token is
	// the new version's id: use it as the idempotency key of anything
	// created outside Secrets Manager, so a retry adopts it.
	Create(ctx context.Context, current Version, token string) (string, error)
	// Set makes the pending value valid where it is used, alongside the
	// current one.
	Set(ctx context.Context, v Versions) error
	// Test proves the pending value works.
	Test(ctx context.Context, v Versions) error
	// Finish runs just before AWSCURRENT moves to the pending version, to
	// retire what the previous version holds.
	Finish(ctx context.Context, v Versions) error
}

// Rotator runs the steps for secrets whose strategy Pick chooses.
type Rotator struct {
	SM SecretsManager
	// Pick chooses the strategy from the secret's current value.
	Pick func(current string) (Strategy, error)
	Log  *slog.Logger
}

// ErrNotPending is returned for a token that is neither the pending nor the
// current version of the secret.
var ErrNotPending = errors.New("not the secret's pending version")

// Handle runs one step of a rotation.
func (r *Rotator) Handle(ctx context.Context, e Event) error {
	if !slices.Contains([]string{CreateSecret, SetSecret, TestSecret, FinishSecret}, e.Step) {
		return fmt.Errorf("rotation of %s: unknown step %q (want createSecret, setSecret, testSecret or finishSecret)", e.SecretID, e.Step)
	}
	if e.SecretID == "" || e.ClientRequestToken == "" {
		return fmt.Errorf("rotation %s: the event needs SecretId and ClientRequestToken", e.Step)
	}
	err := r.step(ctx, e)
	if err != nil {
		return fmt.Errorf("rotation of %s, version %s, %s: %w", e.SecretID, e.ClientRequestToken, e.Step, err)
	}
	return nil
}

func (r *Rotator) step(ctx context.Context, e Event) error {
	log := r.logger().With("secret", e.SecretID, "version", e.ClientRequestToken, "step", e.Step)
	d, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.SecretID)})
	if err != nil {
		return fmt.Errorf("describe secret: %w", err)
	}
	if !aws.ToBool(d.RotationEnabled) {
		return errors.New("rotation is not enabled for the secret")
	}
	stages, ok := d.VersionIdsToStages[e.ClientRequestToken]
	if !ok {
		return errors.New("the token is not a version of the secret")
	}
	if slices.Contains(stages, Current) {
		log.Info("version is already AWSCURRENT: nothing to do")
		return nil
	}
	if !slices.Contains(stages, Pending) {
		return fmt.Errorf("%w: it has the labels %v; AWSPENDING is on %s", ErrNotPending, stages, labelled(d.VersionIdsToStages, Pending))
	}
	currentID := labelled(d.VersionIdsToStages, Current)
	if currentID == "" {
		return errors.New("no version is AWSCURRENT")
	}
	current, err := r.value(ctx, e.SecretID, currentID, Current)
	if err != nil {
		return err
	}
	strategy, err := r.Pick(current.Value)
	if err != nil {
		return err
	}

	if e.Step == CreateSecret {
		switch _, err := r.value(ctx, e.SecretID, e.ClientRequestToken, Pending); {
		case err == nil:
			log.Info("a previous run already created the pending value: resuming")
			return nil
		case !isNotFound(err):
			return err
		}
		value, err := strategy.Create(ctx, current, e.ClientRequestToken)
		if err != nil {
			return err
		}
		in := &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(e.SecretID), ClientRequestToken: aws.String(e.ClientRequestToken),
			SecretString: aws.String(value), VersionStages: []string{Pending},
		}
		if e.RotationToken != "" {
			in.RotationToken = aws.String(e.RotationToken)
		}
		if _, err := r.SM.PutSecretValue(ctx, in); err != nil {
			return fmt.Errorf("put the pending value: %w", err)
		}
		log.Info("created the pending value")
		return nil
	}

	v := Versions{SecretID: e.SecretID, Current: current}
	if v.Pending, err = r.value(ctx, e.SecretID, e.ClientRequestToken, Pending); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("the pending version has no value: createSecret did not finish: %w", err)
		}
		return err
	}
	if prevID := labelled(d.VersionIdsToStages, Previous); prevID != "" {
		prev, err := r.value(ctx, e.SecretID, prevID, Previous)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil {
			v.Previous = &prev
		}
	}
	switch e.Step {
	case SetSecret:
		err = strategy.Set(ctx, v)
	case TestSecret:
		err = strategy.Test(ctx, v)
	case FinishSecret:
		if err = strategy.Finish(ctx, v); err != nil {
			break
		}
		_, err = r.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(e.SecretID), VersionStage: aws.String(Current),
			MoveToVersionId: aws.String(e.ClientRequestToken), RemoveFromVersionId: aws.String(currentID),
		})
		if err != nil {
			err = fmt.Errorf("move AWSCURRENT from %s: %w", currentID, err)
		}
	}
	if err != nil {
		return err
	}
	log.Info("done")
	return nil
}

// value reads one version's string value.
func (r *Rotator) value(ctx context.Context, secretID, versionID, stage string) (Version, error) {
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(secretID), VersionId: aws.String(versionID), VersionStage: aws.String(stage),
	})
	if err != nil {
		return Version{}, fmt.Errorf("read the %s version %s: %w", stage, versionID, err)
	}
	if out.SecretString == nil {
		return Version{}, fmt.Errorf("the %s version %s holds binary data; rotation needs a string", stage, versionID)
	}
	return Version{ID: versionID, Value: *out.SecretString}, nil
}

func (r *Rotator) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// labelled is the version that carries label, "" if none.
func labelled(stages map[string][]string, label string) string {
	for id, labels := range stages {
		if slices.Contains(labels, label) {
			return id
		}
	}
	return ""
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}
