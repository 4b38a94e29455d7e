package hubtest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"*.bin", "model.bin", true},
		{"*.bin", "deep/dir/model.bin", true},
		{"*.bin", "model.binx", false},
		{"/*.bin", "deep/model.bin", false},
		{"/*.bin", "model.bin", true},
		{"saved_model/**/*", "saved_model/a/b/c.pb", true},
		{"saved_model/**/*", "saved_model/c.pb", true},
		{"saved_model/**/*", "other/saved_model/c.pb", false},
		{"*.tar.*", "data.tar.gz", true},
		{"*tfevents*", "runs/events.out.tfevents.123", true},
		{"/with[[:space:]]space.bin", "with space.bin", true},
		{"/a\\*b", "a*b", true},
		{"/a\\*b", "axb", false},
		{"data/*.csv", "data/x.csv", true},
		{"data/*.csv", "data/sub/x.csv", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, matchPattern(tt.pattern, tt.path))
		})
	}
}

func TestAttributes(t *testing.T) {
	attrs := parseAttributes("# comment\n*.bin filter=lfs diff=lfs merge=lfs -text\nsmall.bin -filter\n*.txt text\n\n/docs/** filter=lfs\n")
	tests := map[string]bool{
		"a.bin": true, "dir/a.bin": true, "small.bin": false, "a.txt": false, "docs/x/y.md": true, "x/docs/y.md": false,
	}
	for path, want := range tests {
		assert.Equal(t, want, attrs.lfs(path), path)
	}
	for _, p := range []string{"plain.dat", "with space/and*star?.bin", "brackets[1].pt", "#hash!.txt"} {
		escaped := parseAttributes(escapePattern(p) + " filter=lfs\n")
		assert.True(t, escaped.lfs(p), "escaped %q matches itself", p)
		assert.False(t, escaped.lfs("other/"+p), "escaped %q is anchored", p)
	}
}

func TestIgnore(t *testing.T) {
	rules := parseIgnore("# c\n*.log\n!keep.log\nbuild/\n/root.txt\n")
	tests := map[string]bool{
		"a.log": true, "x/a.log": true, "keep.log": false, "build/out.o": true, "src/build/out.o": true,
		"build": false, "root.txt": true, "sub/root.txt": false, "main.go": false,
	}
	for path, want := range tests {
		assert.Equal(t, want, rules.ignored(path), path)
	}
}

