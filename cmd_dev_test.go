package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/devenv"
	"github.com/hubbot/hubbot/hubclient"
)

// TestDevEndToEnd runs `hubbot dev` as a user would, through the real
// binary: it waits for the bot's first reports on the demo repo, clones the
// repo with git, pushes a card fix and sees the report change on the fake
// Hub; then opens a pull request and comments on it with `hubbot dev pr` and
// `hubbot dev comment`, as a stranger and as the owner, and sees the bot act
// on those webhooks; then stops it with Ctrl-C.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	require.NoError(t, err)
	home, devDir, work := t.TempDir(), filepath.Join(t.TempDir(), "trial"), t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0"}

	dev := exec.Command(bin, "dev", "--dir", devDir)
	dev.Dir = work // no config.toml here: the documented default is used
	dev.Env = env
	out := &lockedBuffer{}
	dev.Stdout, dev.Stderr = out, out
	require.NoError(t, dev.Start())
	t.Cleanup(func() {
		if dev.ProcessState == nil {
			dev.Process.Kill()
			dev.Wait()
		}
	})
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Three things to try") },
		2*time.Minute, 50*time.Millisecond, "hubbot dev never got ready:\n%s", out)
	assert.Contains(t, out.String(), "the documented default config.toml")

	state, err := devenv.ReadState(devDir)
	require.NoError(t, err)
	// It prints the dashboard's pages, and they answer.
	for _, page := range []struct{ path, h1 string }{{"/", "hubbot"}, {"/repos/" + state.Repo, state.Repo},
		{"/jobs", "Jobs"}, {"/deliveries", "Deliveries"}} {
		assert.Regexp(t, `\s`+regexp.QuoteMeta(state.BotURL+page.path)+`\s`, out.String(), "the banner links %s", page.path)
		resp, err := http.Get(state.BotURL + page.path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, page.path)
		assert.Contains(t, string(body), "<h1>"+page.h1, page.path)
	}
	assert.NotContains(t, out.String(), state.BotURL+"/api/", "the operator API is for scripts, not the place to send people")
	assert.Contains(t, out.String(), "git clone -q "+state.CloneURL("alice"))
	hub, err := hubclient.New(hubclient.Options{Endpoint: state.HubURL, Token: state.Tokens["alice"]})
	require.NoError(t, err)
	repo := hubclient.Repo{Type: hubclient.Model, ID: state.Repo}

	// The first push's report, the card's three errors, is in a discussion;
	// the conversion is a pull request. Which comes first is up to the workers.
	list, err := hub.ListDiscussions(t.Context(), repo, hubclient.ListDiscussionsOptions{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	reportNum := list[0].Num
	if list[0].IsPullRequest {
		reportNum = list[1].Num
	}
	report := func() string {
		d, err := hub.GetDiscussion(t.Context(), repo, reportNum)
		if err != nil {
			return ""
		}
		for _, e := range d.Events {
			if e.AuthorName() == devenv.BotName && e.Type == hubclient.EventComment {
				return e.Content()
			}
		}
		return ""
	}
	first := report()
	require.Contains(t, first, "3 errors", out.String())

	// Fix the license with git, as alice.
	clone := filepath.Join(work, "demo-model")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=alice", "-c", "user.email=alice@example.com"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, b)
	}
	git(work, "clone", "-q", state.CloneURL("alice"), clone)
	editCard(t, filepath.Join(clone, "README.md"), "license: apache2\n", "license: apache-2.0\n")
	git(clone, "commit", "-qam", "Fix the license")
	git(clone, "push", "-q")
	require.Eventually(t, func() bool { return strings.Contains(report(), "2 errors") },
		time.Minute, 50*time.Millisecond, "the report never changed:\n%s", report())

	// bob opens a pull request fixing the pipeline tag; the bot checks it.
	editCard(t, filepath.Join(clone, "README.md"), "text-clasification", "text-classification")
	devRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"dev"}, args...)...)
		cmd.Dir, cmd.Env = clone, env // no --dir: the running dev is found from HOME
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "hubbot dev %v: %s", args, b)
		return string(b)
	}
	pr := devRun("pr", "--as", "bob", "README.md")
	require.Regexp(t, `^opened pull request #3 on alice/demo-model as bob\n$`, pr)
	botComments := func(num int) []string {
		d, err := hub.GetDiscussion(t.Context(), repo, num)
		if err != nil {
			return nil
		}
		var got []string
		for _, e := range d.Events {
			if e.AuthorName() == devenv.BotName && e.Type == hubclient.EventComment {
				got = append(got, e.Content())
			}
		}
		return got
	}
	require.Eventually(t, func() bool {
		c := botComments(3)
		return len(c) == 1 && strings.Contains(c[0], "1 error")
	}, time.Minute, 50*time.Millisecond, "no report on bob's pull request: %q", botComments(3))

	// bob may not run /hubbot convert; alice may.
	devRun("comment", "--num", "3", "--as", "bob", "/hubbot convert")
	require.Eventually(t, func() bool { return len(botComments(3)) == 2 }, time.Minute, 50*time.Millisecond,
		"no answer to bob's command")
	assert.Contains(t, botComments(3)[1], "Not run: `convert` needs repo-owner")
	devRun("comment", "--num", "3", "--as", "alice", "/hubbot convert")
	require.Eventually(t, func() bool {
		return jobDone(t.Context(), state.BotURL, "convert", "refs/pr/3")
	}, time.Minute, 50*time.Millisecond, "alice's command never ran convert on the pull request")

	// Ctrl-C stops everything and says where the data is.
	require.NoError(t, dev.Process.Signal(syscall.SIGINT))
	require.NoError(t, dev.Wait())
	assert.Contains(t, out.String(), "The data is kept in "+devDir)
	assert.NoFileExists(t, filepath.Join(devDir, devenv.StateFile))
	assert.DirExists(t, filepath.Join(devDir, "hub"))
}

func editCard(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	require.NoError(t, os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644))
}

// jobDone reports a finished job of action on ref, from the bot's API.
func jobDone(ctx context.Context, botURL, action, ref string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, botURL+"/api/jobs?action="+action, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct {
		Jobs []struct {
			State string `json:"state"`
			Spec  struct {
				Ref string `json:"ref"`
			} `json:"spec"`
		} `json:"jobs"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return false
	}
	for _, j := range out.Jobs {
		if j.Spec.Ref == ref && j.State == "succeeded" {
			return true
		}
	}
	return false
}
