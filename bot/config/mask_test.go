package config

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrintMasksTheDatabasePassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://bot:hunter22@db.example:5432/hubbot?sslmode=require", "postgres://bot:xxxxx@db.example:5432/hubbot?sslmode=require"},
		{"postgres://db.example/hubbot", "postgres://db.example/hubbot"},
		{"postgres://bot:p%zz@db/x", "(not shown: not a valid URL)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, MaskURL(tt.in), tt.in)
	}
	cfg, err := Parse("t.toml", []byte("[store]\nurl = \"postgres://bot:hunter22@db.example/hubbot\"\n"))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, cfg.Print(&out))
	assert.NotContains(t, out.String(), "hunter22")
	assert.Contains(t, out.String(), "postgres://bot:xxxxx@db.example/hubbot")
	assert.Equal(t, "postgres://bot:hunter22@db.example/hubbot", cfg.Store.URL, "the config itself is unchanged")
}
