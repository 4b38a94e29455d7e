package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// job is one conversion: a single checkpoint file, or a sharded checkpoint
// with its index.
type job struct {
	index    string   // the *.bin.index.json, repo-relative; "" for a single file
	inputs   []string // checkpoint files, repo-relative
	outputs  []string // safetensors files, same order
	outIndex string   // the *.safetensors.index.json; "" for a single file
	// generic is set for files found by the "every .bin/.pt/.ckpt" rule:
	// those that hold no tensors are reported and skipped.
	generic bool

	idx *shardIndex // the parsed input index
}

// paths lists every input of the job, index first.
func (j *job) paths() []string {
	if j.index == "" {
		return j.inputs
	}
	return append([]string{j.index}, j.inputs...)
}

// Skip is a file that was not converted, and why.
type Skip struct {
	Path   string
	Reason string
}

// The transformers names convert.py looks for at the root of a repo.
const (
	transformersSingle = "pytorch_model.bin"
	transformersIndex  = "pytorch_model.bin.index.json"
	indexSuffix        = ".bin.index.json"
)

// isCheckpointName reports whether a file name has a checkpoint extension.
func isCheckpointName(rel string) bool {
	l := strings.ToLower(rel)
	return strings.HasSuffix(l, ".bin") || strings.HasSuffix(l, ".pt") || strings.HasSuffix(l, ".ckpt")
}

// trainingState reports whether a file is one that transformers' Trainer
// or accelerate saves next to the weights to resume training. They are not
// weights and can be twice the model's size, so they are skipped by name
// instead of being downloaded to find out.
func trainingState(rel string) bool {
	switch path.Base(rel) {
	case "optimizer.pt", "optimizer.bin", "scheduler.pt", "scheduler.bin", "scaler.pt":
		return true
	}
	return false
}

// outputName is the safetensors name of a single checkpoint file: the
// extension becomes .safetensors and a name that starts with the word
// pytorch_model starts with model instead, which is what transformers
// looks for (pytorch_model.bin -> model.safetensors, a lone
// pytorch_model-00002-of-00003.bin -> model-00002-of-00003.safetensors,
// pytorch_model.fp16.bin -> model.fp16.safetensors). Other names only
// change extension (unet/diffusion_pytorch_model.bin ->
// unet/diffusion_pytorch_model.safetensors).
func outputName(rel string) string {
	dir, base := path.Split(rel)
	return dir + renameStem(strings.TrimSuffix(base, path.Ext(base))) + ".safetensors"
}

// renameStem replaces a leading "pytorch_model" with "model" when it is a
// whole word: followed by nothing, a dot, a dash or an underscore.
func renameStem(stem string) string {
	const torch = "pytorch_model"
	rest, ok := strings.CutPrefix(stem, torch)
	if !ok || (rest != "" && !strings.ContainsRune(".-_", rune(rest[0]))) {
		return stem
	}
	return "model" + rest
}

// shardNames returns the output index and the renaming of shards for the
// index at rel. The transformers set pytorch_model-0000x-of-0000N.bin
// becomes model-0000x-of-0000N.safetensors as convert.py names it; other
// sets (diffusers' diffusion_pytorch_model.bin.index.json) keep their stem,
// which is what their loaders look for.
func shardNames(rel string) (outIndex string, shard func(string) string) {
	dir, base := path.Split(rel)
	stem := strings.TrimSuffix(base, indexSuffix)
	newStem := stem
	if stem == "pytorch_model" {
		newStem = "model"
	}
	shard = func(s string) string {
		sdir, sbase := path.Split(s)
		if stem == "pytorch_model" {
			sbase = strings.Replace(sbase, "pytorch_model", "model", 1)
		}
		return sdir + strings.TrimSuffix(sbase, path.Ext(sbase)) + ".safetensors"
	}
	return dir + newStem + ".safetensors.index.json", shard
}

