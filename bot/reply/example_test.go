package reply_test

import (
	"fmt"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/reply"
)

// The webhook handler asks Decide whether a comment gets a reply job.
func ExampleDecide() {
	cfg := config.Default().Reply
	cfg.Enabled, cfg.Model = true, "meta-llama/Llama-3.1-8B-Instruct"
	trigger := reply.TriggerOf(cfg)

	ev := reply.EventFacts{
		Scope: "discussion.comment", Action: "create", Status: "open",
		Text: "@hubbot-ci how was this model trained?", AuthorID: "65f0000000000000000000a1",
		BotID: "65f0000000000000000000b0", BotName: "hubbot-ci",
	}
	fmt.Println(reply.Decide(trigger, ev))

	ev.IsPullRequest = true
	fmt.Println(reply.Decide(trigger, ev))

	ev.IsPullRequest, ev.AuthorID = false, ev.BotID
	fmt.Println(reply.Decide(trigger, ev))
	// Output:
	// true the comment mentions @hubbot-ci
	// false pull requests are not answered (reply.pull_requests = false)
	// false the comment is the bot's own
}

// The Hub token goes to the Hugging Face router, and nowhere else.
func ExampleAPIKey() {
	keys := reply.Keys{HF: "hf_xxx"}
	_, source, _ := reply.APIKey("https://router.huggingface.co/v1", keys)
	fmt.Println(source)
	_, source, _ = reply.APIKey("https://api.openai.com/v1", keys)
	fmt.Println(source)
	keys.LLM = "sk-xxx"
	_, source, _ = reply.APIKey("https://api.openai.com/v1", keys)
	fmt.Println(source)
	// Output:
	// HF_TOKEN
	// none
	// LLM_API_KEY
}
