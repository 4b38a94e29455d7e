#!/usr/bin/python3
"""Generate the checkpoint fixtures of actions/safetensors.

Run with Debian's torch (python3-torch 1.13):

    /usr/bin/python3 actions/safetensors/testdata/gen/gen.py

It rewrites, under actions/safetensors/testdata/:

  good/        checkpoints hubbot must convert (torch.save, legacy format, and
               hand-built torch 2.x pickles)
  want/        for each good file, the expected safetensors bytes
  repos/       model folders (sharded, diffusers-style, transformers single)
  want-repos/  the expected output tree of each folder
  bad/         files hubbot must refuse (hostile, corrupt, or not tensors)

The expected bytes are built here, independently of the Go code: tensors come
from torch.load(weights_only=True) of the fixture (or, for hand-built files,
from the bytes this script put in them), aliases are resolved with hubbot's
rule (identical views only; tied names such as lm_head.weight are the ones
dropped), and the file is laid out as the safetensors Rust writer does: tensors
sorted by dtype (descending enum order) then name, compact JSON with
__metadata__ first (keys sorted), header padded with spaces to a multiple of 8.

torch 1.13 cannot save float8, uint16/32/64 or anything through
_rebuild_tensor_v3 (torch 2.1+). Those files are built by hand below: the
pickle is made by Python's own pickler with stand-ins registered under torch's
names (torch._utils._rebuild_tensor_v3, torch.float8_e4m3fn, ...), so the
opcodes are the ones a real torch 2.x pickler emits for the layout torch 2.x
uses (an UntypedStorage persistent id counted in bytes, which pickles as
GLOBAL torch.storage UntypedStorage because that is the class's module, the
dtype as a GLOBAL, a byteorder record, 64-byte aligned stored entries). That layout follows
torch's serialization code as far as it could be read; it was not checked
against a file written by torch 2.x.

Legacy-format files store memory addresses as storage keys, so regenerating
changes their bytes (not their content).
"""

import collections
import io
import itertools
import json
import os
import pickle
import random
import shutil
import struct
import sys
import tarfile
import types
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TD = os.path.dirname(HERE)

ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
         "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
         "F64", "I64", "U64"]
ST_NAME = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
           torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32",
           torch.complex64: "C64", torch.float64: "F64", torch.int64: "I64"}
