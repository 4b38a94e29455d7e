package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/actions/safetensors"
)

const convertHelp = `
Convert PyTorch checkpoints to safetensors, without running any of the
checkpoint's code.

SRC is a checkpoint file (.bin, .pt, .ckpt, or a *.bin.index.json with its
shards) or a model folder, in which every checkpoint is converted and files
holding no tensors (such as training_args.bin) are skipped. DST is a folder,
created if needed, that receives the .safetensors files under the names the
Hub's converter gives them; for a single checkpoint DST may instead name the
.safetensors file to write.

Refused, with nothing left in DST: a file that is not a PyTorch checkpoint,
pickles that would run code (anything beyond tensors and plain containers),
sizes over the limits, and existing files unless --force is given. Every
written tensor is verified against the checkpoint before it is kept.

A progress line (bytes, tensors, rate, time left) goes to stderr when it is
a terminal.`

func convertCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if code, handled := convertHub(ctx, args, stdout, stderr, getenv); handled {
		return code
	}
	flags := newFlags("convert", stderr)
	force := flags.Bool("force", false, "overwrite existing files in DST")
	format := flags.String("format", "text", "print the summary as `text|json`")
	pos, err := parseArgs(flags, args, 2, 2)
	if err != nil {
		return usageError(stderr, "convert", err)
	}
	if *format != "text" && *format != "json" {
		return usagef(stderr, "convert", "--format %q: want text or json", *format)
	}
	src, dst := pos[0], pos[1]
	if _, err := os.Stat(src); err != nil {
		return fail(stderr, "convert: %s: %v", src, errors.Unwrap(err))
	}
	var progress *convertProgress
	if *format == "text" && isTerminal(stderr) {
		progress = startProgress(stderr, src)
	}
	rep, err := convertInto(ctx, src, dst, *force, progress)
	progress.stop()
	if err != nil {
		return fail(stderr, "convert: %v", err)
	}
	if *format == "json" {
		return writeConvertJSON(stdout, stderr, rep)
	}
	fmt.Fprint(stdout, rep.String())
	return 0
}

// convertInto converts src in a staging folder next to dst, then moves the
// outputs into dst (a folder, or a .safetensors file for a single
// checkpoint). Nothing is left behind on error.
func convertInto(ctx context.Context, src, dst string, force bool, progress *convertProgress) (*safetensors.Report, error) {
	dst = filepath.Clean(dst)
	single := strings.HasSuffix(dst, ".safetensors")
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		single = false
	}
	parent := filepath.Dir(dst)
	if !single {
		parent = dst
		if _, err := os.Stat(dst); errors.Is(err, fs.ErrNotExist) {
			parent = filepath.Dir(dst)
		}
	}
	stage, err := os.MkdirTemp(parent, ".hubbot-convert-")
	if err != nil {
		return nil, fmt.Errorf("create a staging folder in %s: %w", parent, err)
	}
	defer os.RemoveAll(stage)
	opts := safetensors.Options{}
	if progress != nil {
		progress.options(&opts, stage)
	}
	rep, err := safetensors.ConvertPath(ctx, src, filepath.Join(stage, "out"), opts)
	if err != nil {
		return nil, err
	}
	type move struct{ from, to, rel string }
	var moves []move
	if single {
		if len(rep.Files) != 1 || len(rep.Indexes) != 0 {
			return nil, fmt.Errorf("%s holds %d checkpoints; name a folder as DST, not %s", src, len(rep.Files), dst)
		}
		moves = append(moves, move{filepath.Join(stage, "out", filepath.FromSlash(rep.Files[0].Output)), dst, filepath.Base(dst)})
		rep.Files[0].Output = filepath.Base(dst)
	} else {
		for _, f := range rep.Files {
			moves = append(moves, move{filepath.Join(stage, "out", filepath.FromSlash(f.Output)), filepath.Join(dst, filepath.FromSlash(f.Output)), f.Output})
		}
		for _, ix := range rep.Indexes {
			moves = append(moves, move{filepath.Join(stage, "out", filepath.FromSlash(ix.Output)), filepath.Join(dst, filepath.FromSlash(ix.Output)), ix.Output})
		}
	}
	if !force {
		for _, m := range moves {
			if _, err := os.Lstat(m.to); err == nil {
				return nil, fmt.Errorf("%s already exists; give --force to overwrite it", m.to)
			}
		}
	}
	created := ""
	if _, err := os.Stat(dst); !single && errors.Is(err, fs.ErrNotExist) {
		created = dst
	}
	for _, m := range moves {
		if err := os.MkdirAll(filepath.Dir(m.to), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(m.to), err)
		}
		if err := os.Rename(m.from, m.to); err != nil {
			if created != "" {
				os.RemoveAll(created)
			}
			return nil, fmt.Errorf("move %s into place: %w", m.rel, err)
		}
	}
	return rep, nil
}

