package safetensors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/hubbot/hubbot/actions"
)

// ProposalTitle is the title of every conversion pull request. It never
// changes, so that a proposal already opened for a revision can be found.
const ProposalTitle = "Add safetensors weights (converted by hubbot)"

// PriorProposals finds a conversion pull request that hubbot already opened
// on top of a given revision (open or closed, not merged), so the same
// conversion is not proposed twice. The bot implements it with the Hub
// client.
type PriorProposals interface {
	FindProposal(ctx context.Context, repo actions.Repo, baseSHA string) (url string, found bool, err error)
}

// config is the action's `[actions.with]` options.
type config struct {
	// MaxSize skips repos whose checkpoints to convert add up to more
	// than this ("20GB", "500MiB"); empty means no limit.
	MaxSize string `toml:"max_size"`
	// Include, if not empty, restricts conversion to checkpoint files (or
	// the index files of sharded ones) matching one of these globs.
	Include []string `toml:"include"`
	// Exclude skips checkpoint files or index files matching these globs.
	Exclude []string `toml:"exclude"`
	// Stream chooses how inputs are read: "auto" (the default) streams
	// from the Hub when the downloads and outputs would not fit on the
	// local disk, "always" streams, "never" downloads.
	Stream string `toml:"stream"`
}

// Action converts the PyTorch checkpoints of a workspace to safetensors
// and proposes the result as a pull request.
type Action struct {
	maxSize          int64
	include, exclude []string
	prior            PriorProposals
	limits           Limits
	stream           string // "auto", "always" or "never"
	// freeSpace reports the space available on a folder's file system.
	freeSpace func(dir string) (int64, error)
}

// maxFetches bounds parallel LFS downloads.
const maxFetches = 4

// New builds the action from its options. prior may be nil, in which case
// existing proposals are not looked for.
func New(opts actions.Options, prior PriorProposals) (*Action, error) {
	var c config
	if err := opts.Decode(&c); err != nil {
		return nil, err
	}
	a := &Action{include: c.Include, exclude: c.Exclude, prior: prior, limits: Limits{}.withDefaults(), freeSpace: diskFree, stream: c.Stream}
	switch c.Stream {
	case "":
		a.stream = "auto"
	case "auto", "always", "never":
	default:
		return nil, &actions.OptionError{Key: "stream", Msg: fmt.Sprintf("%q is not auto, always or never", c.Stream)}
	}
	if c.MaxSize != "" {
		n, err := actions.ParseSize(c.MaxSize)
		if err != nil {
			return nil, &actions.OptionError{Key: "max_size", Msg: err.Error()}
		}
		a.maxSize = n
	}
	for key, globs := range map[string][]string{"include": c.Include, "exclude": c.Exclude} {
		for _, g := range globs {
			if err := checkGlob(g); err != nil {
				return nil, &actions.OptionError{Key: key, Msg: err.Error()}
			}
		}
	}
	return a, nil
}

// wanted applies include and exclude to a repo path.
func (a *Action) wanted(rel string) bool {
	for _, g := range a.exclude {
		if matchGlob(g, rel) {
			return false
		}
	}
	if len(a.include) == 0 {
		return true
	}
	for _, g := range a.include {
		if matchGlob(g, rel) {
			return true
		}
	}
	return false
}

