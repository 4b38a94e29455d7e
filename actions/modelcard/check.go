package modelcard

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// MaxReadmeBytes is the largest README.md checked. The Hub refuses files
// over 10 MB that are not stored with LFS, so a larger card cannot be on the
// Hub as a card anyway.
const MaxReadmeBytes = 10 << 20

// Caps on what one card can make the report hold.
const (
	maxFindingsPerCheck = 25
	maxFindings         = 200
)

// File is one file of the repo as the checks see it. Only names and sizes
// matter, never contents, so a repo's size does not change the cost.
type File struct {
	Path    string `json:"path"`    // relative to the repo root, forward slashes
	Size    int64  `json:"size"`    // bytes of the real content (from the pointer for LFS files)
	LFS     bool   `json:"lfs"`     // the tree holds an LFS pointer for it
	Symlink bool   `json:"symlink"` // a symbolic link (only README.md is ever listed as one)
}

// Check checks a model card: readme is the content of README.md (nil when
// the repo has none) and files the repo's files, README.md included. It is
// pure: no I/O, the same input gives the same report.
func Check(readme []byte, files []File, opts Options) Report {
	return CheckRepo(readme, files, Model, opts)
}

// CheckRepo is Check with the rules of the given repo type: model rules for
// a model, the dataset metadata rules for a dataset, the Space
// configuration rules for a Space. An empty typ detects the type from the
// card (see detectRepoType).
func CheckRepo(readme []byte, files []File, typ RepoType, opts Options) Report {
	c := newChecker(files, opts)
	c.typ, c.detect = typ, typ == ""
	if c.typ == "" {
		c.typ = Model
	}
	c.run(readme)
	return c.report()
}

// checker holds the state of one Check call.
type checker struct {
	opts     Options
	typ      RepoType // whose rules apply; Model until detected when detect is set
	detect   bool     // the type is to be read from the card
	voc      *vocabularies
	defaults map[string]Severity

	files   []File
	byPath  map[string]File
	byLower map[string]string // lower-cased path -> path, to spot case mistakes

	readme []byte
	fm     frontMatter
	meta   *node // the top-level mapping, nil when there is none

	langNames map[string]string // language name -> code, built when first needed

	findings []Finding
	seen     map[string]bool
	perCheck map[string]int
	omitted  int
}

func newChecker(files []File, opts Options) *checker {
	c := &checker{
		opts:     opts,
		voc:      loadVocabularies(),
		defaults: make(map[string]Severity),
		files:    files,
		byPath:   make(map[string]File, len(files)),
		byLower:  make(map[string]string, len(files)),
		seen:     make(map[string]bool),
		perCheck: make(map[string]int),
	}
	for _, ci := range Checks() {
		c.defaults[ci.Name] = ci.Severity
	}
	for _, f := range files {
		c.byPath[f.Path] = f
		c.byLower[strings.ToLower(f.Path)] = f.Path
	}
	return c
}

// add records a finding, applying the configured severity, dropping exact
// repeats (a value reached through several aliases is checked once per
// path) and capping how many one check and the whole report may hold.
func (c *checker) add(check, field string, pos Pos, msg, fix string) {
	sev, on := c.opts.severityOf(check, c.defaults[check])
	if !on {
		return
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s", check, field, pos.Line, pos.Column, msg)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	if c.perCheck[check] >= maxFindingsPerCheck || len(c.findings) >= maxFindings {
		c.omitted++
		return
	}
	c.perCheck[check]++
	c.findings = append(c.findings, Finding{Check: check, Severity: sev, Field: field, Pos: pos, Message: msg, Fix: fix})
}

