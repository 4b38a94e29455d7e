//go:build !unix

package safetensors

import "os"

// mapFile is not available here: non-contiguous tensors are read into
// memory, within Limits.MaxGatherBytes.
func mapFile(f *os.File, off, n int64) ([]byte, func(), bool) { return nil, nil, false }