// Run finds the checkpoints of ws, converts those that have no safetensors
// counterpart yet, verifies everything, and returns all the files as one
// proposal, or a failure without any proposal.
func (a *Action) Run(ctx context.Context, ws *actions.Workspace, log io.Writer) (actions.Result, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	files, err := ws.Files()
	if err != nil {
		return actions.Result{}, fmt.Errorf("list the workspace: %w", err)
	}
	have := make(map[string]bool, len(files))
	var listed []string
	for _, f := range files {
		if !strings.HasPrefix(f, ".hubbot-") {
			have[f] = true
			listed = append(listed, f)
		}
	}

	readIndex := func(rel string) ([]byte, error) {
		if p, isPointer, err := ws.Pointer(rel); err != nil {
			return nil, err
		} else if isPointer && p.Size > a.limits.MaxIndexBytes {
			return nil, refuse(ErrLimit, "the index is %d bytes, above the %d-byte limit", p.Size, a.limits.MaxIndexBytes)
		}
		local, err := a.materialize(ctx, ws, rel)
		if err != nil {
			return nil, err
		}
		return readLimited(local, a.limits.MaxIndexBytes)
	}
	jobs, skipped, err := findJobs(listed, a.wanted, readIndex, a.limits)
	if err != nil {
		if Refused(err) {
			return failure(fmt.Sprintf("Could not read the checkpoint index: %s", oneLine(err)), skipped), nil
		}
		return actions.Result{}, err
	}
	if len(jobs) == 0 {
		return actions.Result{Conclusion: actions.Skipped, Summary: "No PyTorch checkpoint (.bin, .pt, .ckpt) to convert."}, nil
	}

	var todo []*job
	var already []string
	for _, j := range jobs {
		if e, ok := j.existing(have); ok {
			already = append(already, e)
			logf("%s: already converted (%s exists)", j.paths()[0], e)
			continue
		}
		todo = append(todo, j)
	}
	if len(todo) == 0 {
		return actions.Result{
			Conclusion: actions.Skipped,
			Summary:    fmt.Sprintf("Already has safetensors weights (%s).", codeList(already)),
		}, nil
	}

	if a.prior != nil && ws.Repo.ID != "" && ws.SHA != "" {
		url, found, err := a.prior.FindProposal(ctx, ws.Repo, ws.SHA)
		if err != nil {
			return actions.Result{}, fmt.Errorf("look for an existing conversion pull request: %w", err)
		}
		if found {
			return actions.Result{
				Conclusion: actions.Skipped,
				Summary:    fmt.Sprintf("A conversion pull request for this revision already exists: %s", url),
			}, nil
		}
	}

	var inputs []string
	for _, j := range todo {
		inputs = append(inputs, j.inputs...)
	}
	total, download, err := a.sizes(ws, inputs)
	if err != nil {
		return actions.Result{}, err
	}
	if a.maxSize > 0 && total > a.maxSize {
		return actions.Result{
			Conclusion: actions.Skipped,
			Summary:    fmt.Sprintf("The checkpoints to convert add up to %s, above max_size (%s).", actions.FormatSize(total), actions.FormatSize(a.maxSize)),
		}, nil
	}
	// Downloads replace pointers in place; outputs are at most 1% larger
	// than their inputs, plus headers.
	need := download + total + total/100 + int64(len(inputs))<<20 + 64<<20
	free, ferr := a.freeSpace(ws.Dir)
	fits := ferr != nil || free >= need
	ranges, canStream := ws.Content.(actions.RangeFetcher)
	switch {
	case a.stream == "always" && !canStream:
		return actions.Result{}, errors.New("stream = \"always\", but this workspace cannot read files by ranges")
	case a.stream == "always" || (a.stream == "auto" && !fits && canStream && download > 0):
		if !fits {
			logf("converting needs about %s of disk (downloads and outputs), %s is free: streaming from the Hub instead", actions.FormatSize(need), actions.FormatSize(free))
		}
		return a.runStreamed(ctx, ws, ranges, todo, skipped, already, log)
	case !fits:
		return actions.Result{}, fmt.Errorf("not enough disk space in %s: converting needs about %s (downloads and outputs), %s is free", ws.Dir, actions.FormatSize(need), actions.FormatSize(free))
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxFetches)
	for _, rel := range inputs {
		g.Go(func() error {
			_, err := a.materialize(gctx, ws, rel)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return actions.Result{}, err
	}

	out, err := os.MkdirTemp(ws.Dir, ".hubbot-safetensors-")
	if err != nil {
		return actions.Result{}, fmt.Errorf("create the output folder: %w", err)
	}
	opts := &Options{Limits: a.limits, Log: log}
	rep, err := runJobs(ctx, localInputs(ws.Dir, a.limits), out, todo, opts)
	if err != nil {
		os.RemoveAll(out)
		if Refused(err) {
			return failure(fmt.Sprintf("Could not convert to safetensors: %s", oneLine(err)), skipped), nil
		}
		return actions.Result{}, err
	}
	rep.Skipped = append(skipped, rep.Skipped...)
	if len(rep.Files) == 0 {
		os.RemoveAll(out)
		return actions.Result{
			Conclusion: actions.Skipped,
			Summary:    "No checkpoint with tensors to convert.",
			Details:    skippedMarkdown(rep.Skipped),
		}, nil
	}

	prop := &actions.Proposal{Title: ProposalTitle, Description: description(rep, ws)}
	for _, o := range rep.outputs() {
		prop.Files = append(prop.Files, actions.ProposedFile{PathInRepo: o[0], LocalPath: o[1]})
	}
	return succeeded(rep, already, prop), nil
}

// succeeded is the result of a conversion that produced files.
func succeeded(rep *Report, already []string, prop *actions.Proposal) actions.Result {
	var in, outBytes int64
	for _, f := range rep.Files {
		in += f.SourceBytes
		outBytes += f.OutputBytes
	}
	return actions.Result{
		Conclusion: actions.Success,
		Summary: fmt.Sprintf("Converted %d PyTorch file%s (%s) to safetensors (%s), verified.",
			len(rep.Files), plural(len(rep.Files)), actions.FormatSize(in), actions.FormatSize(outBytes)),
		Details:  detailsMarkdown(rep, already),
		Proposal: prop,
	}
}

// materialize fetches the content of an LFS pointer file; a pointer that
// cannot be fetched is an error, not a file to skip.
func (a *Action) materialize(ctx context.Context, ws *actions.Workspace, rel string) (string, error) {
	_, isPointer, err := ws.Pointer(rel)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", rel, err)
	}
	if isPointer && ws.Content == nil {
		return "", fmt.Errorf("%s is an LFS pointer and this workspace cannot fetch LFS content", rel)
	}
	local, err := ws.Materialize(ctx, rel)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", rel, err)
	}
	return local, nil
}

