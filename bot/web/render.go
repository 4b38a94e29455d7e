package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient"
)

var pageNames = []string{"home", "deliveries", "delivery", "jobs", "job", "repo", "error"}

var funcs = template.FuncMap{
	"ago":   ago,
	"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short": shortSHA,
	"ref":   refLabel,
	"repoPage": func(r hubclient.Repo) string {
		return "/repos/" + r.String()
	},
	"repoPageName": func(s string) string { return "/repos/" + strings.Trim(s, "/") },
	"hubRepo":      func(endpoint string, r hubclient.Repo) string { return hubURL(endpoint, r) },
	"hubCommit":    func(endpoint string, r hubclient.Repo, sha string) string { return hubURL(endpoint, r, "commit", sha) },
	"hubPR": func(endpoint string, r hubclient.Repo, n int) string {
		return hubURL(endpoint, r, "discussions", fmt.Sprint(n))
	},
	"jobsOf": func(repo string) string { return "/jobs?" + url.Values{"repo": {repo}}.Encode() },
	"label":  jobLabel,
	"join":   strings.Join,
	"terminal": func(state string) bool {
		return jobs.Terminal(jobs.State(state))
	},
}

// jobLabel names what a job does: its action, or its kind.
func jobLabel(j *jobs.Job) string {
	if j.Spec.Action != "" {
		return j.Spec.Action
	}
	return string(j.Spec.Kind)
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// page is what every template gets.
type page struct {
	Title    string
	Name     string
	Path     string // the current path, for sign-in's way back
	Version  string
	SignedIn bool
	User     string
	Operator bool
	SignInOn bool
	CSRF     string
	Data     any
}

func (s *Server) render(c *gin.Context, status int, name, title string, data any) {
	v := viewerOf(c)
	p := page{Title: title, Name: name, Path: c.Request.URL.RequestURI(), Version: s.opts.Version, SignedIn: v.signedIn(),
		Operator: v.operator, SignInOn: s.oidc != nil, CSRF: s.csrfToken(v.user), Data: data}
	if v.user != nil {
		p.User = v.user.Name
	}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Error("render", "page", name, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("the page could not be drawn; see the bot's log"))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// safeCut returns an index at or before n that does not split a UTF-8
// character, clamped to [0, len(s)].
func safeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	if n <= 0 {
		return 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