DISCARD = ["lm_head.weight", "lm_head.decoder.weight", "lm_head.decoder.bias", "embed_out.weight",
           "predictions.decoder.weight", "predictions.decoder.bias",
           "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------- safetensors writer


def st_bytes(entries, meta):
    """entries: [(name, st_dtype, shape, raw bytes)] -> safetensors file bytes."""
    items = sorted(entries, key=lambda e: (-ORDER.index(e[1]), e[0].encode()))
    hdr = {"__metadata__": dict(sorted(meta.items()))}
    off = 0
    for name, dt, shape, raw in items:
        hdr[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(e[3] for e in items)


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def discarded(name):
    return any(name == d or name.endswith("." + d) for d in DISCARD)


def resolve_aliases(keys):
    """keys: {name: identity key or None} -> (removed names, metadata)."""
    groups = collections.OrderedDict()
    for name, key in keys.items():
        if key is not None:
            groups.setdefault(key, []).append(name)
    meta = {"format": "pt"}
    removed = set()
    for names in groups.values():
        if len(names) < 2:
            continue
        names = sorted(names)
        keep = next((n for n in names if not discarded(n)), names[0])
        for n in names:
            if n != keep:
                removed.add(n)
                meta.setdefault(n, keep)
    return removed, meta


def expected_from_torch(path, weights_only=True):
    """The expected safetensors bytes and tensor names of a torch-loadable checkpoint.

    weights_only=False is only for files this script built itself, which
    torch 1.13's weights_only loader refuses (protocol 4, hand-built legacy).
    """
    sd = torch.load(path, map_location="cpu", weights_only=weights_only)
    if "state_dict" in sd:
        sd = sd["state_dict"]
    keys = {n: (t.data_ptr(), str(t.dtype), tuple(t.shape), tuple(t.stride())) if t.numel() else None
            for n, t in sd.items()}
    removed, meta = resolve_aliases(keys)
    entries = [(n, ST_NAME[t.dtype], tuple(t.shape), raw_bytes(t)) for n, t in sd.items() if n not in removed]
    return st_bytes(entries, meta), [e[0] for e in entries], list(sd.keys())


def out_name(rel):
    d, b = os.path.split(rel)
    if b == "pytorch_model.bin":
        return os.path.join(d, "model.safetensors")
    return os.path.join(d, os.path.splitext(b)[0] + ".safetensors")


# ---------------------------------------------------------------- hand-built checkpoints


class Storage:
    """A storage for hand-built files: its torch class name, key, bytes and element size."""

    def __init__(self, cls, key, data, itemsize, location="cpu"):
        self.cls, self.key, self.data, self.itemsize, self.location = cls, key, data, itemsize, location

    def numel(self):
        return len(self.data) // self.itemsize


def stand_in(module, name, obj):
    """Register obj under module.name so that pickle emits GLOBAL module name."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        name_i = ".".join(parts[:i])
        if name_i not in sys.modules:
            sys.modules[name_i] = types.ModuleType(name_i)
    mod = sys.modules[module]
    setattr(mod, name, obj)
    if isinstance(obj, types.FunctionType) or isinstance(obj, type):
        obj.__module__, obj.__qualname__ = module, name
    return obj


class FakeDtype:
    """Pickles as GLOBAL torch <name>, as a torch.dtype does."""
    __module__ = "torch"

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return self.name


def _placeholder(*args):
    raise RuntimeError("stand-in, never called")


def fake_fn(module, name):
    f = types.FunctionType(_placeholder.__code__, {}, name)
    return stand_in(module, name, f)


REBUILD_V2 = torch._utils._rebuild_tensor_v2
REBUILD_V1 = torch._utils._rebuild_tensor
REBUILD_PARAM = torch._utils._rebuild_parameter
REBUILD_V3 = fake_fn("torch._utils", "_rebuild_tensor_v3")
REBUILD_PARAM_STATE = fake_fn("torch._utils", "_rebuild_parameter_with_state")
REBUILD_FROM_TYPE = fake_fn("torch._tensor", "_rebuild_from_type_v2")
NEW_DTYPES = {}
for _n in ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
           "uint16", "uint32", "uint64", "float4_e2m1fn_x2"]:
    NEW_DTYPES[_n] = stand_in("torch", _n, FakeDtype(_n)) if not hasattr(torch, _n) else getattr(torch, _n)


class Reduce:
    """An object that pickles as REDUCE(fn, args)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class HandPickler(pickle.Pickler):
    def __init__(self, f, legacy=False, protocol=2):
        super().__init__(f, protocol=protocol)
        self.legacy = legacy

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", getattr(torch, obj.cls), obj.key, obj.location, obj.numel())
            return pid + (None,) if self.legacy else pid
        if isinstance(obj, View):
            s = obj.root
            return ("storage", getattr(torch, s.cls), s.key, s.location, s.numel(),
                    (obj.key, obj.offset, obj.size))
        return None


class View:
    """A legacy storage view: (view key, offset, size) in elements of root."""

    def __init__(self, root, key, offset, size):
        self.root, self.key, self.offset, self.size = root, key, offset, size


def pickle_bytes(obj, legacy=False, protocol=2):
    b = io.BytesIO()
    HandPickler(b, legacy=legacy, protocol=protocol).dump(obj)
    return b.getvalue()


def write_zip(path, prefix, records, compress=None, order=None):
    """Write records {name: bytes} like torch's writer: stored, 64-byte aligned data."""
    compress = compress or {}
    with open(path, "wb") as fh:
        zf = zipfile.ZipFile(fh, "w")
        for name, data in records:
            # "!" marks a name used as is, outside the archive folder
            full = name[1:] if name.startswith("!") else prefix + "/" + name
            zi = zipfile.ZipInfo(full, FIXED_TIME)
            zi.compress_type = compress.get(name, zipfile.ZIP_STORED)
            if zi.compress_type == zipfile.ZIP_STORED:
                offset = fh.tell()
                pad = (-(offset + 30 + len(full.encode()) + 4)) % 64
                zi.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(zi, data)
        zf.close()


def torch2_zip(path, obj, storages, prefix="archive", extra_records=(), compress=None):
    """A checkpoint laid out as torch 2.x writes it."""
    records = [("data.pkl", pickle_bytes(obj)), ("byteorder", b"little")]
    for s in storages:
        records.append(("data/" + s.key, s.data))
    records.append(("version", b"3\n"))
    records.append((".data/serialization_id", b"1234567890123456789012345678901234567890"))
    records.extend(extra_records)
    write_zip(path, prefix, records, compress=compress)


def legacy_file(path, obj, storages):
    """A checkpoint in the pre-1.6 format, storages given in data order."""
    out = io.BytesIO()
    for part in (0x1950a86a20f9469cfc6c, 1001,
                 {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(part, out, protocol=2)
    out.write(pickle_bytes(obj, legacy=True))
    pickle.dump([s.key for s in storages], out, protocol=2)
    for s in storages:
        out.write(struct.pack("<q", s.numel()))
        out.write(s.data)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())


def view_bytes(data, itemsize, offset, shape, stride):
    """The C-order bytes of a strided view, element by element."""
    out = bytearray()
    for idx in itertools.product(*[range(n) for n in shape]):
        o = (offset + sum(i * s for i, s in zip(idx, stride))) * itemsize
        out += data[o:o + itemsize]
    return bytes(out)


def contiguous_strides(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return tuple(reversed(st))


# ---------------------------------------------------------------- good fixtures


def good_fixtures(good, want):
    torch.manual_seed(0)
    made = {}

    def save(name, obj, **kw):
        p = os.path.join(good, name)
        torch.save(obj, p, **kw)
        made[name] = None

    save("x.bin", {"a": torch.arange(6, dtype=torch.float16).reshape(2, 3)})
    emb = torch.randn(4, 3)
    save("tied.bin", {"embed.weight": emb, "lm_head.weight": emb, "b": torch.randn(3)})
    e = torch.randn(5, 2, dtype=torch.float16)
    save("llama_tie.bin", {"model.embed_tokens.weight": e, "lm_head.weight": e,
                           "model.norm.weight": torch.ones(2, dtype=torch.float16)})
    a = torch.arange(10, dtype=torch.float32)
    save("views.bin", {"x": a[:5], "y": a[5:]})
    a = torch.arange(10, dtype=torch.float32)
    save("subview.bin", {"full": a, "x": a[2:7]})
    full = torch.arange(20, dtype=torch.float32)
    save("multiview.bin", {"full": full, "a": full[2:7], "z": full[10:15]})
    m = torch.arange(24, dtype=torch.int32).reshape(2, 3, 4)
    conv = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2).contiguous(memory_format=torch.channels_last)
    save("transposed.bin", {"t": torch.arange(6, dtype=torch.float16).reshape(2, 3).t(),
                            "p": m.permute(2, 0, 1), "s": m[:, :, ::2], "c": conv,
                            "row": torch.arange(12, dtype=torch.int64).reshape(3, 4)[1]})
    save("wrapped.ckpt", {"state_dict": {"w": torch.randn(2, 2), "b": torch.zeros(2)}, "epoch": 3, "global_step": 10})
    save("dtypes.bin", {
        "bf16": torch.randn(3).to(torch.bfloat16), "bool": torch.tensor([True, False, True]),
        "i64": torch.arange(3, dtype=torch.int64) - 1, "f64": torch.randn(2, dtype=torch.float64),
        "u8": torch.arange(250, 256, dtype=torch.uint8), "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "i16": torch.tensor([-2, 300], dtype=torch.int16), "i32": torch.tensor([-70000, 7], dtype=torch.int32),
        "c64": torch.tensor([1 + 2j, -3.5j], dtype=torch.complex64), "f16": torch.randn(2, 2).half(),
        "f32": torch.randn(3), "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3),
        "empty_i8": torch.zeros(2, 0, dtype=torch.int8),
    })
    w = torch.randn(3, 2)
    short = torch.arange(10, dtype=torch.int16)
    save("legacy.bin", {"w": w, "tied": w, "v": short[3:7], "d": torch.randn(2, dtype=torch.float64),
                        "bf": torch.randn(2).bfloat16()}, _use_new_zipfile_serialization=False)
    save("linear.pt", torch.nn.Linear(3, 2).state_dict())
    save("params.bin", torch.nn.Linear(2, 2).state_dict(keep_vars=True))
    save("proto4.bin", {"a": torch.randn(2, 3), "b": torch.arange(4)}, pickle_protocol=4)
    save("nan.bin", {"f": torch.tensor([float("nan"), -0.0, float("inf"), 1.0]),
                     "h": torch.tensor([float("nan"), -0.0], dtype=torch.float16)})
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3, dtype=torch.float32)}, buf)  # prefix "archive/"
    with open(os.path.join(good, "stream.bin"), "wb") as fh:
        fh.write(buf.getvalue())
    made["stream.bin"] = None
    save("odd.name-1.bin", {"name with \"quotes\" and \u00e9\t": torch.ones(1), "<&>": torch.zeros(1)})

    for name in list(made):
        data, _, _ = expected_from_torch(os.path.join(good, name), weights_only=name != "proto4.bin")
        with open(os.path.join(want, out_name(name)), "wb") as fh:
            fh.write(data)

    # Hand-built: the legacy format with storage views and the old
    # _rebuild_tensor, which torch 1.13 still loads.
    root = Storage("FloatStorage", "140000001", struct.pack("<8f", *range(8)), 4)
    obj = {"whole": Reduce(REBUILD_V2, root, 0, (8,), (1,), False, collections.OrderedDict()),
           "view": Reduce(REBUILD_V1, View(root, "140000002", 2, 4), 1, (2,), (1,))}
    p = os.path.join(good, "legacy_views.bin")
    legacy_file(p, obj, [root])
    data, _, _ = expected_from_torch(p, weights_only=False)
    with open(os.path.join(want, out_name("legacy_views.bin")), "wb") as fh:
        fh.write(data)

    # Hand-built torch 2.x file: every dtype torch 1.13 cannot save, through
    # _rebuild_tensor_v3, next to a _rebuild_tensor_v2 tensor with an empty
    # metadata dict, a parameter with state and a tensor subclass wrapper.
    entries, obj, storages = [], {}, []
    specs = [("f8_e4m3", "float8_e4m3fn", "F8_E4M3", 1), ("f8_e5m2", "float8_e5m2", "F8_E5M2", 1),
             ("f8_e4m3fnuz", "float8_e4m3fnuz", "F8_E4M3FNUZ", 1), ("f8_e5m2fnuz", "float8_e5m2fnuz", "F8_E5M2FNUZ", 1),
             ("f8_e8m0", "float8_e8m0fnu", "F8_E8M0", 1), ("u16", "uint16", "U16", 2),
             ("u32", "uint32", "U32", 4), ("u64", "uint64", "U64", 8)]
    for i, (name, tdt, sdt, size) in enumerate(specs):
        data = bytes((7 * i + 13 * j) % 256 for j in range(6 * size))
        s = Storage("UntypedStorage", str(i), data, 1)
        storages.append(s)
        obj[name] = Reduce(REBUILD_V3, s, 0, (2, 3), (3, 1), False, collections.OrderedDict(), NEW_DTYPES[tdt])
        entries.append((name, sdt, (2, 3), data))
    # a transposed float8 view with an offset, and a uint16 tie
    data = bytes(range(40))
    s = Storage("UntypedStorage", "20", data, 1)
    storages.append(s)
    obj["f8_t"] = Reduce(REBUILD_V3, s, 4, (3, 2), (1, 3), False, collections.OrderedDict(), NEW_DTYPES["float8_e4m3fn"])
    entries.append(("f8_t", "F8_E4M3", (3, 2), view_bytes(data, 1, 4, (3, 2), (1, 3))))
    obj["u16_tied_a"] = Reduce(REBUILD_V3, s, 10, (5,), (1,), False, collections.OrderedDict(), NEW_DTYPES["uint16"])
    obj["u16_tied_b"] = obj["u16_tied_a"]
    entries.append(("u16_tied_a", "U16", (5,), data[20:30]))
    # float4 x2: the safetensors shape doubles the last dimension
    s4 = Storage("UntypedStorage", "21", bytes([0x12, 0x34, 0x56, 0x78]), 1)
    storages.append(s4)
    obj["f4"] = Reduce(REBUILD_V3, s4, 0, (2, 2), (2, 1), False, collections.OrderedDict(), NEW_DTYPES["float4_e2m1fn_x2"])
    entries.append(("f4", "F4", (2, 4), s4.data))
    half = Storage("HalfStorage", "30", struct.pack("<4e", 1, 2, 3, 4), 2)
    storages.append(half)
    obj["h"] = Reduce(REBUILD_V2, half, 0, (4,), (1,), False, collections.OrderedDict(), {})
    inner = Reduce(REBUILD_V2, half, 1, (2,), (1,), False, collections.OrderedDict())
    obj["param_state"] = Reduce(REBUILD_PARAM_STATE, inner, True, collections.OrderedDict(), {"extra": 1})
    obj["subclass"] = Reduce(REBUILD_FROM_TYPE, REBUILD_V2, torch.Tensor,
                             (half, 2, (2,), (1,), False, collections.OrderedDict()), {"tag": "x"})
    entries.append(("h", "F16", (4,), half.data))
    entries.append(("param_state", "F16", (2,), half.data[2:6]))
    entries.append(("subclass", "F16", (2,), half.data[4:8]))
    torch2_zip(os.path.join(good, "torch2.bin"), obj, storages)
    with open(os.path.join(want, out_name("torch2.bin")), "wb") as fh:
        fh.write(st_bytes(entries, {"format": "pt", "u16_tied_b": "u16_tied_a"}))


