package safetensors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hubbot/hubbot/actions"
)

// Report describes what a conversion wrote. Its String form is what
// `hubbot convert` prints.
type Report struct {
	Files   []FileResult  // every safetensors file written
	Indexes []IndexResult // every index written for a sharded checkpoint
	Skipped []Skip        // files that hold no tensors, with the reason
}

// IndexResult describes a *.safetensors.index.json that was written.
type IndexResult struct {
	Source    string // the *.bin.index.json it was made from
	Output    string
	Shards    int
	Tensors   int   // entries of weight_map
	TotalSize int64 // metadata.total_size: the bytes of all tensors

	outputPath string // "" for a streamed conversion, which keeps content
	content    []byte
}

// outputs lists every written file, repo-relative, with its path on disk.
func (r *Report) outputs() [][2]string {
	var out [][2]string
	for _, f := range r.Files {
		out = append(out, [2]string{f.Output, f.outputPath})
	}
	for _, ix := range r.Indexes {
		out = append(out, [2]string{ix.Output, ix.outputPath})
	}
	return out
}

// String lists what was written and skipped, one line each.
func (r *Report) String() string {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "wrote %s (%s, %d tensor%s) from %s (%s, %s format)\n", printable(f.Output),
			actions.FormatSize(f.OutputBytes), f.Tensors, plural(f.Tensors), printable(f.Source), actions.FormatSize(f.SourceBytes), f.Format)
		for _, name := range sortedKeys(f.Aliases) {
			fmt.Fprintf(&b, "  removed %s: same tensor as %s (recorded in __metadata__)\n", printable(name), printable(f.Aliases[name]))
		}
		for _, name := range f.Gathered {
			fmt.Fprintf(&b, "  made %s contiguous\n", printable(name))
		}
		for _, name := range f.Overlapping {
			fmt.Fprintf(&b, "  wrote %s as its own copy (it overlaps another tensor's bytes)\n", printable(name))
		}
	}
	for _, ix := range r.Indexes {
		fmt.Fprintf(&b, "wrote %s (%d shards, %d tensors, total_size %d) from %s\n",
			printable(ix.Output), ix.Shards, ix.Tensors, ix.TotalSize, printable(ix.Source))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", printable(s.Path), s.Reason)
	}
	if len(r.Files) > 0 {
		b.WriteString("verified: headers re-read with the safetensors rules, every tensor checked against the checkpoint (CRC32 or byte comparison), outputs at most 1% larger than inputs")
		if len(r.Indexes) > 0 {
			b.WriteString(", every tensor listed once in its index")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ConvertPath converts src, a checkpoint file (.bin, .pt, .ckpt, or a
// *.bin.index.json with its shards) or a model folder, into safetensors
// files in dst, which is created if needed. It is what `hubbot convert SRC
// DST` runs.
//
// Everything is written to a temporary folder inside dst and verified; only
// then are the files renamed into place. On any error nothing is left in
// dst (and dst itself is removed if this call created it). An existing file
// is never overwritten. In a folder, files that hold no tensors (such as
// training_args.bin) are reported in Report.Skipped; if nothing is left to
// convert, that is an error.
func ConvertPath(ctx context.Context, src, dst string, opts Options) (*Report, error) {
	opts.Limits = opts.Limits.withDefaults()
	jobs, skipped, root, err := localJobs(src, opts.Limits)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, nothingToConvert(src, skipped)
	}
	return convertJobs(ctx, src, jobs, skipped, localInputs(root, opts.Limits), dst, opts)
}

// convertJobs converts jobs read through in into dst: everything is
// written to a temporary folder inside dst and verified, then moved into
// place; on error nothing is left in dst.
func convertJobs(ctx context.Context, src string, jobs []*job, skipped []Skip, in inputs, dst string, opts Options) (*Report, error) {
	for _, j := range jobs {
		for _, o := range append([]string{j.outIndex}, j.outputs...) {
			if o == "" {
				continue
			}
			if _, err := os.Lstat(filepath.Join(dst, filepath.FromSlash(o))); err == nil {
				return nil, fmt.Errorf("%s already exists; not overwriting it", filepath.Join(dst, filepath.FromSlash(o)))
			}
		}
	}

	created, err := makeDir(dst)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Report, error) {
		if created != "" {
			os.RemoveAll(created)
		}
		return nil, err
	}
	stage, err := os.MkdirTemp(dst, ".hubbot-convert-")
	if err != nil {
		return fail(fmt.Errorf("create a temporary folder in %s: %w", dst, err))
	}
	defer os.RemoveAll(stage)

	rep, err := runJobs(ctx, in, stage, jobs, &opts)
	if err != nil {
		return fail(err)
	}
	rep.Skipped = append(skipped, rep.Skipped...)
	if len(rep.Files) == 0 {
		return fail(nothingToConvert(src, rep.Skipped))
	}
	if err := publish(rep, stage, dst, opts.Sync); err != nil {
		return fail(err)
	}
	return rep, nil
}

// nothingToConvert is the error for a source with no tensors to convert.
func nothingToConvert(src string, skipped []Skip) error {
	if len(skipped) == 0 {
		return refuse(ErrNotCheckpoint, "%s: no PyTorch checkpoint (.bin, .pt, .ckpt) found", printable(src))
	}
	var why []string
	for _, s := range skipped {
		why = append(why, printable(s.Path)+": "+s.Reason)
	}
	return refuse(ErrNotTensors, "%s: nothing to convert (%s)", printable(src), strings.Join(why, "; "))
}

// makeDir creates dir and its missing parents, and returns the topmost
// folder it created ("" if dir existed), so a failure can remove it.
func makeDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("destination %s: %w", dir, err)
	}
	top := ""
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return top, nil
}

