// Command hubbot is a CI/CD bot for Hugging Face Hub repositories.
//
// Usage:
//
//	hubbot serve [--config PATH]
//	hubbot replay [--url URL] [--secret S] FILE...
//	hubbot check-config [--config PATH]
//	hubbot check DIR
//	hubbot convert SRC DST
//	hubbot version
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; without
// it, the module version or VCS revision from the build info is used.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "hubbot %s\n", versionString())
		return 0
	case "help", "--help", "-h":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "hubbot: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: hubbot <command> [flags]

commands:
  serve          run the webhook server and workers
  replay         post saved webhook payloads to a running bot
  check-config   validate and print the effective configuration
  check DIR      check the model card in a local folder
  convert SRC DST
                 convert a PyTorch checkpoint (file or folder) to safetensors
  version        print the version
`)
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
