#!/usr/bin/python3
"""The Python side of the conversion benchmark: a conversion shaped like the
reference algorithm (safetensors' convert.py convert_file), with Debian's
torch and a small safetensors writer, since Debian has no safetensors
package.

    /usr/bin/python3 bench/convert/reference.py IN.bin OUT.safetensors

Steps, as the reference does them: torch.load the whole checkpoint
(weights_only=True), unwrap "state_dict", drop the names that share storage
(keeping the alphabetically first complete name, as convert.py does without
transformers), make every tensor contiguous, write the file (tensors sorted
by dtype then name, JSON header padded to 8 bytes), check that it is at most
1% larger than the input, load it back completely and compare every tensor
with torch.equal.
"""

import json
import os
import struct
import sys

import torch

DTYPES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
          torch.uint8: "U8", torch.bool: "BOOL"}
ORDER = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64", "I64"]
FROM_NAME = {v: k for k, v in DTYPES.items()}


def shared_groups(sd):
    groups = {}
    for name, t in sd.items():
        groups.setdefault((t.untyped_storage().data_ptr() if hasattr(t, "untyped_storage")
                           else t.storage().data_ptr()), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def is_complete(t):
    return t.data_ptr() == t.storage().data_ptr() and t.nelement() * t.element_size() == t.storage().nbytes()


def remove_duplicates(sd):
    meta = {"format": "pt"}
    for group in shared_groups(sd):
        complete = sorted(n for n in group if is_complete(sd[n]))
        if not complete:
            raise RuntimeError(f"no name covers the storage of {group}")
        keep = complete[0]
        for name in sorted(group):
            if name != keep:
                meta.setdefault(name, keep)
                del sd[name]
    return meta


def raw(t):
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return memoryview(t.numpy()).cast("B")


def save(sd, path, meta):
    items = sorted(sd.items(), key=lambda kv: (-ORDER.index(DTYPES[kv[1].dtype]), kv[0]))
    hdr, off = {"__metadata__": meta}, 0
    for name, t in items:
        n = t.nelement() * t.element_size()
        hdr[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, t in items:
            f.write(raw(t))


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    hdr.pop("__metadata__", None)
    out = {}
    for name, e in hdr.items():
        s, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + s:8 + n + end]), dtype=FROM_NAME[e["dtype"]]).reshape(e["shape"])
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    sd = torch.load(src, map_location="cpu", weights_only=True)
    if "state_dict" in sd:
        sd = sd["state_dict"]
    meta = remove_duplicates(sd)
    sd = {k: v.contiguous() for k, v in sd.items()}
    save(sd, dst, meta)
    if (os.path.getsize(dst) - os.path.getsize(src)) / os.path.getsize(src) > 0.01:
        raise RuntimeError("the output is more than 1% larger than the input")
    back = load(dst)
    for k, v in sd.items():
        if not torch.equal(v, back[k]):
            raise RuntimeError(f"the output tensors do not match for key {k}")
    print(f"wrote {dst} ({len(sd)} tensors)")


if __name__ == "__main__":
    main()