func (c *checker) report() Report {
	fs := c.findings
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		// Findings without a position (about the repo's files) go last.
		al, bl := a.Line, b.Line
		if al == 0 {
			al = int(^uint(0) >> 1)
		}
		if bl == 0 {
			bl = int(^uint(0) >> 1)
		}
		if al != bl {
			return al < bl
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	failOn := Error
	if c.opts.FailOn == string(Warning) {
		failOn = Warning
	}
	return Report{Findings: fs, Omitted: c.omitted, FailOn: failOn, Type: c.typ}
}

func (c *checker) run(readme []byte) {
	if !c.readmeUsable(readme) {
		if c.typ == Model {
			c.checkFiles()
		}
		return
	}
	c.readme = readme
	c.fm = splitFrontMatter(readme)
	fm := c.fm
	if fm.bom {
		c.add(checkBOM, "", Pos{1, 1},
			"README.md starts with a byte order mark (U+FEFF); huggingface_hub and other Python tools then find no metadata",
			"save the file as UTF-8 without BOM")
	}
	switch {
	case fm.trailingOpen:
		c.add(checkFrontMatterClosed, "", fm.openCandidate,
			"the opening `---` line has blanks after the dashes, so the Hub does not see a metadata block",
			"make the first line exactly `---`")
	case fm.unclosed:
		c.add(checkFrontMatterClosed, "", fm.openCandidate,
			"the metadata block is never closed: no later line is exactly `---`, so the Hub shows it as text and reads no metadata",
			"add a line `---` after the last metadata line")
	case !fm.found:
		c.add(checkFrontMatterMissing, "", Pos{1, 1},
			c.noMetadataMessage(),
			"start README.md with a `---` line, the YAML metadata, and another `---` line")
	}
	if fm.found {
		c.checkMetadata()
	}
	c.checkRequired()
	c.checkBody()
	if c.typ == Model {
		c.checkFiles()
	}
}

// readmeUsable reports whether there is a README.md to read, adding a
// finding when there is not.
func (c *checker) readmeUsable(readme []byte) bool {
	f, listed := c.byPath["README.md"]
	switch {
	case listed && f.Symlink:
		c.add(checkReadmeFile, "", Pos{}, "README.md is a symbolic link; the Hub does not follow it, so the model has no card",
			"replace the link with the card itself")
		return false
	case listed && f.LFS:
		c.add(checkReadmeFile, "", Pos{}, "README.md is stored with Git LFS; the Hub reads the card from git, so it sees a pointer file instead of the card",
			"stop tracking *.md with LFS in .gitattributes and commit README.md as a regular file")
		return false
	case len(readme) > MaxReadmeBytes || (readme == nil && f.Size > MaxReadmeBytes):
		c.add(checkReadmeFile, "", Pos{}, fmt.Sprintf("README.md is larger than %d MiB, more than the Hub takes as a card", MaxReadmeBytes>>20),
			"shorten the card; link to long material instead")
		return false
	case bytes.HasPrefix(readme, []byte{0xFF, 0xFE}) || bytes.HasPrefix(readme, []byte{0xFE, 0xFF}):
		c.add(checkReadmeFile, "", Pos{}, "README.md is encoded in UTF-16; the Hub reads cards as UTF-8, so it shows garbled text and no metadata",
			"save README.md as UTF-8")
		return false
	case readme != nil:
		return true
	case listed:
		c.add(checkReadmeFile, "", Pos{}, "README.md could not be read", "check the file's permissions")
		return false
	}
	fix := fmt.Sprintf("add a README.md at the repo root with a metadata block and a description of the %s", c.typ.noun())
	for _, f := range c.files {
		if !strings.Contains(f.Path, "/") && strings.EqualFold(f.Path, "README.md") {
			fix = fmt.Sprintf("rename `%s` to `README.md`: the Hub only reads that exact name", sanitize(f.Path, 60))
			break
		}
	}
	c.add(checkReadmeMissing, "", Pos{}, fmt.Sprintf("the repo has no README.md, so the Hub shows no %s card", c.typ.noun()), fix)
	return false
}

// checkMetadata parses the metadata block and checks every field.
func (c *checker) checkMetadata() {
	res := parseFrontMatter(c.fm)
	for _, p := range res.problems {
		c.add(p.check, p.field, p.pos, p.msg, p.fix)
	}
	root := res.root
	if root == nil {
		return
	}
	c.checkYAML11Bools(root)
	switch root.kind {
	case kindNull:
		c.add(checkFrontMatterEmpty, "", c.fm.open, "the metadata block is empty", c.emptyMetadataFix())
		return
	case kindMap:
	default:
		c.add(checkYAMLNotMapping, "", root.pos,
			fmt.Sprintf("the metadata is %s, not a mapping of fields; the Hub rejects it", root.kind),
			"write one `field: value` per line between the `---` lines")
		return
	}
	c.meta = root
	if c.detect {
		c.typ = detectRepoType(root)
	}
	switch c.typ {
	case Dataset:
		c.checkDatasetFields()
	case Space:
		c.checkSpaceFields()
	default:
		c.checkFields()
	}
}

// noMetadataMessage says what a card without metadata loses, for its type.
func (c *checker) noMetadataMessage() string {
	switch c.typ {
	case Dataset:
		return "README.md has no metadata block, so the Hub shows no license, tasks, languages or size for the dataset and cannot filter by them"
	case Space:
		return "README.md has no metadata block, so the Hub does not know which SDK runs the Space and cannot build it"
	}
	return "README.md has no metadata block, so the Hub shows no license, task, library or languages for the model"
}

// checkYAML11Bools flags unquoted yes/no/on/off. YAML 1.2 loaders read
// them as strings, the YAML 1.1 loader of huggingface_hub (PyYAML) as
// booleans, so the same card means different things to different tools:
// `language: no` is Norwegian for one and false for the other.
func (c *checker) checkYAML11Bools(root *node) {
	visited := make(map[*node]bool)
	var walk func(n *node, field string)
	walk = func(n *node, field string) {
		if n == nil || visited[n] {
			return
		}
		visited[n] = true
		switch n.kind {
		case kindString:
			if n.plain && isYAML11Bool(n.text) {
				fix := fmt.Sprintf("quote it (`\"%s\"`) if it is a string, or write `true`/`false`", n.text)
				if field == "language" || strings.HasPrefix(field, "language[") {
					fix = fmt.Sprintf("quote it: `\"%s\"`", n.text)
				}
				c.add(checkYAML11Bool, field, n.pos,
					fmt.Sprintf("unquoted `%s` is a string to some YAML loaders and a boolean to others (huggingface_hub's)", n.text), fix)
			}
		case kindSeq:
			for i, it := range n.items {
				walk(it, fmt.Sprintf("%s[%d]", field, i))
			}
		case kindMap:
			for _, p := range n.pairs {
				walk(p.val, joinField(field, p.key))
			}
		}
	}
	walk(root, "")
}

func isYAML11Bool(s string) bool {
	switch s {
	case "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return false
}

// joinField appends a key to a field path, sanitized since keys come from
// the card.
func joinField(parent, key string) string {
	key = sanitize(key, 40)
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexField(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// checkRequired reports the fields the options require and the card lacks.
func (c *checker) checkRequired() {
	if len(c.opts.Required) == 0 || (c.fm.found && c.meta == nil) {
		// A block that does not parse is already an error; listing every
		// required field as missing too would only bury it.
		return
	}
	at := c.fm.open
	if !c.fm.found {
		at = Pos{1, 1}
	}
	for _, f := range c.opts.Required {
		v := c.meta.get(f)
		if v == nil || v.kind == kindNull {
			c.add(checkRequired, sanitize(f, 40), at,
				fmt.Sprintf("`%s` is required by this repo's hubbot configuration and is missing", sanitize(f, 40)),
				fmt.Sprintf("add `%s:` to the metadata", sanitize(f, 40)))
		}
	}
}

// emptyMetadataFix names the fields an empty block should start with.
func (c *checker) emptyMetadataFix() string {
	switch c.typ {
	case Dataset:
		return "add at least license, task_categories and language"
	case Space:
		return "add at least title, sdk and, for a Docker Space, app_port"
	}
	return "add at least license, pipeline_tag and library_name"
}