func TestParseCardData(t *testing.T) {
	tests := []struct {
		name    string
		card    string
		want    map[string]any
		wantErr bool
	}{
		{"metadata", "---\nlicense: mit\ntags:\n- a\n---\n# Title\n", map[string]any{"license": "mit", "tags": []any{"a"}}, false},
		{"crlf", "---\r\nlicense: mit\r\n---\r\nbody", map[string]any{"license": "mit"}, false},
		{"leading blank lines", "\n\n---\nx: 1\n---\n", map[string]any{"x": uint64(1)}, false},
		{"empty block", "---\n---\n# t\n", nil, false},
		{"no metadata", "# Title\n---\nnot: metadata\n---\n", nil, false},
		{"unterminated", "---\nlicense: mit\n", nil, false},
		{"invalid yaml", "---\nlicense: [mit\n---\n", nil, true},
		{"not a mapping", "---\n- a\n- b\n---\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCardData([]byte(tt.card))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidatePath(t *testing.T) {
	ok := []string{"a", "a/b.txt", "dir/.hidden", "x..y", ".gitattributes", "a/.gitignore", "日本/語.txt"}
	bad := []string{"", "/a", "a//b", "a/", ".", "..", "a/../b", "a/./b", ".git", "x/.git/y", ".Git/config", "a\x00b", strings.Repeat("a", 1001)}
	for _, p := range ok {
		assert.NoError(t, validatePath(p), p)
	}
	for _, p := range bad {
		assert.Error(t, validatePath(p), "%q", p)
	}
}

func TestParseCommitBody(t *testing.T) {
	t.Run("ndjson", func(t *testing.T) {
		body, err := parseCommitBody(strings.NewReader(`{"key":"header","value":{"summary":"s","description":"d","parentCommit":"abc12"}}
{"key":"file","value":{"path":"a","content":"aGk=","encoding":"base64"}}
{"key":"lfsFile","value":{"path":"w.bin","algo":"sha256","oid":"` + strings.Repeat("a", 64) + `","size":5}}
{"key":"deletedFile","value":{"path":"dir/"}}
{"key":"deletedEntry","value":{"path":"e"}}`))
		require.NoError(t, err)
		assert.Equal(t, "s", body.summary)
		assert.Equal(t, "d", body.description)
		assert.Equal(t, "abc12", body.parentCommit)
		require.Len(t, body.ops, 4)
		assert.Equal(t, commitOp{kind: opFile, path: "a", content: []byte("hi"), hasData: true}, body.ops[0])
		assert.Equal(t, commitOp{kind: opLFS, path: "w.bin", oid: strings.Repeat("a", 64), size: 5}, body.ops[1])
		assert.Equal(t, opDeleteFolder, body.ops[2].kind, "a deletedFile ending in / is a folder, as hf_hub sends it")
		assert.Equal(t, opDeleteEntry, body.ops[3].kind)
	})
	t.Run("legacy", func(t *testing.T) {
		body, err := parseCommitBody(strings.NewReader(`{"summary":"s","files":[{"path":"a","content":"x"}],"deletedFolders":[{"path":"d"}]}`))
		require.NoError(t, err)
		require.Len(t, body.ops, 2)
		assert.Equal(t, []byte("x"), body.ops[0].content, "utf-8 is the default encoding")
		assert.Equal(t, opDeleteFolder, body.ops[1].kind)
	})
	for _, bad := range []string{
		``,
		`{"summary":"s"} {"extra":1}`,
		`{"files":[]}`,
		`{"key":"header","value":null}`,
		`{"key":"header","value":{"summary":"s"}}` + "\n" + `{"key":"file","value":{"path":"a","content":"x","encoding":"latin1"}}`,
		`{"key":"header","value":{"summary":"s"}}` + "\n" + `{"key":"file","value":{"path":"a"}}`,
		`{"key":"header","value":{"summary":"s"}}` + "\n" + `{"key":"lfsFile","value":{"path":"a","algo":"md5","oid":"` + strings.Repeat("a", 64) + `","size":1}}`,
		`{"key":"header","value":{"summary":"s"}}` + "\n" + `[1,2]`,
	} {
		_, err := parseCommitBody(strings.NewReader(bad))
		var ae *apiError
		require.ErrorAs(t, err, &ae, "%q", bad)
		assert.Equal(t, 400, ae.status)
	}
}

func TestSplitRevision(t *testing.T) {
	tests := []struct {
		segs     []string
		rev      string
		rest     []string
		hasError bool
	}{
		{[]string{"main", "a", "b.txt"}, "main", []string{"a", "b.txt"}, false},
		{[]string{"refs%2Fpr%2F3", "x"}, "refs/pr/3", []string{"x"}, false},
		{[]string{"refs", "pr", "3", "x"}, "refs/pr/3", []string{"x"}, false},
		{[]string{"refs", "convert", "parquet"}, "refs/convert/parquet", []string{}, false},
		{[]string{"feature%2Fx", "f"}, "feature/x", []string{"f"}, false},
		{[]string{"%zz"}, "", nil, true},
		{nil, "", nil, true},
	}
	for _, tt := range tests {
		rev, rest, err := splitRevision(tt.segs)
		if tt.hasError {
			assert.Error(t, err, "%v", tt.segs)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.rev, rev)
		assert.Equal(t, tt.rest, rest)
	}
}

func TestSplitMessage(t *testing.T) {
	for msg, want := range map[string][2]string{
		"title\n":                 {"title", ""},
		"title\n\nbody\nmore\n\n": {"title", "body\nmore"},
		"":                        {"", ""},
	} {
		title, body := splitMessage(msg)
		assert.Equal(t, want, [2]string{title, body}, msg)
	}
}
