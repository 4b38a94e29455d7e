// Package golden compares what a test produced with a file under the
// package's testdata, and rewrites the file instead when the tests run with
// -update (`go test ./bot/... -update`), so every golden file in the project
// is kept the same way.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update is the one -update flag of every test binary that uses golden
// files; the flag package needs it registered at start-up.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Assert compares got with the file at path, relative to the test's
// package, or writes got there when the tests run with -update.
func Assert(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got, "%s differs; check the change, then run go test -update", path)
}

// Rule replaces what a pattern matches, to hide a volatile part of an
// output (an id, a sha, a port) behind a stable placeholder.
type Rule struct {
	Pattern *regexp.Regexp
	With    string // as in regexp.ReplaceAllString
}

// Normalize applies rules in order.
func Normalize(s string, rules ...Rule) string {
	for _, r := range rules {
		s = r.Pattern.ReplaceAllString(s, r.With)
	}
	return s
}
