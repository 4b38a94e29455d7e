package web_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/web"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const adminToken = "hubbot-admin-token-for-tests"

// world is a dashboard on loopback over a real job store, against a fake
// Hub with an OAuth app: alice is a member of acme, bob is not, olga is the
// operator, and acme has a public and a private model.
type world struct {
	hub              *hubtest.Server
	queue            *jobs.Queue
	url              string
	alice, bob, olga hubtest.User
	bot              hubtest.User // the bot's account
	public, private  hubclient.Repo

	mu      sync.Mutex
	release map[int64]chan struct{} // running "convert" jobs wait on these
	started chan *jobs.Log
}

type worldOpts struct {
	private   bool                 // [dashboard] public = false
	configure func(*config.Config) // changes the configuration before the dashboard starts
	now       func() time.Time     // the dashboard's clock; nil for time.Now
	publicURL bool                 // server.public_url is the dashboard's own address
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	gin.SetMode(gin.TestMode)
	hub := hubtest.NewServer()
	t.Cleanup(hub.Close)
	w := &world{hub: hub, release: map[int64]chan struct{}{}, started: make(chan *jobs.Log, 8)}
	w.alice, w.bob, w.olga = hub.AddUser("alice"), hub.AddUser("bob"), hub.AddUser("olga")
	botUser := hub.AddUser("hubbot")
	w.bot = botUser
	hub.AddOrg("acme", w.alice)
	require.NoError(t, hub.AddOrgMember("acme", botUser, hubtest.RoleRead))
	for _, spec := range []hubtest.RepoSpec{{ID: "acme/open-model"}, {ID: "acme/secret-model", Private: true}} {
		_, err := hub.CreateRepo(w.alice, spec)
		require.NoError(t, err)
	}
	w.public, w.private = hubclient.Repo{ID: "acme/open-model"}, hubclient.Repo{ID: "acme/secret-model"}
	app := hub.AddOAuthApp("http://127.0.0.1/login/callback")

	q, err := jobs.New(t.Context(), jobs.Options{DataDir: t.TempDir(), Concurrency: 2, Handlers: jobs.Handlers{Run: w.run}})
	require.NoError(t, err)
	require.NoError(t, q.Start(t.Context()))
	t.Cleanup(func() {
		w.mu.Lock()
		for _, ch := range w.release {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	w.queue = q

	cfg := config.Default()
	cfg.Hub.Endpoint = hub.URL
	cfg.Secrets.HFToken = botUser.Token
	cfg.Secrets.AdminToken = adminToken
	cfg.Secrets.OAuthClientSecret = app.ClientSecret
	cfg.Dashboard.Public = !o.private
	cfg.Dashboard.Admins = []string{"user:olga"}
	cfg.Dashboard.OAuthClientID = app.ClientID
	cfg.Dashboard.OpenIDProviderURL = hub.URL
	cfg.Actions = []config.Action{{Name: "model-card", Uses: "modelcard", On: []string{"push"}}, {Name: "convert", Uses: "safetensors", On: []string{"push", "command"}}}
	cfg.Actions[0].Paths = []string{"README.md"}
	cfg.Secrets.WebhookSecrets = []string{"webhook-secret-for-tests"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w.url = "http://" + ln.Addr().String()
	if o.publicURL {
		cfg.Server.PublicURL = w.url
	}
	if o.configure != nil {
		o.configure(cfg)
	}
	srv, err := web.New(web.Options{Store: q, Config: cfg, Version: "test", BotName: func() string { return "hubbot" },
		PollInterval: 20 * time.Millisecond, Now: o.now})
	require.NoError(t, err)
	r := gin.New()
	srv.Routes(r)
	ts := httptest.NewUnstartedServer(r)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return w
}

// run is the job handler: "convert" jobs print a line, tell the test, and
// print more until released; runs on a pull request fail; others succeed at once.
func (w *world) run(ctx context.Context, job *jobs.Job, log *jobs.Log) (jobs.Outcome, error) {
	log.Printf("checking %s at %s", job.Spec.Repo, job.Spec.SHA)
	if job.Spec.Action == "convert" {
		w.mu.Lock()
		ch := w.release[job.ID]
		if ch == nil {
			ch = make(chan struct{})
			w.release[job.ID] = ch
		}
		w.mu.Unlock()
		w.started <- log
		select {
		case <-ch:
		case <-ctx.Done():
			return jobs.Outcome{}, ctx.Err()
		}
		log.Printf("conversion done")
	}
	if job.Spec.Discussion != 0 {
		log.Printf("README.md: license %q is not a known license identifier", "apache2")
		return jobs.Outcome{State: jobs.StateFailed, Conclusion: "failure", Summary: "1 error in the model card",
			Details: "README.md:2: license \"apache2\" is not a known license identifier (did you mean apache-2.0?)"}, nil
	}
	return jobs.Outcome{State: jobs.StateSucceeded, Conclusion: "success", Summary: "model card is fine"}, nil
}

// finish releases a running convert job.
func (w *world) finish(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch := w.release[id]; ch != nil {
		close(ch)
	} else {
		ch = make(chan struct{})
		close(ch)
		w.release[id] = ch
	}
}

// push records a delivery asking for one run of action on repo and returns
// the job id once it reached want.
func (w *world) push(t *testing.T, repo hubclient.Repo, action string, want jobs.State) int64 {
	t.Helper()
	sum := sha1.Sum([]byte(time.Now().String()))
	sha := hex.EncodeToString(sum[:])
	ref, pr, trigger := "refs/heads/main", 0, "push"
	if action == "model-card-pr" { // a pull request whose card is broken
		action, ref, pr, trigger = "model-card", "refs/pr/1", 1, "pull_request"
	}
	return w.record(t, jobs.Spec{Kind: jobs.KindRun, Action: action, Trigger: trigger, Repo: repo, Ref: ref, SHA: sha, Discussion: pr}, want)
}

// record records a delivery asking for spec and returns the job id once it
// reached want.
func (w *world) record(t *testing.T, spec jobs.Spec, want jobs.State) int64 {
	t.Helper()
	repo := spec.Repo
	rec, err := w.queue.Record(t.Context(), jobs.Delivery{Key: "content:" + repo.String() + "@" + spec.SHA + ":" + spec.Ref, Scope: "repo.content",
		Action: "update", Repo: repo.String(), Body: []byte(`{"event":{"scope":"repo.content"},"secret":"` + adminToken + `"}`),
		Specs: []jobs.Spec{spec}})
	require.NoError(t, err)
	require.Len(t, rec.Jobs, 1)
	id := rec.Jobs[0]
	require.Eventually(t, func() bool {
		j, err := w.queue.Job(t.Context(), id)
		return err == nil && j.State == want
	}, 10*time.Second, 10*time.Millisecond, "job %d never reached %s", id, want)
	return id
}

// client is a browser-like client: cookies, no automatic redirects.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn signs u in to the dashboard through the fake Hub's OAuth and
// returns the client holding the session.
func (w *world) signIn(t *testing.T, u hubtest.User) *http.Client {
	t.Helper()
	c := newClient(t)
	resp, err := c.Get(w.url + "/login?next=/jobs")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the fake Hub's login form")
	authorize := resp.Request.URL // where the redirects ended: the Hub's authorize page
	require.Equal(t, "/oauth/authorize", authorize.Path)
	form := authorize.Query()
	form.Set("username", u.Name)
	form.Set("password", u.Token)
	resp, err = c.PostForm(w.hub.URL+"/oauth/authorize", form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "signed in and back: %s", body)
	require.Equal(t, "/jobs", resp.Request.URL.Path, "back where the sign-in started")
	require.Contains(t, string(body), u.Name)
	return c
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, c *http.Client, u string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page's forms.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no form with a CSRF token on the page")
	return m[1]
}
