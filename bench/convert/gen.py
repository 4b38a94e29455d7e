#!/usr/bin/python3
"""Write a LLaMA-shaped fp16 checkpoint for the conversion benchmark.

    /usr/bin/python3 bench/convert/gen.py OUT.bin LAYERS

The checkpoint holds a 32000x4096 embedding tied to lm_head.weight (one
storage, two names) and LAYERS matrices of 8192x8192, all float16:
2 layers make about 0.53 GB, 14 layers about 2.14 GB. Values are uniform in
[-1, 1) from a fixed seed.
"""

import sys

import torch


def main():
    out, layers = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    emb = torch.empty(32000, 4096, dtype=torch.float16).uniform_(-1, 1)
    sd = {"model.embed_tokens.weight": emb, "lm_head.weight": emb}
    for i in range(layers):
        sd[f"model.layers.{i}.mlp.weight"] = torch.empty(8192, 8192, dtype=torch.float16).uniform_(-1, 1)
    sd["model.norm.weight"] = torch.ones(4096, dtype=torch.float16)
    torch.save(sd, out)


if __name__ == "__main__":
    main()