# ---------------------------------------------------------------- folders


def index_json(weight_map, total):
    return json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map},
                      indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def sharded(repos, want, name, stem, shard_sds, out_stem, shard_rename):
    """Write a sharded checkpoint and its expected conversion."""
    src = os.path.join(repos, name)
    os.makedirs(src, exist_ok=True)
    n = len(shard_sds)
    wm, out_wm, total = {}, {}, 0
    for i, sd in enumerate(shard_sds, 1):
        shard = f"{stem}-{i:05d}-of-{n:05d}.bin"
        p = os.path.join(src, shard)
        torch.save(sd, p)
        for k in sd:
            wm[k] = shard
        data, written, _ = expected_from_torch(p)
        out = shard_rename(shard)
        with open(os.path.join(want, name, out), "wb") as fh:
            fh.write(data)
        for k in written:
            out_wm[k] = out
        total += sum(sd[k].numel() * sd[k].element_size() for k in written)
    with open(os.path.join(src, f"{stem}.bin.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": 999}, "weight_map": wm}, fh, indent=2)
    with open(os.path.join(want, name, f"{out_stem}.safetensors.index.json"), "w") as fh:
        fh.write(index_json(out_wm, total))


class TrainingArguments:
    """Stands for transformers' TrainingArguments in training_args.bin."""

    def __init__(self):
        self.output_dir, self.learning_rate = "out", 5e-5


