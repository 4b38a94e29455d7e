package safetensors

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteJSONStringLikeSerde(t *testing.T) {
	var b bytes.Buffer
	writeJSONString(&b, "a\"b\\c\n\t\r\b\f\x01\x1f\x7fé<>&\u2028/")
	assert.Equal(t, `"a\"b\\c\n\t\r\b\f\u0001\u001f`+"\x7f"+`é<>&`+"\u2028"+`/"`, b.String())
}

func TestDiscarded(t *testing.T) {
	d := DefaultDiscardNames()
	for name, want := range map[string]bool{
		"lm_head.weight":                    true,
		"model.lm_head.weight":              true,
		"my_lm_head.weight":                 false,
		"model.embed_tokens.weight":         false,
		"model.encoder.embed_tokens.weight": true,
		"cls.predictions.decoder.weight":    true,
		"cls.predictions.bias":              false,
		"shared.weight":                     false,
	} {
		assert.Equal(t, want, discarded(name, d), name)
	}
}

// planOf builds tensors over one record for plan tests.
func planOf(t *testing.T, inputSize int64, specs ...struct {
	name          string
	offset, numel int64
}) (*plan, error) {
	t.Helper()
	f16, ok := dtypeByTorch("float16")
	require.True(t, ok)
	rec := &record{name: "r", size: 1 << 20}
	st := &storageRef{rec: rec, elem: f16, size: rec.size}
	var nts []*namedTensor
	for _, s := range specs {
		nt, err := layout(s.name, &tensorRef{st: st, dt: f16, offset: s.offset, shape: []int64{s.numel}, stride: []int64{1}})
		require.NoError(t, err)
		nts = append(nts, nt)
	}
	return makePlan(nts, DefaultDiscardNames(), inputSize)
}

func TestMakePlanSizeRule(t *testing.T) {
	type spec = struct {
		name          string
		offset, numel int64
	}
	p, err := planOf(t, 1<<20, spec{"a", 0, 100})
	require.NoError(t, err)
	size := p.size

	// Exactly 1% larger passes, one byte more does not.
	in := size * 100 / 101
	for in+in/100 < size || (size-in)*100 > in {
		in++
	}
	_, err = planOf(t, in, spec{"a", 0, 100})
	assert.NoError(t, err)
	_, err = planOf(t, in-1, spec{"a", 0, 100})
	assert.ErrorIs(t, err, ErrSizeRule)
}

func TestMakePlanOrderAndAliases(t *testing.T) {
	type spec = struct {
		name          string
		offset, numel int64
	}
	p, err := planOf(t, 1<<20, spec{"z", 0, 4}, spec{"lm_head.weight", 0, 4}, spec{"b", 4, 2}, spec{"a", 1, 2})
	require.NoError(t, err)
	var names []string
	for _, ot := range p.tensors {
		names = append(names, ot.name)
	}
	assert.Equal(t, []string{"a", "b", "z"}, names)
	assert.Equal(t, map[string]string{"lm_head.weight": "z"}, p.aliases)
	assert.Equal(t, map[string]string{"format": "pt", "lm_head.weight": "z"}, p.metadata)
	assert.Zero(t, len(p.header)%8)
	assert.Equal(t, `{"__metadata__":{"format":"pt","lm_head.weight":"z"},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]},"z":{"dtype":"F16","shape":[4],"data_offsets":[8,16]}}`,
		string(bytes.TrimRight(p.header, " ")))
}