// localJobs finds what to convert in src, a file or a folder on disk, and
// returns the folder the jobs' paths are relative to.
func localJobs(src string, lim Limits) ([]*job, []Skip, string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, nil, "", fmt.Errorf("source: %w", err)
	}
	readIndex := func(root string) func(string) ([]byte, error) {
		return func(rel string) ([]byte, error) {
			return readLimited(filepath.Join(root, filepath.FromSlash(rel)), lim.MaxIndexBytes)
		}
	}
	if fi.IsDir() {
		files, err := listFiles(src)
		if err != nil {
			return nil, nil, "", err
		}
		jobs, skipped, err := findJobs(files, nil, readIndex(src), lim)
		return jobs, skipped, src, err
	}
	root, base := filepath.Split(src)
	if root == "" {
		root = "."
	}
	if strings.HasSuffix(base, indexSuffix) {
		files, err := listFiles(root)
		if err != nil {
			return nil, nil, "", err
		}
		have := map[string]bool{base: true}
		for _, f := range files {
			if !strings.HasSuffix(f, indexSuffix) {
				have[f] = true
			}
		}
		var only []string
		for f := range have {
			only = append(only, f)
		}
		jobs, skipped, err := findJobs(only, nil, readIndex(root), lim)
		return jobs, skipped, root, err
	}
	return []*job{{inputs: []string{base}, outputs: []string{outputName(base)}}}, nil, root, nil
}

// listFiles lists the regular files under root (following symlinks to
// files, as in a Hugging Face cache snapshot), skipping .git and hubbot's
// own temporary folders.
func listFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (d.Name() == ".git" || strings.HasPrefix(d.Name(), ".hubbot-")) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return files, nil
}

// readLimited reads a small file, refusing one larger than max.
func readLimited(p string, max int64) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, refuse(ErrLimit, "the file is %d bytes, above the %d-byte limit", fi.Size(), max)
	}
	return os.ReadFile(p)
}

// inputs opens the checkpoint files of a conversion by repo-relative path:
// from a folder, or over the network (streaming).
type inputs func(ctx context.Context, rel string) (*source, io.Closer, error)

