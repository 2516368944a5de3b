"""Training references: the loss of one batch and the gradient of every parameter.

Called by make_fixtures.py with the tiny model; writes reference/training.safetensors.
Dropout is off (eval mode) so the numbers are deterministic.
"""
import copy
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
    model.zero_grad()

    # Five AdamW steps with the Trainer's parameter groups (no decay on biases and LayerNorm),
    # weight decay 0.01, gradient clipping at 1.0, constant learning rate 1e-3, a new batch
    # each step: the losses and the parameters after the last step.
    trained = copy.deepcopy(model)
    named = list(trained.named_parameters())
    no_decay = [p for n, p in named if n.endswith(".bias") or ".ln_" in n]
    decay = [p for n, p in named if not (n.endswith(".bias") or ".ln_" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    losses, norms = [], []
    for step in range(5):
        x = torch.randint(0, model.config.vocab_size, (2, 16), generator=g)
        y = x.clone()
        y[0, 14:] = -100
        tensors[f"adamw.tokens.{step}"] = x.to(torch.int64).contiguous()
        tensors[f"adamw.labels.{step}"] = y.to(torch.int64).contiguous()
        loss = trained(input_ids=x, labels=y).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(trained.parameters(), 1.0)))
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss))
    tensors["adamw.losses"] = torch.tensor(losses, dtype=torch.float32)
    tensors["adamw.grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    for name, p in trained.named_parameters():
        if not name.startswith("lm_head"):
            tensors["adamw.param." + name] = p.detach().float().contiguous()
    save_file(tensors, os.path.join(out_dir, "training.safetensors"))
