package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/safetensors"
	"github.com/hubbot/hubbot/hubclient"
)

// convertHub runs `hubbot convert hf://ns/name[@rev] DST` and `hubbot
// convert --repo ns/name [--revision REV] DST`: the checkpoints of a Hub
// model repository are read with range requests, never downloaded whole,
// and converted into the local folder DST. It reports whether args asked
// for a Hub source at all; if not, the local convert handles them.
func convertHub(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (int, bool) {
	hub := false
	for _, a := range args {
		if strings.HasPrefix(a, "hf://") || a == "-repo" || a == "--repo" || strings.HasPrefix(a, "-repo=") || strings.HasPrefix(a, "--repo=") {
			hub = true
		}
	}
	if !hub {
		return 0, false
	}
	fs := newFlags("convert", stderr)
	repoFlag := fs.String("repo", "", "the Hub model repository ns/name to convert")
	revFlag := fs.String("revision", "", "branch, tag or commit of --repo (default main)")
	pos, err := parseArgs(fs, args, 0, -1)
	if err != nil {
		return usageError(stderr, "convert", err), true
	}
	const usage = "want hf://ns/name[@rev] DST, or --repo ns/name [--revision REV] DST"
	var id, rev, dst string
	switch {
	case *repoFlag != "" && len(pos) == 1:
		id, rev, dst = *repoFlag, *revFlag, pos[0]
	case *repoFlag == "" && len(pos) == 2 && strings.HasPrefix(pos[0], "hf://"):
		id, rev, _ = strings.Cut(strings.TrimPrefix(pos[0], "hf://"), "@")
		dst = pos[1]
		if *revFlag != "" {
			return usagef(stderr, "convert", "give the revision in hf://ns/name@rev or with --repo, not both"), true
		}
	default:
		return usagef(stderr, "convert", "%s", usage), true
	}
	rep, err := convertFromHub(ctx, id, rev, dst, getenv)
	if err != nil {
		return fail(stderr, "convert: %s", err.Error()), true
	}
	fmt.Fprint(stdout, rep.String())
	return 0, true
}

// convertFromHub converts repo id at rev into dst, with HF_TOKEN (if set)
// on HF_ENDPOINT (default the Hub). Every file is read at the commit the
// revision resolved to when the repo was listed.
func convertFromHub(ctx context.Context, id, rev, dst string, getenv func(string) string) (*safetensors.Report, error) {
	if strings.Count(id, "/") != 1 || strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") {
		return nil, fmt.Errorf("%q is not a repository name (ns/name)", id)
	}
	c, err := hubclient.New(hubclient.Options{Endpoint: getenv("HF_ENDPOINT"), Token: getenv("HF_TOKEN")})
	if err != nil {
		return nil, err
	}
	repo := hubclient.Repo{ID: id}
	info, err := c.RepoInfo(ctx, repo, rev, nil)
	if err != nil {
		return nil, err
	}
	if info.SHA == "" {
		return nil, errors.New("the Hub did not say which commit the revision is")
	}
	src := safetensors.Remote{Name: "hf://" + id + "@" + info.SHA[:min(12, len(info.SHA))]}
	for _, s := range info.Siblings {
		src.Files = append(src.Files, s.RFilename)
	}
	src.Open = func(ctx context.Context, rel string) (actions.RangeReader, error) {
		return c.OpenFile(ctx, repo, info.SHA, rel)
	}
	return safetensors.ConvertRemote(ctx, src, dst, safetensors.Options{})
}
