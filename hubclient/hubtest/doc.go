// Package hubtest is an in-process fake Hugging Face Hub for end-to-end tests
// and for a local sandbox.
//
// A Server speaks the Hub's real protocols, so that hubclient, go-git and the
// git CLI cannot tell it from huggingface.co. It does not import hubclient:
// both follow the project's reference notes (shared/reference/hub-api.md and
// hub-webhooks-and-bots.md), so that the client and the fake cannot drift
// together.
//
// Start one like an httptest.Server and point a client at srv.URL:
//
//	srv := hubtest.NewServer()
//	defer srv.Close()
//	alice := srv.AddUser("alice")
//	bot := srv.AddUser("hubbot-ci")
//	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{
//		ID:    "alice/tiny",
//		Files: map[string][]byte{"README.md": card, "model.bin": weights},
//		LFS:   []string{"*.bin"},
//	})
//	_, err = srv.AddWebhook(hubtest.Webhook{URL: receiver, Secret: "s"})
//	pr, err := srv.OpenPR(alice, "alice/tiny", "Update card", "", hubtest.Change{Files: ...})
//	deliveries, err := srv.WaitDeliveries(ctx, 2) // discussion create, repo.content
//
// New(Options{...}) starts one with options (a kept Dir, fixed ports, a
// fixed Clock for reproducible shas, a webhook timeout) for a sandbox.
//
// # What it serves
//
// On srv.URL, for models, datasets and spaces ("/api/models|datasets|spaces/"
// in the API, the "datasets/" and "spaces/" prefixes elsewhere):
//
//   - GET /api/whoami-v2
//   - GET /api/{type}/{repo} and /revision/{rev} (blobs=true, expand=)
//   - GET /api/{type}/{repo}/tree/{rev}[/{path}] (recursive, expand, limit,
//     cursor; Link pagination), POST .../paths-info/{rev}
//   - GET /api/{type}/{repo}/commits/{rev} (p, limit; Link pagination)
//   - GET /api/{type}/{repo}/compare/{a}..{b}[?raw=true]
//   - GET /api/{type}/{repo}/refs[?include_prs=1]
//   - GET /api/models|datasets|spaces?author=&search=&limit= (Link pagination)
//   - POST /api/repos/create
//   - webhooks of the token's user: GET and POST /api/settings/webhooks,
//     GET, POST (update) and DELETE .../{id}, POST .../{id}/enable and
//     .../{id}/disable; webhooks made this way deliver like AddWebhook's
//   - GET /api/organizations/{org}/members, /api/organizations/{org}/overview,
//     /api/users/{name}/overview
//   - discussions: GET and POST /api/{type}/{repo}/discussions, GET .../{num}
//     [?diff=1], POST .../{num}/comment, .../comment/{id}/edit,
//     .../comment/{id}/hide, .../status, .../title, .../merge
//   - POST /api/{type}/{repo}/preupload/{rev}[?create_pr=1]
//   - POST /api/{type}/{repo}/commit/{rev}[?create_pr=1], NDJSON or legacy JSON
//   - POST /{repo}.git/info/lfs/objects/batch and .../objects/verify
//   - GET|HEAD /{repo}/resolve/{rev}/{path} and /{repo}/raw/{rev}/{path}
//   - git smart HTTP on /{repo}[.git]: info/refs, git-upload-pack,
//     git-receive-pack, through the real `git http-backend`
//
// Revisions arrive percent-encoded in one path segment (refs%2Fpr%2F3) and
// are decoded from the raw path; refs/pr/N and refs/convert/X are also
// matched unencoded, as in the Hub's web URLs. Tokens are accepted as
// "Authorization: Bearer" or as the password of HTTP Basic (any username).
//
// On srv.CDNURL: the presigned LFS URLs (basic PUT, multipart part PUTs,
// downloads with Range). They check only their signature and expiry, never
// need credentials, and CDNRequests records any Authorization header a client
// leaks.
//
// Every answer carries X-Request-Id; errors carry X-Error-Message, X-Error-Code
// when the Hub sends one (RepoNotFound, RevisionNotFound, EntryNotFound) and
// a JSON body {"error": "..."}.
//
// # Storage and concurrency
//
// Repos are bare git repositories under Dir, built with the git CLI (which
// must be on PATH) in a clean environment that ignores the developer's git
// config. LFS objects are stored once by sha256, streamed through the hash to
// a temporary file and renamed only when size and oid match; each repo knows
// the objects uploaded to it. Users, tokens, discussions and webhooks live in
// memory. Writes to one repo (commits, pushes, pull requests, discussion
// changes) are serialised, which also orders their webhooks; a write goes to
// its end even if the client disconnects, as on the Hub.
//
// # Choices where the Hub is not documented
//
// The facts this package follows come from the reference notes. Where the
// Hub's behaviour is not documented, the fake makes a choice and says so:
//
//   - Compare with raw=true answers one line per changed file, as the Hub
//     does: "T 1807\t:100644 100644 <old blob>... <new blob>... M\tREADME.md".
//     The first letter is T for text and B for binary content (a NUL in the
//     first 8000 bytes); the number is the size of the file on the side where
//     it exists (the real size for an LFS pointer); then git's raw diff
//     fields with full 40-hex blob ids followed by "...", the status letter,
//     a tab and the path. Renames are not detected (a deletion plus an
//     addition). Without raw=true the answer is the unified `git diff`.
//   - A commit whose parentCommit is no longer the head of the branch gets
//     412 with the Hub's message "A commit has happened since. Please refresh
//     and try again."
//   - Preupload says "lfs" for a non-empty file that matches a filter=lfs
//     pattern of .gitattributes (the one sent in gitAttributes, else the
//     repo's), is larger than 10 MiB, or whose sample holds a NUL byte;
//     otherwise "regular". The commit API refuses regular files over 10 MiB
//     and binary regular files over 1 MB, like the Hub's push rules, and adds
//     an exact-path line to .gitattributes for lfsFile paths no pattern
//     tracks. An lfsFile must have been uploaded to the same repo.
//   - A pull request opened with POST .../discussions {"pullRequest":true} is
//     a draft whose ref refs/pr/N starts at the head of main; POST .../status
//     {"status":"open"} publishes it. A pull request opened by a commit with
//     create_pr=1 (or by OpenPR) is open.
//   - The first comment of a discussion is its description; a pull request
//     opened with an empty description has no comment, so its "discussion
//     create" webhook has no comment either.
//   - Merging creates a merge commit with two parents on the base branch,
//     even when a fast-forward would do; conflicts answer 409.
//   - The status endpoint with a comment adds the comment before the status
//     change and sends discussion.comment create, then discussion update.
//   - Organization members are listed as {"_id","user","fullname",
//     "avatarUrl","type","isPro","role"} ("user" is the username, as
//     huggingface_hub reads it), paginated with limit, cursor and Link.
//   - A Space's subdomain, like headSha, is sent with repo scopes only, as in
//     the Hub's sample payloads.
//   - Repo creation (CreateRepo, POST /api/repos/create) sends no webhook: it
//     sets the stage a test starts from.
//   - An invalid token is refused with 401 and X-Error-Message "Invalid
//     credentials in Authorization header" everywhere; an anonymous request
//     to a private or missing repo gets 401 RepoNotFound and an authenticated
//     one 404 RepoNotFound, so that private repos stay hidden. Git answers an
//     anonymous request with a Basic challenge.
//   - git push needs write access to the repo (pull request authors without
//     it push through the commit API). A push sends one repo.content with
//     every ref it changed, and commits pushed to refs/pr/N appear as commit
//     events of the pull request. Annotated tags are reported by the commit
//     they point at.
//   - The list endpoints take limit as the page size and follow pages with
//     the Link header.
//   - Webhooks made through /api/settings/webhooks belong to the token's
//     user, who alone lists, reads and changes them (404 for others); writes
//     need a write token (403). Create and delete answer 200; an empty
//     watched list, a missing url, an unknown domain or watched type, or a
//     non-ASCII secret answer 400. Omitted domains mean both and are listed
//     as both. A disabled or deleted webhook gets no new events; one already
//     queued still goes out, to the URL and secret of the moment.
package hubtest