// sizes returns the total size of the inputs and how much of it must be
// downloaded (LFS pointers).
func (a *Action) sizes(ws *actions.Workspace, rels []string) (total, download int64, err error) {
	for _, rel := range rels {
		p, isPointer, err := ws.Pointer(rel)
		if err != nil {
			return 0, 0, fmt.Errorf("read %s: %w", rel, err)
		}
		if isPointer {
			total += p.Size
			download += p.Size
			continue
		}
		fi, err := os.Stat(ws.Path(rel))
		if err != nil {
			return 0, 0, err
		}
		total += fi.Size()
	}
	return total, download, nil
}

// existing returns a file of the repo showing the job is already converted.
func (j *job) existing(have map[string]bool) (string, bool) {
	var candidates []string
	if j.index == "" {
		candidates = append(candidates, j.outputs[0])
		if j.inputs[0] == transformersSingle {
			candidates = append(candidates, "model.safetensors.index.json")
		}
	} else {
		candidates = append(candidates, j.outIndex, strings.TrimSuffix(j.outIndex, ".index.json"))
	}
	for _, c := range candidates {
		if have[c] {
			return c, true
		}
	}
	return "", false
}

// failure is the result for a repo whose checkpoint was refused.
func failure(summary string, skipped []Skip) actions.Result {
	return actions.Result{Conclusion: actions.Failure, Summary: summary, Details: skippedMarkdown(skipped)}
}

// oneLine flattens an error message for a one-line summary.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// codeList renders paths as inline code, comma-separated.
func codeList(paths []string) string {
	var parts []string
	for _, p := range paths {
		parts = append(parts, mdCode(p))
	}
	return strings.Join(parts, ", ")
}

// mdCode renders s as inline code, whatever backticks it holds.
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdCell escapes text for a markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// filesTable renders the written files as a markdown table.
func filesTable(rep *Report) string {
	var b strings.Builder
	b.WriteString("| PyTorch file | safetensors file | size | tensors |\n| --- | --- | --- | --- |\n")
	for _, f := range rep.Files {
		fmt.Fprintf(&b, "| %s | %s | %s → %s | %d |\n", mdCell(mdCode(f.Source)), mdCell(mdCode(f.Output)),
			actions.FormatSize(f.SourceBytes), actions.FormatSize(f.OutputBytes), f.Tensors)
	}
	for _, ix := range rep.Indexes {
		fmt.Fprintf(&b, "| %s | %s | %d shards | %d |\n", mdCell(mdCode(ix.Source)), mdCell(mdCode(ix.Output)), ix.Shards, ix.Tensors)
	}
	return b.String()
}

