package web_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
)

func TestWhoSeesWhat(t *testing.T) {
	w := newWorld(t, worldOpts{})
	pub := w.push(t, w.public, "model-card", jobs.StateSucceeded)
	priv := w.push(t, w.private, "model-card", jobs.StateSucceeded)
	anon := newClient(t)
	alice := w.signIn(t, w.alice)
	bob := w.signIn(t, w.bob)
	olga := w.signIn(t, w.olga)
	bearer := []string{"Authorization", "Bearer " + adminToken}

	tests := []struct {
		name   string
		client *http.Client
		path   string
		header []string
		status int
		has    string
		hasNot string
	}{
		{"anonymous sees a public job", anon, fmt.Sprintf("/jobs/%d", pub), nil, http.StatusOK, "model card is fine", ""},
		{"anonymous gets 404 for a private job", anon, fmt.Sprintf("/jobs/%d", priv), nil, http.StatusNotFound, "sign in", "secret-model"},
		{"anonymous gets 404 for a private repo", anon, "/repos/acme/secret-model", nil, http.StatusNotFound, "", "model card is fine"},
		{"anonymous sees a public repo", anon, "/repos/acme/open-model", nil, http.StatusOK, "main", ""},
		{"anonymous job list hides private repos", anon, "/jobs", nil, http.StatusOK, "acme/open-model", "acme/secret-model"},
		{"anonymous deliveries hide private repos", anon, "/deliveries", nil, http.StatusOK, "acme/open-model", "acme/secret-model"},
		{"anonymous gets no payload", anon, "/deliveries/1", nil, http.StatusNotFound, "", ""},
		{"a member sees the private job", alice, fmt.Sprintf("/jobs/%d", priv), nil, http.StatusOK, "acme/secret-model", ""},
		{"a member sees the private repo", alice, "/repos/acme/secret-model", nil, http.StatusOK, "model card is fine", ""},
		{"a non-member gets 404", bob, fmt.Sprintf("/jobs/%d", priv), nil, http.StatusNotFound, "", "secret-model"},
		{"a non-member's list hides it", bob, "/jobs", nil, http.StatusOK, "acme/open-model", "acme/secret-model"},
		{"a member has no retry button", alice, fmt.Sprintf("/jobs/%d", priv), nil, http.StatusOK, "", `id="retry"`},
		{"the operator has a retry button", olga, fmt.Sprintf("/jobs/%d", pub), nil, http.StatusOK, `id="retry"`, ""},
		{"the operator sees private repos", olga, "/jobs", nil, http.StatusOK, "acme/secret-model", ""},
		{"the operator sees payloads, redacted", olga, "/deliveries/1", nil, http.StatusOK, "repo.content", adminToken},
		{"the admin token sees payloads", anon, "/deliveries/2", bearer, http.StatusOK, "[redacted]", ""},
		{"a wrong bearer token is refused", anon, "/jobs", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized, "", ""},
		{"an unknown job is 404", anon, "/jobs/99999", nil, http.StatusNotFound, "", ""},
		{"a bad job id is 404", anon, "/jobs/abc", nil, http.StatusNotFound, "", ""},
		{"a bad state filter says which exist", anon, "/jobs?state=weird", nil, http.StatusBadRequest, "succeeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, tt.client, w.url+tt.path, tt.header...)
			require.Equal(t, tt.status, a.status, a.body)
			if tt.has != "" {
				assert.Contains(t, a.body, tt.has)
			}
			if tt.hasNot != "" {
				assert.NotContains(t, a.body, tt.hasNot)
			}
			assert.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'")
			assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
		})
	}
}

func TestPublicOff(t *testing.T) {
	w := newWorld(t, worldOpts{private: true})
	pub := w.push(t, w.public, "model-card", jobs.StateSucceeded)
	a := get(t, newClient(t), fmt.Sprintf("%s/jobs/%d", w.url, pub))
	assert.Equal(t, http.StatusNotFound, a.status, "with public = false even public repos need sign-in")
	a = get(t, w.signIn(t, w.bob), fmt.Sprintf("%s/jobs/%d", w.url, pub))
	assert.Equal(t, http.StatusOK, a.status, "anyone signed in who can read the repo sees it")
}

