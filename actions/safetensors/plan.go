package safetensors

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxHeaderSize is the largest header safetensors readers accept.
const maxHeaderSize = 100_000_000

// DefaultDiscardNames returns the tied-weight names that are dropped in
// favour of the tensor they are tied to. convert.py gets such names from
// transformers (a model class's _tied_weights_keys); without transformers it
// keeps the alphabetically first name, which for a LLaMA-style tie keeps
// lm_head.weight and drops model.embed_tokens.weight. hubbot keeps the
// embedding, as transformers expects. A name matches an entry if it equals
// it or ends with "." followed by it.
func DefaultDiscardNames() []string {
	return []string{
		"lm_head.weight",
		"lm_head.decoder.weight",
		"lm_head.decoder.bias",
		"embed_out.weight",
		"predictions.decoder.weight",
		"predictions.decoder.bias",
		"encoder.embed_tokens.weight",
		"decoder.embed_tokens.weight",
	}
}

// discarded reports whether name matches one of the discard names.
func discarded(name string, discard []string) bool {
	for _, d := range discard {
		if name == d || strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// outTensor is a tensor as written: its safetensors shape and its place in
// the byte buffer.
type outTensor struct {
	*namedTensor
	shape      []int64
	begin, end int64
}

// plan is everything about an output file that is known before writing it.
type plan struct {
	tensors  []*outTensor      // in file order
	aliases  map[string]string // removed name -> kept name
	metadata map[string]string // the header's __metadata__
	header   []byte            // the JSON header, padded with spaces
	size     int64             // the size of the whole file
}

// makePlan removes aliases, orders the tensors as safetensors' Rust writer
// does and builds the header. inputSize is the checkpoint's size, for the
// size rule.
func makePlan(nts []*namedTensor, discard []string, inputSize int64) (*plan, error) {
	p := &plan{aliases: make(map[string]string), metadata: map[string]string{"format": "pt"}}

	// Aliases: names whose views are identical (same bytes, dtype, shape and
	// strides) are one tensor; keep one name. Overlapping but different views
	// are written as separate copies (see the package doc).
	groups := make(map[string][]*namedTensor)
	var keys []string
	for _, nt := range nts {
		if nt.numel == 0 {
			continue
		}
		k := fmt.Sprintf("%p/%d/%s/%v/%v", nt.rec, nt.start, nt.t.dt.name, nt.t.shape, nt.t.stride)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], nt)
	}
	removed := make(map[string]bool)
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		sort.Slice(g, func(i, j int) bool { return g[i].name < g[j].name })
		keep := g[0].name
		for _, nt := range g {
			if !discarded(nt.name, discard) {
				keep = nt.name
				break
			}
		}
		for _, nt := range g {
			if nt.name == keep {
				continue
			}
			removed[nt.name] = true
			p.aliases[nt.name] = keep
			// Like convert.py's metadata.setdefault: never overwrite "format".
			if _, ok := p.metadata[nt.name]; !ok {
				p.metadata[nt.name] = keep
			}
		}
	}

	for _, nt := range nts {
		if removed[nt.name] {
			continue
		}
		shape := append([]int64(nil), nt.t.shape...)
		if nt.t.dt.packed2() {
			shape[len(shape)-1] *= 2
		}
		p.tensors = append(p.tensors, &outTensor{namedTensor: nt, shape: shape})
	}
	sort.Slice(p.tensors, func(i, j int) bool {
		a, b := p.tensors[i], p.tensors[j]
		if a.t.dt.order != b.t.dt.order {
			return a.t.dt.order > b.t.dt.order
		}
		return a.name < b.name
	})
	var off int64
	for _, ot := range p.tensors {
		if ot.nbytes > 1<<62-off {
			return nil, refuse(ErrSizeRule, "the tensors add up to more than 2^62 bytes")
		}
		ot.begin = off
		off += ot.nbytes
		ot.end = off
	}

	p.header = encodeHeader(p.metadata, p.tensors)
	if len(p.header) > maxHeaderSize {
		return nil, refuse(ErrLimit, "the safetensors header would be %d bytes, above the format's limit of %d", len(p.header), maxHeaderSize)
	}
	p.size = 8 + int64(len(p.header)) + off
	if grew := p.size - inputSize; grew > 0 && (grew > (1<<63-1)/100 || grew*100 > inputSize) {
		return nil, refuse(ErrSizeRule, "the output would be %d bytes, more than 1%% larger than the %d-byte input (expanded or overlapping views would be copied)", p.size, inputSize)
	}
	return p, nil
}

// encodeHeader writes the header as safetensors' Rust writer does
// (serde_json, compact): __metadata__ first, then the tensors in file order,
// fields dtype, shape, data_offsets; then spaces up to a multiple of 8. The
// metadata keys are sorted, where Rust's HashMap order is arbitrary.
func encodeHeader(meta map[string]string, tensors []*outTensor) []byte {
	var b bytes.Buffer
	b.WriteString(`{"__metadata__":{`)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		writeJSONString(&b, meta[k])
	}
	b.WriteByte('}')
	for _, t := range tensors {
		b.WriteByte(',')
		writeJSONString(&b, t.name)
		b.WriteString(`:{"dtype":"`)
		b.WriteString(t.t.dt.name)
		b.WriteString(`","shape":[`)
		for i, n := range t.shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(n, 10))
		}
		b.WriteString(`],"data_offsets":[`)
		b.WriteString(strconv.FormatInt(t.begin, 10))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(t.end, 10))
		b.WriteString("]}")
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeJSONString escapes s as serde_json (and Python's json with
// ensure_ascii=False) do: only the quote, the backslash and control
// characters. Go's encoding/json would also escape <, >, & and U+2028.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
