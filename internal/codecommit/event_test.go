package codecommit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		file string
		want string // fmt of the changes, or "error: …"
		err  error
	}{
		{file: "codecommit-trigger-lambda-event.aws-lambda-go.json",
			want: "[{5a824061-17ca-46a9-bbf9-114edeadbeef/0 push my-repo us-east-1 refs/heads/master 5c4ef1049f1d27deadbeeff313e0730018be182b  arn:aws:iam::123456789012:root   }]"},
		{file: "codecommit-trigger-lambda-event.aws-docs.json",
			want: `error: trigger event 31ade2c7-f889-47c5-a937-1cf99e2790e9, refs/heads/master: commit id "5e493c6f3067653f3d04eca608b4901eb227078" is not 40 hexadecimal digits`},
		{file: "codecommit-eventbridge-referenceDeleted.json", err: ErrIgnored},
		{file: "codecommit-eventbridge-referenceUpdated.json", want: `error: referenceUpdated event 01234567-EXAMPLE: commit id "3e5983DESTINATION" is not 40 hexadecimal digits`},
		{file: "codecommit-eventbridge-pullRequestApprovalStateChanged.json", err: ErrIgnored},
		{file: "codecommit-eventbridge-pullRequestApprovalRuleOverridden.json",
			want: "[{52d2cb73-EXAMPLE approval_override MyDemoRepo us-east-2  29964a17EXAMPLE  arn:aws:iam::123456789012:user/example-user 227 3b8cecabEXAMPLE }]"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseEvent(raw)
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Errorf("err = %v, want %v", err, tt.err)
				}
			case strings.HasPrefix(tt.want, "error: "):
				if err == nil || err.Error() != strings.TrimPrefix(tt.want, "error: ") {
					t.Errorf("err = %v\nwant %s", err, strings.TrimPrefix(tt.want, "error: "))
				}
			default:
				if err != nil || fmt.Sprint(got) != tt.want {
					t.Errorf("got  %v (%v)\nwant %s", got, err, tt.want)
				}
			}
		})
	}
	// The fixtures' placeholder ids are not real; real ones parse.
	head, old := strings.Repeat("a", 40), strings.Repeat("b", 40)
	raw := `{"id":"e1","detail-type":"CodeCommit Repository State Change","source":"aws.codecommit","region":"eu-west-1","detail":{"event":"referenceUpdated","repositoryName":"shop","referenceFullName":"refs/heads/main","commitId":"` + head + `","oldCommitId":"` + old + `","callerUserArn":"arn:aws:iam::1:user/dana"}}`
	got, err := ParseEvent([]byte(raw))
	if err != nil || len(got) != 1 || got[0].Head != head || got[0].Old != old || got[0].Kind != KindPush || got[0].Repo != "shop" {
		t.Errorf("referenceUpdated: %+v %v", got, err)
	}
	pr := `{"id":"e2","detail-type":"CodeCommit Pull Request State Change","source":"aws.codecommit","region":"eu-west-1","detail":{"event":"pullRequestSourceBranchUpdated","repositoryNames":["shop"],"pullRequestId":"7","revisionId":"r1","sourceCommit":"` + head + `","destinationCommit":"` + old + `","sourceReference":"refs/heads/feature"}}`
	got, err = ParseEvent([]byte(pr))
	if err != nil || got[0].Kind != KindPullRequest || got[0].PullRequestID != "7" || got[0].Destination != old {
		t.Errorf("pull request: %+v %v", got, err)
	}
}
