// Package chatops reads commands in Hub discussion comments ("/hubbot check",
// "@hubbot rerun --failed") and runs them.
//
// The pieces, in the order the bot uses them:
//
//   - Guard decides from the webhook's facts whether a comment may be read at
//     all (new, visible, not the bot's own, on an open discussion).
//   - Registry.Parse reads the comment's markdown and answers Ignore (not for
//     the bot), Reply (a mistake, with "did you mean") or Run (invocations).
//     It is pure, so the webhook handler can call it and answer quickly.
//   - Registry.Execute, in a job, authorizes each invocation against the
//     allow rules, runs its handler and posts one reply. It reaches the rest
//     of the bot only through the narrow interfaces in Env.
//   - Syntax.Safe escapes everything the bot posts so that no line of it is a
//     command, for this bot or another; Mentions tells the reply bot when it
//     is addressed.
//
// The command set is built per configuration by New: one registration gives a
// command its grammar, help, permission and handler, so help cannot drift
// from what dispatches.
package chatops
