package webhook

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretFileIsKeptAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	first, created, err := LoadOrCreateSecret(dir)
	require.NoError(t, err)
	assert.True(t, created)
	assert.GreaterOrEqual(t, len(first), MinSecretLength)
	info, err := os.Stat(filepath.Join(dir, SecretFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, created, err := LoadOrCreateSecret(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again)
	read, err := ReadSecretFile(dir)
	require.NoError(t, err)
	assert.Equal(t, first, read)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	// A file others can read is narrowed to 0600.
	require.NoError(t, os.Chmod(filepath.Join(dir, SecretFile), 0o644))
	_, err = ReadSecretFile(dir)
	require.NoError(t, err)
	info, err = os.Stat(filepath.Join(dir, SecretFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	none, err := ReadSecretFile(t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, none)

	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, SecretFile), []byte("two secrets\n"), 0o600))
	_, _, err = LoadOrCreateSecret(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not hold one secret: delete it")
}

func TestCheckSecrets(t *testing.T) {
	assert.NoError(t, CheckSecrets([]string{"0123456789abcdef", "a-much-longer-secret-than-needed"}))
	err := CheckSecrets([]string{"0123456789abcdef", "short-one"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "secret 2 of 2 has 9 characters; use at least 16")
	assert.NotContains(t, err.Error(), "short-one")
}