// findJobs applies convert.py's selection rules to a list of repo files
// (forward slashes): a transformers sharded or single checkpoint at the
// root if there is one; otherwise every *.bin.index.json set and every
// other .bin, .pt and .ckpt file at any depth. want, if not nil, selects
// the checkpoint files and index files to consider (a shard follows its
// index). readIndex loads an index file's content. Files whose output name
// is already taken are skipped.
func findJobs(files []string, want func(string) bool, readIndex func(rel string) ([]byte, error), lim Limits) ([]*job, []Skip, error) {
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	if want == nil {
		want = func(string) bool { return true }
	}
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)

	var indexes []string
	switch {
	case have[transformersIndex] && want(transformersIndex):
		indexes = []string{transformersIndex}
	case have[transformersSingle] && want(transformersSingle):
		return []*job{{inputs: []string{transformersSingle}, outputs: []string{"model.safetensors"}}}, nil, nil
	default:
		for _, f := range sorted {
			if strings.HasSuffix(f, indexSuffix) && want(f) {
				indexes = append(indexes, f)
			}
		}
	}

	var jobs []*job
	var skipped []Skip
	claimed := make(map[string]bool)
	taken := make(map[string]string) // output -> input that produces it
	for _, ix := range indexes {
		data, err := readIndex(ix)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", printable(ix), err)
		}
		idx, err := parseIndex(data, lim)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", printable(ix), err)
		}
		j := &job{index: ix, idx: idx}
		var shardOut func(string) string
		j.outIndex, shardOut = shardNames(ix)
		dir, _ := path.Split(ix)
		for _, s := range idx.shards {
			rel := dir + s
			if !have[rel] {
				return nil, nil, fmt.Errorf("%s: %w", printable(ix), refuse(ErrMalformed, "the index lists shard %q, which is not in the repository", s))
			}
			if claimed[rel] {
				return nil, nil, fmt.Errorf("%s: %w", printable(ix), refuse(ErrMalformed, "shard %q also belongs to another index", s))
			}
			claimed[rel] = true
			j.inputs = append(j.inputs, rel)
			j.outputs = append(j.outputs, dir+shardOut(s))
		}
		for _, o := range append([]string{j.outIndex}, j.outputs...) {
			if prev, ok := taken[o]; ok {
				return nil, nil, fmt.Errorf("%s: %w", printable(ix), refuse(ErrMalformed, "its output %s would also be written for %s", printable(o), printable(prev)))
			}
			taken[o] = ix
		}
		jobs = append(jobs, j)
	}
	if len(indexes) == 1 && indexes[0] == transformersIndex {
		return jobs, nil, nil
	}
	for _, f := range sorted {
		if claimed[f] || !isCheckpointName(f) || !want(f) {
			continue
		}
		if trainingState(f) {
			skipped = append(skipped, Skip{Path: f, Reason: "training state saved next to the weights (optimizer, scheduler or scaler), not model weights"})
			continue
		}
		out := outputName(f)
		if prev, ok := taken[out]; ok {
			skipped = append(skipped, Skip{Path: f, Reason: fmt.Sprintf("its output %s is already written for %s", printable(out), printable(prev))})
			continue
		}
		taken[out] = f
		jobs = append(jobs, &job{inputs: []string{f}, outputs: []string{out}, generic: true})
	}
	return jobs, skipped, nil
}

// shardIndex is a parsed *.bin.index.json.
type shardIndex struct {
	metadata  map[string]json.RawMessage
	weightMap map[string]string // tensor name -> shard, relative to the index's folder
	shards    []string          // the distinct shards, sorted
}

// parseIndex reads an index: {"metadata": {...}, "weight_map": {name: shard}}.
func parseIndex(data []byte, lim Limits) (*shardIndex, error) {
	if int64(len(data)) > lim.MaxIndexBytes {
		return nil, refuse(ErrLimit, "the index is %d bytes, above the %d-byte limit", len(data), lim.MaxIndexBytes)
	}
	var raw struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap map[string]string          `json:"weight_map"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, refuse(ErrMalformed, "unreadable index: %v", err)
	}
	if len(raw.WeightMap) == 0 {
		return nil, refuse(ErrMalformed, "the index has no weight_map")
	}
	idx := &shardIndex{metadata: raw.Metadata, weightMap: make(map[string]string, len(raw.WeightMap))}
	seen := make(map[string]bool)
	for name, s := range raw.WeightMap {
		c := path.Clean(s)
		if s == "" || path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsAny(s, "\\\x00") ||
			!strings.HasSuffix(c, ".bin") {
			return nil, refuse(ErrMalformed, "the index maps %s to %q, which is not a .bin file in its folder", quoteName(name), s)
		}
		idx.weightMap[name] = c
		if !seen[c] {
			seen[c] = true
			idx.shards = append(idx.shards, c)
		}
	}
	sort.Strings(idx.shards)
	return idx, nil
}