stand_in("transformers.training_args", "TrainingArguments", TrainingArguments)


def folders(repos, want):
    torch.manual_seed(1)
    for d in ["sharded", "diffusers", "single"]:
        os.makedirs(os.path.join(want, d), exist_ok=True)

    # transformers sharded at the root, with a tie inside the first shard
    e = torch.randn(4, 2)
    sharded(repos, want, "sharded", "pytorch_model",
            [{"model.embed_tokens.weight": e, "lm_head.weight": e, "model.layers.0.w": torch.randn(2, 2)},
             {"model.layers.1.w": torch.randn(2, 2).half(), "model.norm.weight": torch.ones(2)}],
            "model", lambda s: s.replace("pytorch_model", "model", 1)[:-4] + ".safetensors")
    with open(os.path.join(repos, "sharded", "config.json"), "w") as fh:
        json.dump({"architectures": ["LlamaForCausalLM"]}, fh)

    # diffusers-style folder: generic rules, a sharded vae keeping its stem,
    # files that are not tensors (skipped)
    d = os.path.join(repos, "diffusers")
    for sub in ["unet", "text_encoder", "vae"]:
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.makedirs(os.path.join(want, "diffusers", sub), exist_ok=True)
    torch.save({"conv.weight": torch.randn(2, 1, 2, 2)}, os.path.join(d, "unet", "diffusion_pytorch_model.bin"))
    torch.save({"emb.weight": torch.randn(3, 2).half()}, os.path.join(d, "text_encoder", "pytorch_model.bin"))
    for rel in ["unet/diffusion_pytorch_model.bin", "text_encoder/pytorch_model.bin"]:
        data, _, _ = expected_from_torch(os.path.join(d, rel))
        with open(os.path.join(want, "diffusers", out_name(rel)), "wb") as fh:
            fh.write(data)
    sharded(os.path.join(repos, "diffusers"), os.path.join(want, "diffusers"), "vae", "diffusion_pytorch_model",
            [{"enc.w": torch.randn(2)}, {"dec.w": torch.randn(3)}],
            "diffusion_pytorch_model", lambda s: s[:-4] + ".safetensors")
    torch.save(TrainingArguments(), os.path.join(d, "training_args.bin"))
    torch.save({"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
               os.path.join(d, "optimizer.pt"))
    with open(os.path.join(d, "model_index.json"), "w") as fh:
        json.dump({"_class_name": "StableDiffusionPipeline"}, fh)

    # transformers single file at the root: training_args.bin is not looked at
    s = os.path.join(repos, "single")
    os.makedirs(s, exist_ok=True)
    e = torch.randn(3, 2)
    torch.save({"transformer.wte.weight": e, "lm_head.weight": e, "transformer.h.0.w": torch.randn(2)},
               os.path.join(s, "pytorch_model.bin"))
    torch.save(TrainingArguments(), os.path.join(s, "training_args.bin"))
    data, _, _ = expected_from_torch(os.path.join(s, "pytorch_model.bin"))
    with open(os.path.join(want, "single", "model.safetensors"), "wb") as fh:
        fh.write(data)


# ---------------------------------------------------------------- bad fixtures


class System:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/hubbot-pwned",))


class Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned')",))


def zip_with_pickle(path, pkl, storages=(), compress=None, prefix="archive"):
    records = [("data.pkl", pkl)] + [("data/" + s.key, s.data) for s in storages] + [("version", b"3\n")]
    write_zip(path, prefix, records, compress=compress)


def patch_sizes(path, name, size):
    """Make the zip declare size as the uncompressed size of entry name."""
    b = bytearray(open(path, "rb").read())
    nb = name.encode()
    i = b.find(b"PK\x03\x04")
    while i >= 0:
        n = struct.unpack_from("<H", b, i + 26)[0]
        if bytes(b[i + 30:i + 30 + n]) == nb:
            struct.pack_into("<I", b, i + 22, size)
        i = b.find(b"PK\x03\x04", i + 4)
    i = b.find(b"PK\x01\x02")
    while i >= 0:
        n = struct.unpack_from("<H", b, i + 28)[0]
        if bytes(b[i + 46:i + 46 + n]) == nb:
            struct.pack_into("<I", b, i + 24, size)
        i = b.find(b"PK\x01\x02", i + 4)
    open(path, "wb").write(bytes(b))


def bad_fixtures(bad, good):
    def p(name):
        return os.path.join(bad, name)

    h = Storage("HalfStorage", "0", struct.pack("<4e", 1, 2, 3, 4), 2)
    tensor = Reduce(REBUILD_V2, h, 0, (4,), (1,), False, collections.OrderedDict())

    zip_with_pickle(p("evil_system.bin"), pickle_bytes({"w": System()}))
    zip_with_pickle(p("evil_eval.pt"), pickle_bytes({"w": Eval()}, protocol=4))
    big = b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b"x" * 8 + b"."
    assert len(big) == 20
    open(p("bigstring.bin"), "wb").write(big)
    zip_with_pickle(p("bigstring_zip.bin"), big)
    zip_with_pickle(p("deep_marks.bin"), b"\x80\x02" + b"(" * 100000 + b"N" + b"t" * 100000 + b".",
                    compress={"data.pkl": zipfile.ZIP_DEFLATED})
    zip_with_pickle(p("deep_tuples.bin"), b"\x80\x02N" + b"\x85" * 100000 + b".",
                    compress={"data.pkl": zipfile.ZIP_DEFLATED})
    zip_with_pickle(p("deep_lists.bin"), b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b".",
                    compress={"data.pkl": zipfile.ZIP_DEFLATED})
    zip_with_pickle(p("view_past.bin"),
                    pickle_bytes({"w": Reduce(REBUILD_V2, h, 2, (2, 2), (2, 1), False, collections.OrderedDict())}), [h])
    zip_with_pickle(p("neg_bit.bin"),
                    pickle_bytes({"w": Reduce(REBUILD_V2, h, 0, (4,), (1,), False, collections.OrderedDict(), {"neg": True})}), [h])
    # entry names
    pk = pickle_bytes({"w": tensor})
    write_zip(p("dotdot.bin"), "archive", [("data.pkl", pk), ("data/0", h.data), ("!archive/../../etc/evil", b"x")])
    with open(p("dup.bin"), "wb") as fh:
        zf = zipfile.ZipFile(fh, "w")
        for name, data in [("archive/data.pkl", pk), ("archive/data/0", h.data), ("archive/data.pkl", pk)]:
            zf.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
        zf.close()
    # compression
    bomb = b"\x80\x02" + b"N" * (32 << 20) + b"."
    zip_with_pickle(p("bomb.bin"), bomb, compress={"data.pkl": zipfile.ZIP_DEFLATED})
    zip_with_pickle(p("bomb_lie.bin"), bomb, compress={"data.pkl": zipfile.ZIP_DEFLATED})
    patch_sizes(p("bomb_lie.bin"), "archive/data.pkl", 1000)
    zip_with_pickle(p("storage_deflated.bin"), pk, [h], compress={"data/0": zipfile.ZIP_DEFLATED})
    # corruption
    src = open(os.path.join(good, "x.bin"), "rb").read()
    zi = zipfile.ZipFile(os.path.join(good, "x.bin")).getinfo("x/data/0")
    n, m = struct.unpack_from("<HH", src, zi.header_offset + 26)
    off = zi.header_offset + 30 + n + m
    corrupt = bytearray(src)
    corrupt[off + 3] ^= 0xFF
    open(p("crc.bin"), "wb").write(bytes(corrupt))
    open(p("truncated_zip.bin"), "wb").write(src[:len(src) * 6 // 10])
    leg = open(os.path.join(good, "legacy.bin"), "rb").read()
    open(p("truncated_legacy.bin"), "wb").write(leg[:-10])
    zip_with_pickle(p("truncated_pickle.bin"), pk[:len(pk) // 2], [h])
    # formats
    with tarfile.open(p("tar.bin"), "w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("storages")
        info.size, info.mtime = 4, 0
        tf.addfile(info, io.BytesIO(b"abcd"))
    rnd = random.Random(42)
    open(p("random.bin"), "wb").write(b"\x42" + bytes(rnd.randrange(256) for _ in range(1023)))
    open(p("empty.bin"), "wb").close()
    open(p("lfs_pointer.bin"), "w").write(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123456\n")
    zip_with_pickle(p("torchscript.bin"), pk, [h])
    with zipfile.ZipFile(p("torchscript.bin"), "a") as zf:
        zf.writestr(zipfile.ZipInfo("archive/constants.pkl", FIXED_TIME), pickle.dumps(()))
    write_zip(p("bigendian.bin"), "archive", [("data.pkl", pk), ("byteorder", b"big"), ("data/0", h.data)])
    open(p("plain_pickle.bin"), "wb").write(pickle.dumps({"a": 1}, protocol=2))
    # content
    torch.save({"x": torch.zeros(1, 4).expand(1000, 4)}, p("expanded.bin"))
    torch.save(TrainingArguments(), p("training_args.bin"))
    torch.save({"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 0.1}]}, p("optimizer.pt"))
    torch.save({"z": torch.zeros(2, dtype=torch.complex128)}, p("complex128.bin"))
    torch.save({1: torch.zeros(2)}, p("int_key.bin"))
    torch.save({}, p("no_tensors.bin"))


def main():
    for d in ["good", "want", "repos", "want-repos", "bad"]:
        shutil.rmtree(os.path.join(TD, d), ignore_errors=True)
        os.makedirs(os.path.join(TD, d))
    good, want = os.path.join(TD, "good"), os.path.join(TD, "want")
    good_fixtures(good, want)
    folders(os.path.join(TD, "repos"), os.path.join(TD, "want-repos"))
    bad_fixtures(os.path.join(TD, "bad"), good)
    total = 0
    for root, _, files in os.walk(TD):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"testdata: {total} bytes")


if __name__ == "__main__":
    main()