func TestRetryAndCancelNeedAnOperator(t *testing.T) {
	w := newWorld(t, worldOpts{})
	pub := w.push(t, w.public, "model-card", jobs.StateSucceeded)
	alice := w.signIn(t, w.alice)
	olga := w.signIn(t, w.olga)
	retry := fmt.Sprintf("%s/jobs/%d/retry", w.url, pub)
	olgaCSRF := csrf(t, get(t, olga, fmt.Sprintf("%s/jobs/%d", w.url, pub)).body)
	aliceCSRF := csrf(t, get(t, alice, fmt.Sprintf("%s/jobs/%d", w.url, pub)).body) // her sign-out form

	tests := []struct {
		name   string
		client *http.Client
		form   url.Values
		header []string
		status int
	}{
		{"anonymous", newClient(t), url.Values{}, nil, http.StatusForbidden},
		{"a signed-in non-operator", alice, url.Values{"csrf": {aliceCSRF}}, nil, http.StatusForbidden},
		{"the operator without the CSRF token", olga, url.Values{}, nil, http.StatusForbidden},
		{"the operator with someone else's CSRF token", olga, url.Values{"csrf": {aliceCSRF}}, nil, http.StatusForbidden},
		{"the operator from another site", olga, url.Values{"csrf": {olgaCSRF}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"the operator", olga, url.Values{"csrf": {olgaCSRF}}, nil, http.StatusSeeOther},
		{"the admin token", newClient(t), url.Values{}, []string{"Authorization", "Bearer " + adminToken}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := w.queue.FindJobs(t.Context(), jobs.JobQuery{})
			require.NoError(t, err)
			a := post(t, tt.client, retry, tt.form, tt.header...)
			require.Equal(t, tt.status, a.status, a.body)
			after, err := w.queue.FindJobs(t.Context(), jobs.JobQuery{})
			require.NoError(t, err)
			if tt.status != http.StatusSeeOther {
				assert.Len(t, after, len(before), "refused: no new job")
				return
			}
			require.Len(t, after, len(before)+1)
			assert.Equal(t, fmt.Sprintf("/jobs/%d", after[0].ID), a.header.Get("Location"))
			assert.Equal(t, pub, after[0].RetryOf)
		})
	}

	t.Run("cancel a running job", func(t *testing.T) {
		id := w.push(t, w.public, "convert", jobs.StateRunning)
		<-w.started
		a := post(t, alice, fmt.Sprintf("%s/jobs/%d/cancel", w.url, id), url.Values{"csrf": {aliceCSRF}})
		require.Equal(t, http.StatusForbidden, a.status)
		a = post(t, olga, fmt.Sprintf("%s/jobs/%d/cancel", w.url, id), url.Values{"csrf": {olgaCSRF}})
		require.Equal(t, http.StatusSeeOther, a.status, a.body)
		require.Eventually(t, func() bool {
			j, err := w.queue.Job(t.Context(), id)
			return err == nil && j.State == jobs.StateCancelled
		}, 10*time.Second, 10*time.Millisecond)
	})

	t.Run("sign out", func(t *testing.T) {
		a := post(t, alice, w.url+"/logout", url.Values{"csrf": {aliceCSRF}})
		require.Equal(t, http.StatusSeeOther, a.status)
		a = get(t, alice, w.url+"/")
		assert.NotContains(t, a.body, "Sign out")
	})
}

func TestLiveLogEvents(t *testing.T) {
	w := newWorld(t, worldOpts{})
	id := w.push(t, w.public, "convert", jobs.StateRunning)
	log := <-w.started
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("%s/jobs/%d/events?from=0", w.url, id), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev strings.Builder
		for sc.Scan() {
			if sc.Text() == "" {
				events <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(sc.Text() + "\n")
		}
		close(events)
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return ""
		}
	}
	require.Contains(t, next(), "retry:")
	first := next()
	assert.Contains(t, first, "event: log")
	assert.Contains(t, first, "checking acme/open-model")
	log.Printf("a line with the admin token %s in it", adminToken)
	w.finish(id)
	var rest strings.Builder
	for e := range events {
		rest.WriteString(e)
	}
	assert.Contains(t, rest.String(), "conversion done")
	assert.Contains(t, rest.String(), "[redacted]")
	assert.NotContains(t, rest.String(), adminToken, "secrets never reach a page")
	assert.Contains(t, rest.String(), `event: state`)
	assert.Contains(t, rest.String(), `"state":"succeeded"`)
}
