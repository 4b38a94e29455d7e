package bot

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hubbot/hubbot/hubclient"
)

func TestDecide(t *testing.T) {
	cases := []struct {
		name string
		f    trustFacts
		want verdict
	}{
		{"an allowed author's code runs", trustFacts{authorAllowed: true}, runCode},
		{"privileged actions too", trustFacts{authorAllowed: true, privileged: true}, runCode},
		{"a stranger's code waits", trustFacts{}, waitForApproval},
		{"until approved", trustFacts{approved: true}, runCode},
		{"a privileged action never runs it", trustFacts{privileged: true}, neverRun},
		{"approved or not", trustFacts{privileged: true, approved: true}, neverRun},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, decide(tc.f))
		})
	}
}

func TestPushedAfter(t *testing.T) {
	ev := func(id, typ string) hubclient.Event {
		return hubclient.Event{ID: id, Type: typ, Data: json.RawMessage(`{}`)}
	}
	d := &hubclient.DiscussionDetails{Events: []hubclient.Event{
		ev("c0", hubclient.EventComment), ev("k1", hubclient.EventCommit), ev("c1", hubclient.EventComment),
		ev("c2", hubclient.EventComment), ev("k2", hubclient.EventCommit), ev("c3", hubclient.EventComment),
	}}
	assert.True(t, pushedAfter(d, "c0"))
	assert.True(t, pushedAfter(d, "c2"), "a commit after the comment")
	assert.False(t, pushedAfter(d, "c3"), "commits before the comment are what it approves")
	assert.False(t, pushedAfter(d, "gone"), "a comment not in the timeline proves nothing")
}
