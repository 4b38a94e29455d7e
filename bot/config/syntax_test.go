package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSyntaxErrorsNameTheirLine checks that TOML syntax errors read like
// every other config error: file:line: message.
func TestSyntaxErrorsNameTheirLine(t *testing.T) {
	tests := []struct{ toml, want string }{
		{"[server]\nlisten = \":8080\"\n[[actions]\nname = \"x\"\n", "bad.toml:3: expected ']]' to close array table name (column 10)"},
		{"[server]\nlisten = \n", "bad.toml:2: "},
	}
	for _, tt := range tests {
		_, err := Parse("bad.toml", []byte(tt.toml))
		assert.ErrorContains(t, err, tt.want)
	}
}
