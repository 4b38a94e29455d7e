package reply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/chatops"
	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient"
	"github.com/hubbot/hubbot/lfs"
)

// Hub is what the bot reads from the Hub. *hubclient.Client satisfies it.
type Hub interface {
	GetDiscussion(ctx context.Context, r hubclient.Repo, num int) (*hubclient.DiscussionDetails, error)
	Download(ctx context.Context, r hubclient.Repo, rev, path string, w io.Writer, want *lfs.Pointer) (*hubclient.DownloadInfo, error)
}

// Poster posts the reply. *hubclient.Client satisfies it. It is apart from
// Hub so that a dry run can be given none.
type Poster interface {
	Comment(ctx context.Context, r hubclient.Repo, num int, text string) (*hubclient.Event, error)
}

var (
	_ Hub    = (*hubclient.Client)(nil)
	_ Poster = (*hubclient.Client)(nil)
)

// maxCardBytes caps how much of README.md is read: the prompt shows only
// its start, and a card is untrusted content of any size.
const maxCardBytes = 64 << 10

// Options are the bot's collaborators and the settings that are not in
// [reply].
type Options struct {
	Hub    Hub    // required
	Poster Poster // required unless DryRun
	Ledger Ledger // required; the store's, or a MemoryLedger

	// DryRun makes Reply do everything but post: the Result carries the text
	// it would have posted, for the job log.
	DryRun bool
	// CommandPrefix is [commands] prefix; no line of a reply starts with
	// it. Default chatops.DefaultPrefix.
	CommandPrefix string
	// ContextTokens is the context window assumed for the model; the
	// prompt is cut to fit it with max_tokens to spare. Default
	// DefaultContextTokens.
	ContextTokens int
	// Retry bounds the retries of the LLM call.
	Retry Retry
	// HTTPClient reaches the LLM endpoint. Default: a client with
	// connection timeouts; redirects are never followed either way.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives what the bot does. Default: discard.
	Logger *slog.Logger
}

// Bot answers discussion comments with an LLM. It is safe for concurrent
// use.
type Bot struct {
	cfg       config.Reply
	keySource string
	chat      *chat
	opts      Options
	log       *slog.Logger
	system    string
	lease     time.Duration
	locks     discussionLocks
}

