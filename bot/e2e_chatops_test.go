package bot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubbot/hubbot/bot/jobs"
	"github.com/hubbot/hubbot/hubclient/hubtest"
)

const chatopsConfig = `
[[actions]]
name = "model-card"
uses = "modelcard"
on = ["command"]

[[actions]]
name = "convert"
uses = "safetensors"
on = ["command"]
`

// lastBotComment returns the newest comment of the bot in discussion num.
func (h *harness) lastBotComment(num int) string {
	cs := h.botComments(num)
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].Content
}

func TestOwnerCheckCommandReportsOnPRHead(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	pr, err := h.hub.OpenPR(h.alice, "alice/tiny", "Fix card", "Fixing the card", hubtest.Change{Files: map[string][]byte{"README.md": []byte(brokenCard)}})
	require.NoError(t, err)
	// The PR moves on before anyone asks: the command must use the head at
	// the time it is handled, not anything from the payload.
	head, err := h.hub.Push(h.alice, "alice/tiny", pr.Ref, hubtest.Change{Files: map[string][]byte{"notes.txt": []byte("n")}})
	require.NoError(t, err)
	h.idle()

	_, err = h.hub.Comment(h.alice, "alice/tiny", pr.Num, "Thanks!\n\n/hubbot check")
	require.NoError(t, err)
	list := h.waitJobs(2) // the command job and the run it queued
	var run *jobs.Job
	for _, j := range list {
		if j.Spec.Kind == jobs.KindRun {
			run = j
		}
	}
	require.NotNil(t, run)
	assert.Equal(t, head, run.Spec.SHA)
	assert.Equal(t, "command", run.Spec.Trigger)
	assert.Equal(t, jobs.StateFailed, run.State, "the broken card fails the check")
	h.idle()

	var sticky, ack string
	for _, c := range h.botComments(pr.Num) {
		if strings.HasPrefix(c.Content, "<!-- hubbot:report:model-card -->") {
			sticky = c.Content
		} else {
			ack = c.Content
		}
	}
	assert.Contains(t, sticky, head[:7], "the report is about the PR's current head")
	h.golden("check-command-sticky", sticky)
	h.golden("check-command-ack", ack)
	for _, line := range strings.Split(sticky+"\n"+ack, "\n") {
		assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "/hubbot"), "bot output never starts a line with the prefix: %q", line)
	}
}

func TestStrangerConvertIsDenied(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	pr, err := h.hub.OpenPR(h.bob, "alice/tiny", "Weights", "Adding weights", hubtest.Change{Files: map[string][]byte{"x.txt": []byte("x")}})
	require.NoError(t, err)
	h.idle()
	_, err = h.hub.Comment(h.bob, "alice/tiny", pr.Num, "/hubbot convert")
	require.NoError(t, err)
	list := h.waitJobs(1)
	require.Len(t, list, 1, "no run is queued")
	assert.Equal(t, jobs.KindCommand, list[0].Spec.Kind)
	h.idle()
	reply := h.lastBotComment(pr.Num)
	h.golden("convert-denied", reply)
	assert.NotContains(t, reply, "user:", "the denial never shows the config")
}

func TestHelpListsExactlyTheRegisteredCommands(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	num, err := h.hub.OpenDiscussion(h.bob, "alice/tiny", "How do I use the bot?", "Hello")
	require.NoError(t, err)
	h.idle()
	_, err = h.hub.Comment(h.bob, "alice/tiny", num, "/hubbot help")
	require.NoError(t, err)
	h.waitJobs(1)
	deliveries := h.idle()
	help := h.lastBotComment(num)
	require.NotEmpty(t, help)
	for _, name := range h.bot.commands.reg.Names() {
		assert.Contains(t, help, name)
	}
	assert.Contains(t, help, strings.TrimSpace(h.bot.commands.reg.Help()))

	// The bot's own help comment came back as a webhook and was ignored.
	var own int
	for _, d := range deliveries {
		if d.Scope == "discussion.comment" && strings.Contains(string(d.Response), "authored by hubbot") {
			own++
		}
	}
	assert.Equal(t, 1, own)

	// Replaying the command delivery posts nothing new.
	var commandDelivery []byte
	for _, d := range deliveries {
		var p struct {
			Comment struct {
				Author struct{ ID string } `json:"author"`
			} `json:"comment"`
		}
		require.NoError(t, d.Event(&p))
		if d.Scope == "discussion.comment" && p.Comment.Author.ID == h.bob.ID {
			commandDelivery = d.Payload
		}
	}
	require.NotNil(t, commandDelivery)
	before := len(h.botComments(num))
	status, body := h.post(commandDelivery, map[string]string{"X-Webhook-Secret": testSecret})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "duplicate", body["status"], "%v", body)
	h.waitJobs(1)
	assert.Len(t, h.botComments(num), before)
}

func TestCommandsInQuotesAndCodeAreIgnored(t *testing.T) {
	h := newHarness(t, chatopsConfig)
	num, err := h.hub.OpenDiscussion(h.alice, "alice/tiny", "Notes", "Notes")
	require.NoError(t, err)
	h.idle()
	_, err = h.hub.Comment(h.alice, "alice/tiny", num, "> /hubbot convert\n\n```\n/hubbot convert\n```\nsee `/hubbot convert`")
	require.NoError(t, err)
	deliveries := h.idle()
	last := deliveries[len(deliveries)-1]
	assert.Contains(t, string(last.Response), "ignored")
	list, err := h.bot.queue.Jobs(t.Context(), jobs.JobFilter{})
	require.NoError(t, err)
	assert.Empty(t, list)
}
