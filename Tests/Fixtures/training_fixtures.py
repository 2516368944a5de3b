"""Training references: the loss of one batch and the gradient of every parameter.

Called by make_fixtures.py with the tiny model; writes reference/training.safetensors.
Dropout is off (eval mode) so the numbers are deterministic.
"""
import os

import torch
from safetensors.torch import save_file


def make(model, out_dir):
    model = model.eval()
    g = torch.Generator().manual_seed(11)
    tokens = torch.randint(0, model.config.vocab_size, (2, 16), generator=g)
    labels = tokens.clone()
    labels[1, 12:] = -100  # padding: positions that must not be learned
    model.zero_grad()
    out = model(input_ids=tokens, labels=labels)
    out.loss.backward()
    tensors = {"tokens": tokens.to(torch.int64).contiguous(), "labels": labels.to(torch.int64).contiguous(),
               "loss": out.loss.detach().reshape(1).float()}
    for name, p in model.named_parameters():
        if p.grad is not None and not name.startswith("lm_head"):
            tensors["grad." + name] = p.grad.detach().float().contiguous()
    save_file(tensors, os.path.join(out_dir, "training.safetensors"))
    model.zero_grad()