// New checks the configuration, chooses the API key (see APIKey) and
// returns a Bot. It makes no network call.
func New(cfg config.Reply, keys Keys, opts Options) (*Bot, error) {
	var errs []error
	if strings.TrimSpace(cfg.Model) == "" {
		errs = append(errs, errors.New("reply.model is required"))
	}
	if cfg.MaxTokens < 1 || cfg.MaxTokens > 32768 {
		errs = append(errs, fmt.Errorf("reply.max_tokens must be between 1 and 32768, got %d", cfg.MaxTokens))
	}
	if cfg.MaxRepliesPerDiscussion < 1 {
		errs = append(errs, fmt.Errorf("reply.max_replies_per_discussion must be at least 1, got %d", cfg.MaxRepliesPerDiscussion))
	}
	if cfg.MaxRepliesPerHour < 1 {
		errs = append(errs, fmt.Errorf("reply.max_replies_per_hour must be at least 1, got %d", cfg.MaxRepliesPerHour))
	}
	if cfg.Timeout <= 0 {
		errs = append(errs, errors.New("reply.timeout must be positive"))
	}
	switch cfg.Trigger {
	case TriggerMention, TriggerNewDiscussion, TriggerBoth:
	default:
		errs = append(errs, fmt.Errorf("reply.trigger must be mention, new-discussion or both, got %q", cfg.Trigger))
	}
	key, source, err := APIKey(cfg.BaseURL, keys)
	if err != nil {
		errs = append(errs, err)
	}
	if opts.Hub == nil {
		errs = append(errs, errors.New("reply: no Hub client"))
	}
	if opts.Ledger == nil {
		errs = append(errs, errors.New("reply: no ledger"))
	}
	if opts.Poster == nil && !opts.DryRun {
		errs = append(errs, errors.New("reply: no Poster, and not a dry run"))
	}
	if opts.CommandPrefix == "" {
		opts.CommandPrefix = chatops.DefaultPrefix
	}
	if err := (chatops.Syntax{Prefix: opts.CommandPrefix}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("reply: %w", err))
	}
	if opts.ContextTokens < 0 {
		errs = append(errs, fmt.Errorf("reply: context window of %d tokens", opts.ContextTokens))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if opts.ContextTokens == 0 {
		opts.ContextTokens = DefaultContextTokens
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Retry = opts.Retry.withDefaults()
	timeout := cfg.Timeout.D()
	return &Bot{
		cfg:       cfg,
		keySource: source,
		chat:      newChat(cfg.BaseURL, key, cfg.Model, cfg.MaxTokens, timeout, opts.Retry, opts.HTTPClient),
		opts:      opts,
		log:       opts.Logger,
		system:    systemPrompt(cfg.SystemPrompt),
		// A claim older than the longest an attempt can take (every LLM
		// call and wait, plus time for the Hub) was left by a worker that
		// died.
		lease: time.Duration(opts.Retry.Attempts)*(timeout+opts.Retry.Max) + 5*time.Minute,
	}, nil
}

// KeySource says which secret the bot sends to the LLM endpoint:
// KeyFromLLM, KeyFromHF or KeyFromNone. For logs at start-up.
func (b *Bot) KeySource() string { return b.keySource }

// Request is one comment to answer.
type Request struct {
	Repo       hubclient.Repo
	Discussion int
	CommentID  string // the comment to answer (a new discussion's first message for new-discussion)
	BotID      string // the bot's user id (whoami); may be empty in a dry run
	BotName    string // the bot's username; may be empty in a dry run
	// Owner identifies the attempt for the ledger: the job id, the same
	// on every attempt of one job, so that a retry resumes its own claim.
	Owner string
	// Logf, when set, receives the steps, for the job log (jobs.Log.Printf).
	Logf func(format string, args ...any)
}

func (r Request) validate() error {
	switch {
	case r.Repo.ID == "" || strings.Count(r.Repo.ID, "/") != 1:
		return fmt.Errorf("reply: invalid repo %q", r.Repo.ID)
	case r.Discussion < 1:
		return fmt.Errorf("reply to %s: invalid discussion number %d", r.Repo, r.Discussion)
	case !commentIDRE.MatchString(r.CommentID):
		return fmt.Errorf("reply to %s#%d: invalid comment id %q", r.Repo, r.Discussion, r.CommentID)
	}
	return nil
}

// Status is how a Reply ended.
type Status string

// Statuses of a Result.
const (
	// Posted: the reply is on the Hub (posted now, or found there from an
	// earlier attempt).
	Posted Status = "posted"
	// DryRun: the reply was written and not posted; Result.Text has it.
	DryRun Status = "dry-run"
	// Skipped: nothing to do (a limit, an earlier reply, a closed
	// discussion, ...); Result.Reason says which.
	Skipped Status = "skipped"
	// Failed: the model gave no usable answer (refusal, empty answer,
	// permanent error, or transient errors until the retries ran out).
	// Nothing was posted; Result.Reason says why, for the log only.
	Failed Status = "failed"
)

// Result is what a Reply did.
type Result struct {
	Status Status
	// Reason says why nothing was posted now (for Posted: where the earlier
	// reply was found). It is for the job log and never goes to the Hub.
	Reason string
	// Text is the reply as posted, or as it would be in a dry run.
	Text string
	// Comment is the reply on the Hub when Status is Posted.
	Comment *hubclient.Event
	// Attempts is how many times the model was called.
	Attempts int
	// PromptTokens and CompletionTokens are as the endpoint counted them.
	PromptTokens, CompletionTokens int
	// Prompt says what went into the prompt.
	Prompt PromptStats
}

// String is a one-line summary for the job log.
func (r Result) String() string {
	switch r.Status {
	case Posted:
		if r.Attempts == 0 {
			return "already answered: " + r.Reason
		}
		return fmt.Sprintf("posted a reply of %d characters (%d model calls, %d+%d tokens)",
			len([]rune(r.Text)), r.Attempts, r.PromptTokens, r.CompletionTokens)
	case DryRun:
		return fmt.Sprintf("dry run: would post a reply of %d characters", len([]rune(r.Text)))
	}
	return string(r.Status) + ": " + r.Reason
}

// Reply answers one comment: it reads the discussion and checks that the
// comment still wants an answer and that no limit is reached, claims the
// comment in the ledger, asks the model with the card and the thread,
// makes the answer safe, and posts it once.
//
// A Result with Status Skipped or Failed is a normal outcome, not an error.
// An error means the Hub or the ledger could not be reached, or the post
// failed; trying the same Request again is safe: a reply is never posted
// twice for one comment.
func (b *Bot) Reply(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	key := Key(req.Repo, req.Discussion, req.CommentID)
	logf := b.logger(req, key)
	if !b.opts.DryRun && req.BotID == "" && req.BotName == "" {
		return Result{}, fmt.Errorf("reply to %s: the bot's id and name are unknown, so its replies could not be recognised", key)
	}
	if !b.cfg.Enabled {
		return skipped(logf, "the reply bot is disabled"), nil
	}

	unlock, err := b.locks.lock(ctx, fmt.Sprintf("%s#%d", req.Repo, req.Discussion))
	if err != nil {
		return Result{}, fmt.Errorf("reply to %s: wait for the discussion's other reply: %w", key, err)
	}
	defer unlock()

	d, err := b.opts.Hub.GetDiscussion(ctx, req.Repo, req.Discussion)
	if err != nil {
		return Result{}, fmt.Errorf("reply to %s: %w", key, err)
	}
	th := readThread(d, req)
	if reason := b.guard(d, th); reason != "" {
		res := skipped(logf, reason)
		if th.answered != nil {
			res.Status, res.Comment = Posted, th.answered
		}
		return res, nil
	}

	now := b.opts.Now()
	claimed, err := b.opts.Ledger.ClaimReply(ctx, jobs.ReplyClaim{
		Key: key, Repo: req.Repo.String(), Owner: req.Owner, At: now,
		StaleBefore: now.Add(-b.lease),
		WindowStart: now.Add(-time.Hour), Cap: b.cfg.MaxRepliesPerHour,
	})
	if err != nil {
		return Result{}, fmt.Errorf("reply to %s: claim: %w", key, err)
	}
	switch claimed {
	case jobs.ReplyPosted:
		return skipped(logf, "this comment was answered already"), nil
	case jobs.ReplyBusy:
		return skipped(logf, "another attempt is answering this comment"), nil
	case jobs.ReplyLimited:
		return skipped(logf, fmt.Sprintf("%s had %d replies in the last hour (reply.max_replies_per_hour)",
			req.Repo, b.cfg.MaxRepliesPerHour)), nil
	case jobs.ReplyResumed:
		logf("resuming an unfinished earlier attempt; the discussion has no reply from it")
	}

	// From here on, the claim is released unless a reply may be on the Hub.
	keep := false
	defer func() {
		if !keep {
			if err := b.opts.Ledger.ReleaseReply(context.WithoutCancel(ctx), key); err != nil {
				b.log.Warn("release reply claim", "key", key, "err", err)
			}
		}
	}()

	card, cardErr := b.readCard(ctx, req.Repo, logf)
	user, stats := buildUser(promptInput{
		repo: req.Repo, num: req.Discussion, isPR: d.IsPullRequest, status: d.Status, title: d.Title,
		card: card, cardErr: cardErr, turns: th.turns, trigger: th.trigger,
	}, promptBudget(b.opts.ContextTokens, b.cfg.MaxTokens, b.system))
	stats.Tokens = estimateTokens(b.system) + estimateTokens(user)
	logf("asking %s: %d of %d comments, %d characters of card, about %d tokens",
		b.cfg.Model, stats.Comments-stats.Left, stats.Comments, stats.CardChars, stats.Tokens)

	ans, fail, err := b.chat.complete(ctx, b.system, user, logf)
	if err != nil {
		return Result{}, fmt.Errorf("reply to %s: %w", key, err)
	}
	if fail != nil {
		logf("no reply: %s", fail.reason)
		b.log.Warn("the model gave no usable answer", "key", key, "reason", fail.reason)
		return Result{Status: Failed, Reason: fail.reason, Attempts: fail.attempts, Prompt: stats}, nil
	}
	res := Result{Attempts: ans.attempts, PromptTokens: ans.promptTokens, CompletionTokens: ans.completionTokens, Prompt: stats}

	res.Text = compose(composeInput{
		answer: ans.text, cutShort: ans.cutShort, commentID: req.CommentID, model: b.cfg.Model,
		syntax: chatops.Syntax{Prefix: b.opts.CommandPrefix, Name: validName(req.BotName)},
		people: th.people,
	})
	if res.Text == "" {
		res.Status, res.Reason = Failed, "nothing was left of the model's answer once made safe"
		logf("no reply: %s", res.Reason)
		return res, nil
	}
	if b.opts.DryRun {
		res.Status = DryRun
		logf("dry run: would comment on %s#%d:\n%s", req.Repo, req.Discussion, res.Text)
		return res, nil
	}

	ev, err := b.post(ctx, req, res.Text, logf)
	if err != nil {
		// keep the claim when the post may have landed: the next attempt
		// looks at the discussion before posting.
		keep = hubclient.IsAmbiguous(err)
		return res, fmt.Errorf("reply to %s: %w", key, err)
	}
	keep = true
	if err := b.opts.Ledger.ReplyPosted(context.WithoutCancel(ctx), key, b.opts.Now()); err != nil {
		// The marker on the Hub still prevents a second reply.
		b.log.Warn("record posted reply", "key", key, "err", err)
	}
	res.Status, res.Comment = Posted, ev
	logf("posted the reply (%s)", ev.ID)
	return res, nil
}

// post comments once. When the Hub's answer is ambiguous (the comment may
// or may not exist), it reads the discussion and looks for the reply's
// marker before posting again, once; it reports whether the reply is on the
// Hub. An error that hubclient.IsAmbiguous reports means the reply may be
// on the Hub.
func (b *Bot) post(ctx context.Context, req Request, text string, logf func(string, ...any)) (*hubclient.Event, error) {
	const tries = 2
	var err error
	for i := 1; i <= tries; i++ {
		var ev *hubclient.Event
		ev, err = b.opts.Poster.Comment(ctx, req.Repo, req.Discussion, text)
		if err == nil {
			if ev == nil {
				ev = &hubclient.Event{}
			}
			return ev, nil
		}
		if !hubclient.IsAmbiguous(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("post: %w", err)
		}
		logf("posting got an ambiguous answer (%v); looking for the reply before trying again", err)
		d, gerr := b.opts.Hub.GetDiscussion(ctx, req.Repo, req.Discussion)
		if gerr != nil {
			return nil, fmt.Errorf("post: %w; and the discussion could not be read to check whether it landed: %v", err, gerr)
		}
		if found := readThread(d, req).answered; found != nil {
			logf("the reply was posted after all (%s)", found.ID)
			return found, nil
		}
	}
	return nil, fmt.Errorf("post: %w (ambiguous %d times; the claim is kept, so the next attempt looks before posting)", err, tries)
}

// guard checks the discussion at the time of the job: what Decide saw may
// have changed since the webhook.
func (b *Bot) guard(d *hubclient.DiscussionDetails, th thread) string {
	switch {
	case th.answered != nil:
		return "the comment was answered already (" + th.answered.ID + ")"
	case th.triggerEvent == nil:
		return "the comment is not in the discussion: it may have been deleted"
	case th.triggerEvent.Hidden():
		return "the comment is hidden"
	case th.trigger < 0:
		return "the comment is empty"
	case th.turns[th.trigger].bot:
		return "the comment is the bot's own"
	case HasMarker(th.triggerEvent.Content()):
		return "the comment carries hubbot's marker"
	case d.Status != hubclient.StatusOpen && d.Status != hubclient.StatusDraft:
		return "the discussion is " + orUnknown(d.Status)
	case d.IsPullRequest && !b.cfg.PullRequests:
		return "pull requests are not answered (reply.pull_requests = false)"
	case th.botReplies >= b.cfg.MaxRepliesPerDiscussion:
		return fmt.Sprintf("the bot replied %d times in this discussion (reply.max_replies_per_discussion = %d)",
			th.botReplies, b.cfg.MaxRepliesPerDiscussion)
	}
	return ""
}

// readCard reads the start of the repo's README.md on main. A missing card
// is normal; a card that cannot be read is left out rather than failing
// the reply.
func (b *Bot) readCard(ctx context.Context, repo hubclient.Repo, logf func(string, ...any)) (string, string) {
	w := &capWriter{max: maxCardBytes}
	_, err := b.opts.Hub.Download(ctx, repo, "main", "README.md", w, nil)
	switch {
	case err == nil, errors.Is(err, errCardCap):
		return w.buf.String(), ""
	case hubclient.IsNotFound(err):
		return "", "missing"
	}
	logf("the card could not be read, answering without it: %v", err)
	return "", "unreadable"
}

var errCardCap = errors.New("card cap reached")

// capWriter keeps the first max bytes, then fails the download.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := w.max - w.buf.Len()
	if len(p) > room {
		w.buf.Write(p[:room])
		return room, errCardCap
	}
	return w.buf.Write(p)
}

