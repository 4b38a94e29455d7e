package main

// `hubbot db`: the store's schema and the move from SQLite to Postgres, for
// operators who apply migrations ahead of a deploy.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"sort"

	"github.com/hubbot/hubbot/bot/config"
	"github.com/hubbot/hubbot/bot/jobs"
)

const dbUsage = `
  hubbot db migrate [--config PATH] [--url URL] [--data-dir DIR]
                     apply River's and hubbot's pending migrations
  hubbot db status  [--config PATH] [--url URL] [--data-dir DIR]
                     show which migrations are applied (exit 1 when some are pending)
  hubbot db copy --from DIR --to postgres://...
                     carry the embedded store in DIR over to a new Postgres database

The store is --url (default $HUBBOT_DATABASE_URL, else [store] url of --config),
or the embedded SQLite store in --data-dir (default $HUBBOT_DATA, else
[store] data_dir of --config, else ./data).
`

func dbCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage:"+dbUsage)
		return 2
	}
	switch args[0] {
	case "migrate", "status":
		return dbSchema(ctx, args[0], args[1:], stdout, stderr, getenv)
	case "copy":
		return dbCopy(ctx, args[1:], stdout, stderr)
	case "help", "--help", "-h", "-help":
		printHelp(stdout, "db", flag.NewFlagSet("db", flag.ContinueOnError))
		return 0
	}
	fmt.Fprintf(stderr, "hubbot: db: unknown command %q; want migrate, status or copy\n", args[0])
	return 2
}

func dbSchema(ctx context.Context, name string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := newFlags("db "+name, stderr)
	cfgPath := fs.String("config", "", "config file to read [store] from")
	dbURL := fs.String("url", getenv("HUBBOT_DATABASE_URL"), "postgres:// URL of the store")
	dataDir := fs.String("data-dir", getenv("HUBBOT_DATA"), "data dir of the embedded store")
	if fs.Parse(args) != nil {
		return 2
	}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath, getenv)
		if err != nil {
			fmt.Fprintf(stderr, "hubbot: %v\n", err)
			return 1
		}
		if *dbURL == "" {
			*dbURL = cfg.Store.URL
		}
		if *dataDir == "" {
			*dataDir = cfg.Store.DataDir
		}
	}
	if *dataDir == "" {
		*dataDir = "./data"
	}
	where := "SQLite in " + *dataDir
	if *dbURL != "" {
		where = redact(*dbURL)
	}
	var st jobs.SchemaStatus
	var err error
	if name == "migrate" {
		st, err = jobs.Migrate(ctx, *dataDir, *dbURL)
	} else {
		st, err = jobs.Status(ctx, *dataDir, *dbURL)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hubbot db %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "store:  %s\nriver:  %d of %d migrations\nhubbot: %d of %d migrations\n",
		where, st.RiverApplied, st.RiverLatest, st.HubbotApplied, st.HubbotLatest)
	if !st.Current() {
		fmt.Fprintln(stdout, "status: migrations pending (run `hubbot db migrate`, or start the bot, which applies them)")
		return 1
	}
	fmt.Fprintln(stdout, "status: up to date")
	return 0
}

func dbCopy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("db copy", stderr)
	from := fs.String("from", "", "data dir of the embedded store to copy (the bot using it must be stopped)")
	to := fs.String("to", "", "postgres:// URL of a new, empty database")
	if fs.Parse(args) != nil {
		return 2
	}
	if *from == "" || *to == "" {
		fmt.Fprint(stderr, "hubbot db copy: --from and --to are required\n"+dbUsage)
		return 2
	}
	copied, err := jobs.Copy(ctx, *from, *to)
	if err != nil {
		fmt.Fprintf(stderr, "hubbot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %s to %s:\n", *from, redact(*to))
	names := make([]string, 0, len(copied))
	for k := range copied {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(stdout, "  %-20s %d\n", k, copied[k])
	}
	return 0
}

// redact hides the password of a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
