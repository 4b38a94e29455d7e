package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const (
	shardedFixture = "actions/safetensors/testdata/repos/sharded"
	shardedWant    = "actions/safetensors/testdata/want-repos/sharded"
)

// hubWithSharded serves alice/sharded, the sharded fixture that torch wrote,
// and returns the environment that points hubbot at it.
func hubWithSharded(t *testing.T) (*hubtest.Server, map[string][]byte, func(string) string) {
	t.Helper()
	srv, err := hubtest.New(hubtest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	alice := srv.AddUser("alice")
	files := map[string][]byte{}
	entries, err := os.ReadDir(shardedFixture)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(shardedFixture, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = b
	}
	_, err = srv.CreateRepo(alice, hubtest.RepoSpec{ID: "alice/sharded", Files: files})
	require.NoError(t, err)
	env := map[string]string{"HF_ENDPOINT": srv.URL, "HF_TOKEN": alice.Token}
	return srv, files, func(k string) string { return env[k] }
}

func TestConvertFromHub(t *testing.T) {
	_, _, env := hubWithSharded(t)
	for _, args := range [][]string{
		{"hf://alice/sharded"},
		{"hf://alice/sharded@main"},
		{"--repo", "alice/sharded", "--revision", "main"},
	} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			var out, errOut bytes.Buffer
			code := run(t.Context(), append(append([]string{"convert"}, args...), dst), &out, &errOut, env)
			require.Equal(t, 0, code, errOut.String())
			assert.Contains(t, out.String(), "wrote model.safetensors.index.json (2 shards")
			wants, err := os.ReadDir(shardedWant)
			require.NoError(t, err)
			got, err := os.ReadDir(dst)
			require.NoError(t, err)
			require.Len(t, got, len(wants), "only the outputs are left in DST")
			for _, w := range wants {
				want, err := os.ReadFile(filepath.Join(shardedWant, w.Name()))
				require.NoError(t, err)
				have, err := os.ReadFile(filepath.Join(dst, w.Name()))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(want, have), w.Name())
			}
		})
	}
}

func TestConvertFromHubFailures(t *testing.T) {
	srv, files, env := hubWithSharded(t)
	sum := sha256.Sum256(files["pytorch_model-00002-of-00002.bin"])
	tests := []struct {
		name string
		args []string
		arm  func()
		code int
		msg  string
	}{
		{name: "no such repo", args: []string{"hf://alice/nothing"}, code: 1, msg: "hubbot: convert:"},
		{name: "not a repo name", args: []string{"hf://alice"}, code: 1, msg: `"alice" is not a repository name`},
		{name: "two revisions", args: []string{"--revision", "main", "hf://alice/sharded@main"}, code: 2, msg: "not both"},
		{name: "storage ignores ranges", args: []string{"hf://alice/sharded"}, code: 1, msg: "does not serve byte ranges",
			arm: func() {
				srv.FailStorage(hubtest.StorageFault{OID: hex.EncodeToString(sum[:]), OnlyRanges: true, Times: -1, IgnoreRange: true})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearStorageFaults()
			if tt.arm != nil {
				tt.arm()
			}
			dst := filepath.Join(t.TempDir(), "out")
			var out, errOut bytes.Buffer
			code := run(t.Context(), append(append([]string{"convert"}, tt.args...), dst), &out, &errOut, env)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, errOut.String(), tt.msg)
			assert.NotContains(t, errOut.String(), env("HF_TOKEN"))
			assert.NoDirExists(t, dst, "nothing is left behind")
		})
	}
}