// thread is what the bot reads in a discussion.
type thread struct {
	turns        []turn           // visible comments, oldest first
	trigger      int              // index in turns of the comment to answer; -1 when not there
	triggerEvent *hubclient.Event // the comment to answer, hidden or not; nil when not there
	botReplies   int              // the bot's earlier replies
	answered     *hubclient.Event // the bot's reply to this comment, when one exists
	people       map[string]bool  // lowercased names of the authors, who a reply may mention
}

// readThread reads the comments of d. The bot's earlier replies are its
// comments that carry a reply marker, and its hidden comments (a moderator
// hid a reply: it still counts).
func readThread(d *hubclient.DiscussionDetails, req Request) thread {
	th := thread{trigger: -1, people: map[string]bool{}}
	opener := ""
	if d.Author != nil {
		opener = d.Author.Name
	}
	marker := Marker(req.CommentID)
	for i := range d.Events {
		e := &d.Events[i]
		if e.Type != hubclient.EventComment {
			continue
		}
		byBot := e.Author != nil && ((req.BotID != "" && strings.EqualFold(e.Author.ID, req.BotID)) ||
			(req.BotName != "" && strings.EqualFold(e.Author.Name, req.BotName)))
		content := e.Content()
		isTrigger := strings.EqualFold(e.ID, req.CommentID)
		if isTrigger {
			th.triggerEvent = e
		}
		if byBot && (e.Hidden() || strings.Contains(strings.ToLower(content), "<!-- hubbot:reply:")) {
			th.botReplies++
			if strings.Contains(strings.ToLower(content), marker) && th.answered == nil {
				th.answered = e
			}
		}
		if byBot {
			content = stripFooter(content)
		}
		// What a reader sees: a comment of nothing but hidden text is empty.
		content = clean(content)
		if e.Hidden() || strings.TrimSpace(content) == "" {
			continue
		}
		name := safeName(e.AuthorName())
		th.people[strings.ToLower(name)] = true
		if isTrigger {
			th.trigger = len(th.turns)
		}
		th.turns = append(th.turns, turn{
			n: len(th.turns) + 1, author: name, bot: byBot,
			opener: opener != "" && strings.EqualFold(e.AuthorName(), opener),
			owner:  e.Author != nil && e.Author.IsOwner,
			text:   content,
		})
	}
	return th
}

// validName returns name when it can be used in chatops.Syntax, else "".
func validName(name string) string {
	if (chatops.Syntax{Prefix: chatops.DefaultPrefix, Name: name}).Validate() != nil {
		return ""
	}
	return name
}

func skipped(logf func(string, ...any), reason string) Result {
	logf("no reply: %s", reason)
	return Result{Status: Skipped, Reason: reason}
}

// logger returns the step logger of one request: the request's Logf and the
// bot's logger at debug level.
func (b *Bot) logger(req Request, key string) func(string, ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		b.log.Debug(msg, "key", key)
		if req.Logf != nil {
			req.Logf("%s", msg)
		}
	}
}
