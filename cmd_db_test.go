package main

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/jobs/jobstest"
)

func TestDBMigrateAndStatus(t *testing.T) {
	pg := func(t *testing.T) []string { return []string{"--url", jobstest.PostgresURL(t)} }
	sqlite := func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} }
	for name, store := range map[string]func(*testing.T) []string{"postgres": pg, "sqlite": sqlite} {
		t.Run(name, func(t *testing.T) {
			flags := store(t)
			dbcmd := func(args ...string) (int, string) {
				var out, errOut bytes.Buffer
				code := run(t.Context(), append(args, flags...), &out, &errOut, noEnv)
				return code, out.String() + errOut.String()
			}
			code, out := dbcmd("db", "status")
			assert.Equal(t, 1, code, out)
			assert.Contains(t, out, "migrations pending")
			code, out = dbcmd("db", "migrate")
			assert.Equal(t, 0, code, out)
			assert.Contains(t, out, "up to date")
			code, out = dbcmd("db", "status")
			assert.Equal(t, 0, code, out)
			assert.Regexp(t, `hubbot: (\d+) of (\d+) migrations`, out)
		})
	}
}

func TestDBStatusHidesThePassword(t *testing.T) {
	u, err := url.Parse(jobstest.PostgresURL(t))
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), "hunter2-secret")
	var out, errOut bytes.Buffer
	run(t.Context(), []string{"db", "status", "--url", u.String()}, &out, &errOut, noEnv)
	assert.NotContains(t, out.String()+errOut.String(), "hunter2-secret")
}

func TestDBCopy(t *testing.T) {
	to := jobstest.PostgresURL(t)
	from := t.TempDir()
	q, err := jobs.New(t.Context(), jobs.Options{DataDir: from})
	require.NoError(t, err)
	require.NoError(t, q.RecordBotCommit(t.Context(), "acme/tiny", "abc"))
	require.NoError(t, q.Close())

	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"db", "copy", "--from", from, "--to", to}, &out, &errOut, noEnv)
	require.Equal(t, 0, code, errOut.String())
	assert.Regexp(t, `hubbot_bot_commits\s+1`, out.String())

	errOut.Reset()
	code = run(t.Context(), []string{"db", "copy", "--from", t.TempDir(), "--to", to}, &out, &errOut, noEnv)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "no hubbot store in")
	assert.Equal(t, 2, run(t.Context(), []string{"db", "copy", "--from", from}, &out, &errOut, noEnv))
}
