// Package hubtest is an in-process fake Hugging Face Hub for end-to-end tests
// and for a local sandbox.
//
// A Server speaks the Hub's real protocols, so that hubclient, go-git and the
// git CLI cannot tell it from huggingface.co:
//
//   - the HTTP API under /api (whoami, repo info, tree, commits, compare, refs,
//     repo lists, organization members, user overviews, discussions and pull
//     requests, preupload, the NDJSON commit API), with the Hub's status codes
//     and its X-Error-Code, X-Error-Message and X-Request-Id headers;
//   - git smart HTTP (clone, fetch, push) served by the real `git http-backend`
//     over bare repositories, with token authentication for private repos;
//   - the Git LFS batch API with the "basic" and the Hub's "multipart"
//     transfers, whose presigned URLs point at a second listener (a fake
//     CDN/S3 host) that never needs credentials and records any it receives;
//   - /resolve and /raw downloads;
//   - webhooks: every ref change, discussion change and comment is delivered
//     as the Hub's v3 payload, asynchronously, one ordered sender per webhook.
//
// Start one like an httptest.Server:
//
//	srv := hubtest.NewServer()
//	defer srv.Close()
//	alice := srv.AddUser("alice")
//	_, err := srv.CreateRepo(alice, hubtest.RepoSpec{
//		ID:    "alice/tiny",
//		Files: map[string][]byte{"README.md": []byte("# tiny\n"), "model.bin": weights},
//		LFS:   []string{"*.bin"},
//	})
//
// and point a client at srv.URL with alice.Token.
//
// # Choices where the Hub is not documented
//
// The facts this package follows come from the project's reference notes
// (shared/reference/hub-api.md and hub-webhooks-and-bots.md). Where the Hub's
// behaviour is not documented, the fake makes a choice and states it here:
//
//   - Compare: GET /api/{type}/{repo}/compare/{a}..{b}?raw=true answers with
//     one line per changed file, as the Hub does:
//     "T 1807\t:100644 100644 <old sha>... <new sha>... M\tREADME.md", where the
//     first letter is T for text and B for binary content, the number is the
//     size of the file on the side that exists (the real size for an LFS
//     pointer), then git's raw diff fields with full 40-hex blob ids followed
//     by "...", the status letter, a tab and the path. Renames are not
//     detected (a rename is a deletion plus an addition). Without raw=true the
//     answer is the unified `git diff` between a and b, as text.
//   - Commit with a stale parentCommit: 412 with the Hub's message "A commit
//     has happened since. Please refresh and try again."
//   - Preupload decides "lfs" when the file is not empty and either matches a
//     filter=lfs pattern of .gitattributes (the one sent in gitAttributes, else
//     the repo's), is larger than 10 MiB, or its sample holds a NUL byte
//     (binary); otherwise "regular". The commit API refuses regular files
//     larger than 10 MiB and binary regular files larger than 1 MB, as the
//     Hub's push rules do.
//   - A pull request opened with POST .../discussions {"pullRequest":true} is a
//     draft whose ref refs/pr/N points at the base head; POST .../status with
//     {"status":"open"} publishes it. A pull request opened by a commit with
//     create_pr=1 (or by OpenPR) is open.
//   - The first comment of a discussion is its description; a pull request
//     opened by a commit with an empty description has no comment.
//   - Merging a pull request creates a merge commit (two parents) on the base
//     branch, even when a fast-forward would be possible.
//   - Organization members are listed as {"_id","user","fullname","avatarUrl",
//     "type","isPro","role"}, the keys huggingface_hub reads ("user" is the
//     username), paginated with Link headers.
//   - Repo creation (CreateRepo, POST /api/repos/create) sends no webhook: it
//     sets the stage a test starts from.
//   - An invalid token is refused with 401 on every endpoint; an anonymous
//     request to a private or missing repo gets 401 RepoNotFound, an
//     authenticated one 404 RepoNotFound, as the Hub hides private repos.
package hubtest
