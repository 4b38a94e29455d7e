package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/hubbot/hubbot/hubclient/hubtest"
)

// fakeHub is the Hub the bot's jobs talk to: hubtest, in this process, so
// that jobs neither wait on DNS nor touch the network.
type fakeHub struct {
	srv   *hubtest.Server
	owner hubtest.User
	bot   hubtest.User
	repo  repoInfo
}

// benchRepo is the repo every delivery names.
const benchRepo = "bench-owner/tiny"

func startHub() (*fakeHub, error) {
	// Keep only the last requests: a flood makes thousands of job calls.
	srv, err := hubtest.New(hubtest.Options{MaxRecordedRequests: 1000, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("start fake hub: %w", err)
	}
	owner := srv.AddUser("bench-owner")
	bot := srv.AddUser("hubbot-bench")
	r, err := srv.CreateRepo(owner, hubtest.RepoSpec{ID: benchRepo, Files: map[string][]byte{
		"README.md": []byte("---\nlicense: mit\n---\n# tiny\n\nA repo for the receiver benchmark.\n"),
	}})
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("start fake hub: %w", err)
	}
	return &fakeHub{srv: srv, owner: owner, bot: bot, repo: repoInfo{
		Name: r.Name, ID: r.ID, OwnerID: owner.ID, Web: srv.URL + "/" + r.Name,
		API: srv.URL + "/api/models/" + r.Name, Head: r.Head,
	}}, nil
}

func (h *fakeHub) Close() { h.srv.Close() }

// branches pushes n new branches named prefix-NNN, one commit each, and
// returns them as the updates a push webhook would carry: these jobs find
// their revision at the head of their ref and run the action to the end.
func (h *fakeHub) branches(ctx context.Context, prefix string, n int) ([]refUpdate, error) {
	out := make([]refUpdate, 0, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref := fmt.Sprintf("refs/heads/%s-%03d", prefix, i)
		sha, err := h.srv.Push(h.owner, benchRepo, ref, hubtest.Change{
			Files: map[string][]byte{"bench.txt": []byte(ref + "\n")}, Message: "bench " + ref,
		})
		if err != nil {
			return nil, fmt.Errorf("create branch %s: %w", ref, err)
		}
		out = append(out, refUpdate{Ref: ref, New: sha})
	}
	return out, nil
}

// parkingHub stands between the bot and the fake Hub for -isolate: it
// passes whoami through, so the bot starts as usual, and holds every other
// request until the client gives up or the parking hub closes. Each worker
// then stops in its job's first Hub call and leaves the database to the
// receiver, which is measured alone.
type parkingHub struct {
	URL     string
	srv     *http.Server
	closing chan struct{}
}

func startParkingHub(target string) (*parkingHub, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("start parking hub: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start parking hub: %w", err)
	}
	p := &parkingHub{URL: "http://" + ln.Addr().String(), closing: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/whoami-v2" {
			proxy.ServeHTTP(w, r)
			return
		}
		select {
		case <-r.Context().Done():
		case <-p.closing:
		}
		http.Error(w, "parked by the receiver benchmark", http.StatusServiceUnavailable)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *parkingHub) Close() {
	close(p.closing)
	p.srv.Close()
}
