package hubtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Repo types, as the Hub spells them in payloads and RepoSpec.
const (
	TypeModel   = "model"
	TypeDataset = "dataset"
	TypeSpace   = "space"
)

// defaultLFSPatterns are the patterns of the .gitattributes the Hub writes in
// a new repo: weights, archives and data formats go to LFS.
var defaultLFSPatterns = []string{
	"*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
	"*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
	"*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
	"saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
	"*.zst", "*tfevents*",
}

// maxRegularFileSize is the Hub's limit for files stored in git itself.
const maxRegularFileSize = 10 << 20

// RepoSpec describes a repo for CreateRepo.
type RepoSpec struct {
	// ID is "namespace/name"; the namespace is the owner or one of the
	// owner's organizations.
	ID string
	// Type is TypeModel (default), TypeDataset or TypeSpace.
	Type    string
	Private bool
	// SDK is the Space SDK ("docker", "gradio", "static"); Spaces only.
	SDK string

	// Files are committed by the owner on top of the Hub's initial commit.
	// Files matching LFS, or at least LFSThreshold bytes, are stored in LFS:
	// the commit holds pointer files and the content is in the LFS store.
	Files map[string][]byte
	// LFS lists the .gitattributes patterns tracked by LFS. Nil means the
	// Hub's default patterns (*.bin, *.safetensors, *.pt, ...); an empty,
	// non-nil slice means none.
	LFS []string
	// LFSThreshold is the size from which a file goes to LFS whatever its
	// name. Zero means 10 MiB, the Hub's limit for regular files; negative
	// means never by size.
	LFSThreshold int64
	// Message is the title of the commit adding Files; empty means
	// "Upload files".
	Message string
}

// Repo describes a repo created on the server.
type Repo struct {
	ID      string // 24-hex ObjectId
	Name    string // "namespace/name"
	Type    string
	Private bool
	// Head is the commit of refs/heads/main after creation.
	Head string
}

type repo struct {
	id           string
	kind         string
	name         string
	namespace    string
	ownerID      string
	private      bool
	sdk          string
	createdAt    time.Time
	gitDir       string
	lfsThreshold int64

	// writeMu serialises the writes to the git repository.
	writeMu sync.Mutex

	// guarded by Server.mu
	lfs          map[string]int64 // LFS objects uploaded to this repo: oid -> size
	discussions  []*discussion    // index = num - 1
	lastModified time.Time
}

func typePlural(kind string) string { return kind + "s" }

// urlPrefix is the path prefix of the repo in non-API URLs.
func urlPrefix(kind string) string {
	switch kind {
	case TypeDataset:
		return "datasets/"
	case TypeSpace:
		return "spaces/"
	}
	return ""
}

func repoKey(kind, name string) string { return kind + "/" + name }

// webURL and apiURL are the repo's URLs on this server.
func (s *Server) webURL(rp *repo) string { return s.URL + "/" + urlPrefix(rp.kind) + rp.name }
func (s *Server) apiURL(rp *repo) string {
	return s.URL + "/api/" + typePlural(rp.kind) + "/" + rp.name
}

// subdomain is the Space host name the Hub derives from the repo id.
func subdomain(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '_', '.':
			return '-'
		}
		return r
	}, strings.ToLower(name))
}

// parseRepoRef reads a helper's repo reference: "ns/name" (a model),
// "datasets/ns/name", "spaces/ns/name" or "models/ns/name".
func parseRepoRef(ref string) (kind, name string, err error) {
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 2:
		kind = TypeModel
	case len(parts) == 3 && parts[0] == "models":
		kind = TypeModel
	case len(parts) == 3 && parts[0] == "datasets":
		kind = TypeDataset
	case len(parts) == 3 && parts[0] == "spaces":
		kind = TypeSpace
	default:
		return "", "", fmt.Errorf("repo %q: want namespace/name, optionally prefixed by datasets/ or spaces/", ref)
	}
	ns, n := parts[len(parts)-2], parts[len(parts)-1]
	if !validRepoName(ns) || !validRepoName(n) {
		return "", "", fmt.Errorf("repo %q: invalid name", ref)
	}
	return kind, ns + "/" + n, nil
}

func validRepoName(s string) bool {
	return namePattern.MatchString(s) && !strings.Contains(s, "..") && !strings.HasSuffix(s, ".git")
}

