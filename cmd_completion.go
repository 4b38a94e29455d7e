package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

const completionHelp = `
Print a completion script for bash, zsh or fish. It completes command names
and each command's flags, as listed by the command's own -h.`

func completionCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("completion", stderr)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return usageError(stderr, "completion", err)
	}
	words := completionWords(ctx)
	switch pos[0] {
	case "bash":
		writeBash(stdout, words)
	case "zsh":
		fmt.Fprint(stdout, "#compdef hubbot\nautoload -U +X bashcompinit && bashcompinit\n")
		writeBash(stdout, words)
	case "fish":
		writeFish(stdout, words)
	default:
		return usagef(stderr, "completion", "unknown shell %q (want bash, zsh or fish)", pos[0])
	}
	return 0
}

// flagLine matches a flag in a command's help: "  --name ...".
var flagLine = regexp.MustCompile(`(?m)^  (?:-h, )?(--[a-z][a-z0-9-]*)`)

// completionWords maps each command to its flags, read from the help each
// command prints, so completion cannot drift from the flags that exist.
func completionWords(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for _, c := range commands() {
		var help bytes.Buffer
		c.run(ctx, []string{"-h"}, &help, &help, func(string) string { return "" })
		var flags []string
		for _, m := range flagLine.FindAllStringSubmatch(help.String(), -1) {
			flags = append(flags, m[1])
		}
		out[c.name] = flags
	}
	for _, sub := range devSubcommands() {
		out["dev"] = append(out["dev"], sub.name)
	}
	return out
}

func sortedNames(words map[string][]string) []string {
	names := make([]string, 0, len(words))
	for n := range words {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func writeBash(w io.Writer, words map[string][]string) {
	names := sortedNames(words)
	fmt.Fprintf(w, `_hubbot() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "%s help" -- "$cur"))
        return
    fi
    local flags=""
    case "${COMP_WORDS[1]}" in
`, strings.Join(names, " "))
	for _, n := range names {
		fmt.Fprintf(w, "        %s) flags=%q ;;\n", n, strings.Join(words[n], " "))
	}
	fmt.Fprint(w, `        help) COMPREPLY=($(compgen -W "`+strings.Join(names, " ")+`" -- "$cur")); return ;;
    esac
    if [[ "$cur" == -* || "${COMP_WORDS[1]}" == dev ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _hubbot hubbot
`)
}

func writeFish(w io.Writer, words map[string][]string) {
	names := sortedNames(words)
	fmt.Fprintf(w, "complete -c hubbot -f -n __fish_use_subcommand -a %q\n", strings.Join(append(names, "help"), " "))
	for _, n := range names {
		for _, f := range words[n] {
			fmt.Fprintf(w, "complete -c hubbot -n '__fish_seen_subcommand_from %s' -l %s\n", n, strings.TrimPrefix(f, "--"))
		}
	}
}