// localInputs opens files under root.
func localInputs(root string, lim Limits) inputs {
	return func(_ context.Context, rel string) (*source, io.Closer, error) {
		return openLocal(filepath.Join(root, filepath.FromSlash(rel)), lim)
	}
}

// runJobs converts every job from in into the folder out, or with out ""
// into streams (pass 1 of a streamed conversion: every file converted,
// verified and measured, nothing written), verifying each file and each
// index. A generic file that holds no tensors is skipped; any other
// refusal stops the run: no partial set is ever produced.
func runJobs(ctx context.Context, in inputs, out string, jobs []*job, opts *Options) (*Report, error) {
	rep := &Report{}
	for _, j := range jobs {
		var results []*FileResult
		for i, rel := range j.inputs {
			opts.logf("converting %s -> %s", rel, j.outputs[i])
			res, err := convertJobFile(ctx, in, rel, out, j.outputs[i], opts)
			if err != nil {
				if j.generic && Skippable(err) {
					opts.logf("skipped %s: %v", rel, err)
					rep.Skipped = append(rep.Skipped, Skip{Path: rel, Reason: err.Error()})
					break
				}
				return nil, fmt.Errorf("%s: %w", printable(rel), err)
			}
			res.Source, res.Output = rel, j.outputs[i]
			results = append(results, res)
		}
		if j.index != "" {
			ix, err := writeIndex(j, results, out)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", printable(j.index), err)
			}
			rep.Indexes = append(rep.Indexes, *ix)
		}
		for _, r := range results {
			rep.Files = append(rep.Files, *r)
		}
	}
	return rep, nil
}

// convertJobFile converts one input into out/output, or into a stream when
// out is "".
func convertJobFile(ctx context.Context, in inputs, rel, out, output string, opts *Options) (*FileResult, error) {
	src, closer, err := in(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	if out == "" {
		return streamFile(ctx, src, opts)
	}
	outPath := filepath.Join(out, filepath.FromSlash(output))
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return nil, fmt.Errorf("create the output folder: %w", err)
	}
	return convertFile(ctx, src, outPath, opts)
}

// writeIndex checks that the input index and the shards agree, writes the
// output index (the weight map of the tensors actually written, and their
// total size), then reads it back with every shard's header and checks
// that each tensor is listed exactly once, in the shard that holds it.
func writeIndex(j *job, shards []*FileResult, out string) (*IndexResult, error) {
	dir, _ := path.Split(j.index)
	stored := make(map[string]string) // name -> input shard, from the checkpoints
	for _, s := range shards {
		rel := strings.TrimPrefix(s.Source, dir)
		for _, name := range s.names {
			if prev, dup := stored[name]; dup {
				return nil, refuse(ErrMalformed, "tensor %s is stored in both %s and %s", quoteName(name), prev, rel)
			}
			stored[name] = rel
		}
	}
	for name, shard := range j.idx.weightMap {
		if stored[name] != shard {
			return nil, refuse(ErrMalformed, "the index puts tensor %s in %s, but it is not stored there", quoteName(name), shard)
		}
	}
	for name, shard := range stored {
		if _, ok := j.idx.weightMap[name]; !ok {
			return nil, refuse(ErrMalformed, "tensor %s of %s is missing from the index", quoteName(name), shard)
		}
	}

	weightMap := make(map[string]string)
	var total int64
	for _, s := range shards {
		rel := strings.TrimPrefix(s.Output, dir)
		for _, name := range s.written {
			weightMap[name] = rel
		}
		total += s.dataBytes
	}
	meta := make(map[string]any, len(j.idx.metadata)+1)
	for k, v := range j.idx.metadata {
		meta[k] = v
	}
	meta["total_size"] = total
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"metadata": meta, "weight_map": weightMap}); err != nil {
		return nil, fmt.Errorf("encode the index: %w", err)
	}
	ix := &IndexResult{Source: j.index, Output: j.outIndex, Shards: len(shards), Tensors: len(weightMap), TotalSize: total}
	if out == "" {
		ix.content = buf.Bytes()
		return ix, verifyIndex(ix.content, dir, shards)
	}
	ix.outputPath = filepath.Join(out, filepath.FromSlash(j.outIndex))
	if err := os.WriteFile(ix.outputPath, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write the index: %w", err)
	}
	data, err := os.ReadFile(ix.outputPath)
	if err == nil {
		err = verifyIndex(data, dir, shards)
	}
	if err != nil {
		os.Remove(ix.outputPath)
		return nil, err
	}
	return ix, nil
}