// lookupRepo finds a repo by helper reference.
func (s *Server) lookupRepo(ref string) (*repo, error) {
	kind, name, err := parseRepoRef(ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.repos[repoKey(kind, name)]
	if !ok {
		return nil, fmt.Errorf("repo %s: not found", ref)
	}
	return rp, nil
}

// CreateRepo creates a repo owned by owner (or by one of owner's orgs, per
// spec.ID) with the Hub's initial commit and then spec.Files. No webhook is
// sent.
func (s *Server) CreateRepo(owner User, spec RepoSpec) (Repo, error) {
	p, err := s.principalOf(owner)
	if err != nil {
		return Repo{}, fmt.Errorf("create repo %s: %w", spec.ID, err)
	}
	rp, err := s.createRepo(context.Background(), p, spec)
	if err != nil {
		return Repo{}, fmt.Errorf("create repo %s: %w", spec.ID, err)
	}
	head, _ := s.refSHA(context.Background(), rp, "refs/heads/main")
	return Repo{ID: rp.id, Name: rp.name, Type: rp.kind, Private: rp.private, Head: head}, nil
}

func (s *Server) createRepo(ctx context.Context, p principal, spec RepoSpec) (*repo, error) {
	kind := spec.Type
	if kind == "" {
		kind = TypeModel
	}
	if kind != TypeModel && kind != TypeDataset && kind != TypeSpace {
		return nil, errBadRequest(fmt.Sprintf("invalid repo type %q", spec.Type))
	}
	ns, name, ok := strings.Cut(spec.ID, "/")
	if !ok || !validRepoName(ns) || !validRepoName(name) || strings.Contains(name, "/") {
		return nil, errBadRequest(fmt.Sprintf("invalid repo id %q: want namespace/name", spec.ID))
	}
	threshold := spec.LFSThreshold
	if threshold == 0 {
		threshold = maxRegularFileSize
	}
	patterns := spec.LFS
	if patterns == nil {
		patterns = defaultLFSPatterns
	}
	for _, pat := range patterns {
		if pat == "" || strings.ContainsAny(pat, " \t\n") {
			return nil, errBadRequest(fmt.Sprintf("invalid LFS pattern %q", pat))
		}
	}

	s.mu.Lock()
	allowed := p.user != nil && (p.user.name == ns || slices.Contains([]string{RoleAdmin, RoleWrite}, s.memberRoleLocked(ns, p.user)))
	_, nsExists := s.namespaces[ns]
	_, exists := s.repos[repoKey(kind, spec.ID)]
	s.mu.Unlock()
	switch {
	case !nsExists:
		return nil, errBadRequest(fmt.Sprintf("namespace %q does not exist", ns))
	case !allowed:
		return nil, errForbidden(fmt.Sprintf("You don't have the rights to create a repo under the namespace %q", ns))
	case exists:
		return nil, &apiError{status: http.StatusConflict, msg: "You already created this " + kind + " repo"}
	}

	now := s.opts.Clock()
	rp := &repo{
		id: s.ids.next(), kind: kind, name: spec.ID, namespace: ns, private: spec.Private, sdk: spec.SDK,
		createdAt: now, lastModified: now, lfsThreshold: threshold, lfs: map[string]int64{},
		gitDir: filepath.Join(s.dir, "repos", typePlural(kind), ns, name+".git"),
	}
	s.mu.Lock()
	if o, ok := s.orgs[ns]; ok {
		rp.ownerID = o.id
	} else if u, ok := s.users[ns]; ok {
		rp.ownerID = u.id
	}
	s.mu.Unlock()

	if err := os.MkdirAll(filepath.Dir(rp.gitDir), 0o755); err != nil {
		return nil, err
	}
	if err := s.git.initBare(ctx, rp.gitDir); err != nil {
		_ = os.RemoveAll(rp.gitDir)
		return nil, err
	}
	var attrs strings.Builder
	for _, pat := range patterns {
		fmt.Fprintf(&attrs, "%s filter=lfs diff=lfs merge=lfs -text\n", pat)
	}
	attrBlob, err := s.git.hashObject(ctx, rp.gitDir, strings.NewReader(attrs.String()))
	if err == nil {
		var tree, sha string
		tree, err = s.git.writeTree(ctx, rp.gitDir, map[string]indexEntry{".gitattributes": {mode: "100644", sha: attrBlob}})
		if err == nil {
			sha, err = s.git.commitTree(ctx, rp.gitDir, tree, nil, "initial commit", systemSignature(now))
		}
		if err == nil {
			err = s.git.updateRef(ctx, rp.gitDir, "refs/heads/main", sha, zeroSHA)
		}
	}
	if err != nil {
		_ = os.RemoveAll(rp.gitDir)
		return nil, err
	}

	// Register before adding files, so the LFS links of the files land on it.
	s.mu.Lock()
	if _, exists := s.repos[repoKey(kind, spec.ID)]; exists {
		s.mu.Unlock()
		_ = os.RemoveAll(rp.gitDir)
		return nil, &apiError{status: http.StatusConflict, msg: "You already created this " + kind + " repo"}
	}
	s.repos[repoKey(kind, spec.ID)] = rp
	s.repoOrder = append(s.repoOrder, rp)
	s.mu.Unlock()

	if len(spec.Files) > 0 {
		msg := spec.Message
		if msg == "" {
			msg = "Upload files"
		}
		_, err := s.commitToRef(ctx, rp, p, commitParams{ref: "refs/heads/main", summary: msg, ops: opsFromChange(spec.Files, nil), silent: true})
		if err != nil {
			s.mu.Lock()
			delete(s.repos, repoKey(kind, spec.ID))
			s.repoOrder = slices.DeleteFunc(s.repoOrder, func(r *repo) bool { return r == rp })
			s.mu.Unlock()
			_ = os.RemoveAll(rp.gitDir)
			return nil, err
		}
	}
	return rp, nil
}

// systemSignature signs the commits the Hub itself makes.
func systemSignature(when time.Time) signature {
	return signature{name: "system", email: "system@huggingface.co", when: when}
}

// userSignature signs the commits a user makes through the API.
func userSignature(u *user, when time.Time) signature {
	if u == nil {
		return systemSignature(when)
	}
	return signature{name: u.name, email: u.name + "@users.noreply.huggingface.co", when: when}
}

// refSHA returns the commit a full ref name points at.
func (s *Server) refSHA(ctx context.Context, rp *repo, ref string) (string, bool) {
	refs, err := s.git.refs(ctx, rp.gitDir)
	if err != nil {
		return "", false
	}
	sha, ok := refs[ref]
	return sha, ok
}

// isHex reports whether s is lowercase or uppercase hex of length in [min,max].
func isHex(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	_, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2))
	return err == nil
}

