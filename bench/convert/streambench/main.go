// Command streambench is the Go side of bench/convert/stream.sh: the same
// conversion pull request made by the safetensors action on the local path
// (download, convert into the workspace, upload from disk) and on the
// streaming path (range reads, two passes, upload by sections), against a
// hubtest server on loopback in another process.
//
//	streambench serve DATA CHECKPOINT_DIR   # prints "URL TOKEN", serves until stdin closes
//	streambench run local|stream URL TOKEN WORKDIR
//
// run prints one line: the pull request's files with their sha256, and the
// process's I/O counters from /proc/self/io (bytes written to and read from
// files, which is what the local path pays in disk).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/safetensors"
	"github.com/hubbot/hubbot/git"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/hubclient/hubtest"
	"github.com/hubbot/hubbot/lfs"
)

const repoID = "alice/model"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "serve":
		err = serve(os.Args[2], os.Args[3])
	case len(os.Args) == 6 && os.Args[1] == "run":
		err = run(ctx, os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	default:
		err = fmt.Errorf("usage: streambench serve DATA DIR | streambench run local|stream URL TOKEN WORKDIR")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "streambench:", err)
		os.Exit(1)
	}
}

// serve starts a fake Hub with alice/model holding the files of dir.
func serve(data, dir string) error {
	srv, err := hubtest.New(hubtest.Options{Dir: data})
	if err != nil {
		return err
	}
	defer srv.Close()
	alice := srv.AddUser("alice")
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		files[e.Name()] = b
	}
	if _, err := srv.CreateRepo(alice, hubtest.RepoSpec{ID: repoID, Files: files}); err != nil {
		return err
	}
	files = nil
	fmt.Println(srv.URL, alice.Token)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// run makes the conversion pull request as the bot does.
func run(ctx context.Context, mode, url, token, work string) error {
	c, err := hubclient.New(hubclient.Options{Endpoint: url, Token: token})
	if err != nil {
		return err
	}
	repo := hubclient.Repo{ID: repoID}
	info, err := c.RepoInfo(ctx, repo, "main", &hubclient.RepoInfoOptions{Blobs: true})
	if err != nil {
		return err
	}
	// The checkout: LFS files as their pointers, others with content.
	for _, s := range info.Siblings {
		p := filepath.Join(work, filepath.FromSlash(s.RFilename))
		var content []byte
		if s.LFS != nil {
			content = []byte(lfs.Pointer{OID: s.LFS.SHA256, Size: s.LFS.Size}.String())
		} else {
			var b strings.Builder
			if _, err := c.Download(ctx, repo, info.SHA, s.RFilename, &b, nil); err != nil {
				return err
			}
			content = []byte(b.String())
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	ws := &actions.Workspace{Dir: work, Repo: actions.Repo{ID: repoID, Type: "model"}, Ref: "refs/heads/main",
		SHA: info.SHA, Content: git.NewContent(c, repo, info.SHA)}
	stream := map[string]string{"local": "never", "stream": "always"}[mode]
	if stream == "" {
		return fmt.Errorf("mode %q is not local or stream", mode)
	}
	a, err := safetensors.New(actions.Options{"stream": stream}, nil)
	if err != nil {
		return err
	}
	res, err := a.Run(ctx, ws, io.Discard)
	if err != nil {
		return err
	}
	if res.Proposal == nil {
		return fmt.Errorf("no proposal: %s", res.Summary)
	}
	var files []hubclient.CommitFile
	var sums []string
	for _, f := range res.Proposal.Files {
		cf := hubclient.CommitFile{PathInRepo: f.PathInRepo, LocalPath: f.LocalPath}
		if s := f.Stream; s != nil {
			cf.Section, cf.Size, cf.SHA256 = s.Section, s.Size, s.SHA256
		}
		files = append(files, cf)
	}
	cr, err := c.CreateCommit(ctx, repo, hubclient.CommitRequest{Revision: "main", CreatePR: true, ParentCommit: info.SHA,
		Summary: res.Proposal.Title, Description: res.Proposal.Description, Files: files})
	if err != nil {
		return err
	}
	pr, err := c.RepoInfo(ctx, repo, cr.PullRequestRef(), &hubclient.RepoInfoOptions{Blobs: true})
	if err != nil {
		return err
	}
	for _, s := range pr.Siblings {
		if strings.HasSuffix(s.RFilename, ".safetensors") && s.LFS != nil {
			sums = append(sums, s.RFilename+"="+s.LFS.SHA256[:12])
		}
	}
	sort.Strings(sums)
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return err
	}
	counters := map[string]string{}
	for _, l := range strings.Split(string(io), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			counters[k] = v
		}
	}
	fmt.Printf("%s write_bytes=%s read_bytes=%s files=%s\n", mode, counters["write_bytes"], counters["read_bytes"], strings.Join(sums, ","))
	return nil
}
