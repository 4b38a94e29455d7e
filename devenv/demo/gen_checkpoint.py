"""Writes pytorch_model.bin, the demo repo's checkpoint for `hubbot dev`.

Run once with a Python that has torch: python3 gen_checkpoint.py
The output is committed and embedded in the binary; hubbot never runs Python.
A fixed seed keeps the bytes the same from one run to the next.
"""

import collections

import torch

torch.manual_seed(14)

# A tiny text classifier: an embedding, one hidden layer and a classifier
# head whose weight is tied to nothing, plus a tied output projection to show
# the converter's handling of shared tensors.
state = collections.OrderedDict()
state["embeddings.weight"] = torch.randn(64, 16)
state["encoder.dense.weight"] = torch.randn(16, 16)
state["encoder.dense.bias"] = torch.zeros(16)
state["classifier.weight"] = torch.randn(2, 16)
state["classifier.bias"] = torch.zeros(2)
state["lm_head.weight"] = state["embeddings.weight"]  # tied, as many models do

torch.save(state, "pytorch_model.bin")