// verifyIndex checks a written index, as read back, against the headers
// of its shards, read back too (or, for streams, as they were written).
func verifyIndex(data []byte, dir string, shards []*FileResult) error {
	var ix struct {
		Metadata struct {
			TotalSize *int64 `json:"total_size"`
		} `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		return fmt.Errorf("%w: the index does not parse: %v", ErrVerify, err)
	}
	listed := 0
	var total int64
	for _, s := range shards {
		h, err := shardHeader(s)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(s.Output, dir)
		for name, t := range h.Tensors {
			if ix.WeightMap[name] != rel {
				return fmt.Errorf("%w: the index does not list tensor %s in %s", ErrVerify, quoteName(name), rel)
			}
			listed++
			total += t.End - t.Begin
		}
	}
	if listed != len(ix.WeightMap) {
		return fmt.Errorf("%w: the index lists %d tensors, the shards hold %d", ErrVerify, len(ix.WeightMap), listed)
	}
	if ix.Metadata.TotalSize == nil || *ix.Metadata.TotalSize != total {
		return fmt.Errorf("%w: the index's total_size is not the shards' %d bytes", ErrVerify, total)
	}
	return nil
}

// shardHeader reads the header of a written shard, or of a streamed one
// from the bytes its streams start with.
func shardHeader(s *FileResult) (*Header, error) {
	if s.outputPath == "" {
		return ReadHeader(bytes.NewReader(s.plan.headerBytes()), s.plan.size)
	}
	f, err := os.Open(s.outputPath)
	if err != nil {
		return nil, fmt.Errorf("open a shard: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open a shard: %w", err)
	}
	return ReadHeader(f, fi.Size())
}

// publish moves the staged outputs into dst. If a rename fails, the files
// already moved are removed again, so dst is left as it was.
func publish(rep *Report, stage, dst string, sync bool) error {
	var moved, dirs []string
	undo := func(err error) error {
		for _, m := range moved {
			os.Remove(m)
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			os.RemoveAll(dirs[i]) // created by this call, holding only our files
		}
		return err
	}
	for _, o := range rep.outputs() {
		target := filepath.Join(dst, filepath.FromSlash(o[0]))
		top, err := makeDir(filepath.Dir(target))
		if err != nil {
			return undo(err)
		}
		if top != "" {
			dirs = append(dirs, top)
		}
		if _, err := os.Lstat(target); err == nil {
			return undo(fmt.Errorf("%s already exists; not overwriting it", target))
		}
		if err := os.Rename(o[1], target); err != nil {
			return undo(fmt.Errorf("move %s into place: %w", o[0], err))
		}
		moved = append(moved, target)
	}
	if sync {
		if d, err := os.Open(dst); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil && !errors.Is(err, os.ErrInvalid) {
				return undo(fmt.Errorf("sync %s: %w", dst, err))
			}
		}
	}
	for i := range rep.Files {
		rep.Files[i].outputPath = filepath.Join(dst, filepath.FromSlash(rep.Files[i].Output))
	}
	for i := range rep.Indexes {
		rep.Indexes[i].outputPath = filepath.Join(dst, filepath.FromSlash(rep.Indexes[i].Output))
	}
	return nil
}
