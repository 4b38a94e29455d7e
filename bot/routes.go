package bot

// The routing table: which webhook events become which jobs. Every route is
// here, side by side; each only reads the payload and the configuration,
// since it runs while the Hub waits for the answer.

import (
	"context"
	"strings"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/bot/refs"
	"github.com/hubbot/hubbot/bot/webhook"
)

// router routes pushes to runs, comments and new discussions to commands
// and the reply bot, and says why everything else needs no work.
func (b *Bot) router() *webhook.Router {
	r := webhook.NewRouter()
	r.Handle("repo.content", "update", ContentRoute(b.cfg))
	r.Handle("discussion.comment", "create", b.onComment)
	r.Handle("discussion", "create", b.onComment) // its first message comes with it
	r.Handle("discussion.comment", "update", ignore("comment edits and hides are not acted on"))
	r.Handle("discussion", "update", ignore("discussion status and title changes need no work"))
	r.Handle("discussion", "delete", ignore("discussion deleted"))
	r.Handle("repo", "create", ignore("repo creation needs no work"))
	r.Handle("repo", "delete", ignore("repo deleted"))
	r.Handle("repo", "move", ignore("repo moved"))
	r.Handle("repo", "update", ignore("repo settings changed"))
	r.Handle("repo.config", "update", ignore("repo configuration changed"))
	return r
}

func ignore(reason string) webhook.HandlerFunc {
	return func(context.Context, *webhook.Payload) (webhook.Decision, error) {
		return webhook.Ignored("%s", reason), nil
	}
}

// ContentRoute turns a repo.content event into one run job per updated ref
// and matching action: `push` for branches, `pull_request` for pull
// requests, `tag` for tags. Deleted refs are ignored.
func ContentRoute(cfg *config.Config) webhook.HandlerFunc {
	return func(ctx context.Context, p *webhook.Payload) (webhook.Decision, error) {
		if len(p.UpdatedRefs) == 0 {
			return webhook.Ignored("repo.content event without updatedRefs"), nil
		}
		var specs []jobs.Spec
		var skipped []string
		for _, u := range p.UpdatedRefs {
			if u.New() == "" {
				skipped = append(skipped, u.Ref+" deleted")
				continue
			}
			ref := refs.Parse(u.Ref)
			matched := false
			for _, a := range cfg.Actions {
				trigger, ok := refTrigger(&a, ref)
				if !ok {
					continue
				}
				matched = true
				specs = append(specs, jobs.Spec{
					Kind: jobs.KindRun, Action: a.Name, Trigger: trigger,
					Repo: p.HubRepo(), Ref: u.Ref, SHA: u.New(), OldSHA: u.Old(), Discussion: ref.Num, OwnerID: p.Repo.Owner.ID,
				})
			}
			if !matched {
				skipped = append(skipped, u.Ref+" matches no action")
			}
		}
		if len(specs) == 0 {
			return webhook.Ignored("%s", strings.Join(skipped, "; ")), nil
		}
		return webhook.Decision{Jobs: specs}, nil
	}
}

// refTrigger reports which trigger of a fires for an update of ref.
func refTrigger(a *config.Action, ref refs.Ref) (string, bool) {
	switch ref.Kind {
	case refs.Branch:
		return config.OnPush, a.Has(config.OnPush) && a.MatchesBranch(ref.Name)
	case refs.PullRequest:
		return config.OnPullRequest, a.Has(config.OnPullRequest)
	case refs.Tag:
		return config.OnTag, a.Has(config.OnTag) && a.MatchesTag(ref.Name)
	}
	return "", false // refs/convert/* and anything else the Hub may add
}
