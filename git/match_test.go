package git_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/git"
)

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern string
		name    string
		want    bool
	}{
		{"README.md", "README.md", true},
		{"README.md", "docs/README.md", false},
		{"/README.md", "README.md", true},
		{"*.md", "notes.md", true},
		{"*.md", "docs/notes.md", false},
		{"**/*.md", "notes.md", true},
		{"**/*.md", "a/b/c/notes.md", true},
		{"**/README.md", "README.md", true},
		{"docs/**", "docs/a.md", true},
		{"docs/**", "docs/deep/er/a.md", true},
		{"docs/**", "docs", false},
		{"docs/", "docs/a.md", true},
		{"docs/", "documents/a.md", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**/**/b", "a/b", true},
		{"**", "anything/at/all", true},
		{"*.safetensors", "model.safetensors", true},
		{"model-?????-of-?????.safetensors", "model-00001-of-00002.safetensors", true},
		{"[Rr]eadme.md", "readme.md", true},
		{"*", "a/b", false},
		{"[", "[", false},
		{"README.md", "", false},
		{"README.md", "/README.md", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, git.MatchPath(tt.pattern, tt.name))
		})
	}
}

func TestMatchPaths(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		changed  []string
		want     bool
	}{
		{"unknown changes run", []string{"README.md"}, nil, true},
		{"no filter runs", nil, []string{"a.txt"}, true},
		{"no filter, nothing changed", nil, []string{}, true},
		{"nothing changed", []string{"**"}, []string{}, false},
		{"match", []string{"README.md"}, []string{"a.txt", "README.md"}, true},
		{"no match", []string{"README.md"}, []string{"docs/README.md"}, false},
		{"excluded", []string{"**/*.md", "!docs/**"}, []string{"docs/a.md"}, false},
		{"excluded one of two", []string{"**/*.md", "!docs/**"}, []string{"docs/a.md", "README.md"}, true},
		{"re-included: last match wins", []string{"**/*.md", "!docs/**", "docs/keep.md"}, []string{"docs/keep.md"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, git.MatchPaths(tt.patterns, tt.changed))
		})
	}
}

func TestValidatePatterns(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		wantErr  string
	}{
		{"valid", []string{"README.md", "**/*.json", "!docs/", "model-*.safetensors"}, ""},
		{"none", nil, ""},
		{"bad class", []string{"[a-"}, "bad segment"},
		{"empty", []string{""}, "empty"},
		{"only a slash", []string{"/"}, "empty"},
		{"bare negation", []string{"!"}, "empty"},
		{"dot-dot", []string{"../secrets"}, "never match"},
		{"only exclusions", []string{"!docs/**"}, "only exclusions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := git.ValidatePatterns(tt.patterns)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}