// writeConvertJSON prints the summary for machines.
func writeConvertJSON(stdout, stderr io.Writer, rep *safetensors.Report) int {
	type file struct {
		Source      string            `json:"source"`
		Output      string            `json:"output"`
		Format      string            `json:"format"`
		SourceBytes int64             `json:"source_bytes"`
		OutputBytes int64             `json:"output_bytes"`
		Tensors     int               `json:"tensors"`
		Aliases     map[string]string `json:"aliases,omitempty"`
	}
	type index struct {
		Source    string `json:"source"`
		Output    string `json:"output"`
		Shards    int    `json:"shards"`
		Tensors   int    `json:"tensors"`
		TotalSize int64  `json:"total_size"`
	}
	type skip struct {
		Path   string `json:"path"`
		Reason string `json:"reason"`
	}
	out := struct {
		Files   []file  `json:"files"`
		Indexes []index `json:"indexes"`
		Skipped []skip  `json:"skipped"`
	}{Files: []file{}, Indexes: []index{}, Skipped: []skip{}}
	for _, f := range rep.Files {
		out.Files = append(out.Files, file{f.Source, f.Output, f.Format, f.SourceBytes, f.OutputBytes, f.Tensors, f.Aliases})
	}
	for _, ix := range rep.Indexes {
		out.Indexes = append(out.Indexes, index{ix.Source, ix.Output, ix.Shards, ix.Tensors, ix.TotalSize})
	}
	for _, s := range rep.Skipped {
		out.Skipped = append(out.Skipped, skip{s.Path, s.Reason})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fail(stderr, "convert: write the summary: %v", err)
	}
	return 0
}

// isTerminal reports whether w is a terminal, where a progress line helps
// and does not pollute a log.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// convertProgress redraws one status line on a terminal: bytes written of
// the source's size, tensors written (and where the current file is), the
// rate and the time left. The converter reports between tensors
// (safetensors.Options.Progress); the line is redrawn five times a second.
type convertProgress struct {
	w     io.Writer
	total int64 // the source's size: the output is about as large
	now   func() time.Time
	start time.Time

	mu          sync.Mutex
	stage       string // where the outputs are being written
	files       int
	doneBytes   int64 // of the files finished
	doneTensors int
	fileBytes   int64 // of the file being written
	fileTensors int
	fileTotal   int

	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(w io.Writer, src string) *convertProgress {
	p := newProgress(w, treeSize(src), time.Now)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				p.draw()
			}
		}
	}()
	return p
}

func newProgress(w io.Writer, total int64, now func() time.Time) *convertProgress {
	return &convertProgress{w: w, total: total, now: now, start: now(), done: make(chan struct{})}
}

// options hooks the progress into a conversion.
func (p *convertProgress) options(opts *safetensors.Options, stage string) {
	p.mu.Lock()
	p.stage = stage
	p.mu.Unlock()
	opts.Log, opts.Progress = p, p.tensor
}

// Write receives the converter's per-file log lines.
func (p *convertProgress) Write(b []byte) (int, error) {
	if strings.HasPrefix(string(b), "converting ") {
		p.mu.Lock()
		p.files++
		p.mu.Unlock()
	}
	return len(b), nil
}

// tensor is safetensors.Options.Progress: done of total tensors of the
// current file are written, and written bytes of it. A file starts at 0.
func (p *convertProgress) tensor(done, total int, written int64) {
	p.mu.Lock()
	if done == 0 { // a new file: the one before is finished
		p.doneBytes += p.fileBytes
		p.doneTensors += p.fileTensors
	}
	p.fileTensors, p.fileTotal, p.fileBytes = done, total, written
	p.mu.Unlock()
}

// line is the status line as it stands.
func (p *convertProgress) line() string {
	p.mu.Lock()
	stage, files := p.stage, p.files
	written, tensors := p.doneBytes+p.fileBytes, p.doneTensors+p.fileTensors
	fileTensors, fileTotal := p.fileTensors, p.fileTotal
	p.mu.Unlock()
	if onDisk := treeSize(stage); stage != "" && onDisk > written {
		written = onDisk // inside a large tensor, the file on disk is ahead
	}
	elapsed := p.now().Sub(p.start).Seconds()
	rate := float64(written) / max(elapsed, 0.001)
	eta := "?"
	if rate > 0 && p.total > written {
		eta = time.Duration(float64(p.total-written) / rate * float64(time.Second)).Round(time.Second).String()
	}
	where := ""
	if fileTotal > 0 {
		where = fmt.Sprintf(" (file %d: %d of %d)", files, fileTensors, fileTotal)
	}
	return fmt.Sprintf("converting: %s of %s, %d tensor%s%s, %s/s, %s left", actions.FormatSize(written), actions.FormatSize(p.total),
		tensors, plural(tensors), where, actions.FormatSize(int64(rate)), eta)
}

func (p *convertProgress) draw() { fmt.Fprint(p.w, "\r\x1b[K"+p.line()) }

// stop draws the line a last time, then clears it; a nil progress does
// nothing.
func (p *convertProgress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
	p.draw()
	fmt.Fprint(p.w, "\r\x1b[K")
}

// treeSize is the size of a file, or of the regular files under a folder.
func treeSize(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
