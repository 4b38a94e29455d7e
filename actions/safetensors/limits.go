package safetensors

// Limits bound what reading an untrusted checkpoint may cost. Every limit is
// checked before the memory it guards is allocated. The zero value of a
// field means its default.
type Limits struct {
	// MaxPickleBytes bounds the size of one pickle (data.pkl, or one
	// pickle of the legacy format). Default 64 MiB; real ones are a few
	// hundred KiB.
	MaxPickleBytes int64
	// MaxPickleMemory bounds the memory, in bytes, that decoding one pickle
	// may allocate in total (strings, containers, stack, memo), counted
	// generously and never given back, so it also bounds the work done.
	// Default 512 MiB; a state dict costs a few KiB per tensor.
	MaxPickleMemory int64
	// MaxDepth bounds the nesting of containers and MARKs. Default 100;
	// a state dict nests 4 deep.
	MaxDepth int
	// MaxStack bounds the values on the unpickler's stack. Default 1<<17;
	// Python's pickler adds dict and list items in batches of 1000.
	MaxStack int
	// MaxMemo bounds the number of memo entries. Default 1<<20.
	MaxMemo int
	// MaxTensors bounds the number of tensors in one file. Default 1<<20.
	MaxTensors int
	// MaxRank bounds the number of dimensions of one tensor. Default 64.
	MaxRank int
	// MaxZipEntries bounds the entries of a zip checkpoint, checked from the
	// end-of-central-directory record before the directory is read.
	// Default 1<<17.
	MaxZipEntries int
	// MaxIndexBytes bounds a *.bin.index.json file. Default 64 MiB.
	MaxIndexBytes int64
	// MaxGatherBytes bounds the memory used to make one non-contiguous
	// tensor contiguous when its source cannot be memory-mapped (for example
	// on Windows). Default 1 GiB.
	MaxGatherBytes int64
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	set64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set64(&l.MaxPickleBytes, 64<<20)
	set64(&l.MaxPickleMemory, 512<<20)
	set(&l.MaxDepth, 100)
	set(&l.MaxStack, 1<<17)
	set(&l.MaxMemo, 1<<20)
	set(&l.MaxTensors, 1<<20)
	set(&l.MaxRank, 64)
	set(&l.MaxZipEntries, 1<<17)
	set64(&l.MaxIndexBytes, 64<<20)
	set64(&l.MaxGatherBytes, 1<<30)
	return l
}
