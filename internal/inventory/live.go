package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Lister is what Live needs of a Secrets Manager client;
// *secretsmanager.Client is one.
type Lister = secretsmanager.ListSecretsAPIClient

// Live lists the secrets of client's account and region, those scheduled
// for deletion included, page by page, into db's secrets table as Import
// does, and says how many it wrote. It writes all or nothing.
func Live(ctx context.Context, client Lister, db *sql.DB) (n int, err error) {
	w, err := begin(ctx, db)
	if err != nil {
		return 0, err
	}
	pages := secretsmanager.NewListSecretsPaginator(client, &secretsmanager.ListSecretsInput{
		IncludePlannedDeletion: aws.Bool(true),
	})
	for page := 1; pages.HasMorePages(); page++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			w.rollback()
			return 0, fmt.Errorf("inventory: ListSecrets page %d: %w", page, err)
		}
		for _, v := range out.SecretList {
			e := fromAPI(v)
			s, err := e.secret()
			if err == nil {
				err = w.put(ctx, s)
			}
			if err != nil {
				w.rollback()
				return 0, fmt.Errorf("inventory: ListSecrets page %d: %w", page, err)
			}
		}
	}
	return w.commit()
}

// fromAPI is the SDK's entry as the CLI would print it.
func fromAPI(v types.SecretListEntry) *entry {
	e := &entry{
		ARN:             aws.ToString(v.ARN),
		Name:            aws.ToString(v.Name),
		KmsKeyId:        aws.ToString(v.KmsKeyId),
		RotationEnabled: aws.ToBool(v.RotationEnabled),
	}
	if r := v.RotationRules; r != nil {
		e.RotationRules = &struct {
			AutomaticallyAfterDays int64
			ScheduleExpression     string
		}{aws.ToInt64(r.AutomaticallyAfterDays), aws.ToString(r.ScheduleExpression)}
	}
	for _, p := range []struct {
		to   *cliTime
		from *time.Time
	}{{&e.LastRotatedDate, v.LastRotatedDate}, {&e.LastAccessedDate, v.LastAccessedDate},
		{&e.NextRotationDate, v.NextRotationDate}, {&e.DeletedDate, v.DeletedDate}} {
		if p.from != nil {
			p.to.Time = p.from.UTC()
		}
	}
	for _, t := range v.Tags {
		e.Tags = append(e.Tags, struct{ Key, Value string }{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	return e
}
