package devenv

// Acting on a running environment from another process, as one of its
// users: what a person would do on the Hub's web pages.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hubbot/hubbot/hubclient"
)

// client returns a Hub client for user on the environment's fake Hub.
func (s State) client(user string) (*hubclient.Client, error) {
	token, ok := s.Tokens[user]
	if !ok {
		names := make([]string, 0, len(s.Tokens))
		for n := range s.Tokens {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no user %q on the dev Hub (users: %s)", user, strings.Join(names, ", "))
	}
	return hubclient.New(hubclient.Options{Endpoint: s.HubURL, Token: token, Version: "dev"})
}

// parseRepo reads "ns/name", "datasets/ns/name" or "spaces/ns/name".
func parseRepo(id string) (hubclient.Repo, error) {
	r := hubclient.Repo{Type: hubclient.Model, ID: id}
	for _, t := range []hubclient.RepoType{hubclient.Dataset, hubclient.Space} {
		if rest, ok := strings.CutPrefix(id, string(t)+"s/"); ok {
			r = hubclient.Repo{Type: t, ID: rest}
		}
	}
	if ns, name, ok := strings.Cut(r.ID, "/"); !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return hubclient.Repo{}, fmt.Errorf("--repo %q: want namespace/name", id)
	}
	return r, nil
}

// OpenPR opens a pull request on repo as user with the given local files,
// each placed at the repo's root under its own name, and returns its number.
func (s State) OpenPR(ctx context.Context, repo, user, title string, files []string) (int, error) {
	c, err := s.client(user)
	if err != nil {
		return 0, err
	}
	r, err := parseRepo(repo)
	if err != nil {
		return 0, err
	}
	req := hubclient.CommitRequest{CreatePR: true, Summary: title}
	var names []string
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		name := filepath.Base(f)
		names = append(names, name)
		req.Files = append(req.Files, hubclient.CommitFile{PathInRepo: name, LocalPath: f})
	}
	if req.Summary == "" {
		req.Summary = "Update " + strings.Join(names, ", ")
	}
	res, err := c.CreateCommit(ctx, r, req)
	if err != nil {
		return 0, fmt.Errorf("as %s: %w", user, err)
	}
	return res.PullRequestNum, nil
}

// Comment posts text on discussion or pull request num of repo as user.
func (s State) Comment(ctx context.Context, repo, user string, num int, text string) error {
	c, err := s.client(user)
	if err != nil {
		return err
	}
	r, err := parseRepo(repo)
	if err != nil {
		return err
	}
	if _, err := c.Comment(ctx, r, num, text); err != nil {
		return fmt.Errorf("as %s: %w", user, err)
	}
	return nil
}

// CloneURL is the demo repo's git URL with user's credentials in it.
func (s State) CloneURL(user string) string {
	host := strings.TrimPrefix(s.HubURL, "http://")
	return fmt.Sprintf("http://%s:%s@%s/%s", user, s.Tokens[user], host, s.Repo)
}
