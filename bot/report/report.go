// Package report renders what hubbot posts on the Hub: the sticky comment of
// a pull request and the description of a branch's report discussion. Each
// carries a hidden marker so the bot finds it again and edits it in place
// (queued -> running -> result) instead of posting anew, and is cut to the
// Hub's comment size keeping the end of the details, where the useful part
// of a log usually is.
package report

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hubbot/hubbot/bot/refs"
)

// MaxSize is the largest comment the Hub accepts, in characters.
const MaxSize = 65536

// State is what a report shows.
type State string

// States of a report.
const (
	Queued    State = "queued"
	Running   State = "running"
	Success   State = "success"
	Failure   State = "failure"
	Neutral   State = "neutral"
	Skipped   State = "skipped"
	Errored   State = "error"
	Cancelled State = "cancelled"
	// Waiting is a pull request's code that waits for an allowed user's
	// approval before it runs.
	Waiting State = "waiting"
)

var icons = map[State]string{
	Queued: "⏳", Running: "🔄", Success: "✅", Failure: "❌", Neutral: "ℹ️",
	Skipped: "⏭️", Errored: "⚠️", Cancelled: "🚫", Waiting: "✋",
}

// Report is one rendering of an action's outcome for one revision.
type Report struct {
	Action  string
	Ref     string // refs/heads/main, refs/pr/3, ...
	Base    string // for a pull request, the ref it merges into; else empty
	SHA     string
	State   State
	Summary string // one line of markdown
	Details string // markdown, shown collapsed
	LogURL  string // link to the full job log; empty when there is no public URL
	Updated time.Time
	// Fingerprint identifies the findings, for branch reports, which are
	// edited only when it changes; it goes in the revision marker.
	Fingerprint string
}

// Revision is what a report covers: an action on a revision, the state it
// shows and the fingerprint of its findings. Render writes it as a hidden
// marker on the report's second line; a bot whose store was lost reads it
// back from the Hub (ParseRevision) to learn what it already reported.
type Revision struct {
	Action      string
	SHA         string
	State       State
	Fingerprint string
}

const revisionPrefix, markerEnd = "<!-- hubbot:revision:", " -->"

// fingerprintRE is what a fingerprint may be to go in a marker; others are
// left out (the report is then edited once more after a loss of the store).
var fingerprintRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// Marker renders the revision as a hidden marker.
func (v Revision) Marker() string {
	fp := v.Fingerprint
	if !fingerprintRE.MatchString(fp) {
		fp = ""
	}
	return revisionPrefix + v.Action + ":" + v.SHA + ":" + string(v.State) + ":" + fp + markerEnd
}

// ParseRevision reads the revision marker of a report the bot posted. Only
// the marker's own place counts, the second line: the details below hold
// text the bot does not control, such as command output.
func ParseRevision(body string) (Revision, bool) {
	lines := strings.SplitN(body, "\n", 3)
	if len(lines) < 2 {
		return Revision{}, false
	}
	line := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(line, revisionPrefix) || !strings.HasSuffix(line, markerEnd) {
		return Revision{}, false
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, revisionPrefix), markerEnd), ":")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Revision{}, false
	}
	return Revision{Action: parts[0], SHA: parts[1], State: State(parts[2]), Fingerprint: parts[3]}, true
}

// Final reports whether a report in state s shows how the work ended, so
// that the revision needs no other run: queued and running reports were
// left by work that was lost, and a cancelled one by a shutdown (it runs
// again at the restart) or by a command.
func (s State) Final() bool {
	switch s {
	case Success, Failure, Neutral, Skipped, Errored:
		return true
	}
	return false
}

// Marker is the hidden marker of the sticky report of an action in a pull request.
func Marker(action string) string { return "<!-- hubbot:report:" + action + " -->" }

// BranchMarker is the hidden marker of the report discussion of an action on
// a branch or tag.
func BranchMarker(action, ref string) string {
	return "<!-- hubbot:report:" + action + ":" + ref + " -->"
}

