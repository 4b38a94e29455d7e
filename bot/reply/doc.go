// Package reply is hubbot's LLM reply bot: it answers questions in a
// repository's discussions through any OpenAI-compatible chat completions
// endpoint (by default the Hugging Face router), configured by [reply] in
// config.toml.
//
// # Pieces
//
//   - Decide, in the webhook handler, says from the payload whether a reply
//     job should be queued: a comment that mentions the bot, or a new
//     discussion, or both (reply.trigger); not in pull requests unless
//     reply.pull_requests; never for the bot's own comments (by author id,
//     and by hubbot's hidden marker in case the id is wrong or unknown),
//     hidden or edited comments, closed discussions, or comments chat-ops
//     answers as commands. It is pure and quick.
//   - Bot.Reply, in the job, does the work (below). It reaches the Hub and
//     the store only through the interfaces declared here: Hub (read the
//     discussion and README.md), Poster (post the reply; none in a dry run)
//     and Ledger (claims, dedupe and the hourly cap). *hubclient.Client is
//     a Hub and a Poster; the bot's store implements Ledger, and
//     MemoryLedger is an in-memory one for tests and dry runs.
//   - APIKey chooses the key for the endpoint.
//
// # What Reply does
//
//  1. It reads the discussion and checks again what may have changed since
//     the webhook: the comment is still there and visible, the discussion
//     is open, it is not a pull request (unless allowed), the bot has not
//     answered this comment (its marker names the comment) and has not
//     reached reply.max_replies_per_discussion (its earlier replies are its
//     comments with a reply marker, and its hidden comments).
//  2. It claims the comment's key in the Ledger before calling the model.
//     The claim is durable (the store writes it), so neither a retry nor a
//     restart posts a second reply; the same claim enforces
//     reply.max_replies_per_hour per repo. A claim left by an attempt that
//     died is resumed by the same job, or by anyone once it is stale.
//  3. It builds the prompt: the system prompt (reply.system_prompt or
//     DefaultSystemPrompt, followed by the layout rules), then one user
//     message with the repository card (front matter and the start of the
//     body, at most 64 KiB read and about 2,000 tokens shown) and the thread
//     (each comment labelled with its author, oldest first so the newest is
//     last). Card and comments are untrusted: they are quoted (every line
//     starts with ">") between delimiter lines whose tag is derived from
//     the data itself, so the data cannot forge them; HTML comments and
//     invisible characters are removed first, since readers do not see them.
//     The message fits a token budget (about four characters per token):
//     the context window assumed (Options.ContextTokens, 8192 by default)
//     minus reply.max_tokens and the system prompt. Older comments are left
//     out first; the description and the comment to answer always stay, cut
//     in the middle if they must. Hidden comments are left out.
//  4. It calls the endpoint with reply.model and reply.max_tokens, no tools
//     and no user data beyond the prompt, each call bounded by
//     reply.timeout. Timeouts, broken connections, 408, 425, 429 and 5xx
//     are retried (Options.Retry: 3 calls, 2s then 4s, honouring
//     Retry-After up to 30s). A refusal, a filtered or empty answer, or a
//     permanent error ends in Status Failed with a reason for the log:
//     nothing is posted, and no error text ever reaches the Hub.
//  5. It makes the answer safe: the model's <think> reasoning, HTML
//     comments and invisible characters are removed; outside code, images
//     become links, raw HTML tags are escaped, and mentions of the bot and
//     of anyone outside the thread lose their "@"; no line starts with a
//     command, once trimmed or cut either (chatops.Syntax.Safe, the guard of
//     everything hubbot posts). It is
//     cut to fit a Hub comment, an open code block is closed, and a footer
//     in hubbot's words says it is an automated answer that may be wrong,
//     followed by the hidden marker <!-- hubbot:reply:COMMENT_ID -->.
//  6. It posts the reply, or in a dry run returns it in Result.Text. When
//     the Hub's answer to the post is ambiguous (hubclient.IsAmbiguous), it
//     reads the discussion and looks for its marker before posting again.
//
// # Wiring
//
// In the webhook handler, for discussion.comment create and discussion
// create (after chatops.Guard and the repo allow list): fill EventFacts from
// the payload (IsCommand from chatops Parse: Run or Reply) and queue a reply
// job when Decide says so; its dedupe key is Key(repo, num, comment id).
//
// In the job: call Bot.Reply with the job id as Request.Owner (the same on
// every attempt of the job) and jobs.Log.Printf as Request.Logf. Posted and
// DryRun are a success; Skipped is the skipped state; Failed is a failure
// that a retry will not fix (the claim was released, so an operator's retry
// asks the model again); an error may be retried by the queue.
//
// The store's Ledger keeps one row per key (repo, owner, time, posted) with
// an index on (repo, time), and does each ClaimReply in one write transaction;
// replytest.LedgerRules checks an implementation against the rules.
// Options.CommandPrefix is [commands] prefix.
//
// # Keys
//
// LLM_API_KEY is sent when it is set. Otherwise HF_TOKEN is sent, but only to
// the Hugging Face router (https://router.huggingface.co): the Hub token can
// write to the bot's repos and must never reach a third party. Any other
// endpoint without LLM_API_KEY gets no key, which suits a local server. A key
// is never sent over plain http to another machine, and redirects from the
// endpoint are refused rather than followed.
package reply
