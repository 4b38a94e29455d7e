package safetensors

// dtype is one element type that both torch and safetensors know. It is a
// small value type: tables are switch statements, not package variables.
type dtype struct {
	// name is the safetensors header name ("F16").
	name string
	// torch is torch's canonical dtype name ("float16"), the name a pickled
	// torch.dtype refers to.
	torch string
	// size is the number of bytes of one torch element. float4_e2m1fn_x2
	// packs two 4-bit values in each torch element.
	size int64
	// order is the position in safetensors' Dtype enum: the Rust writer lays
	// tensors out by descending order, then by name.
	order int
}

// packed2 reports whether the safetensors shape doubles the last torch
// dimension (float4_e2m1fn_x2 stores two F4 values per byte).
func (d dtype) packed2() bool { return d.name == "F4" }

// dtypeByTorch finds the dtype torch calls name. The F6 types have no torch
// counterpart; their enum slots (2 and 3) only matter for ordering.
func dtypeByTorch(name string) (dtype, bool) {
	mk := func(st string, size int64, order int) (dtype, bool) {
		return dtype{name: st, torch: name, size: size, order: order}, true
	}
	switch name {
	case "bool":
		return mk("BOOL", 1, 0)
	case "float4_e2m1fn_x2":
		return mk("F4", 1, 1)
	case "uint8":
		return mk("U8", 1, 4)
	case "int8":
		return mk("I8", 1, 5)
	case "float8_e5m2":
		return mk("F8_E5M2", 1, 6)
	case "float8_e4m3fn":
		return mk("F8_E4M3", 1, 7)
	case "float8_e8m0fnu":
		return mk("F8_E8M0", 1, 8)
	case "float8_e4m3fnuz":
		return mk("F8_E4M3FNUZ", 1, 9)
	case "float8_e5m2fnuz":
		return mk("F8_E5M2FNUZ", 1, 10)
	case "int16":
		return mk("I16", 2, 11)
	case "uint16":
		return mk("U16", 2, 12)
	case "float16":
		return mk("F16", 2, 13)
	case "bfloat16":
		return mk("BF16", 2, 14)
	case "int32":
		return mk("I32", 4, 15)
	case "uint32":
		return mk("U32", 4, 16)
	case "float32":
		return mk("F32", 4, 17)
	case "complex64":
		return mk("C64", 8, 18)
	case "float64":
		return mk("F64", 8, 19)
	case "int64":
		return mk("I64", 8, 20)
	case "uint64":
		return mk("U64", 8, 21)
	}
	return dtype{}, false
}

// headerBits is the size in bits of one element of a safetensors dtype, for
// reading headers back; 0 for an unknown name.
func headerBits(name string) int64 {
	switch name {
	case "F4":
		return 4
	case "F6_E2M3", "F6_E3M2":
		return 6
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ":
		return 8
	case "I16", "U16", "F16", "BF16":
		return 16
	case "I32", "U32", "F32":
		return 32
	case "C64", "F64", "I64", "U64":
		return 64
	}
	return 0
}

// storageElement maps a typed storage class that torch pickles
// (torch.HalfStorage) to its element type. UntypedStorage counts bytes.
func storageElement(class string) (string, bool) {
	switch class {
	case "BoolStorage":
		return "bool", true
	case "ByteStorage", "UntypedStorage":
		return "uint8", true
	case "CharStorage":
		return "int8", true
	case "ShortStorage":
		return "int16", true
	case "IntStorage":
		return "int32", true
	case "LongStorage":
		return "int64", true
	case "HalfStorage":
		return "float16", true
	case "BFloat16Storage":
		return "bfloat16", true
	case "FloatStorage":
		return "float32", true
	case "DoubleStorage":
		return "float64", true
	case "ComplexFloatStorage":
		return "complex64", true
	}
	return "", false
}

// unsupportedType names torch types that can be pickled but that
// safetensors cannot hold (complex128, quantized types), so the refusal can
// say so instead of only "not in the allowlist".
func unsupportedType(name string) (string, bool) {
	switch name {
	case "ComplexDoubleStorage", "complex128":
		return "complex128", true
	case "ComplexHalfStorage", "complex32":
		return "complex32", true
	case "QInt8Storage", "qint8":
		return "qint8", true
	case "QUInt8Storage", "quint8":
		return "quint8", true
	case "QInt32Storage", "qint32":
		return "qint32", true
	case "QUInt4x2Storage", "quint4x2":
		return "quint4x2", true
	case "QUInt2x4Storage", "quint2x4":
		return "quint2x4", true
	}
	return "", false
}
