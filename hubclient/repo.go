package hubclient

import (
	"fmt"
	"net/url"
	"strings"
)

// RepoType is the kind of a Hub repository.
type RepoType string

// Repo types.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
	Space   RepoType = "space"
)

// ParseRepoType accepts the singular names the webhook payloads use and the
// plural ones of API paths.
func ParseRepoType(s string) (RepoType, error) {
	switch strings.TrimSuffix(strings.ToLower(s), "s") {
	case "model", "":
		return Model, nil
	case "dataset":
		return Dataset, nil
	case "space":
		return Space, nil
	}
	return "", fmt.Errorf("unknown repo type %q (want model, dataset or space)", s)
}

// Repo names a Hub repository.
type Repo struct {
	Type RepoType `json:"type"` // zero means Model
	ID   string   `json:"id"`   // "namespace/name", as huggingface_hub's repo_id
}

// String renders the repo as people write it: "ns/name" for models,
// "datasets/ns/name" and "spaces/ns/name" otherwise.
func (r Repo) String() string { return r.prefix() + r.ID }

func (r Repo) kind() RepoType {
	if r.Type == "" {
		return Model
	}
	return r.Type
}

// apiType is the plural used in /api/ paths.
func (r Repo) apiType() string { return string(r.kind()) + "s" }

// prefix is the path prefix of git, resolve and LFS URLs.
func (r Repo) prefix() string {
	switch r.kind() {
	case Dataset:
		return "datasets/"
	case Space:
		return "spaces/"
	}
	return ""
}

func (r Repo) validate() error {
	ns, name, ok := strings.Cut(r.ID, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") || strings.ContainsAny(r.ID, "?#%\\ ") ||
		ns == "." || ns == ".." || name == "." || name == ".." {
		return fmt.Errorf("invalid repo id %q: want namespace/name", r.ID)
	}
	if _, err := ParseRepoType(string(r.kind())); err != nil {
		return err
	}
	return nil
}

// EscapeRevision escapes a revision for one URL path segment, slashes
// included: "refs/pr/3" becomes "refs%2Fpr%2F3", as the official clients send it.
func EscapeRevision(rev string) string { return url.PathEscape(rev) }

// escapeFilePath escapes a path in the repo keeping its slashes, as resolve
// URLs want it.
func escapeFilePath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}

// apiURL builds "{endpoint}/api/{type}s/{ns}/{name}" followed by the given
// already-escaped path segments.
func (c *Client) apiURL(r Repo, segments ...string) string {
	u := c.Endpoint() + "/api/" + r.apiType() + "/" + r.ID
	for _, s := range segments {
		u += "/" + s
	}
	return u
}

// WebURL is the repo's page on the Hub.
func (c *Client) WebURL(r Repo) string { return c.Endpoint() + "/" + r.String() }

// DiscussionURL is the page of a discussion or pull request.
func (c *Client) DiscussionURL(r Repo, num int) string {
	return fmt.Sprintf("%s/discussions/%d", c.WebURL(r), num)
}

// GitURL is the clone URL of the repo.
func (c *Client) GitURL(r Repo) string { return c.WebURL(r) }

// ResolveURL is the download URL of a file at a revision.
func (c *Client) ResolveURL(r Repo, rev, path string) string {
	return c.WebURL(r) + "/resolve/" + EscapeRevision(rev) + "/" + escapeFilePath(path)
}

func query(values url.Values) string {
	if len(values) == 0 {
		return ""
	}
	return "?" + values.Encode()
}