// Title is the title of a branch's report discussion.
func Title(action, ref string) string {
	if ref == refs.Main || ref == "" {
		return "hubbot: " + action
	}
	// Branches go by their name, other refs by what follows "refs/", as
	// titles always have: the bot finds its discussions by their title.
	name := strings.TrimPrefix(ref, "refs/")
	if r := refs.Parse(ref); r.Kind == refs.Branch {
		name = r.Name
	}
	return fmt.Sprintf("hubbot: %s on %s", action, name)
}

// Render returns the markdown body with the given marker first. The result
// never exceeds MaxSize. It is not yet safe to post: the caller passes it
// through the loop guard (chatops.Syntax.Safe) with everything else the bot
// posts.
func Render(marker string, r Report) string {
	var head strings.Builder
	head.WriteString(marker + "\n")
	if r.SHA != "" {
		head.WriteString(Revision{Action: r.Action, SHA: r.SHA, State: r.State, Fingerprint: r.Fingerprint}.Marker() + "\n")
	}
	icon := icons[r.State]
	summary := oneLine(r.Summary)
	if summary == "" {
		summary = defaultSummary(r.State)
	}
	fmt.Fprintf(&head, "### %s %s: %s\n\n", icon, escapeInline(r.Action), summary)
	var meta []string
	if r.SHA != "" {
		meta = append(meta, "`"+short(r.SHA)+"`")
	}
	if r.Ref != "" {
		ref := "`" + strings.ReplaceAll(r.Ref, "`", "") + "`"
		if r.Base != "" {
			ref += " into `" + strings.ReplaceAll(refs.Parse(r.Base).Short(), "`", "") + "`"
		}
		meta = append(meta, ref)
	}
	if r.LogURL != "" {
		meta = append(meta, "[full log]("+r.LogURL+")")
	}
	if !r.Updated.IsZero() {
		meta = append(meta, "updated "+r.Updated.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(&head, "<sub>hubbot · %s</sub>\n", strings.Join(meta, " · "))

	details := strings.TrimSpace(r.Details)
	if details == "" {
		return head.String()
	}
	const open, close = "\n<details><summary>Details</summary>\n\n", "\n\n</details>\n"
	room := MaxSize - len([]rune(head.String())) - len([]rune(open)) - len([]rune(close)) - 300
	details = Tail(details, room, r.LogURL)
	return head.String() + open + details + close
}

// Tail keeps the end of md within max characters, re-opening a code fence
// the cut fell into, and says how much was cut and where the full log is.
func Tail(md string, max int, logURL string) string {
	runes := []rune(md)
	if len(runes) <= max {
		return md
	}
	note := fmt.Sprintf("_… %d characters cut; ", len(runes)-max)
	if logURL != "" {
		note += "the [full log](" + logURL + ") has everything._\n\n"
	} else {
		note += "the job log has everything._\n\n"
	}
	keep := max - len([]rune(note)) - 8
	if keep < 0 {
		keep = 0
	}
	cut, rest := string(runes[:len(runes)-keep]), string(runes[len(runes)-keep:])
	// Start the kept part at a line boundary when one is near.
	if i := strings.IndexByte(rest, '\n'); i >= 0 && i < 200 {
		cut, rest = cut+rest[:i+1], rest[i+1:]
	}
	if strings.Count(cut, "```")%2 == 1 {
		rest = "```\n" + rest
	}
	return note + rest
}

var markdownSpecial = regexp.MustCompile("([\\\\`*_\\[\\]<>|#])")

// escapeInline escapes markdown in short untrusted text shown inline.
func escapeInline(s string) string { return markdownSpecial.ReplaceAllString(s, `\$1`) }

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

func defaultSummary(s State) string {
	switch s {
	case Queued:
		return "queued"
	case Running:
		return "running"
	case Success:
		return "passed"
	case Failure:
		return "failed"
	case Skipped:
		return "skipped"
	case Cancelled:
		return "cancelled"
	case Waiting:
		return "waiting for approval"
	case Errored:
		return "could not run"
	}
	return "done"
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