// aliasLines lists removed aliases and other layout notes as markdown.
func aliasLines(rep *Report) string {
	var b strings.Builder
	for _, f := range rep.Files {
		for _, name := range sortedKeys(f.Aliases) {
			fmt.Fprintf(&b, "- %s: %s is the same tensor as %s; it is stored once and recorded in the file's `__metadata__`.\n",
				mdCode(f.Output), mdCode(name), mdCode(f.Aliases[name]))
		}
		for _, name := range f.Overlapping {
			fmt.Fprintf(&b, "- %s: %s shares part of its storage with another tensor and is stored as its own copy.\n", mdCode(f.Output), mdCode(name))
		}
		for _, name := range f.Gathered {
			fmt.Fprintf(&b, "- %s: %s was not contiguous in the checkpoint and is stored contiguous.\n", mdCode(f.Output), mdCode(name))
		}
	}
	return b.String()
}

func skippedMarkdown(skipped []Skip) string {
	if len(skipped) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Skipped:\n\n")
	for _, s := range skipped {
		fmt.Fprintf(&b, "- %s: %s\n", mdCode(s.Path), mdCell(s.Reason))
	}
	return b.String()
}

// detailsMarkdown is the report shown under the summary.
func detailsMarkdown(rep *Report, already []string) string {
	var b strings.Builder
	b.WriteString(filesTable(rep))
	if notes := aliasLines(rep); notes != "" {
		b.WriteString("\n" + notes)
	}
	if len(already) > 0 {
		fmt.Fprintf(&b, "\nAlready converted: %s.\n", codeList(already))
	}
	if s := skippedMarkdown(rep.Skipped); s != "" {
		b.WriteString("\n" + s)
	}
	return b.String()
}

// description is the pull request's text.
func description(rep *Report, ws *actions.Workspace) string {
	var b strings.Builder
	rev := ""
	if ws.SHA != "" {
		rev = fmt.Sprintf(" at commit %s", mdCode(ws.SHA[:min(len(ws.SHA), 12)]))
	}
	fmt.Fprintf(&b, "This pull request adds safetensors copies of the PyTorch weights of this repository%s. "+
		"The tensor values are unchanged; only the container changes. A safetensors file holds "+
		"nothing but tensors and a JSON header, so loading it cannot run code, and it loads faster.\n\n", rev)
	b.WriteString(filesTable(rep))
	if notes := aliasLines(rep); notes != "" {
		b.WriteString("\n" + notes)
	}
	if s := skippedMarkdown(rep.Skipped); s != "" {
		b.WriteString("\n" + s)
	}
	b.WriteString("\n### How the files were checked\n\n")
	b.WriteString("- The checkpoints were read without running them: hubbot decodes only the tensor layout from the pickle, " +
		"with an allowlist of the torch types a weights file needs, and copies each tensor's bytes unchanged.\n")
	b.WriteString("- Each written header was read back and validated with the safetensors format rules.\n")
	b.WriteString("- Every tensor was checked against the checkpoint: with the CRC32 the checkpoint records for its storage, or byte for byte.\n")
	b.WriteString("- No output is more than 1% larger than its input.\n")
	if len(rep.Indexes) > 0 {
		b.WriteString("- The new index lists every tensor exactly once, in the shard that holds it.\n")
	}
	b.WriteString("\n### Reproduce locally\n\n```sh\n")
	var srcs []string
	for _, f := range rep.Files {
		if !strings.Contains(f.Source, "/") && len(rep.Indexes) == 0 {
			srcs = append(srcs, f.Source)
		}
	}
	if len(srcs) == 1 && len(rep.Files) == 1 {
		fmt.Fprintf(&b, "hubbot convert %s out/\n", shellQuote(srcs[0]))
	} else {
		b.WriteString("hubbot convert . out/   # in a clone of this repository, with its LFS files\n")
	}
	b.WriteString("```\n\nThe files in `out/` should be identical to the ones in this pull request.\n")
	return b.String()
}

// shellQuote quotes a path for a shell command line when needed.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
