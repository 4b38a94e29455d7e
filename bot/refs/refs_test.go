package refs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	cases := []struct {
		ref   string
		want  Ref
		short string
	}{
		{"refs/heads/main", Ref{Kind: Branch, Name: "main"}, "main"},
		{"refs/heads/feature/x", Ref{Kind: Branch, Name: "feature/x"}, "feature/x"},
		{"refs/tags/v1.0", Ref{Kind: Tag, Name: "v1.0"}, "v1.0"},
		{"refs/pr/3", Ref{Kind: PullRequest, Name: "3", Num: 3}, "pr/3"},
		{"refs/pr/123456789", Ref{Kind: PullRequest, Name: "123456789", Num: 123456789}, "pr/123456789"},
		{"refs/pr/0", Ref{Kind: Other, Name: "refs/pr/0"}, "pr/0"},
		{"refs/pr/03", Ref{Kind: Other, Name: "refs/pr/03"}, "pr/03"},
		{"refs/pr/1234567890", Ref{Kind: Other, Name: "refs/pr/1234567890"}, "pr/1234567890"},
		{"refs/pr/-1", Ref{Kind: Other, Name: "refs/pr/-1"}, "pr/-1"},
		{"refs/pr/", Ref{Kind: Other, Name: "refs/pr/"}, "pr/"},
		{"refs/heads/", Ref{Kind: Other, Name: "refs/heads/"}, "heads/"},
		{"refs/convert/parquet", Ref{Kind: Other, Name: "refs/convert/parquet"}, "convert/parquet"},
		{"main", Ref{Kind: Other, Name: "main"}, "main"},
		{"", Ref{Kind: Other}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			got := Parse(tc.ref)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.ref, got.String(), "String writes back what Parse read")
			assert.Equal(t, tc.short, got.Short())
			assert.Equal(t, got.Kind == PullRequest, IsPR(tc.ref))
			assert.Equal(t, got.Num, PRNum(tc.ref))
			name, ok := BranchName(tc.ref)
			assert.Equal(t, got.Kind == Branch, ok)
			if ok {
				assert.Equal(t, got.Name, name)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	cases := []struct{ got, want string }{
		{BranchRef("dev"), "refs/heads/dev"},
		{TagRef("v1"), "refs/tags/v1"},
		{PR(7), "refs/pr/7"},
		{Main, "refs/heads/main"},
		{Full("dev"), "refs/heads/dev"},
		{Full("refs/heads/dev"), "refs/heads/dev"},
		{Full("refs/pr/2"), "refs/pr/2"},
		{Full(""), ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.got)
	}
	for _, r := range []string{BranchRef("a/b"), TagRef("v2"), PR(42)} {
		assert.Equal(t, r, Parse(r).String(), "built refs parse back")
	}
}
