package chatops_test

import (
	"fmt"

	"github.com/hubbot/hubbot/bot/chatops"
)

// The webhook layer guards, parses and answers at once; execution happens
// later, in a job, through Registry.Execute.
func Example() {
	r, err := chatops.New(chatops.Config{
		BotName: "hubbot",
		Allow:   []string{"repo-owner"},
		Actions: []chatops.ActionConfig{{Name: "model-card", Shortcut: "check", ShortcutHelp: "Check the model card.", Command: true}},
	})
	if err != nil {
		panic(err)
	}
	v := chatops.Guard(chatops.Facts{
		Scope: "discussion.comment", Action: "create", BotID: "bot-id", AuthorID: "user-id",
		HasContent: true, Status: "open", RepoAllowed: true,
	})
	fmt.Println("ignored:", v.Ignore)

	res := r.Parse("Thanks!\n\n- `/hubbot check` <!-- sent from the app -->\n> /hubbot cancel")
	fmt.Println(res.Kind, res.Invocations[0].Command, res.Invocations[0].Line)

	res = r.Parse("/hubbot chek")
	fmt.Println(res.Kind)
	fmt.Println(res.Reply)
	// Output:
	// ignored: false
	// run check /hubbot check
	// reply
	// > /hubbot chek
	//
	// `chek` is not a command. Did you mean `check`?
	//
	// Nothing was run. Comment `/hubbot help` for the list of commands.
}

// Everything the bot posts goes through Safe, so that no line of it reads as
// a command to this bot or to another.
func ExampleSyntax_Safe() {
	s := chatops.Syntax{Prefix: "/hubbot", Name: "hubbot"}
	fmt.Println(s.Safe("/hubbot convert was asked by @alice; ask @hubbot for help.\n`/retest`"))
	// Output:
	// \/hubbot convert was asked by @alice; ask \@hubbot for help.
	// `/retest`
}
