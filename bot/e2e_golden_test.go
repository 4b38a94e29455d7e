package bot

import (
	"path/filepath"
	"regexp"

	goldenfile "github.com/hubbot/hubbot/internal/golden"
)

// volatile are the parts of a posted comment that change from run to run:
// commit shas (full and short), comment ids, findings' fingerprints, the fake Hub's port, times
// and sizes.
var volatile = []goldenfile.Rule{
	{Pattern: regexp.MustCompile(`\b[0-9a-f]{40}\b`), With: "<sha>"},
	{Pattern: regexp.MustCompile(`hubbot:answer:[0-9a-f]+`), With: "hubbot:answer:<comment-id>"},
	{Pattern: regexp.MustCompile(`(hubbot:revision:[^: ]+:[^: ]+:[a-z]+:)[A-Za-z0-9_.-]+`), With: "${1}<fingerprint>"},
	{Pattern: regexp.MustCompile("`[0-9a-f]{7,12}`"), With: "`<short-sha>`"},
	{Pattern: regexp.MustCompile(`http://127\.0\.0\.1:\d+`), With: "http://hub"},
	{Pattern: regexp.MustCompile(`updated \d{4}-\d\d-\d\d \d\d:\d\d UTC`), With: "updated <time>"},
	{Pattern: regexp.MustCompile(`\d+(\.\d+)? (kB|B|MB)\b`), With: "<size>"},
}

// golden compares a comment the bot posted with testdata/e2e/name.md, as
// Atlantis's end-to-end tests do, its volatile parts normalised.
func (h *harness) golden(name, comment string) {
	h.t.Helper()
	goldenfile.Assert(h.t, filepath.Join("testdata", "e2e", name+".md"), goldenfile.Normalize(comment, volatile...))
}
