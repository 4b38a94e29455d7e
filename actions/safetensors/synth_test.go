package safetensors

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// synthTensor is a float16 matrix of a synthetic checkpoint.
type synthTensor struct {
	name       string
	rows, cols int
}

// synthCheckpoint writes a checkpoint as torch.save does (a zip archive
// with data.pkl, one stored record per storage and version), with random
// bytes seeded by seed: big checkpoints for tests without Python. The
// small ones that torch wrote (testdata/) check the format itself.
func synthCheckpoint(t testing.TB, ts []synthTensor, seed uint64) []byte {
	t.Helper()
	var pkl bytes.Buffer
	str := func(s string) {
		pkl.WriteByte('X')
		binary.Write(&pkl, binary.LittleEndian, uint32(len(s)))
		pkl.WriteString(s)
	}
	integer := func(n int) {
		pkl.WriteByte('J')
		binary.Write(&pkl, binary.LittleEndian, int32(n))
	}
	pkl.Write([]byte{0x80, 2, '}', '('})
	for i, tt := range ts {
		str(tt.name)
		pkl.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		pkl.WriteString("(")
		str("storage")
		pkl.WriteString("ctorch\nHalfStorage\n")
		str(fmt.Sprint(i))
		str("cpu")
		integer(tt.rows * tt.cols)
		pkl.WriteString("tQ")
		integer(0)
		pkl.WriteString("(")
		integer(tt.rows)
		integer(tt.cols)
		pkl.WriteString("t(")
		integer(tt.cols)
		integer(1)
		pkl.WriteString("t\x89ccollections\nOrderedDict\n)RtR")
	}
	pkl.WriteString("u.")

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	put := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	put("data.pkl", pkl.Bytes())
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	for i, tt := range ts {
		b := make([]byte, tt.rows*tt.cols*2)
		_, _ = rng.Read(b)
		put(fmt.Sprintf("data/%d", i), b)
	}
	put("version", []byte("3\n"))
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// synthSharded returns the files of a transformers sharded checkpoint:
// shards of layers matrices each, and its index.
func synthSharded(t testing.TB, shards, layers, rows, cols int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	weightMap := map[string]string{}
	for s := 1; s <= shards; s++ {
		name := fmt.Sprintf("pytorch_model-%05d-of-%05d.bin", s, shards)
		var ts []synthTensor
		for l := range layers {
			tn := fmt.Sprintf("model.layers.%d.weight", (s-1)*layers+l)
			ts = append(ts, synthTensor{name: tn, rows: rows, cols: cols})
			weightMap[tn] = name
		}
		files[name] = synthCheckpoint(t, ts, uint64(s))
	}
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": shards * layers * rows * cols * 2}, "weight_map": weightMap})
	require.NoError(t, err)
	files[transformersIndex] = index
	files["config.json"] = []byte(`{"architectures": ["LlamaForCausalLM"]}`)
	return files
}

func TestSynthCheckpointConverts(t *testing.T) {
	data := synthCheckpoint(t, []synthTensor{{"a", 3, 5}, {"b", 7, 2}}, 1)
	res, err := streamFile(t.Context(), memSource(data), &Options{})
	require.NoError(t, err)
	require.Equal(t, 2, res.Tensors)
}
