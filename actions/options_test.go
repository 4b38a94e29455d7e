package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptionsDecode(t *testing.T) {
	type opts struct {
		Command []string          `toml:"command"`
		Env     map[string]string `toml:"env"`
		Token   bool              `toml:"token"`
	}
	var got opts
	require.NoError(t, Options{"command": []any{"make", "test"}, "token": true}.Decode(&got))
	assert.Equal(t, opts{Command: []string{"make", "test"}, Token: true}, got)

	err := Options{"comand": []any{"x"}}.Decode(&got)
	var oe *OptionError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "comand", oe.Key)
	assert.Contains(t, err.Error(), "with.comand")

	err = Options{"token": "yes"}.Decode(&got)
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "token", oe.Key)
}
