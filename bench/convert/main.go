// Command convert is the Go side of the conversion benchmark: it calls the
// same library function as `hubbot convert SRC DST` and prints its report,
// so bench/convert/run.sh can measure it before the CLI is wired.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/hubbot/hubbot/actions/safetensors"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: convert SRC DST")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := safetensors.ConvertPath(ctx, os.Args[1], os.Args[2], safetensors.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "convert: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(rep)
}
