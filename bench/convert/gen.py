#!/usr/bin/python3
"""Write a LLaMA-shaped fp16 checkpoint for the conversion benchmark.

    /usr/bin/python3 bench/convert/gen.py OUT.bin LAYERS [zeros]
    /usr/bin/python3 bench/convert/gen.py --sharded DIR SHARDS LAYERS

The second form writes a transformers sharded checkpoint into DIR:
pytorch_model-0000k-of-0000N.bin with LAYERS 4096x4096 fp16 matrices each
(32 MiB per matrix), and pytorch_model.bin.index.json.

The checkpoint holds a 32000x4096 embedding tied to lm_head.weight (one
storage, two names) and LAYERS matrices of 8192x8192, all float16:
2 layers make about 0.53 GB, 14 layers about 2.14 GB, 150 layers about
20.4 GB. Values are uniform in [-1, 1) from a fixed seed.

With "zeros", the layers are storages mapped from sparse files that were
never written, so torch.save writes any size without it being held in
anonymous memory (the mapped pages are page cache the kernel can drop).
The converter copies bytes without looking at their values, so zeros cost
it the same as random values.
"""

import json
import os
import shutil
import sys
import tempfile

import torch


def sharded(out, shards, layers):
    torch.manual_seed(0)
    weight_map, total = {}, 0
    for s in range(1, shards + 1):
        name = f"pytorch_model-{s:05d}-of-{shards:05d}.bin"
        sd = {}
        for i in range(layers):
            key = f"model.layers.{(s - 1) * layers + i}.weight"
            sd[key] = torch.empty(4096, 4096, dtype=torch.float16).uniform_(-1, 1)
            weight_map[key] = name
            total += 4096 * 4096 * 2
        torch.save(sd, os.path.join(out, name))
    with open(os.path.join(out, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main():
    if sys.argv[1] == "--sharded":
        sharded(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    out, layers = sys.argv[1], int(sys.argv[2])
    zeros = len(sys.argv) > 3 and sys.argv[3] == "zeros"
    torch.manual_seed(0)
    emb = torch.empty(32000, 4096, dtype=torch.float16).uniform_(-1, 1)
    sd = {"model.embed_tokens.weight": emb, "lm_head.weight": emb}
    tmp = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out))) if zeros else None
    try:
        n = 8192 * 8192
        for i in range(layers):
            if zeros:
                p = os.path.join(tmp, str(i))
                with open(p, "wb") as f:
                    f.truncate(n * 2)
                t = torch.HalfTensor(torch.HalfStorage.from_file(p, shared=True, size=n)).view(8192, 8192)
            else:
                t = torch.empty(8192, 8192, dtype=torch.float16).uniform_(-1, 1)
            sd[f"model.layers.{i}.mlp.weight"] = t
        sd["model.norm.weight"] = torch.ones(4096, dtype=torch.float16)
        torch.save(sd, out)
    finally:
        if tmp:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