// resolveRev resolves a revision the way the Hub does: a branch or tag name,
// a full ref (refs/pr/3), "HEAD" (main) or a full commit sha. It returns the
// commit and the full ref name ("" for a sha).
func (s *Server) resolveRev(ctx context.Context, rp *repo, rev string) (sha, ref string, err error) {
	if rev == "" || rev == "HEAD" {
		rev = "main"
	}
	refs, err := s.git.refs(ctx, rp.gitDir)
	if err != nil {
		return "", "", err
	}
	if strings.HasPrefix(rev, "refs/") {
		if sha, ok := refs[rev]; ok {
			return sha, rev, nil
		}
		return "", "", errRevisionNotFound(rev)
	}
	for _, candidate := range []string{"refs/heads/" + rev, "refs/tags/" + rev} {
		if sha, ok := refs[candidate]; ok {
			return sha, candidate, nil
		}
	}
	if isHex(rev, 40, 40) {
		if sha, ok := s.git.resolveHex(ctx, rp.gitDir, strings.ToLower(rev)); ok {
			return sha, "", nil
		}
	}
	return "", "", errRevisionNotFound(rev)
}

// Ref returns the commit a ref of a repo points at; ref is a full name
// ("refs/heads/main", "refs/pr/1") or a branch name.
func (s *Server) Ref(repoRef, ref string) (string, bool) {
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return "", false
	}
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	return s.refSHA(context.Background(), rp, ref)
}

// Refs returns every ref of a repo with its commit.
func (s *Server) Refs(repoRef string) (map[string]string, error) {
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return nil, err
	}
	return s.git.refs(context.Background(), rp.gitDir)
}

// GitDir returns the path of a repo's bare git repository, for assertions
// with the git CLI.
func (s *Server) GitDir(repoRef string) (string, error) {
	rp, err := s.lookupRepo(repoRef)
	if err != nil {
		return "", err
	}
	return rp.gitDir, nil
}
